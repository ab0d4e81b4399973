"""Learning curve of `dwpose train` on the easy synthetic preset: held-out whole-body and per-part
AP at several iteration counts, with the training wall time at each (evaluation excluded).
Writes (or replaces) its section of benchmarks/RESULTS.md.

    python benchmarks/synth_learning_curve.py                  # the recipe in configs/, ~30 min on 2 cores
    python benchmarks/synth_learning_curve.py --quick          # a smoke run (minutes, no RESULTS.md)
    python benchmarks/synth_learning_curve.py --set model=rtmpose-s-128x96 --set lr=0.002

The recipe is configs/rtmpose-t_synth-easy_128x96.toml (AdamW, warm-up, EMA, flip test, the
DWPose augmentation pipeline); `--set KEY=VALUE` changes any of its fields as `dwpose train
--set` does. Data (`dwpose synth --preset easy`) is generated under --work-dir and reused when
its spec matches. Validation runs every `val_interval` epochs (the recipe's, or --set)."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results import write_section  # noqa: E402
from benchmarks.synth_tpd import dataset  # noqa: E402  (generated once, reused while the spec matches)

from dwpose.data.synth import ANNOTATION_FILE, IMAGE_DIR, SynthSpec  # noqa: E402
from dwpose.training import Trainer, load_config  # noqa: E402
from dwpose.training.config import parse_overrides  # noqa: E402

SECTION = "## Synthetic data, easy preset: learning curve (benchmarks/synth_learning_curve.py)"
CONFIG = ROOT / "configs" / "rtmpose-t_synth-easy_128x96.toml"
PARTS = ("wholebody", "body", "foot", "face", "hand")
RECIPE_MODEL = "rtmpose-t-128x96"  # the recipe's own model keeps the plain section title


def section_title(model: str) -> str:
    """One RESULTS.md section per model, so a curve of RTMPose-s does not replace RTMPose-t's."""
    return SECTION if model == RECIPE_MODEL else SECTION.replace("learning curve", f"learning curve of {model}")


class CurveTrainer(Trainer):
    """A Trainer that notes, at each validation, the iteration and the training time so far
    (validation time left out)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.curve: list[dict] = []
        self.started = time.perf_counter()
        self.eval_seconds = 0.0

    def validate(self) -> float | None:
        start = time.perf_counter()
        train_seconds = start - self.started - self.eval_seconds
        ap = super().validate()
        self.eval_seconds += time.perf_counter() - start
        lines = (self.work_dir / "val_log.jsonl").read_text().splitlines()
        self.curve.append({"iter": self.global_iter, "train_s": train_seconds, **json.loads(lines[-1])})
        print(f"iteration {self.global_iter}, {train_seconds / 60:.1f} min: " +
              ", ".join(f"{p} AP {self.curve[-1][f'{p}/AP']:.3f}" for p in PARTS), flush=True)
        return ap


def machine() -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch "
            f"thread(s), load average {load} at the end (other work on the machine); torch {torch.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change a recipe field")
    parser.add_argument("--iters", type=int, default=None, help="stop after this many iterations (default: all epochs)")
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--val-images", type=int, default=200)
    parser.add_argument("--size", default="128x128", help="synthetic image size WxH")
    parser.add_argument("--seed", type=int, default=0, help="data seeds: train seed, val seed + 1")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 64 images, 8 iterations, no RESULTS.md")
    parser.add_argument("--work-dir", default=str(ROOT / "benchmarks" / ".cache" / "synth_learning_curve"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--no-results", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_images, args.val_images, args.iters, args.no_results = 64, 16, args.iters or 8, True
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    work = Path(args.work_dir)
    started = time.perf_counter()
    train = dataset(work / f"train-{args.train_images}-{args.seed}",
                    SynthSpec(args.train_images, args.seed, width, height, 1, 1, preset="easy"))
    val = dataset(work / f"val-{args.val_images}-{args.seed + 1}",
                  SynthSpec(args.val_images, args.seed + 1, width, height, 1, 1, preset="easy"))
    overrides = {"data.coco_ann": str(train / ANNOTATION_FILE), "data.coco_images": str(train / IMAGE_DIR),
                 "val.ann_file": str(val / ANNOTATION_FILE), "val.images": str(val / IMAGE_DIR),
                 "checkpoint_every_iters": 10**9}
    if args.quick:
        overrides.update({"batch_size": 8, "warmup_iters": 2, "val_interval": 1, "workers": 0})
    overrides.update(parse_overrides(args.set))
    if args.iters is not None:
        overrides["max_iters"] = args.iters
    config = load_config(args.config, overrides)
    per_epoch = math.ceil(args.train_images / config.batch_size)
    trainer = CurveTrainer(config, work / "run", device="cpu", progress=False)
    trainer.train()
    if not trainer.curve or trainer.curve[-1]["iter"] != trainer.global_iter:
        trainer.validate()   # the last iterations ended between validations
    total = time.perf_counter() - started
    text = render(args, config, trainer.curve, per_epoch, total)
    print(text)
    if not args.no_results:
        write_section(args.out, section_title(config.model), text)
    return 0


def render(args, config, curve: list[dict], per_epoch: int, total: float) -> str:
    changed = ", ".join(args.set) if args.set else "none"
    lines = [section_title(config.model), "",
             f"{date.today().isoformat()}; {machine()}.",
             f"Data: `dwpose synth --preset easy`, train seed {args.seed}, {args.train_images} images {args.size} (one "
             f"person each); held-out val seed {args.seed + 1}, {args.val_images} images. Recipe "
             f"`{Path(args.config).relative_to(ROOT) if Path(args.config).is_relative_to(ROOT) else args.config}` "
             f"(model {config.model}, batch {config.batch_size}, AdamW lr {config.lr:g}, warm-up {config.warmup_iters}, "
             f"{config.epochs} epochs of {per_epoch} iterations"
             + (f" stopped at iteration {config.max_iters} (--iters)" if config.max_iters else "") + ", augmentation "
             + (f"on (scale {config.scale_factor[0]:g}-{config.scale_factor[1]:g}, rotation {config.rotate_factor:g})"
                if config.augment else "off") +
             f", EMA, flip test); changed with --set: {changed}. Evaluation: ground-truth boxes, the COCO-WholeBody evaluator.",
             f"Training time excludes the validations; wall time in all {total / 60:.1f} min.", "",
             "| iterations | training min | whole AP | body AP | foot AP | face AP | hand AP | whole AR |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for point in curve:
        lines.append(f"| {point['iter']} | {point['train_s'] / 60:.1f} | " +
                     " | ".join(f"{point[f'{p}/AP']:.3f}" for p in PARTS) +
                     f" | {point['wholebody/AR']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
