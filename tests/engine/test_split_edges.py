"""Splits that leave a part empty end in one DataError, never a numpy error."""

from __future__ import annotations

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
