"""The Inside tab's numbers: computed off the GUI thread from a trained model (the view is
``ui/inside.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dropout_studio.core.spec import NetworkSpec
from dropout_studio.ui.inside_pictures import stack_labels


@dataclass
class InsideReport:
    """Everything the Inside tab draws; ``twin`` fields are None until the twin is trained."""

    class_names: list[str]
    sample_index: int
    mc_mean: np.ndarray  # (outputs,)
    mc_std: np.ndarray
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # xs, ys, entropy (2-D data)
    sparsity: list[Any]
    correlations: np.ndarray | None
    coadaptation: float | None
    layer: str
    features: np.ndarray | None  # (units, h, w) images, or (units, inputs) weights
    twin_sparsity: list[Any] | None = None
    twin_correlations: np.ndarray | None = None
    twin_coadaptation: float | None = None
    twin_features: np.ndarray | None = None
    labels: dict[str, str] = field(default_factory=dict)  # Keras name -> "layer 2 (Dense 500)"
    feature_layer: str = ""  # Keras name of the layer whose weights ``features`` shows


def analyse(
    model: Any,
    data: Any,
    index: int,
    samples: int,
    input_shape: tuple[int, ...],
    from_logits: bool = False,
    network: NetworkSpec | None = None,
) -> InsideReport:
    """All Inside-tab numbers for one model (runs off the GUI thread).

    ``from_logits``: the classifier's last layer has no softmax/sigmoid, so every Monte Carlo
    sample is turned into probabilities before means and entropies are taken. ``network``
    names the layers as the stack shows them."""
    from dropout_studio.engine import analysis
    from dropout_studio.ui.evaluate import probabilities

    def mc(x: np.ndarray, n: int) -> np.ndarray:
        out = analysis.mc_dropout(model, x, n)
        return probabilities(out) if from_logits and data.class_names else out

    x_test = data.x_test if len(data.x_test) else data.x_val
    index = min(index, len(x_test) - 1)
    mc_samples = mc(x_test[index : index + 1], samples)[:, 0]
    grid = None
    if data.x_train.ndim == 2 and data.x_train.shape[1] == 2:
        low, high = data.x_train.min(axis=0) - 0.5, data.x_train.max(axis=0) + 0.5
        xs, ys = np.linspace(low[0], high[0], 50), np.linspace(low[1], high[1], 50)
        plane = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype("float32")
        uncertainty = analysis.predictive_uncertainty(mc(plane, min(samples, 20)))
        grid = (xs, ys, uncertainty.entropy)
    probe = data.x_val[:512]
    sparsity = analysis.activation_sparsity(model, probe)
    hidden = next((a.name for a in sparsity[:-1]), None)
    corr = analysis.unit_correlations(model, probe, hidden) if hidden else None
    if corr is not None and len(corr) > 64:
        corr = corr[:64, :64]  # readable; the summary number uses all units below
    full = analysis.unit_correlations(model, probe, hidden) if hidden else None
    features, feature_layer = _first_layer_picture(model, input_shape)
    return InsideReport(
        class_names=list(data.class_names),
        sample_index=index,
        mc_mean=mc_samples.mean(axis=0),
        mc_std=mc_samples.std(axis=0),
        grid=grid,
        sparsity=sparsity,
        correlations=corr,
        coadaptation=analysis.coadaptation(full) if full is not None else None,
        layer=hidden or "",
        features=features,
        labels=stack_labels(network),
        feature_layer=feature_layer,
    )


def _first_layer_picture(model: Any, input_shape: tuple[int, ...]) -> tuple[Any, str]:
    """Unit weights as images when the first layer sees an image, else its weight matrix
    (one row per unit), so the features panel is never empty for a model with weights."""
    from dropout_studio.engine import analysis

    weighted = [layer for layer in model.layers if layer.trainable_weights]
    first = weighted[0].name if weighted else ""
    try:
        return analysis.first_layer_features(model, input_shape), first
    except ValueError:
        pass
    if not weighted:
        return None, ""
    # the kernel, not a bias or a recorded dropout mask (non-trainable, and listed first)
    variables = weighted[0].trainable_weights
    chosen = next((v for v in variables if "kernel" in getattr(v, "name", "")), variables[0])
    from keras import ops

    kernel = np.asarray(ops.convert_to_numpy(chosen), dtype=float)
    matrix = kernel.reshape(-1, kernel.shape[-1]).T  # (units, inputs)
    return matrix[:128], first
