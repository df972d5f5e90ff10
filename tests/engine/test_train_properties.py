"""Invariant (a): whatever ``check`` passes, ``train`` trains or fails with one clear message.

The projects are drawn from the registries (tests/strategies.py) on synthetic and built-in
data, and on small CSV, NPZ and image files the strategy writes (down to a single row, one
class, splits of 0.0001 and 0.9999), one epoch each; a file that was never written must fail
``check``. The run folder is written too, as the CLI and the app do, since a name that breaks
the folder must not lose the run.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from dropout_studio.core.dataprobe import resolve_path
from dropout_studio.core.datasets import FILE_SOURCES
from tests.strategies import trainable_cases

CLEAN = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def _train_or_fail_cleanly(project, folder, project_file=None) -> None:
    from dropout_studio.engine.data import DataError, load_dataset
    from dropout_studio.engine.export import write_run
    from dropout_studio.engine.train import TrainingError, train

    try:
        data = load_dataset(project.dataset, seed=project.training.seed, project_file=project_file)
        result = train(project, data)
    except (TrainingError, DataError) as exc:
        message = str(exc)
        assert message
        assert "Traceback" not in message
        event(f"failed cleanly: {type(exc).__name__}")
        return
    event("trained")
    written = write_run(folder / "run", project, result, fallback_parent=folder)
    assert written.is_relative_to(folder)
    assert (written / "project.json").is_file()


def _one_case(tmp_path_factory, data) -> None:
    cases = tmp_path_factory.getbasetemp() / "data-files"
    cases.mkdir(exist_ok=True)
    project, project_file = data.draw(trainable_cases(cases))
    report = project.check(project_file)
    dataset = project.dataset
    event(f"source: {dataset.source}")
    if dataset.source in FILE_SOURCES and not resolve_path(project_file, dataset.path).exists():
        assert not report.ok, "check passed a dataset file that does not exist"
        event("missing file refused by check")
        return
    assume(report.ok)
    _train_or_fail_cleanly(project, tmp_path_factory.mktemp("runs"), project_file)


@CLEAN
@given(data=st.data())
def test_check_passed_projects_train_or_fail_cleanly(tmp_path_factory, data):
    _one_case(tmp_path_factory, data)


@pytest.mark.slow
@settings(CLEAN, max_examples=150)
@given(data=st.data())
def test_check_passed_projects_train_or_fail_cleanly_many(tmp_path_factory, data):
    _one_case(tmp_path_factory, data)
