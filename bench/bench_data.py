"""How the cost of loading your own data grows: CSV files and image folders of several sizes.

Each load runs in a fresh Python process that imports everything first, so the time is the load
alone and the memory is what the load adds to the process's peak RSS (``ru_maxrss`` after the
load minus the RSS before it). Dropout Studio's CSV importer runs beside plain
``pandas.read_csv`` on the same files; contenders are interleaved and the median of
``--repeats`` runs is printed (wall time, and CPU time, which other users of a shared
machine disturb less), with the goals of issue 12 beside the figures and a line for
every step where the cost per row or per image grows faster than linearly.

``load_csv progress`` and ``load_image_folder progress`` load as the window and the CLI do
(progress reports and a stop flag); ``preview sample …`` is what the dataset panel reads.

Run: ``python bench/bench_data.py`` (CSV 10k, 100k, 200k and 1M rows; folders of 1k and 10k
PNGs), or ``--quick`` (CSV 10k, 100k, 200k; folders of 200 and 1k). Files are generated into a
temporary folder (``--keep DIR`` keeps them there). These machines are noisy (±15–30 %): compare
figures from one run only.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FEATURES = 50
CLASSES = 5
IMAGE_SIDE = 64
GOAL_CSV_ROWS = 200_000
GOAL_CSV = (0.5, 400.0)  # seconds, MB added, at GOAL_CSV_ROWS
GOAL_IMAGES = 10_000
GOAL_IMAGES_MB = 600.0
NONLINEAR = 1.3  # cost per unit growing by more than this between sizes counts as non-linear

WORKER = r"""
import json, resource, sys, threading, time
from pathlib import Path
import numpy as np
import pandas as pd
from PIL import Image
from dropout_studio.core.datasets import DatasetSpec
from dropout_studio.engine import data as engine_data

what, path = sys.argv[1], Path(sys.argv[2])
def rss_kb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() // 1024
before = rss_kb()
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
start = time.perf_counter()
if what == "load_csv":
    x, y, names = engine_data.load_csv(path, "label")
elif what == "load_csv progress":  # as the window and the CLI load it: progress and Stop
    x, y, names = engine_data.load_csv(
        path, "label", on_progress=lambda done, total: None, stop=threading.Event()
    )
elif what == "pandas.read_csv":
    frame = pd.read_csv(path)
elif what == "load_dataset csv":
    data = engine_data.load_dataset(DatasetSpec("csv", path=str(path)), 0)
elif what == "load_image_folder":
    x, y, names = engine_data.load_image_folder(path, 64, 64, 3)
elif what == "load_image_folder progress":
    x, y, names = engine_data.load_image_folder(
        path, 64, 64, 3, on_progress=lambda done, total: None, stop=threading.Event()
    )
elif what == "preview sample csv":  # what the dataset panel reads
    sample = engine_data.load_sample(DatasetSpec("csv", path=str(path)))
elif what == "preview sample images":
    spec = DatasetSpec("images", path=str(path), options=(("channels", 3), ("size", 64)))
    sample = engine_data.load_sample(spec)
elif what == "load_dataset images":
    spec = DatasetSpec("images", path=str(path), options=(("channels", 3), ("size", 64)))
    data = engine_data.load_dataset(spec, 0)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "added_mb": (usage.ru_maxrss - before) / 1024}))
"""


def write_csv(path: Path, rows: int) -> None:
    """A block of 10,000 random rows, repeated: parsing costs the same as all-distinct rows."""
    rng = np.random.default_rng(0)
    block_rows = min(rows, 10_000)
    x = rng.normal(size=(block_rows, FEATURES))
    y = rng.integers(0, CLASSES, block_rows)
    lines = [",".join(f"{v:.6f}" for v in r) + f",{c}\n" for r, c in zip(x, y)]
    block = "".join(lines)
    with open(path, "w") as fh:
        fh.write(",".join([f"f{i}" for i in range(FEATURES)] + ["label"]) + "\n")
        for _ in range(rows // block_rows):
            fh.write(block)
        fh.write("".join(lines[: rows % block_rows]))


def write_images(root: Path, count: int) -> None:
    """64×64 RGB noise PNGs in 5 class folders (50 distinct images, copied)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    blobs = []
    for _ in range(50):
        pixels = (rng.random((IMAGE_SIDE, IMAGE_SIDE, 3)) * 255).astype("uint8")
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        blobs.append(buffer.getvalue())
    for k in range(CLASSES):
        (root / f"class{k}").mkdir(parents=True)
    for i in range(count):
        (root / f"class{i % CLASSES}" / f"{i}.png").write_bytes(blobs[i % len(blobs)])


def measure(what: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, what, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(cases: list[tuple[str, int, Path]], contenders: dict[str, list[str]], repeats: int):
    """Median seconds and MB for every (contender, size), contenders interleaved."""
    samples: dict[tuple[str, int], list[dict[str, float]]] = {}
    for _ in range(repeats):
        for kind, size, path in cases:
            for what in contenders[kind]:
                samples.setdefault((what, size), []).append(measure(what, path))
    return {
        key: (
            statistics.median(s["seconds"] for s in runs),
            statistics.median(s["added_mb"] for s in runs),
            statistics.median(s["cpu"] for s in runs),
        )
        for key, runs in samples.items()
    }


def report(kind: str, sizes: list[int], contenders: list[str], results: dict, unit: str) -> None:
    print(f"\n{kind}")
    print(
        f"{'load':22} {unit:>9} {'seconds':>9} {'CPU s':>7} {'µs/' + unit[:-1]:>10} "
        f"{'MB added':>9}  goal"
    )
    for what in contenders:
        for size in sizes:
            seconds, mb, cpu = results[(what, size)]
            print(
                f"{what:22} {size:>9,} {seconds:>9.3f} {cpu:>7.2f} {seconds / size * 1e6:>10.2f} "
                f"{mb:>9.0f}  {goal(what, size)}"
            )
    for what in contenders:
        for small, large in itertools.pairwise(sizes):
            for name, index in (("time", 0), ("CPU time", 2), ("peak RSS", 1)):
                a = results[(what, small)][index] / small
                b = results[(what, large)][index] / large
                if a > 0 and b / a > NONLINEAR:
                    print(
                        f"  not linear: {what} {name} per {unit[:-1]} grows ×{b / a:.2f} "
                        f"from {small:,} to {large:,} {unit}"
                    )


def goal(what: str, size: int) -> str:
    if what in ("load_csv", "load_csv progress"):
        scale = size / GOAL_CSV_ROWS
        seconds, mb = GOAL_CSV
        mark = "" if size == GOAL_CSV_ROWS else " (scaled linearly)"
        return f"≤ {seconds * scale:.3g} s, ≤ {mb * scale:.0f} MB{mark}"
    if what == "load_dataset images":
        mark = "" if size == GOAL_IMAGES else " (scaled linearly)"
        return f"≤ {GOAL_IMAGES_MB * size / GOAL_IMAGES:.0f} MB{mark}"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate (and keep) the files here")
    args = parser.parse_args()
    csv_sizes = [10_000, 100_000, 200_000] + ([] if args.quick else [1_000_000])
    image_sizes = [200, 1_000] if args.quick else [1_000, 10_000]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_data_"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        cases = []
        for rows in csv_sizes:
            path = root / f"rows{rows}.csv"
            if not path.exists():
                write_csv(path, rows)
            cases.append(("csv", rows, path))
        for count in image_sizes:
            path = root / f"images{count}"
            if not path.exists():
                write_images(path, count)
            cases.append(("images", count, path))
        contenders = {
            "csv": [
                "load_csv",
                "load_csv progress",
                "pandas.read_csv",
                "load_dataset csv",
                "preview sample csv",
            ],
            "images": [
                "load_image_folder",
                "load_image_folder progress",
                "load_dataset images",
                "preview sample images",
            ],
        }
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; median of "
            f"{args.repeats} fresh processes each; CSV: {FEATURES} features + label, "
            f"images: {IMAGE_SIDE}×{IMAGE_SIDE}×3 PNG in {CLASSES} classes"
        )
        results = run(cases, contenders, args.repeats)
        report("CSV", csv_sizes, contenders["csv"], results, "rows")
        report("image folders", image_sizes, contenders["images"], results, "images")
        ratio = [
            results[("load_csv", n)][0] / results[("pandas.read_csv", n)][0] for n in csv_sizes
        ]
        print(
            "\nload_csv / pandas.read_csv time: "
            + ", ".join(f"{n:,} rows ×{r:.2f}" for n, r in zip(csv_sizes, ratio))
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
