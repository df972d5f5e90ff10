"""Files: New, Open, Open Recent, presets, Save, Save As, autosave and recovery.

Everything that replaces the project goes through :meth:`FilesController.replace_project`: it
asks about unsaved changes, and while a job runs it first asks whether to stop it, then stops it
and replaces the project once the job's ``finished`` arrives (never blocking the GUI thread).

Autosave uses one slot per running instance (``core.autosave``): unsaved work is written every
30 s to this instance's file; recovery offers files that no running instance holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QStatusBar, QWidget

from dropout_studio.core import autosave
from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.layer_kinds import shown
from dropout_studio.core.project import (
    MAX_FILE_BYTES,
    Project,
    ProjectError,
    load_preset,
    preset_names,
    project_from_dict,
    project_from_text,
    project_to_dict,
)
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.state import WorkState

AUTOSAVE_KEY = "dropout_studio_autosave"


def autosave_text(project: Project, origin: Path | None) -> str:
    data = {AUTOSAVE_KEY: {"origin": str(origin.resolve()) if origin else ""}}
    return json.dumps({**data, "project": project_to_dict(project)}, indent=2) + "\n"


def read_autosave(path: Path) -> tuple[Project, str]:
    """(project, origin file or ""); also reads a plain project file (earlier versions).

    Every malformed file (unreadable, not JSON, nested too deeply, a header that is not what
    :func:`autosave_text` writes, an invalid project) is one :class:`ProjectError`.
    """
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProjectError(f"{source} is larger than a project can be")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"{source}: cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except (RecursionError, ValueError):
        data = None  # project_from_text below gives the one message
    if isinstance(data, dict) and AUTOSAVE_KEY in data:
        header = data[AUTOSAVE_KEY]
        origin = header.get("origin", "") if isinstance(header, dict) else None
        if not isinstance(origin, str) or set(data) != {AUTOSAVE_KEY, "project"}:
            raise ProjectError(
                f"{source} is not an autosave this app wrote (its header is {shown(header)})"
            )
        try:
            return project_from_dict(data["project"], source), origin
        except RecursionError:
            raise ProjectError(f"{source}: the JSON is nested too deeply") from None
    legacy_origin = path.with_suffix(".origin")
    try:
        origin = legacy_origin.read_text(encoding="utf-8") if legacy_origin.exists() else ""
    except (OSError, UnicodeDecodeError):
        origin = ""
    return project_from_text(text, source), origin


def _existing_file(name: str) -> Path | None:
    """``name`` as a path when it names an existing file; None for "", a NUL byte, a name
    too long for the system, or a file that has gone."""
    if not name:
        return None
    try:
        path = Path(name)
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def _set_aside(path: Path) -> str:
    """Rename an unreadable autosave out of recovery's way (``*.unreadable``), so it is
    reported once and kept for whoever wants to look; delete it when it cannot be renamed."""
    target = path.with_name(path.name + ".unreadable")
    try:
        path.replace(target)
    except OSError:
        autosave.discard(path)
        return f"{path.name} (deleted)"
    autosave.discard(path)  # the file has gone: this removes its lock file
    return target.name


class FilesController(QObject):
    def __init__(
        self,
        document: ProjectDocument,
        undo_stack: QUndoStack,
        state: WorkState,
        stop_job: Callable[[], None],
        settings: QSettings,
        autosave_folder: Path,
        status: QStatusBar,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.document, self.undo_stack, self.state, self.stop_job = (
            document,
            undo_stack,
            state,
            stop_job,
        )
        self.settings, self.autosave_folder = settings, autosave_folder
        self.status, self.parent_widget = status, parent
        self.slot: autosave.AutosaveSlot | None = None
        self.confirm_stop: Callable[[str], bool] = self._ask_stop
        K = QKeySequence.StandardKey
        self.new_action = self._action("&New", self.new_project, K.New)
        self.open_action = self._action("&Open…", self.open_dialog, K.Open)
        self.save_action = self._action("&Save", self.save, K.Save)
        self.save_as_action = self._action("Save &As…", self.save_as, K.SaveAs)
        self.preset_actions = [
            self._action(name, partial(self.load_preset, name)) for name in preset_names()
        ]
        self.recent_menu = QMenu("Open &Recent", parent)
        self._refresh_recent()
        self.timer = QTimer(self)
        self.timer.setInterval(30_000)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()

    def _action(self, text: str, slot: Callable[[], Any], key: Any = None) -> QAction:
        action = QAction(text, self.parent_widget)
        action.triggered.connect(lambda _=False: slot())
        if key is not None:
            action.setShortcut(QKeySequence(key))
        return action

    # questions ----------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """Ask before unsaved work is dropped; True when it may go."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self.parent_widget,
            "Unsaved changes",
            f"Save the changes to {self.document.title.rstrip(' *')} first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _ask_stop(self, what: str) -> bool:
        job = self.state.job or "job"
        running = "A run is waiting for TensorFlow" if job == "queued" else f"A {job} is running"
        text = f"{running}. Stop it and {what}?"
        return (
            QMessageBox.question(self.parent_widget, "Dropout Studio", text)
            == QMessageBox.StandardButton.Yes
        )

    def when_stopped(self, action: Callable[[], None], what: str) -> bool:
        """Ask (stop the job? discard changes?), then run ``action`` now or once the job has
        finished. False when the user said no."""
        if self.state.busy and not self.confirm_stop(what):
            return False
        if not self.confirm_discard():
            return False
        job = self.state.runner.current
        if self.state.busy:
            self.stop_job()
        if job is not None and job.running:
            job.finished.connect(action)
        else:
            action()
        return True

    def replace_project(self, project: Project, path: Path | None = None) -> bool:
        def apply() -> None:
            self.document.reset(project, path)
            self.undo_stack.clear()
            if path is not None:
                self._remember_recent(path)

        return self.when_stopped(apply, "open another project")

    # commands -----------------------------------------------------------------------------
    def new_project(self) -> bool:
        return self.replace_project(replace(load_preset("mlp-classic"), name="untitled"))

    def load_preset(self, name: str) -> bool:
        return self.replace_project(load_preset(name))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Open project", "", "Dropout Studio projects (*.json)"
        )
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> bool:
        from dropout_studio.core.project import load_project

        try:
            project = load_project(path)
        except ProjectError as exc:
            error_box(self.parent_widget, str(exc)).show()
            return False
        return self.replace_project(project, path)

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            "Save project as",
            f"{self.document.project.name}.json",
            "Dropout Studio projects (*.json)",
        )
        return bool(path) and self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as exc:
            error_box(
                self.parent_widget,
                f"{path} could not be saved ({exc}); your project is still open "
                "here: try another folder",
            ).show()
            return False
        self.undo_stack.setClean()
        if self.slot is not None:
            self.slot.clear()
        self._remember_recent(path)
        self.status.showMessage(f"saved {path}", 3000)
        return True

    # recent files -------------------------------------------------------------------------
    def _remember_recent(self, path: Path) -> None:
        resolved = str(path.resolve())
        recent = [resolved] + [p for p in self.recent() if p != resolved]
        self.settings.setValue("recent", recent[:8])
        self._refresh_recent()

    def recent(self) -> list[str]:
        value: Any = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent():
            self.recent_menu.addAction(self._action(path, partial(self.open_path, Path(path))))
        self.recent_menu.setEnabled(bool(self.recent()))

    # autosave -----------------------------------------------------------------------------
    def autosave(self) -> None:
        """Unsaved work goes to this instance's slot every 30 s: a crash loses at most that."""
        if not self.document.dirty:
            return
        try:
            if self.slot is None:
                self.slot = autosave.claim_slot(self.autosave_folder)
            self.slot.write(autosave_text(self.document.project, self.document.path))
        except OSError as exc:
            self.status.showMessage(f"autosave failed: {exc}", 5000)

    def release_autosave(self) -> None:
        """A normal close: nothing is left to recover."""
        if self.slot is not None:
            self.slot.release()
            self.slot = None

    def recover_autosave(self, ask: Callable[[str], bool] | None = None) -> bool:
        """Offer, newest first, every autosave that no running instance holds, until one is
        recovered; a declined one is discarded. The window holds one project, so autosaves
        left after a recovery stay on disk and are offered at the next start (the status bar
        says how many). Unreadable ones are reported once, in one message, and set aside."""
        readable: list[tuple[Path, Project, str]] = []
        unreadable: list[tuple[Path, ProjectError]] = []
        for path in autosave.unclaimed(self.autosave_folder):
            try:
                readable.append((path, *read_autosave(path)))
            except ProjectError as exc:
                unreadable.append((path, exc))
        if unreadable:
            kept = ", ".join(_set_aside(path) for path, _ in unreadable)
            what = "autosaved project" if len(unreadable) == 1 else "autosaved projects"
            error_box(
                self.parent_widget,
                f"{len(unreadable)} {what} cannot be recovered: {unreadable[0][1]}. Set aside "
                f"in {self.autosave_folder} as {kept}; they will not be offered again.",
                "\n".join(str(exc) for _, exc in unreadable),
            ).show()
        ask = ask or (
            lambda text: (
                QMessageBox.question(self.parent_widget, "Recover unsaved work", text)
                == QMessageBox.StandardButton.Yes
            )
        )
        for number, (path, recovered, origin) in enumerate(readable, 1):
            of = (
                f" (autosave {number} of {len(readable)}, newest first)"
                if len(readable) > 1
                else ""
            )
            question = (
                "Dropout Studio did not close normally. Recover the unsaved changes"
                f"{' to ' + origin if origin else ''}{of}?"
            )
            if not ask(question):
                autosave.discard(path)
                continue
            self._recover(path, recovered, origin)
            left = len(readable) - number
            if left:
                self.status.showMessage(
                    f"{left} more autosaved project{'s' if left > 1 else ''} will be offered "
                    "at the next start",
                    10_000,
                )
            return True
        return False

    def _recover(self, path: Path, recovered: Project, origin: str) -> None:
        origin_path = _existing_file(origin)
        base = Project()
        if origin_path is not None:
            from dropout_studio.core.project import load_project

            try:
                base = load_project(origin_path)
            except ProjectError:
                origin_path = None
        self.document.reset(base, origin_path)
        self.undo_stack.clear()
        self.document.set_project(recovered)  # unsaved: the title shows the mark
        self.autosave()  # now in this instance's slot, before the old file goes
        autosave.discard(path)
