"""The run history of the open project: list, show/hide, colour, rename, delete, overlay.

The folder is read by a ``runs`` job (off the GUI thread); a newer refresh wins over an older
one. Each run keeps its own colour; ticks and colours follow a rename and clear with the project.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QGridLayout,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.runs import RunRecord, delete_run, list_runs, rename_run
from dropout_studio.ui.jobs import JobRunner
from dropout_studio.ui.words import IconMessage, count

PALETTE = ["#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#2ca02c"]


class RunsPanel(QWidget):
    """Checked runs are overlaid on the loss plot in their colour."""

    overlays_changed = Signal(object)  # dict name -> (colour, history)
    refreshed = Signal()  # the list now shows the folder's runs

    def __init__(
        self,
        folder_of: Callable[[], Path | None],
        runner: JobRunner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.folder_of = folder_of
        self.runner = runner
        self._generation = 0
        self.records: dict[str, RunRecord] = {}
        self.colours: dict[str, str] = {}
        self.tree = QTreeWidget()
        # The short columns first: a narrow side panel shows name, loss and date; the
        # settings (also in each row's tooltip) are last.
        self.tree.setHeaderLabels(["run", "best val loss", "date", "status", "settings"])
        self.tree.setRootIsDecorated(False)
        self.tree.setToolTip("Tick runs to overlay their validation loss on the loss plot")
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.info = IconMessage()
        buttons = QGridLayout()  # two rows: the panel fits a laptop's side column
        for k, (text, tip, slot) in enumerate(
            (
                ("Refresh", "Read the runs folder again", self.refresh),
                ("Colour…", "Choose the colour of the selected run", self.choose_colour),
                ("Rename…", "Rename the selected run's folder", self.rename_selected),
                ("Delete…", "Delete the selected run's folder", self.delete_selected),
            )
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button, k // 2, k % 2)
        buttons.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.info)
        self.confirm: Callable[[str], bool] = self._ask
        self.ask_name: Callable[[str], str | None] = self._ask_name

    def refresh(self) -> None:
        """Read the runs folder off the GUI thread (parsing every run's files takes time)."""
        folder = self.folder_of()
        self._generation += 1
        generation = self._generation
        if folder is None:
            self._fill(None, [])
            return
        if self.runner is None:
            self._fill(folder, list_runs(folder))
            return
        job = self.runner.start("runs", lambda _ctx: list_runs(folder))
        job.returned.connect(
            lambda records: self._fill(folder, records) if generation == self._generation else None
        )
        job.errored.connect(lambda message, _details: self.info.set_message(message, "error"))

    def reset(self) -> None:
        """Another project: forget the previous project's runs, ticks and colours."""
        self.colours.clear()
        self.tree.clear()
        self.records = {}
        self._emit_overlays()
        self.refresh()

    def _colour(self, name: str) -> str:
        if name not in self.colours:
            used = list(self.colours.values())
            free = [c for c in PALETTE if c not in used]
            self.colours[name] = free[0] if free else PALETTE[len(used) % len(PALETTE)]
        return self.colours[name]

    def _fill(self, folder: Path | None, records: list[RunRecord]) -> None:
        checked = self.checked_names()
        self.tree.blockSignals(True)
        self.tree.clear()
        self.records = {}
        if folder is None:
            self.info.set_message(
                "Save the project to keep its runs: they go to runs/ beside the project file.",
                None,
            )
        else:
            self.info.set_message(f"{count(len(records), 'run')} in {folder}", None)
            for record in reversed(records):  # oldest first: colours keep their order
                self._colour(record.name)
            for record in records:
                self.records[record.name] = record
                item = QTreeWidgetItem(
                    [
                        record.name,
                        f"{record.best_val_loss:.4f}",
                        record.created.strftime("%m-%d %H:%M"),
                        record.status,
                        record.settings,
                    ]
                )
                tip = f"{record.name}: {record.created:%Y-%m-%d %H:%M}, {record.settings}"
                for column in range(5):
                    item.setToolTip(column, tip)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    0, Qt.CheckState.Checked if record.name in checked else Qt.CheckState.Unchecked
                )
                item.setForeground(0, QBrush(QColor(self.colours[record.name])))
                self.tree.addTopLevelItem(item)
        for column in range(5):
            self.tree.resizeColumnToContents(column)
        self.tree.blockSignals(False)
        self._emit_overlays()
        self.refreshed.emit()

    def checked_names(self) -> set[str]:
        return {
            name
            for name, item in self._items().items()
            if item.checkState(0) == Qt.CheckState.Checked
        }

    def _items(self) -> dict[str, QTreeWidgetItem]:
        items = {}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None:
                items[item.text(0)] = item
        return items

    def set_checked(self, name: str, on: bool) -> None:
        item = self._items()[name]
        item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _on_tree_item_changed(self, *_args: object) -> None:
        self._emit_overlays()

    def _emit_overlays(self) -> None:
        overlays = {
            name: (self.colours[name], list(self.records[name].history))
            for name, item in self._items().items()
            if item.checkState(0) == Qt.CheckState.Checked and name in self.records
        }
        self.overlays_changed.emit(overlays)

    def _selected(self) -> RunRecord | None:
        item = self.tree.currentItem()
        return self.records.get(item.text(0)) if item is not None else None

    def choose_colour(self) -> None:
        record = self._selected()
        if record is None:
            return
        colour = QColorDialog.getColor(QColor(self.colours[record.name]), self)
        if colour.isValid():
            self.colours[record.name] = colour.name()
            self.refresh()

    def rename_selected(self) -> None:
        record = self._selected()
        if record is None:
            return
        name = self.ask_name(record.name)
        if not name or name == record.name:
            return
        try:
            rename_run(record, name)
        except (ValueError, OSError) as exc:
            QMessageBox.warning(self, "Rename run", str(exc))
            return
        was_checked = record.name in self.checked_names()
        self.colours[name] = self.colours.pop(record.name)
        item = self._items().get(record.name)
        if item is not None:  # the tick and colour follow the new name
            self.tree.blockSignals(True)
            item.setText(0, name)
            self.tree.blockSignals(False)
            if was_checked:
                item.setCheckState(0, Qt.CheckState.Checked)
        self.refresh()

    def delete_selected(self) -> None:
        record = self._selected()
        if record is None or not self.confirm(f"Delete the run {record.name} and its files?"):
            return
        try:
            delete_run(record)
        except OSError as exc:
            QMessageBox.warning(self, "Delete run", str(exc))
        self.refresh()

    def _ask(self, question: str) -> bool:
        return QMessageBox.question(self, "Dropout Studio", question) == (
            QMessageBox.StandardButton.Yes
        )

    def _ask_name(self, current: str) -> str | None:
        name, ok = QInputDialog.getText(self, "Rename run", "New name", text=current)
        return name.strip() if ok else None
