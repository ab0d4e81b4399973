"""Speed and memory per model on the CPU: every pose model and detector a user runs, as an ONNX
file with random weights of the official architecture, run by onnxruntime at batch 1. Writes the
"Model cost" section of RESULTS.md.

    python benchmarks/model_cost.py [--repeats 5] [--quick] [--models rtmpose-t-256x192,...]

Each model runs in a fresh child process, so its memory figure is its own: the growth of the
peak resident set (VmHWM) from just after importing numpy and onnxruntime to after loading
the file and running it. The ONNX files are cached in benchmarks/.cache (git ignores it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
TITLE = "## Model cost on the CPU (benchmarks/model_cost.py)"

# The models the README's zoo offers for running: pose models at their released input sizes and
# the YOLOX detectors the pipelines use.
MODELS = (
    "rtmpose-t-256x192", "rtmpose-s-256x192", "rtmpose-m-256x192", "rtmpose-l-256x192",
    "rtmpose-x-256x192", "rtmpose-l-384x288",
    "rtmw-m-256x192", "rtmw-l-256x192", "rtmw-l-384x288", "rtmw-x-384x288",
    "yolox-tiny", "yolox-s", "yolox-m", "yolox-l",
)


def _peak_rss_mib() -> float:
    """Peak resident set of this process so far. VmHWM first: ru_maxrss keeps the parent's peak
    across fork + exec on Linux, so a child started by a process holding torch would start at
    that (hundreds of MiB) and hide its own growth."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux and BSD report KiB


def child(path: Path, input_name: str, shape: list[int], repeats: int) -> dict:
    """Load and run one ONNX file in this (fresh) process; timings and peak-memory growth."""
    import numpy as np
    import onnxruntime as ort

    baseline = _peak_rss_mib()
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - start
    batch = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    session.run(None, {input_name: batch})  # warm-up: the first run allocates and plans
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {input_name: batch})
        times.append(time.perf_counter() - start)
    return {"load_s": load_s, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "baseline_mib": baseline, "growth_mib": _peak_rss_mib() - baseline}


def prepare(name: str, cache: Path) -> dict:
    """The cached ONNX file of `name` (exported on first use), its parameters and GFLOPs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from dwpose.models import create_model, get_family
    from dwpose.models.onnx_io import export_onnx

    torch.manual_seed(0)
    model = create_model(name)
    input_name, output_names = get_family(name).onnx_io_names  # the official signature of its files
    width, height = model.input_size
    dummy = torch.zeros(1, 3, height, width)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(dummy)
    path = cache / f"model_cost_{name}.onnx"
    if not path.exists():
        export_onnx(model, path, dynamic_batch=False, input_name=input_name, output_names=output_names)
    return {"name": name, "path": path, "input_name": input_name,
            "shape": [1, 3, height, width], "input": f"{width}x{height}",
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
            "gflops": counter.get_total_flops() / 1e9, "file_mib": path.stat().st_size / 2**20}


def measure(info: dict, repeats: int) -> dict:
    """Run `info`'s file in a fresh interpreter (this script with --child) and read its JSON line."""
    command = [sys.executable, __file__, "--child", str(info["path"]), "--input-name", info["input_name"],
               "--shape", ",".join(map(str, info["shape"])), "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{info['name']}: the child process failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    import onnxruntime as ort

    from benchmarks.results import cpu_name
    import platform

    return f"{cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, onnxruntime {ort.__version__}"


def table(rows: list[dict]) -> list[str]:
    lines = ["| model | input (w x h) | parameters (M) | GFLOPs | ONNX file (MiB) | median ms | min-max ms "
             "| load s | peak memory growth (MiB) |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['input']} | {r['params_m']:.2f} | {r['gflops']:.2f} | {r['file_mib']:.1f} "
                     f"| {r['median_s'] * 1000:.1f} | {r['min_s'] * 1000:.0f}-{r['max_s'] * 1000:.0f} "
                     f"| {r['load_s']:.2f} | {r['growth_mib']:.0f} |")
    return lines


def render(rows: list[dict], machine_info: str, load_before: str, load_after: str, repeats: int,
           quick: bool, seconds: float) -> str:
    baseline = statistics.median(r["baseline_mib"] for r in rows)
    how = (
        "Each model is an ONNX file with random weights of the official architecture (`dwpose.create_model`, "
        "exported by `dwpose.models.onnx_io.export_onnx`), run by onnxruntime's CPU provider with its default "
        f"threads at batch 1 (one person crop, or one detector image). Median of {repeats} timed run(s) after "
        "one warm-up run" + (" (`--quick`: a smoke run, not a measurement)" if quick else "")
        + "; the min-max column shows how far single runs scattered. Load s: creating the onnxruntime session. "
        "Peak memory growth: the peak resident set (VmHWM) of a fresh process after loading the file and "
        "running it, minus its peak after importing numpy and onnxruntime "
        f"(median {baseline:.0f} MiB). GFLOPs: convolutions and matrix products as torch's FlopCounterMode "
        "counts them, 2 per multiply-add (model cards that say FLOPs usually give multiply-adds: half). "
        "Detectors: the network alone, without letterbox and box decoding. A picture costs one detector run "
        "plus one pose run per person (the persons of an image are batched). "
        f"The run took {seconds:.0f} s (exporting the files that were not cached included).")
    lines = [TITLE, "", f"{date.today().isoformat()}, {machine_info}.",
             f"Load average (1/5/15 min) before the timings: {load_before}, after: {load_after} (a shared "
             "machine: other work slows the absolute times).", "", textwrap.fill(how, 100), "", *table(rows)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model (default: 5)")
    parser.add_argument("--quick", action="store_true", help="one timed run per model: a smoke run")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names (default: all of them)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--cache", default=str(CACHE), help="folder of the exported ONNX files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input-name", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        shape = [int(v) for v in args.shape.split(",")]
        print(json.dumps(child(Path(args.child), args.input_name, shape, args.repeats)))
        return 0

    sys.path.insert(0, str(ROOT))
    from benchmarks.results import load_average, write_section

    repeats = 1 if args.quick else args.repeats
    started = time.perf_counter()
    # Export first (torch is busy then), measure afterwards, so the load average brackets the timings.
    infos = [prepare(name, Path(args.cache)) for name in args.models.split(",") if name]
    load_before = load_average()
    rows = []
    for info in infos:
        rows.append({**info, **measure(info, repeats)})
        print(table(rows)[-1], flush=True)
    report = render(rows, machine(), load_before, load_average(), repeats, args.quick,
                    time.perf_counter() - started)
    print(report)
    write_section(args.out, TITLE, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
