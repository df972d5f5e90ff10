"""The sweep's dialog, chart and table, without training (rows shaped as ``engine.sweep`` makes)."""

from __future__ import annotations

from dropout_studio.ui.experiment_dialogs import SweepDialog
from dropout_studio.ui.experiments import SweepView


def _row(rate: float, loss: float, seeds: int, spread: float = 0.0) -> dict[str, float]:
    return {
        "rate": rate,
        "train_size": 60,
        "val_loss": loss,
        "val_loss_std": spread / 2,
        "val_loss_min": loss - spread,
        "val_loss_max": loss + spread,
        "test_loss": loss + 0.1,
        "best_epoch": 12.0,
        "seeds": float(seeds),
    }


def test_a_single_point_is_framed_with_room_and_no_negative_loss(qtbot):
    """Fitted to one point, the view was 0.02 wide, its loss axis ran below 0, and the error
    bar's cap (0.02 in data units) crossed the whole chart."""
    view = SweepView()
    qtbot.addWidget(view)
    view.resize(700, 420)
    view.show()
    view.finish([_row(0.0, 1.3305, seeds=1)], stopped=True)
    (left, right), (low, high) = view.plot.getViewBox().viewRange()
    assert right - left >= 0.1
    assert low >= 0
    assert low < 1.3305 < high
    assert high - low < 1.0  # about the point, not 0 .. 1,000
    cell = [view.table.item(0, c).text() for c in range(view.table.columnCount())]
    header = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    assert cell[header.index("± std")] == "–"  # no spread over a single seed


def test_points_over_seeds_show_their_spread(qtbot):
    view = SweepView()
    qtbot.addWidget(view)
    view.finish([_row(0.0, 1.2, 2, 0.1), _row(0.5, 0.9, 2, 0.05)])
    header = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    assert view.table.item(0, header.index("± std")).text() == "0.0500"
    (left, right), _ = view.plot.getViewBox().viewRange()
    assert left < 0 < 0.5 < right


def test_the_dialog_sweeps_the_projects_own_train_size_by_default(qtbot):
    """ "all" overrode a small-data project's 60 samples: its sweep disagreed with its compare."""
    dialog = SweepDialog(train_size=60)
    qtbot.addWidget(dialog)
    assert dialog.parse()[1] == (60,)
    assert SweepDialog().parse()[1] == (0,)  # no train size: the whole training part
