"""PyTorch contenders of ``bench_training.py``, run as a script by any Python that has torch.

Needs only numpy and torch (not Dropout Studio, not Keras), so it also runs in a separate
virtual environment: ``bench_training.py --torch-python /path/to/python``. The data come in an
``.npz`` file written by the benchmark; the result is one JSON line on stdout.

    python torch_workers.py mlp DATA.npz SPEC.json   # mlp-classic: first epoch, steady samples/s
    python torch_workers.py small DATA.npz           # 30-sample task: cold run, steady ms/epoch

One intra-op thread: on these small workloads it ran several times faster than the default
two threads, which spin against any other load here; the faster setting is the fair baseline.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch


def _net(spec: dict, width: int) -> torch.nn.Module:
    layers: list[torch.nn.Module] = [torch.nn.Flatten()]
    if spec.get("input_dropout"):
        layers.append(torch.nn.Dropout(spec["input_dropout"]))
    for units, relu, rate in spec["dense"]:
        layers.append(torch.nn.Linear(width, units))
        width = units
        if relu:
            layers.append(torch.nn.ReLU())
        if rate:
            layers.append(torch.nn.Dropout(rate))
    return torch.nn.Sequential(*layers)


def mlp(data_path: str, spec_path: str) -> dict[str, float]:
    """As PyTorch tutorials write it: DataLoader(shuffle=True), an eager loop, validation loss
    every epoch. First epoch timed from building the network; steady = epochs after the first."""
    spec = json.loads(open(spec_path).read())
    d = np.load(data_path)
    x, y = torch.tensor(d["x"]), torch.tensor(d["y"], dtype=torch.long)
    xv, yv = torch.tensor(d["xv"]), torch.tensor(d["yv"], dtype=torch.long)
    start = time.perf_counter()
    torch.manual_seed(0)
    net = _net(spec, int(np.prod(x.shape[1:])))
    opt = torch.optim.Adam(net.parameters(), lr=spec["learning_rate"])
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=spec["batch_size"], shuffle=True
    )
    ends = []
    for _ in range(spec["epochs"]):
        net.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            loss_fn(net(xv), yv).item()
        ends.append(time.perf_counter())
    steady = len(x) * (len(ends) - 1) / (ends[-1] - ends[0])
    return {"first_epoch_s": ends[0] - start, "steady_sps": steady}


def small(data_path: str) -> dict[str, float]:
    """The 30-sample task: tensors in memory, full batch, validation every epoch."""
    d = np.load(data_path)
    x, y = torch.tensor(d["x"]), torch.tensor(d["y"], dtype=torch.long)
    xv, yv = torch.tensor(d["xv"]), torch.tensor(d["yv"], dtype=torch.long)
    xt, yt = torch.tensor(d["xt"]), torch.tensor(d["yt"], dtype=torch.long)

    def run(epochs: int, first: list[float]) -> float:
        start = time.perf_counter()
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], 500),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.4),
            torch.nn.Linear(500, 10),
        )
        opt = torch.optim.Adam(net.parameters(), lr=0.001)
        loss_fn = torch.nn.CrossEntropyLoss()
        history = []
        for _ in range(epochs):
            net.train()
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            net.eval()
            with torch.no_grad():
                val = loss_fn(net(xv), yv)
            history.append((loss.item(), val.item()))  # every epoch's numbers, as the engine
            if not first:
                first.append(time.perf_counter())
        with torch.no_grad():
            loss_fn(net(xt), yt).item()
        return time.perf_counter() - start

    first: list[float] = []
    start = time.perf_counter()
    cold = run(4000, first)
    out = {"cold_s": cold, "first_epoch_s": first[0] - start, "cold_wall_time_s": cold}
    walls = {e: run(e, []) for e in (100, 4100)}
    out["steady_ms"] = (walls[4100] - walls[100]) / 4000 * 1000
    return out


def main() -> None:
    torch.set_num_threads(1)
    mode, *rest = sys.argv[1:]
    result = mlp(*rest) if mode == "mlp" else small(*rest)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
