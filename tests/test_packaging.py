"""Desktop integration files validate, icons exist at every size, the spec is portable."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.dropoutstudio.DropoutStudio"


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed"
)
def test_desktop_file_validates():
    result = subprocess.run(
        ["desktop-file-validate", str(PACKAGING / f"{APP_ID}.desktop")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream is not installed")
def test_metainfo_validates():
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(PACKAGING / f"{APP_ID}.metainfo.xml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_file_points_at_the_command_and_icon():
    text = (PACKAGING / f"{APP_ID}.desktop").read_text()
    assert "Exec=dropout-studio %f" in text
    assert f"Icon={APP_ID}" in text


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_icons_have_their_size(size):
    image = QImage(str(ROOT / "resources" / "icons" / f"dropout-studio-{size}.png"))
    assert (image.width(), image.height()) == (size, size)


def test_spec_has_no_platform_specific_paths():
    spec = (PACKAGING / "dropout-studio.spec").read_text()
    assert not re.search(r"['\"](/usr|/opt|/home|C:\\\\|[A-Za-z]:/)", spec)
    assert ".so" not in spec
    assert "dropout_studio/resources/presets" in spec
