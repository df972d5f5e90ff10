"""The Sweep and Compare charts: rates as plain fractions (no "(x0.001)"), a legend that covers
no point, and log-y on Compare with its min–max bands following the axis."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from dropout_studio.ui.experiments import CompareView, SweepView

RATES = (0.0, 0.1, 0.3, 0.5, 0.7)


def _sweep_rows() -> list[dict]:
    rows = []
    for size in (100, 0):
        for rate in RATES:
            loss = 0.3 + (rate - 0.4) ** 2 + (0.1 if size else 0.0)
            rows.append(
                {
                    "rate": rate,
                    "train_size": size,
                    "val_loss": loss,
                    "val_loss_std": 0.01,
                    "val_loss_min": loss - 0.02,
                    "val_loss_max": loss + 0.02,
                    "test_loss": loss,
                    "best_epoch": 4.0,
                }
            )
    return rows


def _show(qtbot, widget, size=(900, 600)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)


def _legend_rect(plot: pg.PlotWidget):
    legend = plot.getPlotItem().legend
    return legend.mapRectToScene(legend.boundingRect())


def _view_rect(plot: pg.PlotWidget):
    box = plot.getViewBox()
    return box.mapRectToScene(box.boundingRect())


def test_sweep_rates_read_as_fractions(qtbot):
    view = SweepView()
    _show(qtbot, view)
    view.finish(_sweep_rows())
    axis = view.plot.getAxis("bottom")
    qtbot.waitUntil(lambda: axis.autoSIPrefixScale == 1.0)
    assert "x0.001" not in axis.labelString()
    assert "(x" not in axis.labelString()
    ticks = [v for level in axis.tickValues(0.0, 0.7, axis.width()) for v in level[1]]
    assert max(ticks) < 1  # fractions, not 0–600
    labels = axis.tickStrings(ticks, axis.autoSIPrefixScale, 0.1)
    assert {"0.2", "0.5"} & set(labels)  # steps of 0.1, 0.2 or 0.5 as the width allows


def test_sweep_legend_covers_no_point(qtbot):
    view = SweepView()
    _show(qtbot, view)
    view.finish(_sweep_rows())
    plot = view.plot
    legend = plot.getPlotItem().legend
    assert len(legend.items) == 2  # train size 100, train size all
    # above the data area, once the plot's layout has placed the legend row
    qtbot.waitUntil(lambda: not _legend_rect(plot).intersects(_view_rect(plot)))
    legend_rect = _legend_rect(plot)
    assert legend_rect.height() > 0
    assert legend_rect.bottom() <= _view_rect(plot).top()
    box = plot.getViewBox()
    for row in _sweep_rows():
        point = box.mapViewToScene(pg.Point(row["rate"], row["val_loss"]))
        assert not legend_rect.contains(point)
        assert _view_rect(plot).contains(point)  # the rate-0 points are inside the chart


@dataclass
class _Result:
    history: list


def _compare(qtbot) -> CompareView:
    view = CompareView()
    _show(qtbot, view)
    for arm, scale in (("dropout", 1.0), ("no dropout", 1.3)):
        for seed in range(2):
            history = [{"val_loss": scale * (2 / (e + 1) + 0.1 + 0.01 * seed)} for e in range(40)]
            view.add_run(arm, seed, _Result(history))
    return view


def test_compare_has_log_y_and_its_bands_follow(qtbot):
    view = _compare(qtbot)
    assert view.status.text().startswith("4 runs finished")
    view.log_y.setChecked(True)
    item = view.plot.getPlotItem()
    assert item.ctrl.logYCheck.isChecked()
    box = view.plot.getViewBox()
    # auto-range (deferred to the next update) fits log10 of losses below 3; bands left in
    # linear coordinates would stretch it to 2.6
    qtbot.waitUntil(lambda: 0.3 < box.viewRange()[1][1] < 1.0)
    (_x0, _x1), (y0, y1) = box.viewRange()
    assert y0 > math.log10(0.05)
    bands = [i for i in item.items if isinstance(i, pg.FillBetweenItem)]
    assert len(bands) == 2
    for band in bands:
        top = band.boundingRect().bottom()  # y grows upwards in view coordinates
        assert top < 1.0
    axis = view.plot.getAxis("left")
    ticks = axis.tickValues(y0, y1, axis.height())
    labels = axis.tickStrings(ticks[0][1], 1.0, 1.0)
    assert all(label == "" or float(label) > 0 for label in labels)
    view.log_y.setChecked(False)
    qtbot.waitUntil(lambda: box.viewRange()[1][1] > 2.0)


def test_compare_legend_covers_no_curve(qtbot):
    view = _compare(qtbot)
    plot = view.plot
    qtbot.waitUntil(lambda: not _legend_rect(plot).intersects(_view_rect(plot)))
    assert [label.text for _sample, label in plot.getPlotItem().legend.items] == [
        "dropout (2 seeds)",
        "no dropout (2 seeds)",
    ]
    one = CompareView()
    qtbot.addWidget(one)
    one.add_run("dropout", 0, _Result([{"val_loss": 1.0}, {"val_loss": 0.5}]))
    assert one.status.text().startswith("1 run finished")
    assert one.plot.getPlotItem().legend.items[0][1].text == "dropout (1 seed)"
    assert np.isfinite(one.plot.getViewBox().viewRange()[1]).all()
