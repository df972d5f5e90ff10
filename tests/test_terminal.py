"""The terminal stays clean: TensorFlow's C++ start-up lines are filtered, nothing else is.

Every check runs in a subprocess: the filter works on file descriptor 2 and an import hook,
both process-wide.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dropout_studio.quiet import is_tensorflow_noise

# Lines seen on this project's CPU machines (TensorFlow 2.21), and the older format.
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795800613.734091    4651 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors.",
    "I0000 00:00:1795800613.734770    4651 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "E0000 00:00:1795800617.478515    4651 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "W0000 00:00:1795800617.478515    4651 gpu_device.cc:2342] Cannot dlopen some GPU libraries.",
    "2024-05-01 10:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom operations",
    "2024-05-01 10:00:00.123456: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261] "
    "Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN",
]
KEPT = [
    "Traceback (most recent call last):",
    '  File "/x/cli.py", line 3, in main',
    "ValueError: I0000 is not a valid rate",
    "data: train 60, validation 359, test 359, samples (64,), 10 classes",
    "epoch 1/1 loss 2.3705 accuracy 0.0833 val_loss 2.3095 val_accuracy 0.1198",
    "/x/y.py:10: UserWarning: a user warning",
    "dropout-studio train: device 'gpu:1' is not available",
    # Real errors and fatal lines from TensorFlow still show.
    "E0000 00:00:1795800617.478515    4651 saver.cc:12] Failed to write checkpoint: disk full",
    "F0000 00:00:1795800617.478515    4651 cpu_feature_guard.cc:88] The TensorFlow library was "
    "compiled to use AVX instructions, but these aren't available on your machine.",
    "",
]


@pytest.mark.parametrize("line", NOISE)
def test_tensorflow_start_up_lines_are_noise(line: str) -> None:
    assert is_tensorflow_noise(line)
    assert is_tensorflow_noise((line + "\n").encode())


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line: str) -> None:
    assert not is_tensorflow_noise(line)


def _python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_filter_drops_only_noise_and_keeps_order() -> None:
    """Lines written through fd 2 (as C++ code does) and through sys.stderr, a partial last line,
    and output after the filter ends."""
    result = _python(
        f"""
        import os, sys
        from dropout_studio.quiet import filtered_stderr
        noise = {NOISE!r}
        sys.stderr.write("before\\n")
        with filtered_stderr():
            for line in noise:
                os.write(2, (line + "\\n").encode())
                sys.stderr.write("ours " + line[:5] + "\\n")
                sys.stderr.flush()
            os.write(2, b"no newline at the end")
        sys.stderr.write("\\nafter\\n")
        """
    )
    assert result.returncode == 0, result.stderr
    expected = ["before"] + ["ours " + line[:5] for line in NOISE]
    expected += ["no newline at the end", "after"]
    assert result.stderr.splitlines() == expected


def test_filter_lets_a_traceback_through() -> None:
    result = _python(
        """
        import os
        from dropout_studio.quiet import filtered_stderr
        with filtered_stderr():
            os.write(2, b"I0000 00:00:1.2    4651 port.cc:153] oneDNN custom operations\\n")
            raise RuntimeError("boom")
        """
    )
    assert result.returncode == 1
    assert "I0000" not in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("RuntimeError: boom")


def test_filter_survives_a_writer_that_holds_the_gil() -> None:
    """C++ code logging inside an import holds the GIL, so the pump thread cannot drain the pipe
    meanwhile: the pipe must hold far more than TensorFlow's start-up lines (here 300 kB)."""
    result = _python(
        f"""
        import ctypes, sys
        from dropout_studio.quiet import filtered_stderr
        line = {NOISE[1]!r}.encode() + b"\\n"
        data = line * (300_000 // len(line))
        libc = ctypes.PyDLL(None)  # a PyDLL call keeps the GIL, like a C++ static initialiser
        with filtered_stderr():
            assert libc.write(2, data, len(data)) == len(data)
        sys.stderr.write("done\\n")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "done\n"


FAKE_TENSORFLOW = """
import os, sys
for line in {noise!r}[:3]:
    os.write(2, (line + "\\n").encode())
sys.stderr.write("a python warning while importing\\n")
sys.stderr.flush()

class config:
    @staticmethod
    def list_physical_devices(kind=None):
        os.write(2, ({cuinit!r} + "\\n").encode())
        return []
"""


def test_import_hook_filters_the_tensorflow_import_and_device_probe(tmp_path: Path) -> None:
    """A stand-in ``tensorflow`` package that logs like the real one: only our lines remain,
    and the module keeps its own loader."""
    package = tmp_path / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(FAKE_TENSORFLOW.format(noise=NOISE, cuinit=NOISE[3]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = _python(
        """
        import os, sys
        from dropout_studio.quiet import quiet_tensorflow
        quiet_tensorflow()
        quiet_tensorflow()  # idempotent
        import tensorflow
        assert type(tensorflow.__loader__).__name__ == "SourceFileLoader", tensorflow.__loader__
        assert tensorflow.__spec__.loader is tensorflow.__loader__
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
        assert not any(type(f).__name__ == "_QuietTensorFlowFinder" for f in sys.meta_path)
        tensorflow.config.list_physical_devices()  # later probes are not filtered
        sys.stderr.write("ours\\n")
        """,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["a python warning while importing", NOISE[3], "ours"]


def test_user_asking_for_tensorflow_logs_gets_them(tmp_path: Path) -> None:
    package = tmp_path / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(FAKE_TENSORFLOW.format(noise=NOISE, cuinit=NOISE[3]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    result = _python(
        "from dropout_studio.quiet import quiet_tensorflow\nquiet_tensorflow()\nimport tensorflow",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:3] == NOISE[:3]


def test_quieting_imports_nothing_heavy_and_ignores_tf2onnx_future_warnings() -> None:
    result = _python(
        """
        import sys, warnings
        from dropout_studio.quiet import quiet_tensorflow
        quiet_tensorflow()
        heavy = [m for m in ("tensorflow", "keras", "PySide6") if m in sys.modules]
        assert not heavy, heavy
        with warnings.catch_warnings(record=True) as seen:
            for module in ("tf2onnx", "tf2onnx.tfonnx", "keras.src.export.tf2onnx_lib",
                           "dropout_studio.engine.export"):
                warnings.warn_explicit("np.object", FutureWarning, "x.py", 1, module=module)
            warnings.warn_explicit("other", UserWarning, "x.py", 2, module="tf2onnx")
        print(sorted(str(w.message) for w in seen))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['np.object', 'other']"


def _cli() -> list[str]:
    script = shutil.which("dropout-studio", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "dropout_studio"]


ABSL_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)


@pytest.mark.slow
def test_train_stderr_holds_no_tensorflow_lines(tmp_path: Path) -> None:
    """``dropout-studio train`` on a small preset, as a user runs it (no TF_CPP_MIN_LOG_LEVEL):
    no I0000/W0000/E0000 lines, and our own progress lines still on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP_")}
    project = tmp_path / "p.json"
    made = subprocess.run(
        [*_cli(), "new", str(project), "--preset", "small-data"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    result = subprocess.run(
        [*_cli(), "train", str(project), "--epochs", "1", "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert not ABSL_LINE.search(result.stderr), result.stderr
    assert "absl::InitializeLog" not in result.stderr
    assert "cuInit" not in result.stderr
    assert "epoch 1" in result.stderr + result.stdout  # our messages still show
    assert (tmp_path / "run").is_dir()


def test_deferred_packages_fail_only_in_the_importing_thread_and_only_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import threading

    from dropout_studio.quiet import optional_packages_deferred

    (tmp_path / "probed_extra").mkdir()
    (tmp_path / "probed_extra" / "__init__.py").write_text("VALUE = 1\n")
    (tmp_path / "probed_extra" / "part.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = list(sys.meta_path)
    elsewhere: list[object] = []
    with optional_packages_deferred(frozenset({"probed_extra"})):
        with pytest.raises(ModuleNotFoundError, match="while Keras and TensorFlow import"):
            importlib.import_module("probed_extra")
        assert "probed_extra" not in sys.modules
        other = threading.Thread(
            target=lambda: elsewhere.append(importlib.import_module("probed_extra"))
        )
        other.start()
        other.join()
        assert [module.VALUE for module in elsewhere] == [1]  # another thread imports it
        importlib.import_module("probed_extra.part")  # and, once imported, its submodules
    sys.modules.pop("probed_extra", None)
    sys.modules.pop("probed_extra.part", None)
    assert sys.meta_path == before
    assert importlib.import_module("probed_extra").VALUE == 1  # this thread too, after
    sys.modules.pop("probed_extra", None)


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="Keras on JAX or numpy needs the jax extra"
)
@pytest.mark.parametrize("configured", ["jax", "numpy"])
def test_keras_on_a_backend_that_imports_jax_still_imports(tmp_path: Path, configured: str) -> None:
    """Keras on JAX (or numpy, whose backend imports JAX too), chosen in keras.json with no
    KERAS_BACKEND set: JAX is never refused to Keras' own import."""
    (tmp_path / "keras.json").write_text(f'{{"backend": "{configured}"}}')
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    result = _python(
        """
        from dropout_studio.quiet import quiet_tensorflow
        quiet_tensorflow()
        import keras
        print(keras.backend.backend())
        """,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == configured


def test_tensorflow_imports_without_the_packages_it_only_probes_for() -> None:
    """The real import under the hook: Keras builds and trains a model, the probed packages
    were never imported, and each still imports afterwards (the digits dataset needs sklearn,
    the sweep chart matplotlib)."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    result = _python(
        """
        import sys
        from dropout_studio.quiet import quiet_tensorflow
        quiet_tensorflow()
        import numpy as np
        import keras
        probed = [m for m in ("sklearn", "matplotlib", "pandas", "jax") if m in sys.modules]
        assert not probed, probed
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse")
        model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
        import sklearn.datasets, matplotlib.pyplot
        print("ok")
        """,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
