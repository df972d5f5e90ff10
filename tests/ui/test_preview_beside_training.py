"""No preview runs beside a training: Train stops it, and the preview is built again after."""

from __future__ import annotations

from tests.ui.fakes import fake_trainer, start_training


def test_train_stops_a_running_preview_and_the_preview_comes_back_after(make_window, qtbot):
    window = make_window("small-data", trainer=fake_trainer())
    window.document.set_project(window.document.project.with_training(epochs=2))
    engine = window.engine
    production_build = engine._build

    def slow_build(spec, seed, path, ctx):
        ctx.stop.wait(20)  # a long load that honours Stop, as file loads do
        raise ValueError("loading was stopped" if ctx.stopped else "the preview ran on")

    engine._build = slow_build
    engine.previewed = None
    engine.request_preview()
    preview = engine.preview_job
    assert preview is not None
    assert preview.running
    engine._build = production_build
    with qtbot.waitSignal(window.training.trained, timeout=20_000):
        start_training(window)
        assert preview.stopping  # stopped the moment the training job started
    qtbot.waitUntil(
        lambda: engine.preview_job is None and engine.previewed is not None, timeout=20_000
    )
    assert window.dataset_panel.info.text() != "loading was stopped"  # not shown as a problem


def test_a_numpy_dataset_is_previewed_while_the_engine_loads(make_window, qtbot):
    window = make_window("small-data", trainer=fake_trainer(), engine_ready=False)
    assert window.state.engine == "loading"
    window.engine.request_preview()
    assert window.engine.preview_job is not None  # beside the TensorFlow import
    qtbot.waitUntil(lambda: window.engine.preview_job is None, timeout=20_000)
    project = window.document.project
    assert window.training.cache.get(project.dataset, project.training.seed, None) is not None


def test_a_keras_download_waits_for_the_engine(make_window):
    window = make_window("mnist-classic", trainer=fake_trainer(), engine_ready=False)
    window.engine.request_preview()
    assert window.engine.preview_job is None
