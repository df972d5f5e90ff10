"""The first-run start page: shown once, inside the window, and its three ways in work."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel

from dropout_studio.ui.demos import DEMOS


def test_start_page_is_shown_at_the_first_launch_only(make_window):
    win = make_window()
    assert win.pages.currentWidget() is win.splitter  # a window made in code opens the workspace
    assert win.start.offer()
    assert win.start.showing
    assert win.pages.currentWidget() is win.start.page
    assert win.start.page.isVisible()
    assert win.start.page.window() is win
    assert not win.settings.value("startPageSeen", False, type=bool)  # seen when left
    first = win.start.page.presets.item(0)
    assert " — " in first.text()  # each preset with what it is, not its slug only
    win.start.page.continue_button.click()
    assert not win.start.showing
    assert not win.start.offer()  # seen once: not again
    win.start.action.trigger()  # Help ▸ Start Page brings it back
    assert win.start.showing


def test_start_page_says_what_the_app_shows_and_where_the_guide_is(make_window):
    win = make_window()
    page = win.start.show()
    texts = " ".join(label.text() for label in page.findChildren(QLabel))
    assert "dropped" in texts
    assert "Help ▸ User Guide" in texts
    assert "user-guide.md" in texts
    shown = []
    win.help.show_guide = lambda: shown.append(True)  # type: ignore[method-assign]
    page.guide_requested.disconnect()
    page.guide_requested.connect(win.help.show_guide)
    page.guide_button.click()
    assert shown


def test_open_a_preset_from_the_start_page(make_window):
    win = make_window()
    page = win.start.show()
    names = [
        page.presets.item(i).data(Qt.ItemDataRole.UserRole) for i in range(page.presets.count())
    ]
    page.presets.setCurrentRow(names.index("small-data"))
    page.open_preset_button.click()
    assert win.document.project.name == "small-data"
    assert not win.start.showing


def test_start_a_demo_from_the_start_page(make_window):
    win = make_window()
    page = win.start.show()
    page.demos.setCurrentRow(2)
    page.start_demo_button.click()
    assert not win.start.showing
    assert DEMOS[2].title in win.demos.panel.text()
    assert win.side_tabs.tabText(win.side_tabs.currentIndex()) == "Demo"


def test_import_your_own_csv_from_the_start_page(make_window, tmp_path, monkeypatch):
    rows = ["a,b,c,label"] + [
        f"{i},{i % 3},{i * 0.5},{'yes' if i % 2 else 'no'}" for i in range(40)
    ]
    csv = tmp_path / "mine.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(csv), ""))
    win = make_window()
    page = win.start.show()
    page.csv_button.click()
    project = win.document.project
    assert not win.start.showing
    assert project.dataset.source == "csv"
    assert project.dataset.path == str(csv)
    assert project.network.layers[0].option("shape") == (3,)
    assert project.network.layers[-1].option("units") == 2
    assert any(layer.dropout.active for layer in project.network.layers)
    assert project.check().ok, project.check().problems
    assert win.side_tabs.tabText(win.side_tabs.currentIndex()) == "Dataset"
