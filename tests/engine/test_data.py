"""Datasets: fixed splits, stratified small-data subsets, and one clear message per bad file."""

from __future__ import annotations

import numpy as np
import pytest

from dropout_studio.core.datasets import SHIPPED, DatasetSpec, known_signature
from dropout_studio.engine.data import DataError, load_dataset


@pytest.mark.parametrize("name", list(SHIPPED))  # Keras downloads: test_keras_datasets.py
def test_builtin_sets_split_three_ways_and_match_the_catalogue(name):
    spec = DatasetSpec("builtin", name)
    data = load_dataset(spec, 0)
    n = sum(len(a) for a in (data.x_train, data.x_val, data.x_test))
    assert abs(len(data.x_test) / n - 0.2) < 0.02
    assert abs(len(data.x_val) / n - 0.2) < 0.02
    assert data.signature == known_signature(spec)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("circles", (2,)),
        ("moons", (2,)),
        ("spirals", (2,)),
        ("xor", (2,)),
        ("wave", (1,)),
        ("sine", (20, 1)),
        ("shapes", (32, 32, 3)),
        ("stripes", (32, 32, 1)),
    ],
)
def test_synthetic_sets(name, shape):
    channels = 3 if name == "shapes" else 1
    spec = DatasetSpec("synthetic", name, options=(("channels", channels), ("samples", 150)))
    data = load_dataset(spec, 1)
    assert data.x_train.shape[1:] == shape
    assert data.signature == known_signature(spec)
    assert np.isfinite(data.x_train).all()


def test_same_seed_same_split_other_seed_other_split():
    spec = DatasetSpec("builtin", "iris")
    a, b, c = load_dataset(spec, 5), load_dataset(spec, 5), load_dataset(spec, 6)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_train_size_takes_a_stratified_subset_and_leaves_test_alone():
    full = load_dataset(DatasetSpec("builtin", "digits", standardize=False), 0)
    small = load_dataset(DatasetSpec("builtin", "digits", train_size=60, standardize=False), 0)
    assert len(small.x_train) == 60
    assert np.bincount(small.y_train).tolist() == [6] * 10
    np.testing.assert_array_equal(small.x_test, full.x_test)
    np.testing.assert_array_equal(small.x_val, full.x_val)


def test_standardization_is_fitted_on_training_part_only():
    data = load_dataset(DatasetSpec("builtin", "wine"), 0)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    assert np.abs(data.x_test.mean(axis=0)).max() > 1e-3


def csv_spec(path, label="label"):
    return DatasetSpec("csv", path=str(path), label_column=label)


def test_csv_with_string_labels_and_a_categorical_column(tmp_path):
    rows = ["size,colour,label"] + [
        f"{i % 7},{'red' if i % 2 else 'blue'},{'cat' if i % 3 else 'dog'}" for i in range(30)
    ]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    data = load_dataset(csv_spec("d.csv"), 0, tmp_path / "project.json")
    assert data.class_names == ["cat", "dog"]
    assert data.x_train.shape[1] == 3  # size + one-hot(blue, red)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,label\n1,x\nfoo,y\n3,x\n", r"row 3, column 'a' holds 'foo', which is not a finite"),
        ("a,label\n1,x\nnan,y\n3,x\n", r"row 3, column 'a' holds 'nan'"),
        ("a,label\n1,x\n,y\n3,x\n", r"row 3, column 'a' is empty"),
        ("a,label\n1,x\n2,y,7\n3,x\n", r"row 3 has 3 cells but the header has 2"),
        ("a,b\n1,x\n2,y\n3,x\n", r"no column named 'label'; the columns are a, b"),
        ("a,label\n1,x\n2,x\n3,x\n", r"every sample has the label 'x'"),
        ("a,label\n1,x\n", r"header row and at least two data rows"),
    ],
)
def test_bad_csv_files_name_the_row_or_column(tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(csv_spec(tmp_path / "bad.csv"), 0)
    assert "bad.csv" in str(info.value)


def test_npz_regression_and_classification(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "r.npz", x=rng.random((40, 3)), y=rng.random(40))
    np.savez(tmp_path / "c.npz", x=rng.random((40, 3)), y=rng.integers(0, 3, 40))
    assert load_dataset(DatasetSpec("npz", path=str(tmp_path / "r.npz")), 0).task == "regression"
    data = load_dataset(DatasetSpec("npz", path=str(tmp_path / "c.npz")), 0)
    assert data.class_names == ["0", "1", "2"]


def test_npz_problems(tmp_path):
    np.savez(tmp_path / "nokeys.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="needs arrays named 'x' and 'y', found a"):
        load_dataset(DatasetSpec("npz", path=str(tmp_path / "nokeys.npz")), 0)
    x = np.ones((10, 2))
    x[4, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.arange(10) % 2)
    with pytest.raises(DataError, match="sample 5 of x contains NaN"):
        load_dataset(DatasetSpec("npz", path=str(tmp_path / "nan.npz")), 0)


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (tmp_path / label).mkdir()
        for i in range(8):
            pixels = (rng.random((12, 10, 3)) * 255).astype("uint8")
            Image.fromarray(pixels).save(tmp_path / label / f"{i}.png")
    spec = DatasetSpec(
        "images", path=str(tmp_path), standardize=False, options=(("channels", 1), ("size", 16))
    )
    data = load_dataset(spec, 0)
    assert data.x_train.shape[1:] == (16, 16, 1)
    assert data.class_names == ["cats", "dogs"]
    assert 0 <= data.x_train.min()
    assert data.x_train.max() <= 1


def test_empty_image_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_dataset(DatasetSpec("images", path=str(tmp_path)), 0)
    with pytest.raises(DataError, match="at least two classes, found 0"):
        load_dataset(DatasetSpec("images", path=str(tmp_path / "a")), 0)
