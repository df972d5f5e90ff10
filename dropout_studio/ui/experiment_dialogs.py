"""The experiment dialogs: how many seeds and which arms to compare, which rates, training-set
sizes and seeds to sweep. Each checks its input before it closes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from dropout_studio.ui.words import IconMessage


def _ok_cancel(dialog: QDialog, accept: Callable[[], None]) -> QDialogButtonBox:
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class CompareDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare with and without dropout")
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 20)
        self.seeds.setValue(3)
        self.seeds.setToolTip(
            "Each seed trains every arm from the same initial weights, split and batch order"
        )
        self.l2 = QCheckBox("add an L2 weight penalty arm (no dropout)")
        self.early = QCheckBox("add an early stopping arm (no dropout)")
        form = QFormLayout(self)
        form.addRow("seeds", self.seeds)
        form.addRow(self.l2)
        form.addRow(self.early)
        form.addRow(_ok_cancel(self, self.accept))

    def arms(self) -> tuple[str, ...]:
        extra = [
            name
            for box, name in ((self.l2, "l2"), (self.early, "early stopping"))
            if box.isChecked()
        ]
        return ("dropout", "no dropout", *extra)


class SweepDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, train_size: int | None = None) -> None:
        """``train_size``: the project's, the sizes' default ("all" overrode a small-data
        project's 60 samples, and its sweep then disagreed with its compare)."""
        super().__init__(parent)
        self.setWindowTitle("Sweep dropout rates")
        self.rates = QLineEdit("0, 0.1, 0.3, 0.5, 0.7")
        self.rates.setToolTip("Fractions dropped; 0 = without dropout")
        self.sizes = QLineEdit(str(train_size) if train_size else "all")
        self.sizes.setToolTip("Training-set sizes, e.g. 100, 300, all")
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 10)
        self.seeds.setValue(2)
        self.per_layer = QCheckBox("one layer at a time")
        self.per_layer.setToolTip("Vary each dropout layer on its own instead of all together")
        self.error = IconMessage()
        form = QFormLayout(self)
        form.addRow("rates", self.rates)
        form.addRow("train sizes", self.sizes)
        form.addRow("seeds", self.seeds)
        form.addRow(self.per_layer)
        form.addRow(self.error)
        form.addRow(_ok_cancel(self, self._check))

    def parse(self) -> tuple[tuple[float, ...], tuple[int, ...]]:
        rates = tuple(float(t) for t in self.rates.text().replace(" ", "").split(",") if t)
        if not rates or any(not 0 <= r < 1 for r in rates):
            raise ValueError("rates are fractions dropped, from 0 up to (not including) 1")
        sizes = tuple(
            0 if t == "all" else int(t) for t in self.sizes.text().replace(" ", "").split(",") if t
        )
        if not sizes or any(s == 1 or s < 0 for s in sizes):
            raise ValueError("sizes are whole numbers of at least 2, or 'all'")
        return rates, sizes

    def _check(self) -> None:
        try:
            self.parse()
        except ValueError as exc:
            self.error.set_message(str(exc), "error")
            return
        self.accept()
