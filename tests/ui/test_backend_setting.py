"""Run ▸ Keras Backend: stored in QSettings, applied at the next start, the environment wins."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QSettings

from dropout_studio.ui import backend_setting
from dropout_studio.ui.backend_setting import BackendSetting, apply_backend_setting


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


def test_choosing_jax_is_stored_and_says_it_applies_at_the_next_start(
    make_window, settings, monkeypatch
):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(backend_setting, "available", lambda backend: True)
    window = make_window("small-data")
    setting = BackendSetting(settings, window)
    assert setting.actions["tensorflow"].isChecked()
    assert setting.note.text() == "In use: TensorFlow"
    setting.actions["jax"].trigger()
    assert settings.value("kerasBackend") == "jax"
    assert "next start" in setting.note.text()
    run_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Run")
    assert "Keras &Backend" in [a.text() for a in run_menu.actions()]


def test_the_setting_sets_keras_backend_at_start_unless_the_environment_chose(
    settings, monkeypatch
):
    monkeypatch.setattr(backend_setting, "available", lambda backend: True)
    settings.setValue("kerasBackend", "jax")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert apply_backend_setting(settings) == "tensorflow"  # the environment wins
    monkeypatch.delenv("KERAS_BACKEND")
    assert apply_backend_setting(settings) == "jax"
    assert os.environ["KERAS_BACKEND"] == "jax"


def test_a_missing_backend_is_not_applied_and_says_how_to_install_it(settings, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(backend_setting, "available", lambda backend: backend != "jax")
    settings.setValue("kerasBackend", "jax")
    assert apply_backend_setting(settings) == "tensorflow"
    assert "KERAS_BACKEND" not in os.environ
    setting = BackendSetting(settings, None)
    assert not setting.actions["jax"].isEnabled()
    assert "pip install" in setting.actions["jax"].text()
