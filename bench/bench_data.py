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

``CLI train`` runs ``dropout-studio train --epochs 1`` (an MLP on 64×64×3 images) on each
folder and on a 50-image folder beside it, in fresh processes: the figure is the peak RSS it
adds over the 50-image run (goal: ≤ 600 MB at 10,000 images), in memory and streamed from disk
(``$DROPOUT_STUDIO_MEMORY_BUDGET`` set below the folder's size). ``--huge`` also trains one
streamed epoch on a 100,000-image folder and reports its peak RSS, the machine's RAM and the
pages swapped out meanwhile (goal: none).

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
import time
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = 50
CLASSES = 5
IMAGE_SIDE = 64
GOAL_CSV_ROWS = 200_000
GOAL_CSV = (0.5, 400.0)  # seconds, MB added, at GOAL_CSV_ROWS
GOAL_IMAGES = 10_000
GOAL_IMAGES_MB = 600.0
TINY_IMAGES = 50  # the CLI runs' reference folder
HUGE_IMAGES = 100_000
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


def project_file(root: Path, folder: Path) -> Path:
    """A project training an MLP for one epoch on ``folder`` (64×64×3, not standardized)."""
    path = root / f"{folder.name}.json"
    project = {
        "format": "dropout-studio-project",
        "version": 1,
        "name": folder.name,
        "dataset": {
            "source": "images",
            "path": str(folder),
            "validation_split": 0.2,
            "test_split": 0.2,
            "standardize": False,
            "channels": 3,
            "size": [IMAGE_SIDE, IMAGE_SIDE],
        },
        "layers": [
            {"kind": "Input", "shape": [IMAGE_SIDE, IMAGE_SIDE, 3]},
            {"kind": "Flatten"},
            {
                "kind": "Dense",
                "units": 64,
                "activation": "relu",
                "dropout": {"type": "dropout", "rate": 0.5},
            },
            {"kind": "Dense", "units": CLASSES, "activation": "softmax"},
        ],
        "training": {"batch_size": 64, "epochs": 1, "seed": 0},
    }
    path.write_text(json.dumps(project))
    return path


# Runs the CLI as its only child, so RUSAGE_CHILDREN's peak is the CLI's own peak RSS.
PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def cli_train(project: Path, budget_mb: float | None = None) -> dict[str, Any]:
    """One ``dropout-studio train --epochs 1`` in a fresh process: wall seconds, its peak RSS
    (MB), the pages swapped out meanwhile and which data path the CLI said it used."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("DROPOUT_STUDIO_MEMORY_BUDGET", None)
    if budget_mb is not None:
        env["DROPOUT_STUDIO_MEMORY_BUDGET"] = str(budget_mb)
    out = Path(tempfile.mkdtemp(prefix="bench_run_"))
    swapped = _swapped_out()
    start = time.perf_counter()
    command = [sys.executable, "-m", "dropout_studio.cli", "train", str(project)]
    command += ["--epochs", "1", "--out", str(out / "run")]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, *command], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    lines = done.stderr.splitlines()
    peak_kb = next(int(line.split()[1]) for line in lines if line.startswith("peak_kb"))
    data = next((line for line in lines if line.startswith("data:")), "data: ?")
    return {
        "seconds": seconds,
        "peak_mb": peak_kb / 1024,
        "swapped": _swapped_out() - swapped,
        "data": data.split(";")[0],
    }


def _swapped_out() -> int:
    """Pages swapped out since boot (/proc/vmstat), 0 where unknown."""
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            if line.startswith("pswpout "):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


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


def train_report(root: Path, image_sizes: list[int], repeats: int, huge: bool) -> None:
    """CLI training memory: each folder in memory and streamed, beside the 50-image run."""
    tiny = root / f"images{TINY_IMAGES}"
    if not tiny.exists():
        write_images(tiny, TINY_IMAGES)
    folders = {n: root / f"images{n}" for n in [TINY_IMAGES, *image_sizes]}
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for _ in range(repeats):  # interleaved, so a busy spell hits every figure alike
        for n, folder in folders.items():
            project = project_file(root, folder)
            runs.setdefault((n, "memory"), []).append(cli_train(project))
            if n != TINY_IMAGES:
                budget = 0.5 * n * IMAGE_SIDE * IMAGE_SIDE * 3 / 2**20  # half the pixels
                runs.setdefault((n, "streamed"), []).append(cli_train(project, budget))
    peak = {key: statistics.median(r["peak_mb"] for r in value) for key, value in runs.items()}
    seconds = {key: statistics.median(r["seconds"] for r in value) for key, value in runs.items()}
    base = peak[(TINY_IMAGES, "memory")]
    print(f"\nCLI train --epochs 1 (peak RSS of the process; {TINY_IMAGES} images: {base:.0f} MB)")
    print(
        f"{'images':>9} {'path':9} {'seconds':>8} {'peak MB':>8} {'added MB':>9}  goal / data line"
    )
    for (n, path), value in sorted(runs.items()):
        if n == TINY_IMAGES:
            continue
        added = peak[(n, path)] - base
        target = GOAL_IMAGES_MB * n / GOAL_IMAGES
        mark = "" if n == GOAL_IMAGES else " (scaled linearly)"
        verdict = "met" if added <= target else "NOT MET"
        print(
            f"{n:>9,} {path:9} {seconds[(n, path)]:>8.1f} {peak[(n, path)]:>8.0f} {added:>9.0f}  "
            f"≤ {target:.0f} MB{mark}: {verdict}; {value[-1]['data']}"
        )
    for path in ("memory", "streamed"):
        for small, large in itertools.pairwise(image_sizes):
            a = (peak[(small, path)] - base) / small
            b = (peak[(large, path)] - base) / large
            if a > 0 and b / a > NONLINEAR:
                print(
                    f"  not linear: CLI train ({path}) added MB per image grows ×{b / a:.2f} "
                    f"from {small:,} to {large:,} images"
                )
            elif a > 0 and b / a < 1 / NONLINEAR:
                print(
                    f"  sub-linear: CLI train ({path}) added MB per image ×{b / a:.2f} from "
                    f"{small:,} to {large:,} images (fixed costs: tracing, TensorFlow buffers)"
                )
    if huge:
        folder = root / f"images{HUGE_IMAGES}"
        if not folder.exists():
            write_images(folder, HUGE_IMAGES)
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
        pixels = HUGE_IMAGES * IMAGE_SIDE * IMAGE_SIDE * 3 / 2**20
        print(
            f"\n{HUGE_IMAGES:,} images ({pixels:,.0f} MB of pixels), one epoch, {ram:,.0f} MB RAM"
        )
        for name, budget in (("default budget", None), ("streamed", pixels / 2)):
            result = cli_train(project_file(root, folder), budget)
            verdict = "met" if result["swapped"] == 0 and result["peak_mb"] < ram else "NOT MET"
            print(
                f"  {name:15} {result['seconds']:>5.0f} s, peak RSS {result['peak_mb']:,.0f} MB, "
                f"{result['swapped']} pages swapped out (goal: none): {verdict}; {result['data']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate (and keep) the files here")
    parser.add_argument(
        "--huge", action="store_true", help=f"also train on {HUGE_IMAGES:,} images, streamed"
    )
    parser.add_argument("--only-train", action="store_true", help="only the CLI training part")
    args = parser.parse_args()
    csv_sizes = [10_000, 100_000, 200_000] + ([] if args.quick else [1_000_000])
    image_sizes = [200, 1_000] if args.quick else [1_000, 10_000]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_data_"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        cases = []
        for rows in [] if args.only_train else csv_sizes:
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
        if not args.only_train:
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
        train_report(root, image_sizes, args.repeats, args.huge)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
