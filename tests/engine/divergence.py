"""A run that diverges to NaN after a few epochs, for the NaN-weights tests of every loop."""

from __future__ import annotations

import numpy as np

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project, TrainingSpec
from dropout_studio.core.spec import LayerSpec, NetworkSpec
from dropout_studio.engine.data import Dataset


def divergent_regression(epochs: int = 200) -> tuple[Dataset, Project]:
    """A linear regression that SGD at learning rate 0.3 drives to NaN after a few epochs.

    Full batch, so every epoch is one step and the divergence is deterministic.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5], dtype="float32")).astype("float32")
    data = Dataset(x[:30], y[:30], x[30:60], y[30:60], x[60:], y[60:], [])
    project = Project(
        name="divergent",
        dataset=DatasetSpec("synthetic", "moons"),
        network=NetworkSpec(
            (
                LayerSpec.make("Input", shape=(4,)),
                LayerSpec.make("Dense", units=8, activation="linear"),
                LayerSpec.make("Dense", units=1, activation="linear"),
            )
        ),
        training=TrainingSpec(optimizer="sgd", learning_rate=0.3, batch_size=30, epochs=epochs),
    )
    return data, project
