"""A NaN run whose last update overflowed the weights while its loss was still finite.

The training loss of an epoch is measured before the epoch's last update; with huge inputs
that update can take the weights to ±inf. The safe copy (what ``model.keras`` keeps) must
then stay at the previous finite weights, in every loop.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project, TrainingSpec
from dropout_studio.core.spec import LayerSpec, NetworkSpec
from dropout_studio.engine.data import Dataset, load_dataset
from dropout_studio.engine.train import train

LOOPS = ["compiled", "fit"] if keras.backend.backend() == "tensorflow" else ["jax"]


def overflowing(loop: str, folder: Path) -> tuple[Dataset, Project]:
    rng = np.random.default_rng(0)
    x = ((rng.random((40, 1)) + 0.5).astype("float32") * 1e19).astype("float32")
    y = rng.random(40).astype("float32")
    np.savez(folder / "huge.npz", x=x, y=y)
    spec = DatasetSpec(
        "npz",
        path=str(folder / "huge.npz"),
        validation_split=0.0,  # no validation loss to notice the bad weights
        test_split=0.0,
        standardize=False,
    ).with_options(task="regression")
    project = Project(
        name="overflow",
        dataset=spec,
        network=NetworkSpec(
            (
                LayerSpec.make("Input", shape=(1,)),
                LayerSpec.make("Dense", units=1, activation="linear"),
            )
        ),
        training=TrainingSpec(
            optimizer="sgd", learning_rate=10.0, batch_size=1000, epochs=5, loop=loop
        ),
    )
    return load_dataset(spec, 0), project


@pytest.mark.parametrize("loop", LOOPS)
def test_weights_that_overflowed_in_the_last_update_are_not_kept(loop, tmp_path):
    data, project = overflowing(loop, tmp_path)
    result = train(project, data)
    assert result.status == "failed"
    assert all(np.isfinite(w).all() for w in result.model.get_weights())
