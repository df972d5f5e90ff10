"""Specs have one form however they are built, so a save/load round trip gives an equal one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import load_preset, project_from_dict, project_to_dict
from dropout_studio.core.spec import LAYER_KINDS, LayerSpec, NetworkSpec


def _round_trip(project):
    return project_from_dict(project_to_dict(project))


def _with(layers=None, dataset=None):
    project = load_preset("small-data")
    if layers is not None:
        project = replace(project, network=NetworkSpec(tuple(layers)))
    if dataset is not None:
        project = replace(project, dataset=dataset)
    return project


@pytest.mark.parametrize(
    "options",
    [
        (("units", LAYER_KINDS["Dense"].option("units").default),),
        (("units", 8), ("activation", "relu")),
        (("activation", "relu"), ("units", 8)),
        (("use_bias", True), ("units", 3)),
    ],
)
def test_a_layer_built_directly_equals_the_loaded_one(options):
    direct = LayerSpec("Dense", options)
    assert direct == LayerSpec.make("Dense", **dict(options))
    project = _with(layers=[LayerSpec.make("Input", shape=(2,)), direct])
    assert _round_trip(project) == project


def test_list_options_take_the_loaders_form():
    pool = LayerSpec("MaxPooling2D", (("pool_size", [2, 3]),))
    assert pool.options == (("pool_size", (2, 3)),)
    hash(pool)  # frozen: usable in sets and caches
    project = _with(layers=[LayerSpec.make("Input", shape=(8, 8, 1)), pool])
    assert _round_trip(project) == project


def test_dataset_options_in_any_order_are_one_spec():
    a = DatasetSpec(options=(("samples", 50), ("noise", 0.1)))
    b = DatasetSpec(options=(("noise", 0.1), ("samples", 50)))
    assert a == b
    assert hash(a) == hash(b)
    project = _with(dataset=a)
    assert _round_trip(project) == project


def test_options_that_are_not_pairs_are_left_for_check():
    odd = LayerSpec("Dense", ("units",))  # type: ignore[arg-type]
    assert odd.options == ("units",)
    assert DatasetSpec(options=(1,)).options == (1,)  # type: ignore[arg-type]
