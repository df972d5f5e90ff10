"""Every bad data file ends in one DataError that names the file (and row, column or sample)."""

from __future__ import annotations

import csv
import io
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from dropout_studio.core import dataprobe
from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.engine.data import DataError, load_csv, load_dataset


def npz_spec(path, **kw):
    return DatasetSpec("npz", path=str(path), **kw)


def load_npz_file(path):
    return load_dataset(npz_spec(path), 0)


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


# ---------------------------------------------------------------- NPZ

RNG = np.random.default_rng(0)
X = RNG.random((40, 3))
Y = np.arange(40) % 2


def _huge_header_npz(path):
    """x.npy claims 10^7 × 10^6 float32 values (36 TiB) but holds 64 bytes."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f4", "fortran_order": False, "shape": (10**7, 10**6)}
    )
    head.write(b"\0" * 64)
    y = io.BytesIO()
    np.save(y, np.arange(3))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", head.getvalue())
        archive.writestr("y.npy", y.getvalue())


def _truncated(path):
    np.savez(path, x=X, y=Y)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_NPZ = [
    ("zero_d", lambda p: np.savez(p, x=np.float64(3), y=np.int64(1)), r"x is a single value"),
    ("zero_d_y", lambda p: np.savez(p, x=X, y=np.int64(1)), r"y is a single value"),
    ("empty", lambda p: np.savez(p, x=np.zeros((0, 3)), y=np.zeros(0)), r"holds no values"),
    ("no_features", lambda p: np.savez(p, x=np.zeros((40, 0)), y=Y), r"shape \(40, 0\)"),
    ("npy", lambda p: np.save(open(p, "wb"), X), r"single \.npy array.*numpy\.savez"),
    ("garbage_zip", lambda p: p.write_bytes(b"PK\x03\x04garbage"), r"not a readable \.npz"),
    ("text", lambda p: p.write_text("x,y\n1,2\n"), r"not a readable \.npz"),
    ("empty_file", lambda p: p.write_bytes(b""), r"the file is empty"),
    ("empty_zip", lambda p: zipfile.ZipFile(p, "w").close(), r"'x' and 'y', found none"),
    ("truncated", _truncated, r"\.npz"),
    ("huge_header", _huge_header_npz, r"claims shape \(10000000, 1000000\) \(36\.4 TiB\)"),
    ("no_y", lambda p: np.savez(p, x=X), r"needs arrays named 'x' and 'y', found x"),
    ("lengths", lambda p: np.savez(p, x=X, y=np.arange(39) % 2), r"x has 40 samples but y has 39"),
    ("text_x", lambda p: np.savez(p, x=np.array(["a", "b"] * 20), y=Y), r"x must be numeric"),
    ("complex_x", lambda p: np.savez(p, x=X + 1j, y=Y), r"x must be numeric, got complex"),
    (
        "object_x",
        lambda p: np.savez(p, x=np.array([1, "a"] * 20, dtype=object), y=Y),
        r"Python objects, which need pickle",
    ),
    (
        "date_y",
        lambda p: np.savez(p, x=X, y=np.array(["2020-01-01"] * 40, dtype="datetime64[D]")),
        r"y must hold numbers or text",
    ),
    ("y_3d", lambda p: np.savez(p, x=X, y=np.zeros((40, 2, 2))), r"y has shape \(40, 2, 2\)"),
    ("soft_y", lambda p: np.savez(p, x=X, y=np.full((40, 2), 0.5)), r"sample 1 is not one-hot"),
    ("one_class", lambda p: np.savez(p, x=X, y=np.zeros(40)), r"every sample has the label '0'"),
    (
        "one_hot_one_class",
        lambda p: np.savez(p, x=X, y=np.tile([1, 0], (40, 1))),
        r"every sample of y is class 0",
    ),
    ("overflow_x", lambda p: np.savez(p, x=np.full((40, 2), 1e39), y=Y), r"too large for 32-bit"),
    ("nan_x", lambda p: np.savez(p, x=np.full((40, 2), np.nan), y=Y), r"sample 1 of x contains"),
    ("inf_y", lambda p: np.savez(p, x=X, y=np.where(Y, np.inf, 0)), r"sample 2 of y is inf"),
    ("nan_y", lambda p: np.savez(p, x=X, y=np.where(Y, np.nan, 0.5)), r"sample 2 of y is nan"),
    ("empty_label", lambda p: np.savez(p, x=X, y=np.array(["a", ""] * 20)), r"sample 2 of y is"),
]


@pytest.mark.parametrize(("make", "message"), [c[1:] for c in BAD_NPZ], ids=[c[0] for c in BAD_NPZ])
def test_bad_npz_files_give_one_data_error(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(DataError, match=message) as info:
        load_npz_file(path)
    assert "bad.npz" in str(info.value)


def test_npz_memory_is_checked_from_the_header(tmp_path, monkeypatch):
    path = write_npz(tmp_path / "d.npz", x=np.zeros((100, 1000)), y=np.arange(100) % 2)
    monkeypatch.setattr(dataprobe, "memory_bytes", lambda: 100_000)
    with pytest.raises(DataError, match=r"more than half this computer's memory"):
        load_npz_file(path)


def test_one_hot_y_is_accepted_as_class_indices(tmp_path):
    labels = np.arange(40) % 3
    path = write_npz(tmp_path / "d.npz", x=X, y=np.eye(3, dtype="float32")[labels])
    data = load_dataset(npz_spec(path, standardize=False), 0)
    assert data.class_names == ["0", "1", "2"]
    everything = np.concatenate([data.x_train, data.x_val, data.x_test])
    targets = np.concatenate([data.y_train, data.y_val, data.y_test])
    for row, label in zip(everything, targets):
        original = int(np.flatnonzero(np.isclose(X, row).all(axis=1))[0])
        assert labels[original] == label


@pytest.mark.parametrize(
    ("x", "y", "shape", "names"),
    [
        (np.arange(40.0), Y, (1,), ["0", "1"]),  # 1-D x: one feature per sample
        (X, Y[:, None], (3,), ["0", "1"]),  # y of shape (n, 1)
        (X, np.array(["cat", "dog"] * 20), (3,), ["cat", "dog"]),
        (X.astype("float16"), (Y == 1), (3,), ["0", "1"]),  # bool labels
        (np.arange(40 * 4).reshape(40, 2, 2), Y, (2, 2), ["0", "1"]),
    ],
)
def test_npz_shapes_and_label_kinds_that_load(tmp_path, x, y, shape, names):
    path = write_npz(tmp_path / "d.npz", x=x, y=y)
    data = load_npz_file(path)
    assert data.x_train.shape[1:] == shape
    assert data.class_names == names


def test_compressed_npz_loads(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", x=X, y=Y)
    assert load_npz_file(tmp_path / "c.npz").x_train.shape[1:] == (3,)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_damaged_npz_bytes_never_raise_anything_but_data_error(tmp_path, save):
    path = tmp_path / "d.npz"
    save(path, x=X, y=Y)
    good = path.read_bytes()
    rng = np.random.default_rng(1)
    for i in range(80):
        data = bytearray(good)
        if i % 3 == 0:
            data = data[: rng.integers(0, len(good))]
        else:
            for at in rng.integers(0, len(good), 1 + i % 4):
                data[at] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        try:
            load_npz_file(path)
        except DataError:
            pass


# ---------------------------------------------------------------- paths


def _fifo(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("source", ["csv", "npz", "images"])
@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda t: t / "missing.csv", r"no such file or folder"),
        (lambda t: str(t / "a") + "\0b", r"embedded null byte"),
        (lambda t: t / ("x" * 5000), r"cannot be opened"),
        (lambda t: t / "plain.txt" / "below", r"a part of the path is a file"),
    ],
    ids=["missing", "nul", "long", "below_a_file"],
)
def test_bad_paths_give_data_errors(tmp_path, source, where, message):
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(DataError, match=message):
        load_dataset(DatasetSpec(source, path=str(where(tmp_path))), 0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("source", ["csv", "npz"])
def test_a_fifo_is_refused_without_being_opened(tmp_path, source):
    with pytest.raises(DataError, match=r"not a regular file"):
        load_dataset(DatasetSpec(source, path=str(_fifo(tmp_path))), 0)


@pytest.mark.parametrize("source", ["csv", "npz"])
def test_a_folder_where_a_file_belongs(tmp_path, source):
    with pytest.raises(DataError, match=r"is a folder, not a"):
        load_dataset(DatasetSpec(source, path=str(tmp_path)), 0)


# ---------------------------------------------------------------- image folders


def image_folder(root, classes=("cats", "dogs"), count=4, size=(12, 10)):
    rng = np.random.default_rng(0)
    for label in classes:
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = (rng.random((*size, 3)) * 255).astype("uint8")
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


def images_spec(path, **options):
    options = {"size": 16, "channels": 3, **options}
    return DatasetSpec(
        "images", path=str(path), standardize=False, options=tuple(sorted(options.items()))
    )


def test_a_truncated_png_is_named(tmp_path):
    image_folder(tmp_path)
    png = tmp_path / "dogs" / "2.png"
    png.write_bytes(png.read_bytes()[:60])
    with pytest.raises(DataError, match=r"2\.png: cannot be read as an image") as info:
        load_dataset(images_spec(tmp_path), 0)
    assert str(png) in str(info.value)


def test_a_non_image_with_an_image_name_is_named(tmp_path):
    image_folder(tmp_path)
    (tmp_path / "cats" / "notes.jpg").write_text("not a picture")
    with pytest.raises(DataError, match=r"notes\.jpg: cannot be read as an image"):
        load_dataset(images_spec(tmp_path), 0)


def test_single_class_folder(tmp_path):
    image_folder(tmp_path, classes=("only",))
    with pytest.raises(DataError, match=r"at least two classes, found 1 \(only\)"):
        load_dataset(images_spec(tmp_path), 0)


def test_a_file_where_the_folder_belongs(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(DataError, match=r"is a file, not a folder"):
        load_dataset(images_spec(tmp_path / "a.png"), 0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_hidden_files_and_fifos_in_class_folders_are_skipped(tmp_path):
    image_folder(tmp_path)
    os.mkfifo(tmp_path / "cats" / "pipe.png")
    (tmp_path / "cats" / "._0.png").write_bytes(b"AppleDouble")
    (tmp_path / ".thumbnails").mkdir()
    data = load_dataset(images_spec(tmp_path), 0)
    assert data.class_names == ["cats", "dogs"]
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 8


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": "big"}, r"image size must be a whole number"),
        ({"size": [1, 2, 3]}, r"image size must be a whole number"),
        ({"size": 0}, r"image size must be a whole number"),
        ({"channels": 2}, r"channels must be 1 \(grey\) or 3 \(colour\), not 2"),
    ],
)
def test_bad_image_options(tmp_path, options, message):
    image_folder(tmp_path)
    with pytest.raises(DataError, match=message):
        load_dataset(images_spec(tmp_path, **options), 0)


def test_size_may_give_height_and_width(tmp_path):
    image_folder(tmp_path)
    data = load_dataset(images_spec(tmp_path, size=[8, 6], channels=1), 0)
    assert data.x_train.shape[1:] == (8, 6, 1)


def test_images_match_pillow_scaled_to_unit_range(tmp_path):
    """Decoded as uint8 and divided at the split: the values Keras' load_img / 255 gave."""
    image_folder(tmp_path, count=3)
    data = load_dataset(images_spec(tmp_path), 0)
    assert data.x_train.dtype == np.float32
    expected = []
    for label in ("cats", "dogs"):
        for i in range(3):
            with Image.open(tmp_path / label / f"{i}.png") as img:
                resized = img.convert("RGB").resize((16, 16), Image.Resampling.NEAREST)
            expected.append(np.asarray(resized, dtype="float32") / 255.0)
    everything = np.concatenate([data.x_train, data.x_val, data.x_test])
    for sample in everything:
        assert any(np.array_equal(sample, e) for e in expected)


# ---------------------------------------------------------------- CSV


def csv_file(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,label\n1,x\n1e39,y\n3,x\n", r"row 3, column 'a' holds '1e39', which is too large"),
        ("a,label\n1,x\n-1e39,y\n3,x\n", r"row 3, column 'a' holds '-1e39', which is too large"),
        ("a,b,label\n1,1,x\n2," + "9" * 45 + ",y\n", r"row 3, column 'b' holds '9999"),
        ("a,label\n1,x\n2,\n3,x\n", r"row 3, column 'label' is empty"),
        ("a,label\n1,x\n2,y\n3, \n", r"row 4, column 'label' is empty"),
        ("a,label\n1,1\n2,inf\n3,0\n", r"row 3, column 'label' is inf"),
        ("a,label\n1,1\n2,nan\n3,0\n", r"row 3, column 'label' is nan"),
        ("a,label\n1,x\n2\n3,x\n", r"row 3 has 1 cells but the header has 2"),
        ("a,label\n1,x,5\n2,y\n3,x\n", r"row 2 has 3 cells but the header has 2"),
        ("a,label\n1,x\n2,y\n3,x,\n", r"row 4 has 3 cells but the header has 2"),
        ("a,label\n1,x\n-inf,y\n", r"row 3, column 'a' holds '-inf', which is not a finite"),
        ("a,label\n1,x\nInfinity,y\n", r"row 3, column 'a' holds 'Infinity'"),
        ("a,label\nfoo,x\nbar,y\n,x\n", r"row 4, column 'a' is empty"),
        ('a,label\n1,"x\n2,y\n', r"cannot be read as CSV"),
        (b"a,label\n1,\xff\n2,y\n", r"cannot be read as CSV .*utf-8"),
        ("", r"needs a header row and at least two data rows"),
        ("\n\n", r"needs a header row and at least two data rows"),
        ("label\nx\ny\n", r"only the label column 'label'"),
        ("a,label\n1,1.5\n2,1e39\n", r"row 3, column 'label' is 1e\+39, too large"),
    ],
)
def test_bad_csv_cells_name_row_and_column(tmp_path, text, message):
    path = csv_file(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(DatasetSpec("csv", path=str(path), label_column="label"), 0)
    assert "bad.csv" in str(info.value)


def test_rows_count_non_blank_rows_after_the_header(tmp_path):
    path = csv_file(tmp_path, "\n\na,label\n1,x\n,\n\n   \n2,y\n3,\n")
    with pytest.raises(DataError, match=r"row 4, column 'label' is empty"):
        load_csv(path, "label")


def test_blank_rows_of_commas_are_skipped(tmp_path):
    path = csv_file(tmp_path, "a,label\n1,x\n,\n2,y\n,,\n3,x\n")
    x, _, names = load_csv(path, "label")
    assert x[:, 0].tolist() == [1, 2, 3]
    assert names == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "x", "names"),
    [
        ('a,b,label\n1,"p,q",x\n2,r,y\n3,"p,q",x\n', [[1, 1, 0], [2, 0, 1], [3, 1, 0]], ["x", "y"]),
        ("a,b,label\n1,True,x\n2,False,y\n", [[1, 0, 1], [2, 1, 0]], ["x", "y"]),
        (" a , label \n 1 , x \n 2, y \n", [[1], [2]], ["x", "y"]),
        ("\ufeffa,label\n1,1.0\n2,2\n3,1\n", [[1], [2], [3]], ["1", "2"]),
        ("a,label\n1,cat\n2,7\n", [[1], [2]], ["7", "cat"]),
        ("a,label\n1,True\n2,False\n", [[1], [2]], ["False", "True"]),
    ],
)
def test_csv_variants_that_load(tmp_path, text, x, names):
    path = csv_file(tmp_path, text)
    got_x, _, got_names = load_csv(path, "label")
    assert got_x.tolist() == x
    assert got_names == names


def test_mixed_column_past_pandas_chunks_is_still_found(tmp_path):
    """pandas parses large files in chunks; a bad cell far down still names its row."""
    rows = [f"{i % 97},{i % 3}" for i in range(300_000)]
    rows[250_000] = "oops,1"
    path = csv_file(tmp_path, "a,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"row 250002, column 'a' holds 'oops'"):
        load_csv(path, "label")


def _reference_load_csv(path, label):
    """The csv-module importer this one replaced, for clean files."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]]
    at = header.index(label)
    columns = []
    for c in range(len(header)):
        if c == at:
            continue
        cells = [r[c].strip() for r in rows[1:]]
        try:
            columns.append(np.asarray([float(v) for v in cells], dtype="float32")[:, None])
        except ValueError:
            cats = sorted(set(cells))
            onehot = np.zeros((len(cells), len(cats)), dtype="float32")
            onehot[np.arange(len(cells)), [cats.index(v) for v in cells]] = 1
            columns.append(onehot)
    labels = [r[at].strip() for r in rows[1:]]
    names = sorted(set(labels))
    return np.concatenate(columns, axis=1), np.array([names.index(v) for v in labels]), names


def test_same_result_as_the_csv_module_importer(tmp_path):
    rng = np.random.default_rng(3)
    n = 500
    columns = {
        "f": [f"{v:.6g}" for v in rng.normal(0, 1e3, n)],
        "i": [str(v) for v in rng.integers(-50, 50, n)],
        "colour": [str(v) for v in rng.choice(["red", "green", "blue, dark"], n)],
        "e": [f"{v:.3e}" for v in rng.random(n) * 1e30],
        "label": [str(v) for v in rng.choice(["cat", "dog", "emu"], n)],
    }
    path = tmp_path / "d.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(zip(*columns.values()))
    x, y, names = load_csv(path, "label")
    ref_x, ref_y, ref_names = _reference_load_csv(path, "label")
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert names == ref_names


def test_damaged_csv_bytes_never_raise_anything_but_data_error(tmp_path):
    good = "a,b,label\n" + "".join(f"{i},{'red' if i % 2 else 'blue'},{i % 3}\n" for i in range(30))
    rng = np.random.default_rng(2)
    path = tmp_path / "d.csv"
    junk = [b",", b"\n", b'"', b"\x00", b"\xff", b"e", b"-", b"nan", b"inf", b" ", b"1e40"]
    for i in range(150):
        data = bytearray(good.encode())
        for _ in range(1 + i % 3):
            at = int(rng.integers(0, len(data)))
            data[at : at + int(rng.integers(0, 3))] = junk[int(rng.integers(0, len(junk)))]
        path.write_bytes(bytes(data))
        try:
            load_dataset(DatasetSpec("csv", path=str(path), label_column="label"), 0)
        except DataError:
            pass


# ---------------------------------------------------------------- probe and loader agree


def _agreeing_files(root):
    rng = np.random.default_rng(4)
    rows = ["a,colour,b,label"] + [
        f"{rng.normal():.4f},{rng.choice(['red', 'green', 'blue'])},{i % 5},"
        f"{rng.choice(['cat', 'dog', 'emu'])}"
        for i in range(400)
    ]
    (root / "d.csv").write_text("\n".join(rows) + "\n")
    (root / "r.csv").write_text("a,y\n" + "".join(f"{i},{rng.normal():.3f}\n" for i in range(30)))
    np.savez(root / "d.npz", x=rng.random((30, 4, 2)), y=np.eye(3)[np.arange(30) % 3])
    image_folder(root / "images", classes=("a", "b", "c"), count=3)
    return [
        DatasetSpec("csv", path="d.csv"),
        DatasetSpec("csv", path="r.csv"),
        DatasetSpec("npz", path="d.npz"),
        images_spec("images", size=[10, 12], channels=1),
    ]


def test_probe_and_loader_agree_on_signature_and_samples(tmp_path):
    for spec in _agreeing_files(tmp_path):
        probe = dataprobe.probe_file_dataset(spec, tmp_path / "p.json")
        data = load_dataset(spec, 0, tmp_path / "p.json")
        assert probe.problems == ()
        assert probe.signature == data.signature, spec
        assert probe.samples == len(data.x_train) + len(data.x_val) + len(data.x_test)
        assert list(probe.class_names) == data.class_names


def test_large_sets_are_standardized_a_block_at_a_time(monkeypatch):
    from dropout_studio.engine import data as engine_data

    x = np.random.default_rng(0).random((50, 6, 5, 3), dtype=np.float32) * 10
    monkeypatch.setattr(engine_data, "STD_IN_BLOCKS_ABOVE", 0)
    mean, std = engine_data._mean_std(x)
    np.testing.assert_array_equal(mean, x.mean(axis=0))
    np.testing.assert_allclose(std, x.astype("float64").std(axis=0), rtol=1e-6)
    assert std.dtype == np.float32


# ---------------------------------------------------------------- found by fuzzing


def test_a_csv_with_millions_of_columns_is_refused_from_its_header(tmp_path):
    from dropout_studio.core.datasets import DatasetSpec
    from dropout_studio.core.project import Project
    from dropout_studio.engine.data import load_dataset

    path = tmp_path / "wide.csv"
    path.write_bytes(b"1," * 300_000 + b"label")
    check = Project(dataset=DatasetSpec(source="csv", path=str(path))).check(tmp_path / "p.json")
    assert any("300,001 columns" in p.message for p in check.errors)
    with pytest.raises(DataError, match="300,001 columns"):
        load_dataset(DatasetSpec(source="csv", path=str(path)))


def test_a_csv_line_too_long_to_be_a_row_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    import dropout_studio.core.dataprobe as probe

    monkeypatch.setattr(probe, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "line.csv"
    path.write_text("a" * 5000 + "\n1\n2\n")
    with pytest.raises(probe.DataProblem, match="line longer than"):
        probe.read_csv_header(path)


def test_running_out_of_memory_anywhere_in_a_load_is_one_data_error(tmp_path, monkeypatch):
    import dropout_studio.engine.data as data_module
    from dropout_studio.core.datasets import DatasetSpec

    np.savez(tmp_path / "d.npz", x=np.zeros((20, 2), "float32"), y=np.arange(20) % 2)

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(data_module, "npz_labels", no_memory)
    with pytest.raises(DataError, match="does not fit in this machine's memory"):
        data_module.load_dataset(DatasetSpec(source="npz", path=str(tmp_path / "d.npz")))


def test_check_counts_the_samples_of_an_npz_from_its_header(tmp_path):
    from dropout_studio.core.datasets import DatasetSpec
    from dropout_studio.core.project import Project

    np.savez(tmp_path / "three.npz", x=np.zeros((3, 2)), y=np.array([0, 1, 0]))
    project = Project(dataset=DatasetSpec(source="npz", path="three.npz"))
    assert any("holds 3 samples" in p.message for p in project.check(tmp_path / "p.json").errors)
