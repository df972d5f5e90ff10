"""Spin boxes whose range and precision come from the registry's option specs.

A value is never rounded or clipped without the user seeing it: floats show the shortest text
that reads back as the same number (0.125, 1e-06, 0.99995), Qt keeps every digit of it
(``decimals`` at Qt's maximum, so ``setValue`` does not round), and the range is the option's
own (an exclusive maximum stops at the largest float below it, which the loader accepts).
"""

from __future__ import annotations

import math

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from dropout_studio.core.layer_kinds import OptionSpec

# What Qt keeps internally: its maximum (DBL_MAX_10_EXP + DBL_DIG), at which ``setValue`` no
# longer rounds a double; the text shows only as many digits as the value needs.
DECIMALS = 323
INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


class NumberSpin(QDoubleSpinBox):
    """A float spin box that shows ``0.125`` and ``1e-06``, not ``0.125000`` and ``0.000001``.

    The text is the shortest that reads back as the same double, so leaving the field (which
    re-reads the text) never changes a value the user did not touch.
    """

    def textFromValue(self, value: float) -> str:
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text  # "0", "3", not "0.0", "3.0"

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
        high = math.nextafter(high, low)
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
