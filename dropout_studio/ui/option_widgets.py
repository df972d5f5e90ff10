"""Spin boxes whose range and precision come from the registry's option specs.

A value is never rounded or clipped without the user seeing it: floats show the shortest text
that reads back as the same number (0.125, 1e-06, 0.5), and the range is the option's own
(an exclusive maximum stops one step below it).
"""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from dropout_studio.core.layer_kinds import OptionSpec

DECIMALS = 12  # what Qt keeps internally; the text shows as many as the value needs
INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


class NumberSpin(QDoubleSpinBox):
    """A float spin box that shows ``0.125`` and ``1e-06``, not ``0.125000`` and ``0.000001``."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.10g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        candidate = text.strip().replace(",", ".")
        try:
            value = float(candidate)
        except ValueError:
            # Half-typed numbers ("", "-", "1e", "0.") may still become valid.
            partial = all(c in "0123456789.eE+-" for c in candidate)
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return (state, text, pos)
        inside = self.minimum() <= value <= self.maximum()
        state = QValidator.State.Acceptable if inside else QValidator.State.Intermediate
        return (state, text, pos)


def float_spin(option: OptionSpec) -> QDoubleSpinBox:
    """A float field for ``option``: its range, and every digit the value has."""
    spin = NumberSpin()
    spin.setDecimals(DECIMALS)
    low = option.minimum if option.minimum is not None else -1e9
    high = option.maximum if option.maximum is not None else 1e9
    if option.exclusive_maximum:
        high -= 10.0 ** -max(option.precision, 4)
    spin.setRange(low, high)
    spin.setToolTip(option.help)
    return spin


def int_spin(option: OptionSpec) -> QSpinBox:
    """A whole-number field for ``option`` with its registry range."""
    spin = QSpinBox()
    low = int(option.minimum) if option.minimum is not None else 0
    high = int(option.maximum) if option.maximum is not None else INT_LIMIT
    spin.setRange(max(low, -INT_LIMIT), min(high, INT_LIMIT))
    spin.setToolTip(option.help)
    return spin
