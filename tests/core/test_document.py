"""The document tells its views what changed, so each recomputes only what it shows."""

from __future__ import annotations

from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import load_preset


def test_listeners_hear_only_the_aspects_they_asked_for(tmp_path):
    doc = ProjectDocument(load_preset("small-data"))
    heard: dict[str, list[frozenset[str]]] = {"dataset": [], "any": []}
    doc.subscribe(lambda d: heard["dataset"].append(d.changes), ("dataset", "replaced"))
    doc.subscribe(lambda d: heard["any"].append(d.changes))
    doc.set_project(doc.project.with_training(epochs=3))
    assert heard["dataset"] == []
    assert heard["any"][-1] == {"training", "saved"}
    doc.save(tmp_path / "p.json")
    assert heard["any"][-1] == {"saved", "path"}
    doc.reset(load_preset("mlp-classic"))
    assert "replaced" in heard["dataset"][-1]


def test_unsubscribe_and_a_report_computed_once():
    doc = ProjectDocument(load_preset("mlp-classic"))
    calls = []

    def listener(d):
        calls.append(1)

    doc.subscribe(listener)
    doc.unsubscribe(listener)
    doc.set_project(doc.project.with_training(epochs=3))
    assert calls == []
    assert doc.report is doc.report  # cached per project
    before = doc.report
    doc.set_project(doc.project.with_training(epochs=4))
    assert doc.report is not before
