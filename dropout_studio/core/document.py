"""The open project as an observable document: the model every GUI view listens to.

Qt-free on purpose (views subscribe with plain callables), so the editing rules are testable
without a display and the worker thread can take ``document.project`` as an immutable snapshot.

Listeners may subscribe to some aspects only (``"network"``, ``"dataset"``, ``"training"``,
``"name"``, ``"path"``, ``"saved"``, ``"replaced"``); ``document.changes`` holds the aspects of
the notification being delivered. ``"replaced"`` means another project took this one's place
(New, Open, a preset, a demo, recovery): views of results (runs, evaluation, analysis) clear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Literal

from dropout_studio.core.project import Project, load_project, save_project
from dropout_studio.core.shapes import StackReport
from dropout_studio.core.spec import LayerSpec, NetworkSpec

Listener = Callable[["ProjectDocument"], None]
Aspect = Literal["network", "dataset", "training", "name", "path", "saved", "replaced"]
ALL_ASPECTS: frozenset[Aspect] = frozenset(
    ("network", "dataset", "training", "name", "path", "saved", "replaced")
)


def changed_aspects(before: Project, after: Project) -> set[Aspect]:
    """Which parts of a project differ (description counts as the name)."""
    out: set[Aspect] = set()
    if before.network != after.network:
        out.add("network")
    if before.dataset != after.dataset:
        out.add("dataset")
    if before.training != after.training:
        out.add("training")
    if before.name != after.name or before.description != after.description:
        out.add("name")
    return out


class ProjectDocument:
    """Current project, its file and whether it has unsaved changes."""

    def __init__(self, project: Project | None = None, path: Path | None = None) -> None:
        self._project = project or Project()
        self.path = path
        self._saved = self._project
        self._listeners: list[tuple[Listener, frozenset[Aspect]]] = []
        self._report: tuple[tuple[Project, Path | None], StackReport] | None = None
        self.changes: frozenset[Aspect] = ALL_ASPECTS

    # observation ---------------------------------------------------------
    def subscribe(self, listener: Listener, aspects: Iterable[Aspect] | None = None) -> None:
        """Call ``listener(document)`` after changes touching ``aspects`` (default: any)."""
        self._listeners.append((listener, frozenset(aspects) if aspects else ALL_ASPECTS))

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = [(f, a) for f, a in self._listeners if f != listener]

    def _changed(self, aspects: set[Aspect]) -> None:
        if not aspects:
            return
        self.changes = frozenset(aspects)
        for listener, wanted in list(self._listeners):
            if wanted & self.changes:
                listener(self)

    # state ---------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self._project

    @property
    def report(self) -> StackReport:
        """The stack report of the current project (and file), computed once for both: the
        editor, the diagram and the enabled state of Train all read this one."""
        key = (self._project, self.path)
        if self._report is None or self._report[0] != key:
            self._report = (key, self._project.check(self.path))
        return self._report[1]

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
            aspects: set[Aspect] = changed_aspects(self._project, project)
            aspects.add("saved")
            self._project = project
            self._changed(aspects)

    # files ---------------------------------------------------------------
    def open(self, path: Path) -> None:
        project = load_project(path)  # raises ProjectError; the current project stays
        self.reset(project, path)

    def reset(self, project: Project, path: Path | None = None) -> None:
        """Another project takes this one's place (New, Open, preset, demo, recovery)."""
        self._project = self._saved = project
        self.path = path
        self._changed(set(ALL_ASPECTS))

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        if target is None:
            raise ValueError("no file name yet: use Save As")
        save_project(self._project, target)
        aspects: set[Aspect] = {"saved"}
        if target != self.path:
            aspects.add("path")
        self.path, self._saved = target, self._project
        self._changed(aspects)
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
