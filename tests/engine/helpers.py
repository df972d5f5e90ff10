"""Tiny projects that train in well under a second."""

from __future__ import annotations

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project, TrainingSpec
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec


def tiny_project(epochs: int = 5, rate: float = 0.5, samples: int = 200, **training) -> Project:
    return Project(
        name="tiny",
        dataset=DatasetSpec("synthetic", "moons", options=(("samples", samples),)),
        network=NetworkSpec(
            (
                LayerSpec.make("Input", shape=(2,)),
                LayerSpec.make("Dense", units=16, dropout=DropoutSpec("dropout", rate)),
                LayerSpec.make("Dense", units=2, activation="softmax"),
            )
        ),
        training=TrainingSpec(epochs=epochs, batch_size=16, **training),
    )


def record_step_caches(monkeypatch, module) -> list:
    """Every :class:`StepCache` that ``module`` (compare, sweep) creates, in order."""
    from dropout_studio.engine.train import StepCache

    caches: list[StepCache] = []

    class Recorded(StepCache):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            caches.append(self)

    monkeypatch.setattr(module, "StepCache", Recorded)
    return caches
