"""Invariant (b): whatever save writes, load reads back as an equal project."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from dropout_studio.core.project import (
    load_project,
    project_from_text,
    project_to_dict,
    save_project,
)
from tests.strategies import projects

ROUND_TRIP = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@ROUND_TRIP
@given(projects())
def test_whatever_save_writes_load_reads_back_equal(tmp_path, project):
    path = tmp_path / "p.json"
    save_project(project, path)
    assert load_project(path) == project


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(projects())
def test_round_trip_many(project):
    import json

    assert project_from_text(json.dumps(project_to_dict(project)), "p") == project
