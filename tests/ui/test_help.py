"""Help ▸ User Guide renders the one shipped guide; Help ▸ Keyboard Shortcuts lists the keys."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence

from dropout_studio.ui.help import guide_markdown, guide_path

ROOT = Path(__file__).resolve().parents[2]


def _help_menu(win):
    menus = {a.text().replace("&", ""): a.menu() for a in win.menuBar().actions()}
    return [a.text().replace("&", "") for a in menus["Help"].actions() if not a.isSeparator()]


def test_help_menu_has_the_guide_shortcuts_start_page_and_about(make_window):
    win = make_window()
    assert _help_menu(win) == [
        "User Guide",
        "Keyboard Shortcuts",
        "Start Page",
        "About Dropout Studio",
    ]


def test_the_guide_ships_once_as_package_data():
    shipped = guide_path()
    assert shipped.is_file()
    assert shipped.parent.name == "resources"
    docs = ROOT / "docs" / "user-guide.md"
    # the docs path is a link to the shipped file, never a second copy
    assert not docs.exists() or docs.resolve() == shipped.resolve()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"*.md"' in pyproject
    assert "resources/user-guide.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_user_guide_is_rendered_from_markdown(make_window):
    win = make_window()
    assert win.help.guide_action.shortcuts() == [
        QKeySequence(QKeySequence.StandardKey.HelpContents)
    ]
    win.help.guide_action.trigger()
    browser = win.help.guide.browser
    assert win.help.guide.isVisible()
    text = browser.toPlainText()
    assert "Dropout Studio user guide" in text
    assert "Troubleshooting" in text
    assert "# " not in text.splitlines()[0]  # headings rendered, not shown as markdown
    assert "![" not in guide_markdown() or (guide_path().parent / "../docs").exists()


def test_keyboard_shortcuts_come_from_the_real_actions(make_window):
    win = make_window()
    win.help.shortcuts_action.trigger()
    text = win.help.shortcuts.browser.toPlainText()
    native = QKeySequence.SequenceFormat.NativeText
    for action in (
        win.train_action,
        win.stop_action,
        win.demos.presentation_action,
        win.undo_action,
    ):
        key = action.shortcut().toString(native)
        assert key, action.text()
        assert key in text, action.text()
        assert action.text().replace("&", "").rstrip("…") in text
    assert win.files.save_action.shortcut().toString(native) in text
    assert "Ctrl+D" in text  # the stack's Duplicate button
