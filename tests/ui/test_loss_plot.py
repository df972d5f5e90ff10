"""The loss plot: plain numbers on the axes, log ticks with room, a legend beside the data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QFontMetricsF

from dropout_studio.ui.loss_plot import LossPlot
from dropout_studio.ui.plot_axes import ReadableAxis
from tests.ui.qt_events import EventCounter


def history(epochs: int = 40, scale: float = 1.0) -> list[dict[str, float]]:
    return [
        {
            "epoch": e,
            "loss": scale * (1.6 * math.exp(-e / 8) + 0.05),
            "val_loss": scale * (1.5 * math.exp(-e / 10) + 0.12),
            "accuracy": 0.5 + e / 100,
            "val_accuracy": 0.45 + e / 100,
        }
        for e in range(epochs)
    ]


@pytest.fixture
def plot(qtbot):
    view = LossPlot()
    qtbot.addWidget(view)
    view.resize(900, 560)
    view.show()
    return view


def test_small_values_are_not_rescaled_with_si_prefixes(plot, qtbot):
    plot.set_history(history(scale=1e-4))
    qtbot.wait(20)
    for widget in (plot.loss_plot, plot.metric_plot):
        for side in ("left", "bottom"):
            axis = widget.getAxis(side)
            assert isinstance(axis, ReadableAxis)
            assert axis.autoSIPrefixScale == 1.0
            assert "(x" not in axis.labelString()


def labelled_ticks(axis: ReadableAxis, low: float, high: float, size: float) -> list[float]:
    levels = axis.tickValues(low, high, size)
    out = []
    for spacing, values in levels:
        strings = axis.tickStrings(values, 1.0, spacing)
        out += [v for v, s in zip(values, strings) if s]
    return sorted(out)


@pytest.mark.parametrize(
    ("low", "high"),
    [(0.02, 2.0), (0.5, 1.0), (0.05, 0.1), (1e-6, 10.0), (0.52, 0.58), (0.0101, 0.0109)],
)
@pytest.mark.parametrize("size", [120.0, 250.0, 500.0])
def test_log_ticks_never_collide(plot, low, high, size):
    plot.log_y.setChecked(True)
    axis = plot.loss_plot.getAxis("left")
    lo, hi = math.log10(low), math.log10(high)
    ticks = labelled_ticks(axis, lo, hi, size)
    assert ticks, "at least one labelled tick"
    room = QFontMetricsF(axis.style.get("tickFont") or plot.font()).height()
    pixels = np.diff(ticks) * size / (hi - lo)
    assert (pixels >= room).all(), (ticks, pixels, room)


def test_legend_is_opaque_and_outside_the_data(plot, qtbot):
    plot.set_history(history())
    plot.set_overlays({"run 1": ("#2ca02c", history()), "run 2": ("#9467bd", history())})
    qtbot.wait(20)
    legend = plot.legend
    assert legend.brush().color().alpha() == 255
    view_box = plot.loss_plot.getPlotItem().vb
    overlap = legend.sceneBoundingRect().intersected(view_box.sceneBoundingRect())
    assert overlap.height() <= 1
    names = [label.text for _, label in legend.items]
    # one entry for the earlier runs (their colours are the Runs tab's), not a row of names
    assert names.count("earlier runs (validation; colours as in Runs)") == 1
    assert len(plot.overlay_curves) == 2
    assert "batch loss (sampled)" not in names  # hidden curves leave the legend


def test_hidden_curves_leave_the_legend_and_come_back(plot):
    def names() -> list[str]:
        return [label.text for _, label in plot.legend.items]

    plot.show_batches.setChecked(True)
    assert "batch loss (sampled)" in names()
    plot.show_gap.setChecked(False)
    assert "gap (validation − training)" not in names()
    plot.show_gap.setChecked(True)
    assert "gap (validation − training)" in names()


def test_epochs_are_drawn_from_one_and_the_axis_says_the_csv_counts_from_zero(plot, tmp_path):
    rows = history(5)
    plot.set_history(rows)
    xs, _ = plot.train_curve.getData()
    assert xs[0] == 1
    assert rows[0]["epoch"] == 0
    assert "counts from 0" in plot.metric_plot.getAxis("bottom").labelString()
    plot.export_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines()[1].startswith("0")


def test_log_scale_with_a_negative_gap_draws_without_warnings(plot, qtbot, recwarn):
    rows = history(10)
    rows[3]["val_loss"] = rows[3]["loss"] - 0.01  # a negative gap has no logarithm
    plot.set_history(rows)
    plot.log_y.setChecked(True)
    plot.grab()
    assert not [w for w in recwarn if "dropout_studio" in str(w.filename)]


def test_presentation_mode_enlarges_legend_and_ticks(plot):
    plot.set_presentation(True)
    assert plot.legend.opts["labelTextSize"] == "14pt"
    assert plot.loss_plot.getAxis("left").style["tickFont"].pointSizeF() == 14
    before = plot.loss_plot.getPlotItem().layout.rowMaximumHeight(0)
    plot.set_presentation(False)
    assert plot.loss_plot.getPlotItem().layout.rowMaximumHeight(0) < before


@pytest.mark.parametrize("height", [260, 300, 420, 700])
def test_the_loss_pane_stays_the_larger_one(qtbot, height):
    """In a short Loss tab (1366x768) the accuracy pane must not squeeze the loss away."""
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(720, height)
    widget.show()
    qtbot.waitUntil(lambda: widget.loss_plot.height() > 0)
    assert widget.loss_plot.height() > widget.metric_plot.height()
    assert widget.metric_plot.height() <= max(widget.metric_floor(), height // 3)
    assert widget.metric_floor() <= 120


def test_short_runs_get_whole_epoch_ticks_and_a_neutral_metric_label(qtbot):
    from dropout_studio.ui.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 300)
    plot.show()
    plot.clear()  # what a new project or a new run does
    assert plot.metric_plot.getAxis("left").labelText == "metric"  # not "mae" before epoch 1
    axis = plot.loss_plot.getAxis("bottom")
    ticks = [v for _spacing, values in axis.tickValues(1.0, 3.0, 600) for v in values]
    assert ticks
    assert all(float(v).is_integer() for v in ticks)


def test_log_scale_hides_the_gap_it_cannot_show(qtbot):
    from dropout_studio.ui.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.log_y.setChecked(True)
    assert not plot.gap_curve.isVisible()
    assert not plot.show_gap.isEnabled()
    plot.log_y.setChecked(False)
    assert plot.gap_curve.isVisible()


def test_a_short_pane_keeps_at_least_one_labelled_tick():
    from dropout_studio.ui.plot_axes import ReadableAxis

    axis = ReadableAxis("left")
    ticks = [v for _s, values in axis.tickValues(0.2, 0.9, 40) for v in values]
    assert any(0.2 <= v <= 0.9 for v in ticks)


@pytest.mark.parametrize(("height", "presenting"), [(300, False), (420, False), (300, True)])
def test_the_metric_title_is_never_cut(qtbot, height, presenting):
    """Rotated beside the data where it fits; in a projector's short pane, above the data."""
    from PySide6.QtGui import QFontMetricsF

    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(720, height)
    widget.show()
    widget.set_presentation(presenting)
    row = {"loss": 1.0, "val_loss": 1.1, "accuracy": 0.5, "val_accuracy": 0.6}
    widget.set_history([{"epoch": e, **row} for e in range(5)])
    metric = widget.metric_plot
    left, title = metric.getAxis("left"), metric.getPlotItem().titleLabel
    need = QFontMetricsF(left.label.font()).horizontalAdvance("accuracy")

    def whole() -> bool:
        if left.label.isVisible():
            return need <= metric.getViewBox().sceneBoundingRect().height()
        return title.isVisible() and title.text == "accuracy"

    qtbot.waitUntil(whole)
    assert left.labelText == "accuracy"
    assert presenting or left.label.isVisible()  # at the desk's font it stays beside the data


def test_a_short_pane_keeps_one_whole_round_tick(qtbot):
    """43 px for 0.23–0.97 at a projector's 14 pt: one label, round, away from both ends."""
    from PySide6.QtGui import QFont

    from dropout_studio.ui.plot_axes import ReadableAxis

    axis = ReadableAxis("left")
    axis.setStyle(tickFont=QFont("DejaVu Sans", 14))
    low, high, size = 0.228, 0.972, 43.0
    values = [v for _spacing, vs in axis.tickValues(low, high, size) for v in vs]
    assert len(values) == 1
    half = QFontMetricsF(axis.style["tickFont"]).height() / 2 * (high - low) / size
    assert low + half <= values[0] <= high - half  # the label is drawn whole
    spacing = axis.tickSpacing(low, high, size)[0][0]
    assert axis.tickStrings(values, 1.0, spacing) == ["0.5"]


def test_a_cleared_plot_fits_the_next_history(qtbot):
    """An emptied plot must not pin the next run's curves to its old range."""
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(720, 400)
    widget.show()
    widget.clear()
    row = {"loss": 1.0, "val_loss": 1.1, "accuracy": 0.5, "val_accuracy": 0.6}
    widget.set_history([{"epoch": e, **row} for e in range(2000)])
    qtbot.waitUntil(lambda: widget.loss_plot.getViewBox().viewRange()[0][1] > 1900)
    qtbot.waitUntil(lambda: widget.metric_plot.getViewBox().viewRange()[0][1] > 1900)
    assert widget.loss_plot.getViewBox().viewRange()[0][0] > -100


def test_while_a_run_trains_the_axes_hold_still_and_the_finished_run_is_fitted(plot, qtbot):
    """Live, the x axis spans the planned epochs and the y axis moves only when a curve
    leaves it: re-laying the axes at every frame was the window's longest stall."""
    rows = history(200)
    plot.begin_live(200)
    for row in rows[:5]:
        plot.add_epoch(row)
    plot._redraw()
    box = plot.loss_plot.getViewBox()
    x_range, y_range = box.viewRange()
    assert x_range[0] <= 1  # the whole run, from its first epoch
    assert x_range[1] >= 200
    assert y_range[0] <= min(r["loss"] for r in rows[:5])
    assert y_range[1] >= max(r["val_loss"] for r in rows[:5])
    for row in rows[5:150]:  # the losses fall: the axis already reaches 0
        plot.add_epoch(row)
        plot._redraw()
    assert box.viewRange() == [x_range, box.viewRange()[1]]
    held = box.viewRange()[1]
    for row in rows[150:]:
        plot.add_epoch(row)
        plot._redraw()
    assert box.viewRange()[1] == held  # no frame re-laid the axis
    plot.add_epoch({"epoch": 200, "loss": 5.0, "val_loss": 6.0})  # a curve leaves the axis
    plot._redraw()
    assert box.viewRange()[1][1] >= 6.0
    plot.set_history(rows[:40])  # the run ended: fitted to what it did
    qtbot.wait(20)
    assert box.viewRange()[0][1] < 60


def test_a_negative_gap_gets_little_room_below_zero_while_live(plot):
    """Only the gap goes below 0; it must not squeeze the losses into the top of the pane."""
    plot.begin_live(100)
    for epoch in range(6):  # validation below training: dropout on while training
        loss, val = 1.6 - 0.05 * epoch, 1.1 - 0.15 * epoch  # the gap falls to -1.0
        plot.add_epoch({"epoch": epoch, "loss": loss, "val_loss": val})
        plot._redraw()
    bottom, top = plot.loss_plot.getViewBox().viewRange()[1]
    assert bottom >= -1.0 - 0.1 * 2.6 - 0.05  # the gap's low with a tenth of the span
    assert top >= 1.6


def test_a_run_that_trained_every_planned_epoch_keeps_its_axes_and_others_are_fitted(plot, qtbot):
    rows = history(30)
    plot.begin_live(30)
    for row in rows:
        plot.add_epoch(row)
        plot._redraw()
    box = plot.loss_plot.getViewBox()
    held = box.viewRange()
    plot.set_history(rows)  # every planned epoch: no re-laying of the axes at the end
    assert box.viewRange() == held
    plot.set_overlays({"run 1": ("#2ca02c", history(60, scale=3.0))})  # longer and higher
    plot._redraw()
    x_range, y_range = box.viewRange()
    assert x_range[1] >= 60
    assert y_range[1] >= 3.0 * 1.5
    plot.clear()  # the next run, or another project: fitted again
    plot.set_overlays({})
    plot.set_history(rows[:10])
    qtbot.waitUntil(lambda: box.viewRange()[0][1] < 20, timeout=1_000)


def _after_a_whole_run(plot, held):
    """Train 30 of 30 epochs, read ``held()`` on the axes they leave, and clear for the next
    run as Train does; returns what ``held()`` read."""
    rows = history(30)
    plot.begin_live(30)
    for row in rows:
        plot.add_epoch(row)
        plot._redraw()
    plot.set_history(rows)
    value = held()
    plot.clear(keep_axes=True)
    plot._redraw()
    return value


def test_the_next_run_of_the_same_project_starts_on_the_axes_the_last_one_held(plot):
    """Train again: no re-laying of the axes as the run starts, until its data leaves them."""
    box = plot.loss_plot.getViewBox()
    held = _after_a_whole_run(plot, lambda: box.viewRange())
    calls = []
    set_x_range = plot.loss_plot.setXRange
    plot.loss_plot.setXRange = lambda *a, **k: calls.append(a) or set_x_range(*a, **k)
    plot.begin_live(30)
    for row in history(30, scale=0.9)[:5]:
        plot.add_epoch(row)
        plot._redraw()
    assert box.viewRange() == held
    assert calls == []  # the same range is not set again: that re-laid both epoch axes
    plot.begin_live(40)  # a longer run: its x axis spans it
    plot._redraw()
    assert calls == [(1, 40)]
    assert box.viewRange()[0][1] >= 40


def test_the_same_overlays_again_leave_the_curves_alone(plot):
    overlays = {"run 1": ("#2ca02c", history())}
    plot.set_overlays(overlays)
    curve = plot.overlay_curves["run 1"]
    plot.set_overlays({"run 1": ("#2ca02c", history())})  # the runs list refreshed
    assert plot.overlay_curves["run 1"] is curve
    plot.set_overlays({"run 1": ("#d62728", history())})  # another colour: redrawn
    assert plot.overlay_curves["run 1"] is not curve
    plot.set_overlays({})
    assert plot.overlay_curves == {}


def test_hidden_batch_losses_are_stored_but_not_drawn_until_shown(qtbot):
    """Setting a scatter's data is its dearest update: a hidden one is left alone."""
    from dropout_studio.ui.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    for i in range(5):
        plot.add_batch_loss(0.2 * (i + 1), 1.0 / (i + 1))
    plot.add_epoch({"epoch": 0, "loss": 1.0, "val_loss": 1.1})
    plot._redraw()
    xs, _ys = plot.batch_curve.getData()
    assert xs is None or len(xs) == 0
    plot.show_batches.setChecked(True)
    xs, ys = plot.batch_curve.getData()
    assert list(xs) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert list(ys) == pytest.approx([1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    plot.clear()
    plot._redraw()
    xs, _ys = plot.batch_curve.getData()
    assert xs is None or len(xs) == 0


def test_the_next_run_keeps_the_metric_axis_while_its_first_points_sit_inside_it(plot):
    """A run's first accuracies span a sliver of the last run's axis: refitting to them and
    growing back as they spread re-laid the axis twice within a second (a 20 ms stall)."""
    metric_box = plot.metric_plot.getViewBox()
    held = _after_a_whole_run(plot, lambda: metric_box.viewRange()[1])
    plot.begin_live(30)
    for row in history(30)[:3]:
        plot.add_epoch(row)
        plot._redraw()
    assert metric_box.viewRange()[1] == held
    for row in history(30)[3:20]:  # settled: a sliver of the axis is fitted snugly again
        plot.add_epoch({**row, "accuracy": 0.5, "val_accuracy": 0.5})
        plot._redraw()
    assert metric_box.viewRange()[1] != held


def test_a_new_best_epoch_repaints_only_its_caption(plot, qtbot):
    """The caption keeps the size of its longest text: a label sized by its text re-laid the
    plots beside it at every new best epoch of a live run, and repainted both panes."""
    from PySide6.QtCore import QEvent

    requests = EventCounter(plot, QEvent.Type.LayoutRequest)
    plot.begin_live(1000)
    qtbot.wait(30)
    requests.count = 0
    for epoch, loss in enumerate((2.0, 1.2345, 0.5, 0.01234), start=0):
        plot.add_epoch({"epoch": epoch, "loss": loss, "val_loss": loss + 0.1})
        plot._redraw()
        qtbot.wait(5)
    assert plot.best_label.text() == "best validation loss 0.1123 at epoch 4"
    assert requests.count == 0
    caption = plot.best_label
    assert caption.width() >= _needs(caption)
    plot.add_epoch({"epoch": 4, "loss": 1e9, "val_loss": -3e9})  # diverged: far past the template
    plot._redraw()
    assert caption.text() == "best validation loss -3000000000.0000 at epoch 5"
    assert caption.width() >= _needs(caption)  # widened, whole
    wide = caption.width()
    plot.clear()  # the next run: back to the template's width
    plot._redraw()
    assert caption.text() == ""
    assert caption.width() < wide


def test_the_caption_follows_the_projector_font_both_ways(plot):
    """Presentation mode on and off: whole in the larger font, and back to the desk's width
    after (it kept the projector's width, and the tab scrolled sideways at 1366 x 768)."""
    from PySide6.QtGui import QFont

    caption = plot.best_label
    caption.setText("best validation loss 0.7915 at epoch 20")
    desk = caption.width()
    font = caption.font()
    big = QFont(font)
    big.setPointSizeF(font.pointSizeF() * 1.5)
    caption.setFont(big)
    assert caption.width() > desk
    assert caption.width() >= _needs(caption)
    caption.setFont(font)
    assert caption.width() == desk


def _needs(label) -> int:
    """The width a label's text needs, measured apart: a fixed size inflates its sizeHint."""
    from PySide6.QtWidgets import QLabel

    probe = QLabel(label.text())
    probe.setFont(label.font())
    return probe.sizeHint().width()


def test_a_live_run_is_drawn_by_its_frames_and_an_idle_plot_runs_no_timer(plot, qtbot):
    """No wake-ups while nothing changes; a live epoch is drawn by the training's frame when
    one is due, else by the plot's own timer within LIVE_FRAME_MS."""
    import time

    from dropout_studio.ui.loss_plot import LIVE_FRAME_MS

    qtbot.waitUntil(lambda: not plot._timer.isActive(), timeout=1_000)
    plot._redraw()
    assert not plot._timer.isActive()  # idle and drawn: nothing wakes the window

    plot.begin_live(100)
    plot._redraw()
    plot.add_epoch({"epoch": 0, "loss": 1.0, "val_loss": 1.1})
    plot._drawn_at = time.monotonic() + 10  # as if just drawn, however slow this machine is
    plot.draw_frame()  # not due: the epoch waits
    drawn = plot.train_curve.getData()[0]
    assert drawn is None or len(drawn) == 0
    assert plot._timer.isActive()
    assert plot._timer.interval() == LIVE_FRAME_MS
    with qtbot.waitSignal(plot._timer.timeout, timeout=2_000):
        pass  # no frame came: the timer draws it
    assert list(plot.train_curve.getData()[0]) == [1.0]

    plot.add_epoch({"epoch": 1, "loss": 0.9, "val_loss": 1.0})
    time.sleep(LIVE_FRAME_MS / 1000)
    plot.draw_frame()  # due: drawn now, and the timer is not left to wake the window
    assert list(plot.train_curve.getData()[0]) == [1.0, 2.0]
    assert not plot._timer.isActive()

    plot.set_history([{"epoch": 0, "loss": 1.0, "val_loss": 1.1}])
    assert list(plot.train_curve.getData()[0]) == [1.0]  # a whole history: drawn at once
    assert not plot._timer.isActive()


def test_log_scale_shows_at_once_during_a_live_run(plot, qtbot):
    plot.begin_live(100)
    for epoch in range(3):
        plot.add_epoch({"epoch": epoch, "loss": 10.0**-epoch, "val_loss": 10.0**-epoch})
    plot._redraw()
    plot.log_y.setChecked(True)  # no wait for the next 200 ms frame
    low, high = plot.loss_plot.getViewBox().viewRange()[1]
    assert low <= -2  # the held range is in decades now: 0.01 .. 1
    assert high >= 0
    plot.add_epoch({"epoch": 3, "loss": 1e-3, "val_loss": 1e-3})
    plot._redraw()
    left, right = plot.loss_plot.getViewBox().viewRange()[0]
    assert left < 1  # the epoch axis still spans the whole run (setLogMode had let it
    assert right > 100  # follow the epochs trained so far)


def test_a_live_run_on_a_log_axis_is_framed_in_decades(plot):
    """pyqtgraph hands back log10 values on a log axis: taking their log again framed a live
    run on the wrong decades (or not at all)."""
    plot.log_y.setChecked(True)
    plot.begin_live(100)
    for epoch in range(4):
        plot.add_epoch({"epoch": epoch, "loss": 10.0**-epoch, "val_loss": 2 * 10.0**-epoch})
    plot._redraw()
    low, high = plot.loss_plot.getViewBox().viewRange()[1]
    assert -3.5 < low <= -3  # 0.001 .. 2 in decades, with some room
    assert 0.3 <= high < 1


def test_long_run_names_never_widen_the_plot_past_its_pane(qtbot):
    """Earlier runs' names made the legend, and the plot with it, wider than the pane: the
    right end of the run was cut off, and stayed cut after the overlays were unticked."""
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(740, 500)
    widget.show()
    qtbot.waitExposed(widget)
    rows = [{"epoch": e, "loss": 1 / (e + 1), "val_loss": 1.2 / (e + 1)} for e in range(60)]
    widget.set_history(rows)
    item = widget.loss_plot.getPlotItem()
    runs = {f"run-20261207-10101{k} mlp-classic": ("#aa0000", rows) for k in range(2)}
    widget.set_overlays(runs)
    assert item.width() <= widget.loss_plot.width()
    assert widget.legend.columnCount < 3  # fewer columns, more rows
    widget.set_overlays({})
    assert item.width() <= widget.loss_plot.width()
    assert widget.legend.columnCount == 3


def test_entries_toggled_off_and_on_leave_no_hole_in_the_legend(plot):
    plot.show_gap.setChecked(False)
    plot.show_batches.setChecked(True)
    plot.show_gap.setChecked(True)
    plot.show_batches.setChecked(False)
    cells = plot.legend.layout
    taken = [(r, c) for r in range(cells.rowCount()) for c in range(cells.columnCount())]
    taken = [(r, c) for r, c in taken if cells.itemAt(r, c) is not None]
    assert {r for r, _ in taken} == {0}  # three entries, one row: sample and label cells
    assert len(taken) == 6


def test_a_one_epoch_run_is_drawn_as_dots(plot):
    """A curve of one point drew nothing (a line needs two): a 1-epoch run showed empty panes."""
    plot.set_history([{"epoch": 0, "loss": 2.0, "val_loss": 2.1, "accuracy": 0.3}])
    assert plot.train_curve.opts["symbol"] == "o"
    assert plot.train_metric.opts["symbol"] == "o"
    plot.set_history([{"epoch": e, "loss": 2.0 - e, "val_loss": 2.1 - e} for e in range(2)])
    assert plot.train_curve.opts["symbol"] is None  # lines again


def test_a_held_y_axis_moves_only_when_the_curves_leave_or_shrink_inside_it():
    import numpy as np

    from dropout_studio.ui.plot_axes import held_range

    held = (0.0, 2.0)
    assert held_range(np.array([0.5, 1.5]), held, settling=False, floor=True) is None
    bottom, top = held_range(np.array([0.05, 2.5]), held, settling=False, floor=True)
    assert bottom == 0.0  # a loss never goes below 0
    assert top > 2.5  # with room to grow where the curve is heading
    assert held_range(np.array([1.0, 1.1]), held, settling=True, floor=True) is None
    bottom, top = held_range(np.array([1.0, 1.1]), held, settling=False, floor=True)
    assert 0.9 < bottom < 1.0 < 1.1 < top < 1.2  # a sliver of the axis: fitted snugly
    assert held_range(np.array([np.nan]), None, settling=False, floor=True) is None
    bottom, _ = held_range(np.array([-0.2, 0.3]), None, settling=False, floor=True)
    assert bottom < -0.2  # the gap may go below 0
