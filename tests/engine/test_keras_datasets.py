"""MNIST, Fashion-MNIST and CIFAR-10 from a fake Keras cache: read offline, fetched once, one
line when offline. No test touches the network: every download goes through a stand-in."""

from __future__ import annotations

import gzip
import inspect
import io
import os
import pickle
import re
import socket
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from dropout_studio.core.datasets import (
    BUILTIN,
    KERAS_DATASETS,
    DatasetSpec,
    DataSignature,
    known_signature,
)
from dropout_studio.core.project import load_preset
from dropout_studio.engine import keras_datasets as kd
from dropout_studio.engine.data import DataError, load_dataset

N_TRAIN, N_TEST = 40, 20


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty Keras cache, and any network access an error."""
    folder = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(folder))

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(kd.urllib.request, "urlopen", no_network)
    return folder


def images(n: int, shape: tuple[int, ...], offset: int) -> np.ndarray:
    """Images whose first pixels hold their index, so each one can be told apart."""
    rng = np.random.default_rng(offset)
    x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    x.reshape(n, -1)[:, 0] = (np.arange(n) + offset) % 256
    return x


def labels(n: int) -> np.ndarray:
    return (np.arange(n) % 10).astype(np.uint8)


def write_mnist(home: Path) -> dict[str, np.ndarray]:
    arrays = {
        "x_train": images(N_TRAIN, (28, 28), 0),
        "y_train": labels(N_TRAIN),
        "x_test": images(N_TEST, (28, 28), 100),
        "y_test": labels(N_TEST),
    }
    (home / "datasets").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        home / "datasets" / "mnist.npz",
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
    )
    return arrays


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX format of the MNIST files: magic, counts (big-endian), then uint8 values."""
    magic = 2049 if array.ndim == 1 else 2051
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    return gzip.compress(header + array.tobytes())


def write_fashion(folder: Path) -> dict[str, np.ndarray]:
    arrays = {
        "train-labels-idx1-ubyte.gz": labels(N_TRAIN),
        "train-images-idx3-ubyte.gz": images(N_TRAIN, (28, 28), 0),
        "t10k-labels-idx1-ubyte.gz": labels(N_TEST),
        "t10k-images-idx3-ubyte.gz": images(N_TEST, (28, 28), 100),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        (folder / name).write_bytes(idx_bytes(array))
    return arrays


def cifar_batch(n: int, offset: int) -> dict[bytes, object]:
    """A batch as the CIFAR-10 python files hold it (channel planes, labels as a list)."""
    return {
        b"batch_label": b"fake batch",
        b"labels": [int(v) for v in labels(n)],
        b"data": images(n, (3 * 32 * 32,), offset),
        b"filenames": [b"img%d.png" % i for i in range(n)],
    }


def write_cifar(home: Path, folder: str = kd.CIFAR10_FOLDERS[0]) -> list[dict]:
    path = home / "datasets" / folder
    path.mkdir(parents=True)
    batches = []
    for i, name in enumerate(kd.CIFAR10_BATCHES):
        batch = cifar_batch(8 if i < 5 else N_TEST, 10 * i)
        # Protocol 3 writes bytes as bytes, like the Python 2 pickles of the real files
        # (protocol 2 under Python 3 would call _codecs.encode, which no reader may allow).
        (path / name).write_bytes(pickle.dumps(batch, protocol=3))
        batches.append(batch)
    return batches


def spec(name: str, **fields) -> DatasetSpec:
    return DatasetSpec("builtin", name, standardize=False, **fields)


# ---------------------------------------------------------------- cached: read offline


def test_cached_mnist_is_read_offline_as_one_pool(home, monkeypatch):
    arrays = write_mnist(home)
    monkeypatch.setattr(kd, "_keras_get_files", lambda *a: pytest.fail("Keras was asked"))
    assert kd.is_cached("mnist")
    x, y, names = kd.load("mnist")
    assert x.dtype == np.uint8
    assert x.shape == (N_TRAIN + N_TEST, 28, 28, 1)
    np.testing.assert_array_equal(x[:N_TRAIN, :, :, 0], arrays["x_train"])
    np.testing.assert_array_equal(x[N_TRAIN:, :, :, 0], arrays["x_test"])
    np.testing.assert_array_equal(y, np.concatenate([arrays["y_train"], arrays["y_test"]]))
    assert names == [str(d) for d in range(10)]


def test_cached_fashion_mnist_reads_the_four_idx_files(home):
    arrays = write_fashion(home / "datasets" / "fashion-mnist")
    x, y, names = kd.load("fashion_mnist")
    np.testing.assert_array_equal(x[:N_TRAIN, :, :, 0], arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(x[N_TRAIN:, :, :, 0], arrays["t10k-images-idx3-ubyte.gz"])
    assert len(y) == N_TRAIN + N_TEST
    assert names[0] == "T-shirt/top"
    assert len(names) == 10


@pytest.mark.parametrize("folder", kd.CIFAR10_FOLDERS)
def test_cached_cifar10_matches_keras_own_batch_reader(home, folder):
    from keras.src.datasets.cifar import load_batch

    write_cifar(home, folder)
    assert kd.cache_path("cifar10") == home / "datasets" / folder
    x, y, names = kd.load("cifar10")
    assert x.shape == (5 * 8 + N_TEST, 32, 32, 3)
    assert names[0] == "airplane"
    path = home / "datasets" / folder
    first, first_labels = load_batch(str(path / "data_batch_1"))
    np.testing.assert_array_equal(x[:8], first.transpose(0, 2, 3, 1))  # channels last
    test, _test_labels = load_batch(str(path / "test_batch"))
    np.testing.assert_array_equal(x[-N_TEST:], test.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y[:8], first_labels)


@pytest.mark.parametrize("name", list(KERAS_DATASETS))
def test_cached_sets_split_scaled_to_0_1_and_match_the_catalogue(home, name):
    {"mnist": write_mnist, "cifar10": write_cifar}.get(
        name, lambda h: write_fashion(h / "datasets" / "fashion-mnist")
    )(home)
    data = load_dataset(spec(name, validation_split=0.2, test_split=0.2), 0)
    assert data.signature == known_signature(spec(name)) == DataSignature(BUILTIN[name][0], 10)
    parts = (data.x_train, data.x_val, data.x_test)
    assert all(p.dtype == np.float32 for p in parts)
    assert min(p.min() for p in parts) >= 0
    assert max(p.max() for p in parts) <= 1
    assert max(p.max() for p in parts) > 0.9  # scaled by 255, not left as 0..255
    assert data.description == BUILTIN[name][2]
    small = load_dataset(spec(name, train_size=12), 0)
    assert len(small.x_train) == 12


def test_a_damaged_cached_file_is_one_line_that_says_to_delete_it(home):
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError) as err:
        load_dataset(spec("mnist"), 0)
    message = str(err.value)
    assert "\n" not in message
    assert "mnist.npz" in message
    assert "delete it" in message


def test_a_truncated_idx_file_is_named(home):
    folder = home / "datasets" / "fashion-mnist"
    write_fashion(folder)
    data = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(data[:-5]))
    with pytest.raises(
        DataError, match=re.escape("t10k-images-idx3-ubyte.gz: damaged (truncated)")
    ):
        load_dataset(spec("fashion_mnist"), 0)


def test_a_cifar_pickle_that_names_other_code_is_refused(home):
    write_cifar(home)

    class Gadget:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    batch = home / "datasets" / kd.CIFAR10_FOLDERS[0] / "data_batch_3"
    batch.write_bytes(pickle.dumps({b"data": Gadget(), b"labels": []}, protocol=3))
    with pytest.raises(DataError, match="refused to load"):
        load_dataset(spec("cifar10"), 0)


# ---------------------------------------------------------------- not cached: download once


def test_offline_and_not_cached_is_one_line_suggesting_a_shipped_set(home, monkeypatch):
    def offline(item, target, on_progress, stop):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(kd, "_fetch", offline)
    assert not kd.is_cached("mnist")
    with pytest.raises(DataError) as err:
        load_dataset(spec("mnist"), 0)
    message = str(err.value)
    assert message == (
        f"MNIST is not in the Keras cache ({kd.shown_path(home / 'datasets' / 'mnist.npz')}) "
        "and cannot be downloaded (no network): connect once, or choose a shipped set such as "
        "digits"
    )
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


def test_a_server_that_never_answers_times_out_in_one_line(home, monkeypatch):
    def silent(url, timeout):
        assert timeout == kd.DOWNLOAD_TIMEOUT_S <= 15
        raise urllib.error.URLError(TimeoutError("timed out"))

    monkeypatch.setattr(kd.urllib.request, "urlopen", silent)
    with pytest.raises(DataError, match=re.escape("no answer from www.cs.toronto.edu within 10 s")):
        load_dataset(spec("cifar10"), 0)
    assert not list((home / "datasets").glob("*.part"))


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes, length: bool = True):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))} if length else {}


def test_a_download_reports_progress_then_loads_from_the_cache(home, tmp_path, monkeypatch):
    source = write_fashion(tmp_path / "server")
    served = []

    def server(url, timeout):
        name = url.rsplit("/", 1)[1]
        served.append(name)
        return FakeResponse((tmp_path / "server" / name).read_bytes(), length=len(served) > 1)

    monkeypatch.setattr(kd.urllib.request, "urlopen", server)
    monkeypatch.setattr(kd, "CHUNK", 1000)
    monkeypatch.setattr(kd, "PROGRESS_INTERVAL_S", 0.0)
    progress: list[tuple[int, int]] = []
    data = load_dataset(spec("fashion_mnist"), 0, on_progress=lambda *p: progress.append(p))
    assert served == list(kd.FASHION_FILES)
    total = KERAS_DATASETS["fashion_mnist"][1]
    assert progress[-1] == (total, total)
    assert all(t == total for _, t in progress)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert len(progress) > 4  # several reports per file
    assert sum(len(p) for p in (data.x_train, data.x_val, data.x_test)) == N_TRAIN + N_TEST
    folder = home / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(source)
    monkeypatch.setattr(kd.urllib.request, "urlopen", lambda *a, **k: pytest.fail("again"))
    load_dataset(spec("fashion_mnist"), 0)  # cached now


def test_progress_is_reported_a_few_times_a_second_not_per_chunk(home, tmp_path, monkeypatch):
    write_fashion(tmp_path / "server")
    monkeypatch.setattr(
        kd.urllib.request,
        "urlopen",
        lambda url, timeout: FakeResponse(
            (tmp_path / "server" / url.rsplit("/", 1)[1]).read_bytes()
        ),
    )
    monkeypatch.setattr(kd, "CHUNK", 10)  # hundreds of chunks, read in well under 0.1 s
    progress: list[tuple[int, int]] = []
    kd.download("fashion_mnist", lambda *p: progress.append(p))
    total = KERAS_DATASETS["fashion_mnist"][1]
    assert len(progress) <= 4 + 1  # the first report of each file, and the end
    assert progress[-1] == (total, total)


def test_a_download_that_fails_its_checksum_is_deleted(home, tmp_path, monkeypatch):
    write_mnist(tmp_path / "server")
    fake = (tmp_path / "server" / "datasets" / "mnist.npz").read_bytes()
    monkeypatch.setattr(kd.urllib.request, "urlopen", lambda url, timeout: FakeResponse(fake))
    with pytest.raises(DataError, match=r"damaged .*checksum.*: try again"):
        load_dataset(spec("mnist"), 0)
    assert not list((home / "datasets").iterdir())


def test_stop_cancels_a_download_and_keeps_nothing(home, monkeypatch):
    stop = threading.Event()
    monkeypatch.setattr(
        kd.urllib.request, "urlopen", lambda url, timeout: FakeResponse(b"x" * 300_000)
    )
    monkeypatch.setattr(kd, "CHUNK", 1000)
    monkeypatch.setattr(kd, "PROGRESS_INTERVAL_S", 0.0)

    def on_progress(done, total):
        if done >= 5000:
            stop.set()

    with pytest.raises(DataError, match="stopped"):
        load_dataset(spec("mnist"), 0, on_progress=on_progress, stop=stop)
    assert not list((home / "datasets").iterdir())


def test_downloads_are_the_ones_keras_datasets_makes():
    """Pinned against Keras' source: a Keras upgrade that moves a file fails here first."""
    from keras.src.datasets import cifar10, fashion_mnist, mnist

    sources = {"mnist": mnist, "fashion_mnist": fashion_mnist, "cifar10": cifar10}
    for name, module in sources.items():
        text = inspect.getsource(module.load_data)
        for item in kd.DOWNLOADS[name]:
            assert item.fname in text
            assert item.origin.rsplit("/", 1)[1] in text
            assert item.sha256 is None or item.sha256 in text
    assert sum(item.size for item in kd.DOWNLOADS["fashion_mnist"]) == 30_878_645
    assert {n: kd.DOWNLOADS[n][0].size for n in ("mnist", "cifar10")} == {
        n: KERAS_DATASETS[n][1] for n in ("mnist", "cifar10")
    }


# ---------------------------------------------------------------- the preset


def test_mnist_classic_checks_and_has_the_parameters_keras_counts():
    import keras

    from dropout_studio.engine.build import build_model

    project = load_preset("mnist-classic")
    report = project.check()
    assert report.ok, report.errors
    assert project.dataset.source == "builtin"
    assert project.dataset.name == "mnist"
    assert known_signature(project.dataset) == DataSignature((28, 28, 1), 10)
    model = build_model(project.network, 0)  # its dropout layers also hold their masks
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    plain = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1024, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(1024, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    assert report.total_params == trainable == plain.count_params() == 1_863_690
    rates = [layer.dropout.rate for layer in project.network.layers]
    assert rates == [0.0, 0.2, 0.5, 0.5, 0.0]
    assert "1.60 %" in project.description
    assert "1.25 %" in project.description


def test_checking_mnist_classic_imports_no_tensorflow():
    code = (
        "import sys\n"
        "from dropout_studio.core.project import load_preset\n"
        "assert load_preset('mnist-classic').check().ok\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
