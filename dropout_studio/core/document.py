"""The open project as an observable document: the model every GUI view listens to.

Qt-free on purpose (views subscribe with plain callables), so the editing rules are testable
without a display and the worker thread can take ``document.project`` as an immutable snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from dropout_studio.core.project import Project, load_project, save_project
from dropout_studio.core.spec import LayerSpec, NetworkSpec

Listener = Callable[["ProjectDocument"], None]


class ProjectDocument:
    """Current project, its file and whether it has unsaved changes."""

    def __init__(self, project: Project | None = None, path: Path | None = None) -> None:
        self._project = project or Project()
        self.path = path
        self._saved = self._project
        self._listeners: list[Listener] = []

    # observation ---------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    # state ---------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self._project

    @property
    def dirty(self) -> bool:
        return self._project != self._saved

    @property
    def title(self) -> str:
        name = self.path.name if self.path else f"{self._project.name} (unsaved)"
        return f"{name}{' *' if self.dirty else ''}"

    def set_project(self, project: Project) -> None:
        """Replace the whole project (undo/redo and every edit come through here)."""
        if project != self._project:
            self._project = project
            self._changed()

    # files ---------------------------------------------------------------
    def open(self, path: Path) -> None:
        project = load_project(path)  # raises ProjectError; the current project stays
        self._project = self._saved = project
        self.path = path
        self._changed()

    def reset(self, project: Project, path: Path | None = None) -> None:
        self._project = self._saved = project
        self.path = path
        self._changed()

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        if target is None:
            raise ValueError("no file name yet: use Save As")
        save_project(self._project, target)
        self.path, self._saved = target, self._project
        self._changed()
        return target


# pure edits used by the editor (each returns a new project) -------------------


def insert_layer(project: Project, index: int, layer: LayerSpec) -> Project:
    layers = list(project.network.layers)
    layers.insert(index, layer)
    return replace(project, network=NetworkSpec(tuple(layers)))


def remove_layer(project: Project, index: int) -> Project:
    layers = list(project.network.layers)
    del layers[index]
    return replace(project, network=NetworkSpec(tuple(layers)))


def move_layer(project: Project, source: int, target: int) -> Project:
    layers = list(project.network.layers)
    layer = layers.pop(source)
    layers.insert(target, layer)
    return replace(project, network=NetworkSpec(tuple(layers)))


def replace_layer(project: Project, index: int, layer: LayerSpec) -> Project:
    return replace(project, network=project.network.with_layer(index, layer))
