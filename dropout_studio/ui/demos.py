"""Guided scenarios for a class or a talk: a project plus what to look at and click next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.project import Project, load_preset
from dropout_studio.core.spec import DropoutSpec


@dataclass(frozen=True)
class Demo:
    title: str
    preset: str
    explanation: str
    next_step: str
    adjust: Callable[[Project], Project] | None = None


def _rate(rate: float) -> Callable[[Project], Project]:
    def adjust(project: Project) -> Project:
        layers = tuple(
            replace(layer, dropout=DropoutSpec("dropout", rate))
            if layer.dropout.active and layer.kind != "Input"
            else layer
            for layer in project.network.layers
        )
        return replace(project, network=replace(project.network, layers=layers))

    return adjust


DEMOS = (
    Demo(
        "Overfitting on a small data set",
        "small-data",
        "60 training digits and a 500-unit layer. Without dropout the network memorizes the "
        "training set: training loss goes to zero while validation loss turns upward.",
        "Press Train and watch the gap; then Experiments ▸ Compare to train the same stack "
        "with and without dropout over three seeds.",
    ),
    Demo(
        "Rate too high: slow convergence",
        "digits-mlp",
        "Every hidden layer drops 85 % of its units in each step. Training still works, but "
        "the loss falls slowly and stays high: too little of the network learns per step.",
        "Train, then set the rates back to 0.5 in the layer properties and train again.",
        _rate(0.85),
    ),
    Demo(
        "Spatial dropout in a CNN",
        "cnn-classic",
        "Neighbouring pixels of a feature map are nearly identical, so dropping single pixels "
        "barely regularizes. Spatial dropout drops whole channels instead.",
        "Train and watch the diagram: convolution channels are dropped as a whole.",
    ),
    Demo(
        "Dropout is off at inference",
        "mlp-classic",
        "During training each step drops a different half of the hidden units; when the "
        "model predicts, every unit is on (Keras scales the kept units during training).",
        "Train, then switch Run ▸ Evaluate mode on and off and compare the diagram.",
    ),
    Demo(
        "Monte Carlo dropout: how sure is the model?",
        "small-data",
        "Keeping dropout on at prediction time and predicting many times gives a spread: "
        "wide where the model is unsure.",
        "Train, then open the Inside tab and press Analyse; pick test samples and compare "
        "their spreads.",
    ),
)


class DemosController(QObject):
    """Demos ▸ each demo (a project plus what to do next) and presentation mode.

    The demo's text is a "Demo" tab beside the Dataset tab, added when a demo starts and
    removed with its Close button: never a dock that could come back empty, and never below
    the diagram. Presentation mode enlarges fonts, the diagram's labels and the plots; the
    window makes it full screen through ``presentation_toggled``.
    """

    presentation_toggled = Signal(bool)

    def __init__(
        self,
        replace_project: Callable[[Project], bool],
        tabs: QTabWidget,
        views: tuple[Any, Any],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.replace_project = replace_project
        self.tabs = tabs
        self.panel = QLabel()
        self.panel.setWordWrap(True)
        self.panel.setMargin(8)
        self.panel.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.close_button = QPushButton("Close the demo panel")
        self.close_button.clicked.connect(self.close_demo)
        self.page = QWidget()
        self.page.setObjectName("demoPage")
        layout = QVBoxLayout(self.page)
        layout.addWidget(self.panel, 1)
        layout.addWidget(self.close_button)
        self.loss_plot, self.diagram = views
        self.demo_actions = []
        for index, demo in enumerate(DEMOS):
            action = QAction(demo.title, parent)
            action.triggered.connect(lambda _=False, i=index: self.start_demo(i))
            self.demo_actions.append(action)
        self.presentation_action = QAction("&Presentation mode", parent)
        self.presentation_action.setShortcut(QKeySequence("F11"))
        self.presentation_action.setCheckable(True)
        self.presentation_action.setToolTip(
            "Full screen with larger fonts and plots, for a class or a talk (F11 again ends it)"
        )
        self.presentation_action.toggled.connect(self.set_presentation)
        self._normal_font: QFont | None = None

    @property
    def showing(self) -> bool:
        return self.tabs.indexOf(self.page) >= 0

    def start_demo(self, index: int) -> bool:
        demo = DEMOS[index]
        project = load_preset(demo.preset)
        if demo.adjust is not None:
            project = demo.adjust(project)
        if not self.replace_project(project):
            return False
        self.panel.setText(
            f"<h3>{demo.title}</h3><p>{demo.explanation}</p><p><b>Next:</b> {demo.next_step}</p>"
        )
        if not self.showing:
            add_page = getattr(self.tabs, "add_page", None)
            if callable(add_page):
                add_page(self.page, "Demo", 0)
            else:
                self.tabs.insertTab(0, self.page, "Demo")
        self.tabs.setCurrentWidget(self.page)
        return True

    def close_demo(self) -> None:
        index = self.tabs.indexOf(self.page)
        if index >= 0:
            self.tabs.removeTab(index)
            self.tabs.setCurrentIndex(0)

    def set_presentation(self, on: bool) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        if self._normal_font is None:
            self._normal_font = app.font()
        font = QFont(self._normal_font)
        if on:
            font.setPointSizeF(self._normal_font.pointSizeF() * 1.5)
        app.setFont(font)
        # Widgets learn of the new application font from posted events: deliver them now, so
        # the views below measure the font they will draw with.
        QApplication.sendPostedEvents(None, QEvent.Type.ApplicationFontChange.value)
        self.loss_plot.set_presentation(on, font)
        self.diagram.setFont(font)
        self.diagram.set_presentation(on)
        self.presentation_toggled.emit(on)
