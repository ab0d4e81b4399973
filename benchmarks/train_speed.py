"""Training speed of `dwpose train` on the CPU: seconds per iteration of the Trainer on the easy
synthetic recipe with its data loader, split into data time and step time, and images per second,
for 0, 1 and 2 loader workers. Writes (or replaces) its section of benchmarks/RESULTS.md.

    python benchmarks/train_speed.py             # workers 0, 1, 2; 5 warm-up + 20 measured iterations,
                                                 # 3 repeats taken in turns (about 5 min on 2 cores)
    python benchmarks/train_speed.py --quick     # a smoke run (seconds; no RESULTS.md unless --out)

The recipe is configs/rtmpose-t_synth-easy_128x96.toml (rtmpose-t 128x96, batch 32, AdamW, EMA,
augmentation as the recipe has it) on its data, `dwpose synth --preset easy` (2000 images 128x128,
seed 0: the set benchmarks/synth_tpd.py --scale cpu caches, reused while its spec matches); only
`workers`, `max_iters` and `log_every` = 1 change, and no validation runs. The figures are the
Trainer's own log (train_log.jsonl: `data_time` = waiting for the next batch, `step_time` =
forward + backward + optimiser + EMA, `time` = the whole iteration; dwpose/training/clock.py):
per run the mean over the measured iterations, per worker count the median over the repeats.
The first batch's wait (the workers' start included) is shown apart: every epoch pays it once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results import cpu_name, load_average, write_section  # noqa: E402
from benchmarks.synth_tpd import dataset  # noqa: E402  (generated once, reused while the spec matches)

from dwpose.data.synth import ANNOTATION_FILE, IMAGE_DIR, SynthSpec  # noqa: E402
from dwpose.training import Trainer, load_config  # noqa: E402

HEADING = "## Training speed on the CPU (benchmarks/train_speed.py)"
CONFIG = ROOT / "configs" / "rtmpose-t_synth-easy_128x96.toml"


def train_data(quick: bool, cache: Path) -> Path:
    """The recipe's training set (as synth_tpd --scale cpu caches it), or a tiny one for --quick."""
    if quick:
        return dataset(cache / "train_speed_quick", SynthSpec(16, 0, 128, 128, 1, 1, preset="easy"))
    return dataset(cache / "synth_tpd" / "cpu" / "train", SynthSpec(2000, 0, 128, 128, 1, 1, preset="easy"))


def one_run(config, work: Path, warmup: int) -> dict[str, float]:
    """Train `warmup` + measured iterations; means over the measured ones from the Trainer's log."""
    trainer = Trainer(config, work, device="cpu", progress=False)
    trainer.train()
    records = [json.loads(line) for line in (work / "train_log.jsonl").read_text().splitlines()]
    measured = records[warmup:]
    means = {key: statistics.fmean(r[key] for r in measured) for key in ("data_time", "step_time", "time")}
    return {**means, "first_wait": records[0]["data_time"]}


def sample_cost(config, work: Path, count: int) -> float:
    """Seconds per sample of the training set in this process (read, crop, labels): one worker's cost."""
    trainer = Trainer(config, work, device="cpu", progress=False)  # for its dataset: no training
    start = time.perf_counter()
    for index in range(count):
        trainer.dataset[index]
    return (time.perf_counter() - start) / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="0,1,2", help="loader worker counts, comma-separated (default 0,1,2)")
    parser.add_argument("--warmup", type=int, default=5, help="iterations before the measured ones (default 5)")
    parser.add_argument("--iters", type=int, default=20, help="measured iterations per run (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per worker count, taken in turns (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, as `dwpose train`)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 16 images, batch 4, 1 + 2 iterations, 1 repeat")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache")
    parser.add_argument("--out", type=Path, default=None, help="RESULTS.md to update (default benchmarks/RESULTS.md; "
                                                                "none with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.iters, args.repeats = 1, 2, 1
    elif args.out is None:
        args.out = ROOT / "benchmarks" / "RESULTS.md"
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    workers = [int(w) for w in args.workers.split(",")]
    train = train_data(args.quick, args.cache)
    overrides = {"data.coco_ann": str(train / ANNOTATION_FILE), "data.coco_images": str(train / IMAGE_DIR),
                 "max_iters": args.warmup + args.iters, "log_every": 1, "checkpoint_every_iters": 10**9}
    if args.quick:
        overrides.update({"batch_size": 4, "warmup_iters": 1})
    base = dataclasses.replace(load_config(CONFIG, overrides), val=None)  # no validation: training only
    load_before = load_average()
    runs: dict[int, list[dict]] = {w: [] for w in workers}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dwpose-train-speed-") as tmp:
        per_sample = sample_cost(base, Path(tmp), 8 if args.quick else 64)
        for repeat in range(args.repeats):
            for w in workers:  # in turns: a change of load on the machine touches every worker count alike
                result = one_run(dataclasses.replace(base, workers=w), Path(tmp) / f"r{repeat}w{w}", args.warmup)
                runs[w].append(result)
                print(f"repeat {repeat + 1}, {w} worker(s): {result['time']:.3f} s/iter (data {result['data_time']:.3f}"
                      f", step {result['step_time']:.3f})", flush=True)
    section = render(args, base, runs, per_sample, load_before, time.perf_counter() - started)
    print(section)
    if args.out is not None:
        write_section(args.out, HEADING, section)
    return 0


def render(args, config, runs: dict[int, list[dict]], per_sample: float, load_before: str, seconds: float) -> str:
    batch = config.batch_size
    lines = [HEADING, "",
             f"{date.today().isoformat()}, `benchmarks/train_speed.py{' --quick' if args.quick else ''}`"
             f"{' (a smoke run: the numbers say the script runs)' if args.quick else ''}: {cpu_name()} "
             f"({platform.machine()}), {os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s) in the "
             f"training process, torch {torch.__version__}; load average (1/5/15 min) before {load_before}, after "
             f"{load_average()} (a shared machine: other work slows every row).",
             f"Recipe `{CONFIG.relative_to(ROOT)}` ({config.model}, batch {batch}, augmentation "
             f"{'on' if config.augment else 'off'}) on `dwpose synth --preset easy` data; per run {args.warmup} "
             f"warm-up + {args.iters} measured iterations, {args.repeats} repeat(s) per worker count taken in turns, "
             f"median of the repeats ({seconds / 60:.1f} min in all). One sample (read, crop, labels) costs "
             f"{per_sample * 1000:.1f} ms in one process: {per_sample * batch:.2f} s of one worker's time per batch.",
             "", "| loader workers | s/iter | data s/iter | step s/iter | data share | images/s | first batch wait s |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for w, results in runs.items():
        med = {key: statistics.median(r[key] for r in results)
               for key in ("time", "data_time", "step_time", "first_wait")}
        lines.append(f"| {w} | {med['time']:.3f} | {med['data_time']:.3f} | {med['step_time']:.3f} | "
                     f"{med['data_time'] / med['time']:.1%} | {batch / med['time']:.1f} | {med['first_wait']:.2f} |")
    lines += ["", "s/iter is the whole iteration (data + step + the loop's bookkeeping); data share = data s/iter / "
              "s/iter, the time the step waited on the loader."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
