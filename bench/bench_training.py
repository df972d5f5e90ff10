"""Training throughput of the engine against plain Keras ``fit`` (and a PyTorch loop if present).

Two regimes, contenders interleaved and repeated, medians printed as ratios:

1. many small batches: ``mlp-classic``, batch 32, samples/s over whole runs (tracing included);
2. small data, many epochs: 60 samples in one batch, a 500-unit layer with dropout, ms/epoch.

Run: ``python bench/bench_training.py [--repeats 5]``. These machines are noisy (±15–30 %), so
only ratios from the same run mean anything.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

from dropout_studio.core.project import load_preset
from dropout_studio.engine.build import build_model, plain_clone
from dropout_studio.engine.data import load_dataset
from dropout_studio.engine.train import train

try:
    import torch
except ImportError:
    torch = None


def engine_run(project, data) -> tuple[float, int]:
    """Seconds and finished epochs, with events consumed as the GUI would (throttled)."""
    events = []
    start = time.perf_counter()
    result = train(project, data, events.append, threading.Event())
    return time.perf_counter() - start, len(result.history)


def fit_run(project, data) -> tuple[float, int]:
    model = plain_clone(build_model(project.network, project.training.seed))
    model.compile(
        optimizer=keras.optimizers.Adam(project.training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=project.training.batch_size,
        epochs=project.training.epochs,
        validation_data=(data.x_val, data.y_val),
        verbose=0,
    )
    return time.perf_counter() - start, project.training.epochs


def torch_run(project, data) -> tuple[float, int]:
    """The network written as PyTorch tutorials do: DataLoader(shuffle=True), eager loop."""
    torch.manual_seed(0)
    layers: list = []
    shape = data.x_train.shape[1:]
    width = int(np.prod(shape))
    layers.append(torch.nn.Flatten())
    for layer in project.network.layers[1:]:
        if layer.kind == "Dense":
            units = layer.option("units")
            layers.append(torch.nn.Linear(width, units))
            width = units
            if layer.option("activation") == "relu":
                layers.append(torch.nn.ReLU())
        if layer.dropout.active:
            layers.append(torch.nn.Dropout(layer.dropout.rate))
    if project.network.layers[0].dropout.active:
        layers.insert(1, torch.nn.Dropout(project.network.layers[0].dropout.rate))
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=project.training.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.tensor(data.x_train), torch.tensor(data.y_train, dtype=torch.long)
    xv, yv = torch.tensor(data.x_val), torch.tensor(data.y_val, dtype=torch.long)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=project.training.batch_size, shuffle=True
    )
    start = time.perf_counter()
    for _ in range(project.training.epochs):
        net.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            loss_fn(net(xv), yv).item()
    return time.perf_counter() - start, project.training.epochs


def regime(title, project, data, repeats, unit) -> None:
    contenders = {"engine": engine_run, "fit": fit_run}
    if torch is not None:
        contenders["torch"] = torch_run
    per_unit: dict[str, list[float]] = {name: [] for name in contenders}
    n = len(data.x_train)
    for _ in range(repeats):
        for name, run in contenders.items():  # interleaved: noise hits every contender alike
            project_for = project
            if name == "fit" and unit == "ms/epoch":
                project_for = project.with_training(epochs=min(project.training.epochs, 150))
            seconds, epochs = run(project_for, data)
            per_unit[name].append(
                n * epochs / seconds if unit == "samples/s" else 1000 * seconds / epochs
            )
    print(f"\n{title}")
    medians = {name: statistics.median(values) for name, values in per_unit.items()}
    for name, value in medians.items():
        print(
            f"  {name:<7} median {value:10.2f} {unit}   runs: "
            + ", ".join(f"{v:.1f}" for v in per_unit[name])
        )
    for other in [name for name in medians if name != "engine"]:
        ratio = (
            medians["engine"] / medians[other]
            if unit == "samples/s"
            else medians[other] / medians["engine"]
        )
        print(f"  engine speed / {other} speed = {ratio:.2f}x (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4000, help="small-data regime epochs")
    args = parser.parse_args()

    mlp = load_preset("mlp-classic").with_training(epochs=5, batch_size=32)
    mlp = replace(mlp, dataset=mlp.dataset.with_options(samples=5000))
    regime(
        "1. many small batches: mlp-classic, batch 32, 5 epochs of 3,000 samples",
        mlp,
        load_dataset(mlp.dataset, 0),
        args.repeats,
        "samples/s",
    )

    small = load_preset("small-data").with_training(epochs=args.epochs)
    regime(
        f"2. small data: 60 samples, full batch, 500 units, {args.epochs} epochs "
        "(fit timed over 150 epochs)",
        small,
        load_dataset(small.dataset, 0),
        max(3, args.repeats // 2),
        "ms/epoch",
    )


if __name__ == "__main__":
    main()
