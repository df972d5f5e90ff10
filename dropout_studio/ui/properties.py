"""The selected layer's properties: its options, dropout (slider + spin box) and L2 penalty.

A view over the ProjectDocument; every edit becomes a new Project pushed through
``edit(project, description)``. Ranges and decimals come from the layer-kind registry's option
specs, so no value is rounded or clipped silently. Text that does not parse stays in its field,
marked, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.document import (
    ProjectDocument,
    replace_layer,
)
from dropout_studio.core.project import Project
from dropout_studio.core.spec import (
    DROPOUT_RATE,
    DROPOUT_TYPES,
    INPUT_DROPOUT,
    L2,
    LAYER_KINDS,
    RECURRENT_DROPOUT,
    DropoutSpec,
    LayerSpec,
    drop_keep_text,
)
from dropout_studio.ui.option_widgets import float_spin, int_spin

Editor = Callable[[Project, str], None]

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
        self.rate_spin = float_spin(DROPOUT_RATE)
        self.rate_slider.setRange(0, int(self.rate_spin.maximum() * 100))
        self.rate_spin.setSingleStep(0.05)
        self.rate_spin.setToolTip("Rate = fraction dropped (Keras convention)")
        self.rate_text = QLabel()
        self.rate_text.setWordWrap(True)
        rate_row = QHBoxLayout()
        rate_row.addWidget(self.rate_slider, 1)
        rate_row.addWidget(self.rate_spin)
        self.input_dropout = float_spin(INPUT_DROPOUT)
        self.recurrent_dropout = float_spin(RECURRENT_DROPOUT)
        for spin, tip in (
            (self.input_dropout, "RNN input dropout: one mask per sequence"),
            (
                self.recurrent_dropout,
                "RNN recurrent dropout: one mask on the hidden state per sequence",
            ),
        ):
            spin.setSingleStep(0.05)
            spin.setToolTip(tip)
        self.l2 = float_spin(L2)
        self.l2.setSingleStep(0.0001)
        self.l2.setToolTip(
            "L2 weight penalty on the kernel: the regularizer people compare dropout with"
        )
        dropout_form.addRow("type", self.dropout_type)
        dropout_form.addRow("rate", rate_row)
        dropout_form.addRow("", self.rate_text)
        self.input_text = QLabel()
        self.recurrent_text = QLabel()
        dropout_form.addRow("RNN input", self.input_dropout)
        dropout_form.addRow("", self.input_text)
        dropout_form.addRow("RNN recurrent", self.recurrent_dropout)
        dropout_form.addRow("", self.recurrent_text)
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
        # Each field commits only itself: leaving one never rewrites the others' values.
        self.input_dropout.editingFinished.connect(
            lambda: self._commit_field("input_dropout", self.input_dropout.value())
        )
        self.recurrent_dropout.editingFinished.connect(
            lambda: self._commit_field("recurrent_dropout", self.recurrent_dropout.value())
        )
        self.l2.editingFinished.connect(lambda: self._commit_field("l2", self.l2.value()))
        self.input_dropout.valueChanged.connect(lambda _: self._update_rnn_text())
        self.recurrent_dropout.valueChanged.connect(lambda _: self._update_rnn_text())
        self.option_widgets: dict[str, QWidget] = {}
        self._shown: tuple[int, str] | None = None
        document.subscribe(lambda doc: self.show_layer(self.index), ("network", "replaced"))
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
        # A group box title never wraps and sets the panel's minimum width: the description
        # goes into a wrapped label instead.
        self.form_box.setTitle(f"Layer {index + 1}: {layer.kind}")
        description = QLabel(info.description)
        description.setWordWrap(True)
        self.form.addRow(description)
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
            spin = int_spin(option)
            spin.setValue(int(value))
            spin.editingFinished.connect(lambda: self._commit_option(name, spin.value()))
            return spin
        if option.value_type == "float":
            number = float_spin(option)
            number.setValue(float(value))
            number.editingFinished.connect(lambda: self._commit_option(name, number.value()))
            return number
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
        edit.setPlaceholderText(
            "e.g. 32, 32, 1" if option.value_type == "shape" else "e.g. 3 or 3, 5"
        )
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
        self._update_rnn_text()

    def _update_rate_text(self, rate: float) -> None:
        kind = self.dropout_type.currentText()
        if kind == "none":
            self.rate_text.setText("no dropout")
        elif kind == "gaussian":
            std = DropoutSpec("gaussian", rate).describe() if rate > 0 else "no noise"
            self.rate_text.setText(f"{std} (multiplies outputs; nothing is dropped)")
        else:
            self.rate_text.setText(drop_keep_text(rate))

    def _update_rnn_text(self) -> None:
        """Drop/keep beside the RNN rates (each mask is drawn once per sequence)."""
        for spin, label in (
            (self.input_dropout, self.input_text),
            (self.recurrent_dropout, self.recurrent_text),
        ):
            label.setText(drop_keep_text(spin.value()) if spin.isEnabled() else "RNN layers only")

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
        """Commit the dropout type and rate (only these: the RNN rates and L2 commit on their
        own, so a field the user did not change keeps its stored value exactly)."""
        layer = self._layer()
        if layer is None:
            return
        kind = self.dropout_type.currentText()
        rate = self.rate_spin.value()
        if kind != "none" and rate == 0 and layer.dropout.type == "none":
            rate = 0.2 if layer.kind == "Input" else 0.5  # a useful starting point
        dropout = DropoutSpec(kind, rate) if kind != "none" else DropoutSpec()
        self._commit(replace(layer, dropout=dropout), f"Change dropout of layer {self.index + 1}")

    def _commit_field(self, name: str, value: float) -> None:
        layer = self._layer()
        if layer is not None:
            change: dict[str, Any] = {name: value}
            what = name.replace("_", " ")
            self._commit(replace(layer, **change), f"Change {what} of layer {self.index + 1}")
