"""The layer stack editor, a view over a ProjectDocument (properties: ``ui/properties.py``).

Every edit becomes a new Project pushed through ``edit(project, description)`` (the window wraps
it in an undo command). Shapes and parameter counts come from the core, live. Text that does not
parse stays in its field, marked, with the reason: nothing the user typed is discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.document import (
    ProjectDocument,
    insert_layer,
    move_layer,
    remove_layer,
)
from dropout_studio.core.project import Project
from dropout_studio.core.shapes import StackReport
from dropout_studio.core.spec import (
    LAYER_KINDS,
    LayerSpec,
    rnn_dropout_text,
)
from dropout_studio.ui.words import MessageList

Editor = Callable[[Project, str], None]

ERROR_BRUSH = QBrush(QColor(220, 50, 47, 60))
WARNING_BRUSH = QBrush(QColor(230, 160, 0, 45))


DROPOUT_TIP = (
    "Rate = fraction dropped in each training step, keep = 1 − rate. Gaussian dropout drops "
    "nothing: it multiplies each output by noise of mean 1. RNN masks are drawn once per sequence."
)


def dropout_column_text(layer: LayerSpec) -> str:
    """The dropout column, narrow enough for a laptop's 320 px stack panel (the tooltip has the
    long form with keep): 'drop 50%', 'spatial⏎drop 20%', 'Gaussian⏎std 0.65',
    'input 20%⏎recurrent 20%' (⏎: a second line in the same row)."""
    lines = [
        f"{what} {rate * 100:.3g}%"
        for what, rate in (("input", layer.input_dropout), ("recurrent", layer.recurrent_dropout))
        if rate
    ]
    spec = layer.dropout
    if spec.active and spec.type == "gaussian":
        lines += ["Gaussian", spec.describe().rpartition(" · ")[2]]
    elif spec.active:
        lines += ([] if spec.type == "dropout" else [spec.type]) + [f"drop {spec.rate * 100:.3g}%"]
    return "\n".join(lines)


def shape_text(shape: tuple[int | None, ...] | None) -> str:
    """'500', '24×24×32': the compact form of an output shape (a laptop's stack panel is
    320 px wide); None dimensions read '?'."""
    if shape is None:
        return "?"
    return "×".join("?" if d is None else str(d) for d in shape)


def dropout_tooltip(layer: LayerSpec) -> str:
    """The dropout column's long form: every rate with drop and keep."""
    lines = [rnn_dropout_text(layer.input_dropout, layer.recurrent_dropout)]
    if layer.dropout.active:
        lines.append(f"output: {layer.dropout.describe()}")
    return "\n".join([*(line for line in lines if line), DROPOUT_TIP])


class _LayerTree(QTreeWidget):
    """A table of layers whose drag-and-drop moves go through the document, not Qt's model."""

    row_moved = Signal(int, int)

    def dropEvent(self, event: Any) -> None:
        current = self.currentItem()
        source = self.indexOfTopLevelItem(current) if current is not None else -1
        target_item = self.itemAt(event.position().toPoint())
        target = (
            self.indexOfTopLevelItem(target_item) if target_item else self.topLevelItemCount() - 1
        )
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if source >= 0 and target >= 0 and source != target:
            self.row_moved.emit(source, target)


class LayerStackEditor(QWidget):
    """Rows of layers with output shape and parameters; add, remove, duplicate, reorder."""

    selection_changed = Signal(int)

    def __init__(
        self, document: ProjectDocument, edit: Editor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.document, self.edit = document, edit
        self.report: StackReport | None = None
        self.tree = _LayerTree()
        self.tree.setHeaderLabels(["#", "layer", "output", "params", "dropout"])
        self.tree.headerItem().setToolTip(2, "Output shape, without the batch dimension")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(False)  # a long dropout text takes two lines
        self.tree.setAlternatingRowColors(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Every column as wide as its text, never elided ("drop 50% · ke…"): a narrow panel
        # scrolls sideways instead.
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.setToolTip("The layer stack, top to bottom. Drag rows to reorder.")
        self.tree.row_moved.connect(self._on_tree_row_moved)
        self.tree.currentItemChanged.connect(self._on_tree_current_changed)

        self.add_button = QToolButton()
        self.add_button.setText("Add layer")
        self.add_button.setToolTip("Insert a layer below the selected one (Insert)")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        for kind in LAYER_KINDS:
            if kind == "Input":
                continue
            action = menu.addAction(f"{kind} — {LAYER_KINDS[kind].description}")
            action.triggered.connect(lambda _=False, k=kind: self.add_layer(k))
        self.add_button.setMenu(menu)
        self.add_button.setShortcut(QKeySequence(Qt.Key.Key_Insert))
        self.add_menu = menu
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        self.tool_buttons: dict[str, QToolButton] = {}
        for name, tip, slot, key in (
            (
                "Remove",
                "Remove the selected layer (Delete)",
                self.remove_selected,
                QKeySequence.StandardKey.Delete,
            ),
            (
                "Duplicate",
                "Duplicate the selected layer (Ctrl+D)",
                self.duplicate_selected,
                QKeySequence("Ctrl+D"),
            ),
            (
                "Up",
                "Move the selected layer up (Ctrl+Up)",
                lambda: self.move_selected(-1),
                QKeySequence("Ctrl+Up"),
            ),
            (
                "Down",
                "Move the selected layer down (Ctrl+Down)",
                lambda: self.move_selected(1),
                QKeySequence("Ctrl+Down"),
            ),
        ):
            button = QToolButton()
            button.setText(name)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            button.setShortcut(key)
            buttons.addWidget(button)
            self.tool_buttons[name] = button
        buttons.addStretch(1)
        self.total_label = QLabel()
        self.message_label = MessageList()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.total_label)
        layout.addWidget(self.message_label)
        document.subscribe(
            self._on_document_changed, ("network", "dataset", "training", "path", "replaced")
        )
        self._on_document_changed(document)

    # helpers ----------------------------------------------------------------
    def selected_index(self) -> int:
        item = self.tree.currentItem()
        return self.tree.indexOfTopLevelItem(item) if item else -1

    def select(self, index: int) -> None:
        item = self.tree.topLevelItem(index) if index >= 0 else None
        if item is not None:
            self.tree.setCurrentItem(item)

    def _on_document_changed(self, document: ProjectDocument) -> None:
        project = document.project
        self.report = self.document.report
        selected = self.selected_index()
        by_index = {r.index: r for r in self.report.layers}
        problems = {p.layer_index: p for p in reversed(self.report.problems)}
        self.tree.blockSignals(True)
        self.tree.clear()
        for i, layer in enumerate(project.network.layers):
            r = by_index.get(i)
            drop = dropout_column_text(layer)
            item = QTreeWidgetItem(
                [
                    str(i + 1),
                    layer.kind,
                    shape_text(r.output_shape if r else None),
                    f"{r.params:,}" if r else "?",
                    drop,
                ]
            )
            item.setFlags(
                (item.flags() | Qt.ItemFlag.ItemIsDragEnabled) & ~Qt.ItemFlag.ItemIsDropEnabled
            )
            if drop:
                item.setToolTip(4, dropout_tooltip(layer))
            problem = problems.get(i)
            if problem is not None:
                brush = ERROR_BRUSH if problem.severity == "error" else WARNING_BRUSH
                for column in range(5):
                    item.setBackground(column, brush)
                    item.setToolTip(column, problem.message)
            self.tree.addTopLevelItem(item)
        self.tree.blockSignals(False)
        self.total_label.setText(
            f"total parameters: {self.report.total_params:,} "
            f"(trainable {self.report.trainable_params:,})"
        )
        self.message_label.set_messages(
            [
                ("error" if p.severity == "error" else "warning", p.message)
                for p in self.report.problems
            ]
        )
        count = self.tree.topLevelItemCount()
        self.select(min(max(selected, 0), count - 1) if count else -1)

    def _on_tree_current_changed(self, *args: Any) -> None:
        self.selection_changed.emit(self.selected_index())

    # edits ------------------------------------------------------------------
    def add_layer(self, kind: str) -> None:
        project = self.document.project
        index = (
            self.selected_index() + 1 if self.selected_index() >= 0 else len(project.network.layers)
        )
        if kind in ("LSTM", "GRU", "SimpleRNN"):
            layer = LayerSpec.make(kind)
        else:
            layer = LayerSpec.make(kind)
        self.edit(insert_layer(project, index, layer), f"Add {kind}")
        self.select(index)

    def remove_selected(self) -> None:
        index = self.selected_index()
        if index >= 0:
            kind = self.document.project.network.layers[index].kind
            self.edit(remove_layer(self.document.project, index), f"Remove {kind}")

    def duplicate_selected(self) -> None:
        index = self.selected_index()
        if index >= 0:
            layer = self.document.project.network.layers[index]
            self.edit(
                insert_layer(self.document.project, index + 1, layer), f"Duplicate {layer.kind}"
            )
            self.select(index + 1)

    def move_selected(self, delta: int) -> None:
        index = self.selected_index()
        target = index + delta
        if index >= 0 and 0 <= target < len(self.document.project.network.layers):
            self._on_tree_row_moved(index, target)

    def _on_tree_row_moved(self, source: int, target: int) -> None:
        kind = self.document.project.network.layers[source].kind
        self.edit(move_layer(self.document.project, source, target), f"Move {kind}")
        self.select(target)
