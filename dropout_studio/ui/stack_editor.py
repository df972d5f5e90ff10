"""The layer stack editor and the selected layer's properties, views over a ProjectDocument.

Every edit becomes a new Project pushed through ``edit(project, description)`` (the window wraps
it in an undo command). Shapes and parameter counts come from the core, live. Text that does not
parse stays in its field, marked, with the reason: nothing the user typed is discarded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QSlider,
    QSpinBox,
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
    replace_layer,
)
from dropout_studio.core.project import Project
from dropout_studio.core.shapes import StackReport, format_shape
from dropout_studio.core.spec import DROPOUT_TYPES, LAYER_KINDS, DropoutSpec, LayerSpec

Editor = Callable[[Project, str], None]
ERROR_BRUSH = QBrush(QColor(220, 50, 47, 60))
WARNING_BRUSH = QBrush(QColor(230, 160, 0, 45))
GUIDANCE = (
    "Rate = fraction of units dropped in each training step (keep = 1 − rate). Usual: input "
    "layer 0.1–0.2, hidden layers about 0.5, no dropout on the output layer. Dropout is off "
    "when the model predicts."
)


def _parse_ints(text: str) -> tuple[int, ...]:
    """'32, 32, 1', '32 32 1' or '32x32x1' → (32, 32, 1); anything else is refused."""
    parts = [p for p in re.split(r"\s*(?:,|×|(?<=\d)x(?=\d))\s*|\s+", text.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError("enter whole numbers such as 32, 32, 1")
    values = tuple(int(p) for p in parts)
    if any(v < 1 for v in values):
        raise ValueError("every number must be at least 1")
    return values


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


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
        self.tree.setHeaderLabels(["#", "layer", "output shape", "params", "dropout"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
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
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.total_label)
        layout.addWidget(self.message_label)
        document.subscribe(self._on_document_changed)
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
        self.report = project.check()
        selected = self.selected_index()
        by_index = {r.index: r for r in self.report.layers}
        problems = {p.layer_index: p for p in reversed(self.report.problems)}
        self.tree.blockSignals(True)
        self.tree.clear()
        for i, layer in enumerate(project.network.layers):
            r = by_index.get(i)
            drop = layer.dropout.describe() if layer.dropout.active else ""
            if layer.input_dropout or layer.recurrent_dropout:
                drop = (
                    f"input {layer.input_dropout:g}, recurrent {layer.recurrent_dropout:g} " + drop
                ).strip()
            item = QTreeWidgetItem(
                [
                    str(i + 1),
                    layer.kind,
                    format_shape(r.output_shape if r else None),
                    f"{r.params:,}" if r else "?",
                    drop,
                ]
            )
            item.setFlags(
                (item.flags() | Qt.ItemFlag.ItemIsDragEnabled) & ~Qt.ItemFlag.ItemIsDropEnabled
            )
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
        lines = [
            f"{'⛔' if p.severity == 'error' else '⚠'} {p.message}" for p in self.report.problems
        ]
        self.message_label.setText("\n".join(lines))
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


class LayerProperties(QWidget):
    """Options of the selected layer, its dropout (slider + spin box) and L2 penalty."""

    def __init__(
        self, document: ProjectDocument, edit: Editor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.document, self.edit = document, edit
        self.index = -1
        self.title = QLabel()
        self.form_box = QGroupBox("Layer")
        self.form = QFormLayout(self.form_box)
        self.dropout_box = QGroupBox("Dropout")
        dropout_form = QFormLayout(self.dropout_box)
        self.dropout_type = QComboBox()
        self.dropout_type.addItems(list(DROPOUT_TYPES))
        self.dropout_type.setToolTip(
            "none · dropout (zero units) · spatial (zero whole channels of a convolution) · "
            "gaussian (multiplicative noise) · alpha (for SELU networks)"
        )
        self.rate_slider = QSlider(Qt.Orientation.Horizontal)
        self.rate_slider.setRange(0, 95)
        self.rate_slider.setToolTip("Fraction of units dropped in each training step")
        self.rate_spin = QDoubleSpinBox()
        self.rate_spin.setRange(0.0, 0.95)
        self.rate_spin.setSingleStep(0.05)
        self.rate_spin.setDecimals(2)
        self.rate_spin.setToolTip("Rate = fraction dropped (Keras convention)")
        self.rate_text = QLabel()
        rate_row = QHBoxLayout()
        rate_row.addWidget(self.rate_slider, 1)
        rate_row.addWidget(self.rate_spin)
        self.input_dropout = QDoubleSpinBox()
        self.recurrent_dropout = QDoubleSpinBox()
        for spin, tip in (
            (self.input_dropout, "RNN input dropout: one mask per sequence"),
            (
                self.recurrent_dropout,
                "RNN recurrent dropout: one mask on the hidden state per sequence",
            ),
        ):
            spin.setRange(0.0, 0.95)
            spin.setSingleStep(0.05)
            spin.setToolTip(tip)
        self.l2 = QDoubleSpinBox()
        self.l2.setDecimals(5)
        self.l2.setRange(0.0, 1.0)
        self.l2.setSingleStep(0.0001)
        self.l2.setToolTip(
            "L2 weight penalty on the kernel: the regularizer people compare dropout with"
        )
        dropout_form.addRow("type", self.dropout_type)
        dropout_form.addRow("rate", rate_row)
        dropout_form.addRow("", self.rate_text)
        dropout_form.addRow("RNN input", self.input_dropout)
        dropout_form.addRow("RNN recurrent", self.recurrent_dropout)
        dropout_form.addRow("L2 penalty", self.l2)
        guidance = QLabel(GUIDANCE)
        guidance.setWordWrap(True)
        guidance.setStyleSheet("color: palette(mid);")
        dropout_form.addRow(guidance)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form_box)
        layout.addWidget(self.dropout_box)
        layout.addStretch(1)
        self.dropout_type.activated.connect(lambda _: self._commit_dropout())
        self.rate_slider.valueChanged.connect(self._on_slider_moved)
        self.rate_slider.sliderReleased.connect(self._commit_dropout)
        self.rate_spin.editingFinished.connect(self._commit_dropout)
        self.rate_spin.valueChanged.connect(self._on_rate_spin_changed)
        for spin in (self.input_dropout, self.recurrent_dropout, self.l2):
            spin.editingFinished.connect(self._commit_dropout)
        self.option_widgets: dict[str, QWidget] = {}
        self._shown: tuple[int, str] | None = None
        document.subscribe(lambda doc: self.show_layer(self.index))
        self.show_layer(-1)

    # display ----------------------------------------------------------------
    def _layer(self) -> LayerSpec | None:
        layers = self.document.project.network.layers
        return layers[self.index] if 0 <= self.index < len(layers) else None

    def show_layer(self, index: int) -> None:
        """Rebuild the form for another layer; for the same layer only refresh the values, so
        focus and half-typed text in other fields survive each commit."""
        self.index = index
        layer = self._layer()
        if layer is not None and self._shown == (index, layer.kind):
            self._refresh_values(layer)
            return
        self._shown = (index, layer.kind) if layer is not None else None
        while self.form.rowCount():
            self.form.removeRow(0)
        self.option_widgets = {}
        self.setEnabled(layer is not None)
        if layer is None:
            self.form_box.setTitle("Layer (select one)")
            return
        info = LAYER_KINDS[layer.kind]
        self.form_box.setTitle(f"Layer {index + 1}: {layer.kind} — {info.description}")
        for option in info.options:
            widget = self._option_widget(option, layer.option(option.name))
            widget.setToolTip(option.help)
            self.form.addRow(option.name.replace("_", " "), widget)
            self.option_widgets[option.name] = widget
        self._show_dropout(layer)

    def _refresh_values(self, layer: LayerSpec) -> None:
        info = LAYER_KINDS[layer.kind]
        for option in info.options:
            widget = self.option_widgets.get(option.name)
            value = layer.option(option.name)
            if widget is None:
                continue
            widget.blockSignals(True)
            if isinstance(widget, QSpinBox):
                widget.setValue(int(value))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                widget.setCurrentText(str(value))
            elif isinstance(widget, QLineEdit) and not widget.styleSheet():
                widget.setText(_format_value(value))
            widget.blockSignals(False)
        self._show_dropout(layer)

    def _option_widget(self, option: Any, value: Any) -> QWidget:
        name = option.name
        if option.value_type == "int":
            spin = QSpinBox()
            spin.setRange(int(option.minimum or 0), 100_000)
            spin.setValue(int(value))
            spin.editingFinished.connect(lambda: self._commit_option(name, spin.value()))
            return spin
        if option.value_type == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda on: self._commit_option(name, on))
            return box
        if option.value_type == "choice":
            combo = QComboBox()
            combo.addItems(list(option.choices))
            combo.setCurrentText(str(value))
            combo.activated.connect(lambda _: self._commit_option(name, combo.currentText()))
            return combo
        text = (
            ""
            if value is None
            else (", ".join(map(str, value)) if isinstance(value, tuple) else str(value))
        )
        edit = QLineEdit(text)
        edit.setPlaceholderText("e.g. 32, 32, 1" if option.value_type == "shape" else "e.g. 3 or 3, 5")
        edit.editingFinished.connect(lambda: self._commit_text(option, edit))
        return edit

    def _show_dropout(self, layer: LayerSpec) -> None:
        widgets = (
            self.dropout_type,
            self.rate_slider,
            self.rate_spin,
            self.input_dropout,
            self.recurrent_dropout,
            self.l2,
        )
        for w in widgets:
            w.blockSignals(True)
        self.dropout_type.setCurrentText(layer.dropout.type)
        self.rate_spin.setValue(layer.dropout.rate)
        self.rate_slider.setValue(round(layer.dropout.rate * 100))
        recurrent = bool(layer.kind_info and layer.kind_info.recurrent)
        self.input_dropout.setEnabled(recurrent)
        self.recurrent_dropout.setEnabled(recurrent)
        self.input_dropout.setValue(layer.input_dropout)
        self.recurrent_dropout.setValue(layer.recurrent_dropout)
        self.l2.setEnabled(bool(layer.kind_info and layer.kind_info.weighted) or bool(layer.l2))
        self.l2.setValue(layer.l2)
        for w in widgets:
            w.blockSignals(False)
        self._update_rate_text(layer.dropout.rate)

    def _update_rate_text(self, rate: float) -> None:
        if self.dropout_type.currentText() == "none":
            self.rate_text.setText("no dropout")
        else:
            self.rate_text.setText(f"drop {rate:.0%} · keep {1 - rate:.0%}")

    def _on_slider_moved(self, value: int) -> None:
        self.rate_spin.blockSignals(True)
        self.rate_spin.setValue(value / 100)
        self.rate_spin.blockSignals(False)
        self._update_rate_text(value / 100)
        if not self.rate_slider.isSliderDown():  # keyboard or click: commit at once
            self._commit_dropout()

    def _on_rate_spin_changed(self, value: float) -> None:
        self.rate_slider.blockSignals(True)
        self.rate_slider.setValue(round(value * 100))
        self.rate_slider.blockSignals(False)
        self._update_rate_text(value)

    # commits ----------------------------------------------------------------
    def _commit(self, layer: LayerSpec, description: str) -> None:
        current = self._layer()
        if current is not None and layer != current:
            self.edit(replace_layer(self.document.project, self.index, layer), description)

    def _commit_option(self, name: str, value: Any) -> None:
        layer = self._layer()
        if layer is not None:
            self._commit(
                layer.with_options(**{name: value}), f"Change {name} of layer {self.index + 1}"
            )

    def _commit_text(self, option: Any, edit: QLineEdit) -> None:
        layer = self._layer()
        if layer is None:
            return
        text = edit.text().strip()
        try:
            if option.value_type == "size" and not text and option.default is None:
                value: Any = None
            else:
                values = _parse_ints(text)
                value = values[0] if option.value_type == "size" and len(values) == 1 else values
        except ValueError as exc:
            edit.setStyleSheet("border: 2px solid #dc322f;")
            edit.setToolTip(
                f"{option.name}: {exc}; the layer keeps its previous value until this parses"
            )
            return
        edit.setStyleSheet("")
        edit.setToolTip(option.help)
        self._commit_option(option.name, value)

    def _commit_dropout(self) -> None:
        layer = self._layer()
        if layer is None:
            return
        kind = self.dropout_type.currentText()
        rate = self.rate_spin.value()
        if kind != "none" and rate == 0 and layer.dropout.type == "none":
            rate = 0.2 if layer.kind == "Input" else 0.5  # a useful starting point
        dropout = DropoutSpec(kind, rate) if kind != "none" else DropoutSpec()
        new = replace(
            layer,
            dropout=dropout,
            input_dropout=self.input_dropout.value(),
            recurrent_dropout=self.recurrent_dropout.value(),
            l2=self.l2.value(),
        )
        self._commit(new, f"Change dropout of layer {self.index + 1}")
