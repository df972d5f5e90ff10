"""Invariant (a): whatever ``check`` passes, ``train`` trains or fails with one clear message.

The projects are drawn from the registries (tests/strategies.py) on synthetic and built-in
data, one epoch each; the run folder is written too, as the CLI and the app do, since a name
that breaks the folder must not lose the run.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

from tests.strategies import trainable_projects

CLEAN = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def _train_or_fail_cleanly(project, folder) -> None:
    from dropout_studio.engine.data import DataError, load_dataset
    from dropout_studio.engine.export import write_run
    from dropout_studio.engine.train import TrainingError, train

    try:
        data = load_dataset(project.dataset, seed=project.training.seed)
        result = train(project, data)
    except (TrainingError, DataError) as exc:
        message = str(exc)
        assert message
        assert "Traceback" not in message
        return
    written = write_run(folder / "run", project, result, fallback_parent=folder)
    assert written.is_relative_to(folder)
    assert (written / "project.json").is_file()


@CLEAN
@given(project=trainable_projects())
def test_check_passed_projects_train_or_fail_cleanly(tmp_path_factory, project):
    assume(project.check().ok)
    _train_or_fail_cleanly(project, tmp_path_factory.mktemp("runs"))


@pytest.mark.slow
@settings(CLEAN, max_examples=150)
@given(project=trainable_projects())
def test_check_passed_projects_train_or_fail_cleanly_many(tmp_path_factory, project):
    assume(project.check().ok)
    _train_or_fail_cleanly(project, tmp_path_factory.mktemp("runs"))
