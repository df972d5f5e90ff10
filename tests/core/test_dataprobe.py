"""The cheap probe ``check`` uses: shape and classes from headers and a capped scan, never a raise."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from dropout_studio.core import dataprobe
from dropout_studio.core.dataprobe import DataProbe, probe_file_dataset
from dropout_studio.core.datasets import DatasetSpec, DataSignature


def csv_spec(path, label="label", **options):
    return DatasetSpec(
        "csv", path=str(path), label_column=label, options=tuple(sorted(options.items()))
    )


def probe_text(tmp_path, text, **kw):
    path = tmp_path / "d.csv"
    path.write_text(text)
    return probe_file_dataset(csv_spec(path, **kw))


def only_problem(probe: DataProbe) -> str:
    assert probe.signature is None
    assert len(probe.problems) == 1
    return probe.problems[0]


# ---------------------------------------------------------------- CSV


def test_csv_signature_counts_one_hot_columns_and_classes(tmp_path):
    rows = ["size,colour,label"] + [
        f"{i % 7},{['red', 'blue', 'green'][i % 3]},{'cat' if i % 2 else 'dog'}" for i in range(30)
    ]
    probe = probe_text(tmp_path, "\n".join(rows) + "\n")
    assert probe.problems == ()
    assert probe.signature == DataSignature((4,), 2)
    assert probe.samples == 30
    assert probe.class_names == ("cat", "dog")
    assert not probe.approximate


def test_csv_categories_and_classes_past_the_sample_are_counted(tmp_path):
    n = dataprobe.SAMPLE_ROWS + 100
    rows = [
        f"{i},{'late' if i == n - 3 else 'early'},{3 if i == n - 2 else i % 2}" for i in range(n)
    ]
    probe = probe_text(tmp_path, "a,b,label\n" + "\n".join(rows) + "\n")
    assert probe.signature == DataSignature((3,), 3)
    assert probe.samples == n


def test_csv_label_defaults_to_the_last_column_and_regression_is_guessed(tmp_path):
    probe = probe_text(tmp_path, "a,b,target\n1,2,0.5\n2,3,1.25\n3,4,7\n", label=None)
    assert probe.signature == DataSignature((2,), 0)


def test_csv_with_quoted_fields_spanning_lines(tmp_path):
    rows = [f'{i},"note {i}\nmore, text",{i % 2}' for i in range(dataprobe.SAMPLE_ROWS + 20)]
    probe = probe_text(tmp_path, "a,note,label\n" + "\n".join(rows) + "\n")
    assert probe.problems == ()
    assert probe.signature == DataSignature((1 + len(rows),), 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n3,4\n", r"no column named 'label'; the columns are a, b"),
        ("a,label\n1,x\n2,y,7\n", r"row 3 has 3 cells but the header has 2"),
        ("a,label\n1,x\n2,\n3,y\n", r"row 3, column 'label' is empty"),
        ("a,label\n1,x\n2,x\n", r"every sample has the label 'x'"),
        ("a,label\n1,x\n", r"header row and at least two data rows"),
        ("", r"header row and at least two data rows"),
        ("a,label\n1,x\nfoo,y\n3,x\n", r"row 3, column 'a' holds 'foo'"),
        ("a,label\n1,x\n1e39,y\n", r"row 3, column 'a' holds '1e39', which is too large"),
        ("a,label\n1,1\n2,nan\n", r"row 3, column 'label' is nan"),
        ("label\nx\ny\n", r"only the label column 'label'"),
    ],
)
def test_csv_problems_are_sentences_not_exceptions(tmp_path, text, message):
    probe = probe_text(tmp_path, text)
    assert probe.signature is None
    assert any(re.search(message, p) for p in probe.problems), probe.problems
    assert all(p.startswith(str(tmp_path / "d.csv")) for p in probe.problems)


def test_csv_ragged_row_after_the_sample_is_found(tmp_path):
    rows = [f"{i},{i % 2}" for i in range(dataprobe.SAMPLE_ROWS + 50)]
    rows[dataprobe.SAMPLE_ROWS + 10] = "1,2,3"
    probe = probe_text(tmp_path, "a,label\n" + "\n".join(rows) + "\n")
    assert f"row {dataprobe.SAMPLE_ROWS + 12} has 3 cells" in only_problem(probe)


def test_csv_regression_task_refuses_text_labels(tmp_path):
    probe = probe_text(tmp_path, "a,label\n1,x\n2,y\n", task="regression")
    assert "labels must be numbers for regression" in only_problem(probe)


def test_large_csv_is_scanned_up_to_the_cap_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(dataprobe, "SCAN_BYTES", 4000)
    rows = [f"{i},{i % 3}" for i in range(5000)]
    probe = probe_text(tmp_path, "a,label\n" + "\n".join(rows) + "\n")
    assert probe.approximate
    assert probe.signature == DataSignature((1,), 3)
    assert 4000 < probe.samples < 6000


def test_probe_is_cached_until_the_file_changes(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1,x\n2,y\n")
    first = probe_file_dataset(csv_spec(path))
    assert probe_file_dataset(csv_spec(path)) is first
    path.write_text("a,label\n1,x\n2,y\n3,z\n")
    os.utime(path, ns=(1, 1))
    assert probe_file_dataset(csv_spec(path)).signature == DataSignature((1,), 3)


# ---------------------------------------------------------------- NPZ


def npz_spec(path, **options):
    return DatasetSpec("npz", path=str(path), options=tuple(sorted(options.items())))


def test_npz_signature_from_headers(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((40, 2, 2)), y=np.arange(40) % 3)
    probe = probe_file_dataset(npz_spec(tmp_path / "d.npz"))
    assert probe == DataProbe(
        DataSignature((2, 2), 3), (), 40, ("0", "1", "2"), class_counts=(14, 13, 13)
    )


def test_npz_one_hot_y_and_one_dimensional_x(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(40.0), y=np.eye(4)[np.arange(40) % 4])
    assert probe_file_dataset(npz_spec(tmp_path / "d.npz")).signature == DataSignature((1,), 4)


def test_npz_large_y_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(dataprobe, "SMALL_LABELS", 0)
    monkeypatch.setattr(dataprobe, "read_npz_array", lambda *a: pytest.fail("y was read"))
    np.savez(tmp_path / "r.npz", x=np.zeros((40, 3)), y=np.linspace(0, 1, 40))
    np.savez(tmp_path / "c.npz", x=np.zeros((40, 3)), y=np.arange(40) % 2)
    regression = probe_file_dataset(npz_spec(tmp_path / "r.npz", task="regression"))
    assert regression.signature == DataSignature((3,), 0)
    np.savez(tmp_path / "h.npz", x=np.zeros((40, 3)), y=np.eye(4)[np.arange(40) % 4])
    assert probe_file_dataset(npz_spec(tmp_path / "h.npz")).signature == DataSignature((3,), 4)
    classes = probe_file_dataset(npz_spec(tmp_path / "c.npz"))
    assert classes.signature is None
    assert classes.approximate
    assert classes.problems == ()


def _huge(path):
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f4", "fortran_order": False, "shape": (10**7, 10**6)}
    )
    y = io.BytesIO()
    np.save(y, np.arange(3))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", head.getvalue())
        archive.writestr("y.npy", y.getvalue())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: np.savez(p, x=np.float64(1), y=np.int64(1)), r"x is a single value"),
        (lambda p: np.savez(p, x=np.zeros((0, 2)), y=np.zeros(0)), r"holds no values"),
        (lambda p: np.save(open(p, "wb"), np.zeros(3)), r"single \.npy array"),
        (lambda p: p.write_bytes(b"PK\x05\x06" + b"\0" * 18), r"'x' and 'y', found none"),
        (lambda p: p.write_bytes(b"not a zip"), r"not a readable \.npz"),
        (lambda p: p.write_bytes(b""), r"the file is empty"),
        (_huge, r"claims shape \(10000000, 1000000\) \(36\.4 TiB\)"),
        (lambda p: np.savez(p, x=np.zeros((4, 2)), y=np.arange(3)), r"x has 4 samples but y has 3"),
        (lambda p: np.savez(p, x=np.array(["a"] * 4), y=np.arange(4)), r"x must be numeric"),
        (lambda p: np.savez(p, x=np.zeros((4, 2)), y=np.zeros(4)), r"every sample has the label"),
    ],
)
def test_npz_problems(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    problem = only_problem(probe_file_dataset(npz_spec(path)))
    assert re.search(message, problem), problem


# ---------------------------------------------------------------- image folders


def image_folder(root, counts=(3, 2)):
    for k, count in enumerate(counts):
        (root / f"class{k}").mkdir(parents=True)
        for i in range(count):
            (root / f"class{k}" / f"{i}.png").write_bytes(b"\x89PNG not decoded by the probe")
    return root


def images_spec(path, **options):
    return DatasetSpec("images", path=str(path), options=tuple(sorted(options.items())))


def test_image_folder_signature_without_decoding(tmp_path):
    image_folder(tmp_path)
    probe = probe_file_dataset(images_spec(tmp_path, size=24, channels=1))
    assert probe == DataProbe(
        DataSignature((24, 24, 1), 2), (), 5, ("class0", "class1"), class_counts=(3, 2)
    )
    default = probe_file_dataset(images_spec(tmp_path))
    assert default.signature == DataSignature((32, 32, 3), 2)
    assert probe_file_dataset(images_spec(tmp_path, size=[8, 6])).signature == DataSignature(
        (8, 6, 3), 2
    )


@pytest.mark.parametrize(
    ("counts", "options", "message"),
    [
        ((3,), {}, r"at least two classes, found 1 \(class0\)"),
        ((3, 0), {}, r"the class folder 'class1' holds no images"),
        ((3, 2), {"size": [64, 64, 3]}, r"image size must be a whole number"),
        ((3, 2), {"size": float("nan")}, r"image size must be a whole number"),
        ((3, 2), {"channels": 4}, r"channels must be 1 \(grey\) or 3"),
    ],
)
def test_image_folder_problems(tmp_path, counts, options, message):
    image_folder(tmp_path, counts)
    problem = only_problem(probe_file_dataset(images_spec(tmp_path, **options)))
    assert re.search(message, problem), problem


# ---------------------------------------------------------------- paths


@pytest.mark.parametrize("source", ["csv", "npz", "images"])
@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda t: "missing.csv", r"no such file or folder"),
        (lambda t: str(t / "a\0b"), r"embedded null byte"),
        (lambda t: str(t / ("x" * 5000)), r"cannot be opened"),
        (lambda t: str(t / "file.txt" / "below"), r"a part of the path is a file"),
        (lambda t: str(t / "loop"), r"cannot be opened|no such file"),
    ],
    ids=["missing", "nul", "long", "below_a_file", "symlink_loop"],
)
def test_bad_paths_become_problems(tmp_path, source, where, message):
    (tmp_path / "file.txt").write_text("x")
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    probe = probe_file_dataset(DatasetSpec(source, path=where(tmp_path)), tmp_path / "p.json")
    assert re.search(message, only_problem(probe))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("source", ["csv", "npz", "images"])
def test_a_fifo_is_never_opened(tmp_path, source):
    os.mkfifo(tmp_path / "pipe")
    problem = only_problem(probe_file_dataset(DatasetSpec(source, path=str(tmp_path / "pipe"))))
    assert "not a regular file" in problem or "is a file, not a folder" in problem


@pytest.mark.parametrize("source", ["csv", "npz"])
def test_a_folder_where_a_file_belongs(tmp_path, source):
    probe = probe_file_dataset(DatasetSpec(source, path=str(tmp_path)))
    assert "is a folder" in only_problem(probe)


def test_paths_are_relative_to_the_project_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.csv").write_text("a,label\n1,x\n2,y\n")
    probe = probe_file_dataset(csv_spec("data/d.csv"), tmp_path / "project.json")
    assert probe.signature == DataSignature((1,), 2)


@pytest.mark.parametrize(
    "spec",
    [
        DatasetSpec("synthetic", "moons"),
        DatasetSpec("builtin", "iris"),
        DatasetSpec("csv", path=None),
        DatasetSpec("csv", path=""),
    ],
)
def test_other_sources_and_no_path_give_nothing(spec):
    assert probe_file_dataset(spec) == DataProbe(None, ())


@pytest.mark.parametrize(
    "spec",
    [
        DatasetSpec("csv", path="d.csv", label_column=5),  # type: ignore[arg-type]
        DatasetSpec("csv", path="d.csv", options=(("task", ["x"]),)),
        DatasetSpec("npz", path="d.csv", options=(("task", "regression"),)),
        DatasetSpec("images", path="d.csv", options=(("size", None), ("channels", None))),
        DatasetSpec("images", path=".", options=(("size", True),)),
    ],
)
def test_odd_values_never_raise(tmp_path, spec):
    (tmp_path / "d.csv").write_text("a,label\n1,x\n2,y\n")
    probe = probe_file_dataset(spec, tmp_path / "p.json")
    assert isinstance(probe, DataProbe)


def test_the_probe_imports_neither_pandas_nor_tensorflow(tmp_path):
    (tmp_path / "d.csv").write_text("a,label\n1,x\n2,y\n")
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.arange(4) % 2)
    code = (
        "import sys\n"
        "from dropout_studio.core.dataprobe import probe_file_dataset\n"
        "from dropout_studio.core.datasets import DatasetSpec\n"
        f"for s, p in (('csv', {str(tmp_path / 'd.csv')!r}), ('npz', {str(tmp_path / 'd.npz')!r})):\n"
        "    assert probe_file_dataset(DatasetSpec(s, path=p)).signature is not None\n"
        "heavy = {'pandas', 'tensorflow', 'keras', 'sklearn', 'PIL'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_image_probe_is_cached_until_a_class_folder_changes(tmp_path):
    image_folder(tmp_path)
    first = probe_file_dataset(images_spec(tmp_path, size=16.0))
    assert first.signature == DataSignature((16, 16, 3), 2)
    assert probe_file_dataset(images_spec(tmp_path, size=16.0)) is first
    (tmp_path / "class1" / "new.png").write_bytes(b"x")
    os.utime(tmp_path / "class1", ns=(1, 1))
    assert probe_file_dataset(images_spec(tmp_path, size=16.0)).samples == 6


def test_damaged_archives_are_problems_never_exceptions(tmp_path):
    """Flipped bytes in a compressed archive raise zlib errors deep inside zipfile."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.random.default_rng(0).random((30, 3)), y=np.arange(30) % 3)
    good = buffer.getvalue()
    rng = np.random.default_rng(5)
    path = tmp_path / "d.npz"
    for i in range(80):
        data = bytearray(good)
        if i % 4 == 0:
            data = data[: int(rng.integers(0, len(good)))]
        else:
            for at in rng.integers(0, len(good), 1 + i % 5):
                data[at] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        os.utime(path, ns=(i, i))
        assert isinstance(probe_file_dataset(npz_spec(path)), DataProbe)


def test_csv_class_counts_cover_the_whole_scan(tmp_path):
    path = tmp_path / "d.csv"
    labels = ["b"] * 250 + ["a"] * 40 + [" b "] * 10  # past the 200-row sample, stripped
    path.write_text("x,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels)))
    probe = probe_file_dataset(csv_spec(path))
    assert probe.class_names == ("a", "b")
    assert probe.class_counts == (40, 260)
    numbers = tmp_path / "n.csv"
    numbers.write_text("x,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate([1, 1.0, 2] * 90)))
    assert probe_file_dataset(csv_spec(numbers)).class_counts == (180, 90)  # 1 and 1.0: one class
