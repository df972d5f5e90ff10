"""Splits that leave a part empty end in one DataError, never a numpy error."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.engine.data import DataError, load_dataset, stratified_split


def test_splitting_an_empty_part_takes_nothing():
    rest, taken = stratified_split(np.array([], dtype=int), 0.5, np.random.default_rng(0), True)
    assert len(rest) == 0
    assert len(taken) == 0


@pytest.mark.parametrize("name", ["stripes", "shapes"])
def test_a_test_split_that_takes_every_one_sample_class_is_a_data_error(name):
    spec = DatasetSpec("synthetic", name, validation_split=0.0001, test_split=0.6).with_options(
        samples=5, size=4
    )
    with pytest.raises(DataError, match="training samples remain"):
        load_dataset(spec, 0)


@pytest.mark.parametrize("validation_split", [0.2, 1e-12])
def test_a_dataset_knows_its_training_part_before_train_size_takes_some(validation_split):
    """The window's train-size slider reads this count: estimating it from the held-out parts
    and a tiny split fraction once gave more samples than a Qt widget can hold."""
    whole = DatasetSpec("builtin", "digits", validation_split=validation_split, test_split=0.2)
    everything = load_dataset(whole, 0)
    taken = load_dataset(replace(whole, train_size=60), 0)
    assert len(taken.x_train) == 60
    assert taken.train_available == len(everything.x_train) == everything.train_available
