"""A sweep whose every trial fails ends in one line that says why (no KerasTuner traceback)."""

from __future__ import annotations

from dropout_studio.cli import main
from dropout_studio.core.project import save_project
from tests.engine.helpers import tiny_project


def test_a_sweep_whose_every_trial_fails_says_why_in_one_line(tmp_path, monkeypatch, capsys):
    from dropout_studio.engine import sweep as sweep_module
    from dropout_studio.engine.data import DataError

    def unreadable(*args, **kwargs):
        raise DataError("data.csv: row 3, column 'x': 'abc' is not a number")

    monkeypatch.setattr(sweep_module, "load_dataset", unreadable)
    path = tmp_path / "p.json"
    save_project(tiny_project(epochs=2), path)
    code = main(["sweep", str(path), "--out", str(tmp_path / "sw"), "--rates", "0.5"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no trial finished: 1 failed, the first with: data.csv: row 3" in err
    assert "Traceback" not in err
