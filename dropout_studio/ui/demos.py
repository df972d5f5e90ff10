"""Guided scenarios for a class or a talk: a project plus what to look at and click next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from dropout_studio.core.project import Project
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
