"""Guided scenarios for a class or a talk: a project plus what to look at and click next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QWidget

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
    """Demos ▸ each demo (a project plus what to do next) and presentation mode."""

    def __init__(
        self,
        replace_project: Callable[[Project], bool],
        dock: QDockWidget,
        views: tuple[Any, Any],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.replace_project = replace_project
        self.dock = dock
        self.panel = QLabel()
        self.panel.setWordWrap(True)
        self.panel.setMargin(8)
        dock.setWidget(self.panel)
        dock.hide()
        self.loss_plot, self.diagram = views
        self.demo_actions = []
        for index, demo in enumerate(DEMOS):
            action = QAction(demo.title, parent)
            action.triggered.connect(lambda _=False, i=index: self.start_demo(i))
            self.demo_actions.append(action)
        self.presentation_action = QAction("&Presentation mode", parent)
        self.presentation_action.setShortcut(QKeySequence("F11"))
        self.presentation_action.setCheckable(True)
        self.presentation_action.setToolTip("Larger fonts and plots for a class or a talk")
        self.presentation_action.toggled.connect(self.set_presentation)
        self._normal_font: QFont | None = None

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
        self.dock.show()
        return True

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
        for plot in (self.loss_plot.loss_plot, self.loss_plot.metric_plot):
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(tickFont=font)
                plot.getAxis(side).label.setFont(font)
        self.diagram.setFont(font)
        self.diagram.set_presentation(on)
