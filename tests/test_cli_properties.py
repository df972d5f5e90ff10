"""Invariant (a) on the command line: a project ``check`` passes trains for one epoch or fails
with one line and status 1 or 2 — never a traceback, never more than 60 s."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings

from dropout_studio.core.project import save_project
from tests.strategies import trainable_projects

pytestmark = pytest.mark.slow


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(project=trainable_projects())
def test_cli_train_of_a_checked_project_never_shows_a_traceback(tmp_path_factory, project):
    assume(project.check().ok)
    folder = tmp_path_factory.mktemp("cli")
    save_project(project, folder / "p.json")
    result = subprocess.run(
        [sys.executable, "-m", "dropout_studio", "train", str(folder / "p.json"), "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        cwd=folder,
    )
    assert result.returncode in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr
