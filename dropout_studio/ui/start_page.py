"""The first-run start page, inside the main window: what the app shows and three ways in.

It only offers choices and says which one was taken (signals); the window carries them out
with its controllers. A CSV becomes a project here (:func:`csv_project`): an MLP with dropout
whose input and output fit the file's columns and classes.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.dataprobe import probe_file_dataset
from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.core.project import Project, load_preset, preset_names
from dropout_studio.core.spec import DropoutSpec, LayerSpec, NetworkSpec
from dropout_studio.ui.demos import DEMOS, DemosController
from dropout_studio.ui.errors import error_box
from dropout_studio.ui.files import FilesController
from dropout_studio.ui.help import HelpController, guide_path

INTRO = (
    "Build a neural network layer by layer, give each layer its own dropout, train it, and "
    "watch the loss curves beside a diagram of <b>the units that dropout actually dropped in "
    "the latest training step</b>, read from the model itself. Compare the same network with "
    "and without dropout, sweep rates and training-set sizes, and look inside the trained "
    "model."
)


def csv_project(path: str) -> tuple[Project, list[str]]:
    """A project training an MLP with dropout on the CSV at ``path`` (the last column is the
    label), and the problems found in the file (empty when it can be used as is)."""
    dataset = DatasetSpec(source="csv", name="", path=path)
    probe = probe_file_dataset(dataset)
    signature = probe.signature
    network = NetworkSpec()
    if signature is not None and len(signature.input_shape) == 1:
        features = signature.input_shape[0] or 1
        last = (
            LayerSpec.make("Dense", units=signature.classes, activation="softmax")
            if signature.classes
            else LayerSpec.make("Dense", units=1, activation="linear")
        )
        network = NetworkSpec.of(
            [
                LayerSpec.make("Input", DropoutSpec("dropout", 0.2), shape=[features]),
                LayerSpec.make("Dense", DropoutSpec("dropout", 0.5), units=128, activation="relu"),
                LayerSpec.make("Dense", DropoutSpec("dropout", 0.5), units=64, activation="relu"),
                last,
            ]
        )
    else:
        network = load_preset("digits-mlp").network
    name = path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".csv") or "csv"
    project = replace(load_preset("digits-mlp"), name=name, description="", dataset=dataset)
    return replace(project, network=network), list(probe.problems)


class StartPage(QScrollArea):
    """Shown at the first launch (and from Help ▸ Start Page) instead of the workspace."""

    preset_chosen = Signal(str)
    demo_chosen = Signal(int)
    csv_chosen = Signal(str)
    guide_requested = Signal()
    dismissed = Signal()

    def __init__(self, guide_location: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        title = QLabel("<h1>Dropout Studio</h1>")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.presets = QListWidget()
        self.presets.setWordWrap(True)
        for name in preset_names():
            description = load_preset(name).description
            short = description.split(". ")[0].rstrip(".")
            item = QListWidgetItem(f"{name} — {short}" if short else name)
            item.setToolTip(description)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.presets.addItem(item)
        self.presets.setCurrentRow(0)
        self.open_preset_button = QPushButton("Open the preset")
        self.demos = QListWidget()
        for index, demo in enumerate(DEMOS):
            item = QListWidgetItem(demo.title)
            item.setToolTip(demo.explanation)
            item.setData(Qt.ItemDataRole.UserRole, index)
            self.demos.addItem(item)
        self.demos.setCurrentRow(0)
        self.start_demo_button = QPushButton("Start the demo")
        self.csv_button = QPushButton("Choose a CSV file…")
        csv_text = QLabel(
            "One row per sample, numeric feature columns, and the label in the last column "
            "(class names or whole numbers for classes; other numbers mean regression). "
            "Dropout Studio builds a small network with dropout that fits the file; change it "
            "as you like."
        )
        csv_text.setWordWrap(True)
        columns = QGridLayout()
        boxes = (
            ("1  Open a preset", QLabel("A ready-made network and data set."), self.presets),
            ("2  Start a demo", QLabel("A guided scenario that says what to do next."), self.demos),
            ("3  Import your own CSV", csv_text, None),
        )
        buttons = (self.open_preset_button, self.start_demo_button, self.csv_button)
        for column, ((heading, text, chooser), button) in enumerate(zip(boxes, buttons)):
            box = QGroupBox(heading)
            inner = QVBoxLayout(box)
            text.setWordWrap(True)
            inner.addWidget(text)
            if chooser is not None:
                chooser.setMinimumHeight(120)
                inner.addWidget(chooser, 1)
            else:
                inner.addStretch(1)
            inner.addWidget(button)
            columns.addWidget(box, 0, column)
            columns.setColumnStretch(column, 1)
        self.guide_button = QPushButton("Open the user guide")
        guide = QLabel(
            f"The user guide is under <b>Help ▸ User Guide</b> (F1) and in <tt>{guide_location}"
            "</tt>; Help ▸ Keyboard Shortcuts lists every key."
        )
        guide.setWordWrap(True)
        guide.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.continue_button = QPushButton("Continue with the mlp-classic example")
        bottom = QHBoxLayout()
        bottom.addWidget(self.guide_button)
        bottom.addStretch(1)
        bottom.addWidget(self.continue_button)
        body = QWidget()
        body.setMaximumWidth(1100)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(8)
        layout.addLayout(columns, 1)
        layout.addWidget(guide)
        layout.addLayout(bottom)
        outer = QWidget()
        centred = QHBoxLayout(outer)
        centred.addWidget(body)
        self.setWidget(outer)
        self.open_preset_button.clicked.connect(self.open_preset)
        self.presets.itemActivated.connect(lambda _item: self.open_preset())
        self.start_demo_button.clicked.connect(self.start_demo)
        self.demos.itemActivated.connect(lambda _item: self.start_demo())
        self.csv_button.clicked.connect(self.choose_csv)
        self.guide_button.clicked.connect(self.guide_requested)
        self.continue_button.clicked.connect(self.dismissed)

    def open_preset(self) -> None:
        item = self.presets.currentItem()
        if item is not None:
            self.preset_chosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def start_demo(self) -> None:
        item = self.demos.currentItem()
        if item is not None:
            self.demo_chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Your data (CSV)", "", "CSV files (*.csv)")
        if path:
            self.csv_chosen.emit(path)


class StartPageController(QObject):
    """Shows the start page in place of the workspace and carries out the choice made there."""

    def __init__(
        self,
        pages: QStackedWidget,
        files: FilesController,
        demos: DemosController,
        help: HelpController,
        side_tabs: QTabWidget,
        settings: QSettings,
    ) -> None:
        super().__init__(pages)
        self.pages, self.files, self.demos, self.help = pages, files, demos, help
        self.side_tabs, self.settings = side_tabs, settings
        self.workspace: QWidget = pages.widget(0) or pages
        self.page: StartPage | None = None
        self.action = QAction("&Start Page", pages)
        self.action.triggered.connect(lambda _=False: self.show())

    def offer(self) -> bool:
        """Show the start page at the first launch only; True when shown."""
        if self.settings.value("startPageSeen", False, type=bool):
            return False
        self.show()
        return True

    def show(self) -> StartPage:
        if self.page is None:
            self.page = StartPage(str(guide_path()))
            self.page.preset_chosen.connect(lambda name: self._leave(self.files.load_preset(name)))
            self.page.demo_chosen.connect(lambda index: self._leave(self.demos.start_demo(index)))
            self.page.csv_chosen.connect(self.import_csv)
            self.page.guide_requested.connect(self.help.show_guide)
            self.page.dismissed.connect(lambda: self._leave(True))
            self.pages.addWidget(self.page)
        self.pages.setCurrentWidget(self.page)
        return self.page

    @property
    def showing(self) -> bool:
        return self.page is not None and self.pages.currentWidget() is self.page

    def _leave(self, ok: bool) -> None:
        """Seen once the user leaves it (a window closed while it shows offers it again)."""
        if ok:
            self.settings.setValue("startPageSeen", True)
            self.pages.setCurrentWidget(self.workspace)

    def import_csv(self, path: str) -> bool:
        """A new project training on the CSV; the Dataset tab then shows the file."""
        project, problems = csv_project(path)
        if not self.files.replace_project(project):
            return False
        self._leave(True)
        titles = [self.side_tabs.tabText(i) for i in range(self.side_tabs.count())]
        if "Dataset" in titles:
            self.side_tabs.setCurrentIndex(titles.index("Dataset"))
        if problems:
            error_box(self.pages, "\n".join(problems)).show()
        return True
