"""Pictures and names for the Inside tab: unit images in a montage, weight matrices, and the
stack's names for Keras layers."""

from __future__ import annotations

import numpy as np

from dropout_studio.core.spec import LayerSpec, NetworkSpec, layer_name

SIZE_OPTIONS = ("units", "filters", "output_dim")


def pad_rows(image: np.ndarray, height: int) -> np.ndarray:
    """``image`` with NaN rows below, to ``height`` rows (for side-by-side panels)."""
    return np.pad(image, ((0, height - image.shape[0]), (0, 0)), constant_values=np.nan)


def feature_montage(features: np.ndarray, columns: int = 8, limit: int = 32) -> np.ndarray:
    """Small images in a grid, each scaled to its own range, separated by a 1-pixel gap."""
    tiles = features[:limit]
    h, w = tiles.shape[1:3]
    rows = int(np.ceil(len(tiles) / columns))
    out = np.full((rows * (h + 1), columns * (w + 1)), np.nan, dtype=float)
    for k, tile in enumerate(tiles):
        low, high = float(tile.min()), float(tile.max())
        scaled = (tile - low) / (high - low) if high > low else tile * 0
        r, c = divmod(k, columns)
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = scaled
    return np.nan_to_num(out, nan=0.5)


def stack_label(index: int, layer: LayerSpec) -> str:
    """A layer as the stack table shows it: "layer 2 (Dense 500)", "layer 3 (Flatten)"."""
    size = next(
        (
            layer.option(name)
            for name in SIZE_OPTIONS
            if layer.kind_info and layer.kind_info.option(name)
        ),
        None,
    )
    return f"layer {index + 1} ({layer.kind}{f' {size:,}' if size else ''})"


def stack_labels(network: NetworkSpec | None) -> dict[str, str]:
    """Keras layer names (``dense_2``) to the names the stack shows ("layer 2 (Dense 500)")."""
    if network is None:
        return {}
    return {layer_name(i, layer): stack_label(i, layer) for i, layer in enumerate(network.layers)}


def feature_picture(features: np.ndarray) -> np.ndarray:
    """Features as one image: a montage of unit images, or a weight matrix scaled to 0–1."""
    if features.ndim == 3:
        return feature_montage(features)
    low, high = float(features.min()), float(features.max())
    return (features - low) / (high - low) if high > low else features * 0
