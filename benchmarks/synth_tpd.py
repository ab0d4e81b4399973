"""The DWPose experiment in small, on synthetic people (`dwpose synth`): a teacher, a student
trained on ground truth only, the student with TPD stage 1 from that teacher, then stage 2 on
top; whole-body and per-part AP on a held-out synthetic set with the COCO-WholeBody evaluator.
Appends (or replaces) its section of benchmarks/RESULTS.md.

    python benchmarks/synth_tpd.py --quick            # minutes: a smoke-sized run + time estimate
    python benchmarks/synth_tpd.py                    # --scale cpu: easy preset, 3 seeds, < 90 min on 2 cores
    python benchmarks/synth_tpd.py --scale gpu --device cuda    # hard preset, larger sets, 256x192 input
    python benchmarks/synth_tpd.py --scale gpu --estimate       # its expected duration here (a few iterations)

--scale cpu uses the easy preset of `dwpose synth` (one large person, plain background), where a
from-scratch model learns in minutes on a CPU (benchmarks/synth_learning_curve.py); every run is
repeated over training seeds and the table gives mean and spread per part, and says whether TPD
and the label-free student beat the baseline by more than that spread.

Everything is seeded (data and training); data sets are cached under --work-dir and reused when
their spec matches. The label-free run (student on teacher logits only, no ground truth) runs
when the training config has such a setting (see LABEL_FREE_SETTINGS) and is skipped with a
note otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results import write_section  # noqa: E402

from dwpose.data.synth import ANNOTATION_FILE, IMAGE_DIR, SynthSpec, generate_dataset  # noqa: E402
from dwpose.evaluation.runner import evaluate_model  # noqa: E402
from dwpose.models import create_model  # noqa: E402
from dwpose.training import Trainer  # noqa: E402
from dwpose.training.config import DataConfig, DistillConfig, TrainConfig  # noqa: E402

SECTION = "## Synthetic data: training and TPD (benchmarks/synth_tpd.py)"
# --scale cpu, sized from the learning curve on the easy preset (benchmarks/synth_learning_curve.py):
# a few hundred iterations lift a from-scratch student well off the mean pose there, with the
# augmentation off as configs/rtmpose-t_synth-easy_128x96.toml has it; 3 seeds of the 5 runs fit
# in 90 minutes on 2 cores (the estimate --quick prints).
CPU_TEACHER_ITERS, CPU_STUDENT_ITERS, CPU_AUGMENT = 450, 340, False
TEACHER, BASELINE, STAGE1 = "teacher (GT)", "student baseline (GT only)", "student, TPD stage 1"
STAGE2, LABEL_FREE = "student, TPD stage 1 + 2", "student, teacher logits only (no GT)"
PART_KEYS = ("wholebody", "body", "foot", "face", "hand")
# The label-free setting (the paper's "teacher logits only": the student learns the teacher's
# logits, no ground-truth loss), as configs/dwpose_labelfree_l-m_256x192.toml sets it. The run is
# skipped with a note when DistillConfig lacks any of these fields (an older training config).
LABEL_FREE_SETTINGS = {"gt_loss": False, "feature_loss": False, "kd_weight": 1.0, "decay": False,
                       "teacher_bn_mode": "eval"}


@dataclass(frozen=True)
class Scale:
    """Sizes of one experiment. Iterations are per run; stage 2 gets `s2_iters` on top of stage 1
    (about 20 % of it, like the paper's 60 of 270 epochs)."""

    name: str
    train_images: int
    val_images: int
    image_size: tuple[int, int]        # synthetic image (width, height)
    persons: tuple[int, int]
    input_hw: str                      # model input "HxW"
    teacher: str
    student: str
    teacher_iters: int
    student_iters: int
    s2_iters: int
    batch_size: int
    warmup_iters: int = 100
    workers: int = 0
    preset: str = "hard"               # `dwpose synth --preset`
    seeds: int = 1                     # training seeds per run (data seeds stay fixed)
    augment: bool = True
    probe: tuple[int, int] = (3, 5)    # --estimate: warm-up and timed iterations per run

    @property
    def teacher_model(self) -> str:
        return f"rtmpose-{self.teacher}-{self.input_hw}"

    @property
    def student_model(self) -> str:
        return f"rtmpose-{self.student}-{self.input_hw}"

    @property
    def lr(self) -> float:
        """The reference 4e-3 is for a global batch of 512; smaller batches take it scaled by
        sqrt(batch / 512) (4e-3 at batch 8 or 16 keeps a from-scratch model at the mean pose for
        far longer, measured on this data)."""
        return 4e-3 * math.sqrt(self.batch_size / 512)


SCALES = {
    # Seconds: only checks that the script runs (tests/test_synth.py).
    "smoke": Scale("smoke", 12, 6, (128, 128), (1, 1), "128x96", "s", "t", 2, 2, 1, 4, warmup_iters=1, preset="easy",
                   seeds=2, probe=(1, 2)),
    # A smoke run of the whole chain (minutes) that projects the time of --scale cpu; AP numbers at
    # this size mean little.
    "quick": Scale("quick", 240, 40, (128, 128), (1, 1), "128x96", "s", "t", 90, 60, 15, 16, warmup_iters=20,
                   preset="easy", augment=CPU_AUGMENT),
    # The easy preset, where the reference recipe learns on a CPU (learning curve in
    # benchmarks/RESULTS.md); three training seeds per run, under 90 min on 2 free cores (the
    # estimate printed by --quick).
    "cpu": Scale("cpu", 2000, 200, (128, 128), (1, 1), "128x96", "s", "t", CPU_TEACHER_ITERS, CPU_STUDENT_ITERS,
                 CPU_STUDENT_ITERS // 5, 32, preset="easy", seeds=3, augment=CPU_AUGMENT),
    # A GPU: the hard preset, more data, the real 256x192 input, longer runs.
    "gpu": Scale("gpu", 30000, 1000, (320, 320), (1, 3), "256x192", "m", "t", 30000, 20000, 4000, 64,
                 warmup_iters=1000, workers=8),
}


def dataset(root: Path, spec: SynthSpec) -> Path:
    """Generate (or reuse, when the cached set has the same spec) a synthetic set."""
    ann = root / ANNOTATION_FILE
    if ann.is_file():
        info = json.loads(ann.read_text()).get("info", {})
        if (info.get("seed"), info.get("num_images"), info.get("size"), info.get("persons"), info.get("preset")) == \
                (spec.seed, spec.num, [spec.width, spec.height], [spec.min_persons, spec.max_persons], spec.preset):
            return root
    summary = generate_dataset(root, spec, overwrite=True)
    print(f"generated {root}: {summary['images']} images, {summary['people']} people, "
          f"{summary['images_per_second']:.0f} images/s")
    return root


def train_config(scale: Scale, name: str, model: str, train: Path, iters: int, instances: int, seed: int,
                 distill: DistillConfig | None = None, schedule_iters: int | None = None) -> TrainConfig:
    """A recipe of the reference shape (AdamW, warm-up, flat then cosine, EMA, milder
    augmentation for the last ~11 %), sized in iterations instead of epochs."""
    per_epoch = max(1, math.ceil(instances / scale.batch_size))
    epochs = max(1, math.ceil(iters / per_epoch))
    schedule_epochs = max(epochs, math.ceil((schedule_iters or iters) / per_epoch))
    return TrainConfig(
        model=model, name=name, data=DataConfig(coco_ann=str(train / ANNOTATION_FILE), coco_images=str(train / IMAGE_DIR)),
        distill=distill, epochs=epochs, max_iters=iters, batch_size=scale.batch_size, lr=scale.lr,
        warmup_iters=scale.warmup_iters, schedule_epochs=schedule_epochs,
        switch_epoch=max(1, round(schedule_epochs * 240 / 270)), clip_grad=1.0 if distill else None,
        workers=scale.workers, seed=seed, log_every=25, checkpoint_every_iters=10**9, augment=scale.augment,
        ema_gamma=max(50.0, min(2000.0, iters / 3)),  # the EMA warm-up scaled to short runs
    )


def label_free_setting() -> dict | None:
    fields = {f.name for f in dataclasses.fields(DistillConfig)}
    return dict(LABEL_FREE_SETTINGS) if fields >= set(LABEL_FREE_SETTINGS) else None


def run(config: TrainConfig, work: Path, device: str) -> tuple[Path, float, float]:
    """Train; returns (plain pose checkpoint, wall seconds, seconds per iteration)."""
    start = time.perf_counter()
    trainer = Trainer(config, work, device=device)
    trainer.train()
    seconds = time.perf_counter() - start
    return work / "final_pose.pth", seconds, seconds / max(1, trainer.global_iter)


def evaluate(model_name: str, checkpoint: Path, val: Path, device: str) -> tuple[dict, float]:
    start = time.perf_counter()
    model = create_model(model_name, checkpoint=checkpoint)
    stats, _ = evaluate_model(model, val / ANNOTATION_FILE, val / IMAGE_DIR, device=device)
    return stats.summary(), time.perf_counter() - start


def machine(device: str) -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(0)}; torch {torch.__version__}"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch "
            f"thread(s), load average {load} at the end (other work on the machine); torch {torch.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--quick", action="store_true", help="same as --scale quick")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0,
                        help="data seeds seed / seed+1; training seeds 21+seed, 22+seed, ... (one per --seeds)")
    parser.add_argument("--seeds", type=int, default=None, help="training seeds per run (default: the scale's)")
    parser.add_argument("--work-dir", default=str(ROOT / "benchmarks" / ".cache" / "synth_tpd"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--no-results", action="store_true", help="print the table only")
    parser.add_argument("--iters", type=int, default=None, help="override every run's iterations (smoke tests)")
    parser.add_argument("--teacher", metavar="CHECKPOINT", default=None,
                        help="a trained teacher (plain pose checkpoint of the scale's teacher model): evaluated once and "
                             "used by every seed's students instead of training a teacher per seed")
    parser.add_argument("--teacher-about", default="",
                        help="how the --teacher checkpoint was trained (one sentence, printed in RESULTS.md)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch CPU threads (default: all cores; 1 is faster on a machine busy with other work)")
    parser.add_argument("--estimate", action="store_true",
                        help="only measure a few iterations of each run here and print the scale's expected duration")
    args = parser.parse_args(argv)
    if args.teacher and not Path(args.teacher).is_file():
        parser.error(f"--teacher {args.teacher}: no such file")
    scale = SCALES["quick" if args.quick else args.scale]
    if args.seeds is not None:
        scale = replace(scale, seeds=max(1, args.seeds))
    if args.iters is not None:
        scale = replace(scale, teacher_iters=args.iters, student_iters=args.iters, s2_iters=max(1, args.iters // 4),
                        warmup_iters=min(scale.warmup_iters, args.iters))
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    work = Path(args.work_dir) / scale.name
    if args.estimate:
        seconds, lines = measure(scale, args.device, work / "estimate")
        print(f"expected duration of --scale {scale.name} on {machine(args.device)}: {seconds['total']:.0f} s "
              f"({seconds['total'] / 60:.1f} min; measured in {time.perf_counter() - started:.0f} s)", *lines, sep="\n")
        return 0
    train_seeds = [21 + args.seed + k for k in range(scale.seeds)]
    width, height = scale.image_size
    t0 = time.perf_counter()
    train = dataset(work / "train", SynthSpec(scale.train_images, args.seed, width, height, *scale.persons,
                                              preset=scale.preset))
    val = dataset(work / "val", SynthSpec(scale.val_images, args.seed + 1, width, height, *scale.persons,
                                          preset=scale.preset))
    data_seconds = time.perf_counter() - t0
    train_json = json.loads((train / ANNOTATION_FILE).read_text())
    val_json = json.loads((val / ANNOTATION_FILE).read_text())
    instances = sum(1 for a in train_json["annotations"] if a["num_keypoints"] > 0)

    rows = []  # (model, training, seed, iterations, train seconds, seconds/iter, summary, eval seconds)
    label_free = label_free_setting()
    if label_free is None:
        note = ("label-free run (student on teacher logits only) skipped: the training config has no label-free "
                f"setting (looked for {', '.join(LABEL_FREE_SETTINGS)} in DistillConfig)")
        print(note)
    else:
        note = ("label-free run: the student on the teacher's logits only (stage 1 with "
                + ", ".join(f"{k} = {v}" for k, v in label_free.items()) + ")")

    given_teacher = None
    if args.teacher:
        given_teacher = Path(args.teacher)
        summary, eval_seconds = evaluate(scale.teacher_model, given_teacher, val, args.device)
        rows.append((scale.teacher_model, TEACHER, "given", "given", 0.0, 0.0, summary, eval_seconds))
        print(f"{TEACHER} (given {given_teacher}): whole-body AP {summary['wholebody/AP']:.3f}, body AP "
              f"{summary['body/AP']:.3f}")
    for train_seed in train_seeds:
        # One folder per seed (a single seed keeps the old layout, and its cached runs' paths).
        runs = work if len(train_seeds) == 1 else work / f"seed{train_seed}"

        def train_and_score(label: str, arch: str, key: str, iters: int, distill=None, schedule_iters=None) -> Path:
            config = train_config(scale, key, arch, train, iters, instances, train_seed, distill, schedule_iters)
            checkpoint, seconds, per_iter = run(config, runs / key, args.device)
            summary, eval_seconds = evaluate(arch, checkpoint, val, args.device)
            rows.append((arch, label, train_seed, iters, seconds, per_iter, summary, eval_seconds))
            print(f"{label} (seed {train_seed}): whole-body AP {summary['wholebody/AP']:.3f}, body AP "
                  f"{summary['body/AP']:.3f} ({seconds:.0f} s training)")
            return checkpoint

        run_chain(scale, train_and_score, given_teacher)
    total = time.perf_counter() - started
    text = render(scale, args, rows, note, total, data_seconds, len(train_json["images"]), instances,
                  len(val_json["images"]), len(val_json["annotations"]), train_seeds)
    print(text)
    if scale.name == "quick":
        print(estimate(scale, rows, data_seconds))
    if not args.no_results:
        write_section(args.out, SECTION, text)
    return 0


def planned_iterations(scale: Scale) -> dict[str, int]:
    """Iterations of each run of the chain at `scale`."""
    return {TEACHER: scale.teacher_iters, BASELINE: scale.student_iters, STAGE1: scale.student_iters,
            STAGE2: scale.s2_iters, LABEL_FREE: scale.student_iters}


def run_chain(scale: Scale, train_one, teacher: Path | None = None) -> Path:
    """The experiment's runs, in order and with their settings: teacher (unless `teacher` is a
    given checkpoint), baseline, stage 1, stage 2 on the stage-1 student, and the label-free
    student when the training config has that setting. `train_one(label, arch, key, iters,
    distill=None, schedule_iters=None)` trains one run and returns its checkpoint; the stage-1
    student's checkpoint is returned."""
    teacher_name, student_name = scale.teacher_model, scale.student_model
    iters = planned_iterations(scale)
    teacher = teacher or train_one(TEACHER, teacher_name, "teacher", iters[TEACHER])
    train_one(BASELINE, student_name, "student_gt", iters[BASELINE])
    s1 = train_one(STAGE1, student_name, "student_s1", iters[STAGE1],
                   DistillConfig(stage=1, teacher_model=teacher_name, teacher_checkpoint=str(teacher)))
    train_one(STAGE2, student_name, "student_s2", iters[STAGE2],
              DistillConfig(stage=2, teacher_model=student_name, teacher_checkpoint=str(s1)),
              schedule_iters=iters[BASELINE])  # reference: stage 2 keeps the base schedule (flat LR)
    label_free = label_free_setting()
    if label_free is not None:
        train_one(LABEL_FREE, student_name, "student_label_free", iters[LABEL_FREE],
                  DistillConfig(stage=1, teacher_model=teacher_name, teacher_checkpoint=str(teacher), **label_free))
    return s1


def estimate(quick: Scale, rows, data_seconds: float) -> str:
    """Projected wall time of --scale cpu from this run's per-iteration and per-image times."""
    full = SCALES["cpu"]
    per_iter = {row[1]: row[5] for row in rows}
    # Time per iteration grows with the batch; the input size is the same.
    factor = full.batch_size / quick.batch_size
    iters = planned_iterations(full)
    training = full.seeds * sum(per_iter[k] * factor * n for k, n in iters.items() if k in per_iter)
    images = quick.train_images + quick.val_images
    data = data_seconds / images * (full.train_images + full.val_images)
    evaluation = full.seeds * sum(r[7] for r in rows) / quick.val_images * full.val_images
    return (f"estimate for --scale cpu ({full.seeds} seeds) on this machine now: training {training / 60:.0f} min + "
            f"data {data / 60:.1f} min + evaluation {evaluation / 60:.1f} min = {(training + data + evaluation) / 60:.0f} min")


def measure(scale: Scale, device: str, work: Path) -> tuple[dict[str, float], list[str]]:
    """Expected wall time of `scale` on this device, from measured rates: each run of the chain
    trained `scale.probe` (warm-up, timed) iterations on a small set of the scale's kind (s/iter =
    the mean iteration time after the warm-up, from the Trainer's log), data generation images/s
    with every core, and prediction seconds per held-out image (flip test). Returns (seconds per
    part, report lines). Left out: COCOeval's scoring (CPU, seconds per run) and start-ups."""
    warmup, iters = scale.probe
    width, height = scale.image_size
    images, val_images = scale.batch_size * (warmup + iters), min(32, scale.val_images)
    start = time.perf_counter()
    train = dataset(work / "train", SynthSpec(images, 100, width, height, *scale.persons, preset=scale.preset))
    val = dataset(work / "val", SynthSpec(val_images, 101, width, height, *scale.persons, preset=scale.preset))
    rate = (images + val_images) / (time.perf_counter() - start)
    try:
        import albumentations  # noqa: F401
        augment = scale.augment
    except ImportError:  # not on the device machine: the loader's share is then lower than the real run's
        augment = False
    per_iter, checkpoint = probe_runs(replace(scale, augment=augment, warmup_iters=1), train, device, work)
    per_image = prediction_seconds(scale.student_model, checkpoint, val, device)
    iterations = planned_iterations(scale)
    seconds = {"data": (scale.train_images + scale.val_images) / rate,
               "training": scale.seeds * sum(per_iter[k] * iterations[k] for k in per_iter),
               "evaluation": scale.seeds * len(per_iter) * scale.val_images * per_image}
    seconds["total"] = sum(seconds.values())
    lines = [f"- {label}: {per_iter[label]:.3f} s/iter x {iterations[label]} iterations x {scale.seeds} seed(s) = "
             f"{per_iter[label] * iterations[label] * scale.seeds / 60:.1f} min" for label in per_iter]
    lines += [f"- data: `dwpose synth --preset {scale.preset}` at {rate:.0f} images/s x "
              f"{scale.train_images + scale.val_images} images = {seconds['data'] / 60:.1f} min",
              f"- evaluation: {per_image:.3f} s per held-out image (prediction, flip test) x {scale.val_images} images x "
              f"{len(per_iter) * scale.seeds} runs = {seconds['evaluation'] / 60:.1f} min (COCOeval's scoring not included)",
              f"(measured with batch {scale.batch_size}, input {scale.input_hw}, {warmup} warm-up + {iters} timed "
              f"iterations per run, augmentation "
              f"{'as the scale has it' if augment == scale.augment else 'off: albumentations is not installed'})"]
    return seconds, lines


def probe_runs(scale: Scale, train: Path, device: str, work: Path) -> tuple[dict[str, float], Path]:
    """Seconds per iteration of each run of the chain (a few iterations each, `scale.probe`), and
    the stage-1 student's checkpoint."""
    warmup, iters = scale.probe
    instances = sum(1 for a in json.loads((train / ANNOTATION_FILE).read_text())["annotations"] if a["num_keypoints"] > 0)
    per_iter: dict[str, float] = {}

    def timed(label: str, arch: str, key: str, _planned: int, distill=None, schedule_iters=None) -> Path:
        config = replace(train_config(scale, key, arch, train, warmup + iters, instances, 21, distill), log_every=1)
        Trainer(config, work / key, device=device, progress=False).train()
        records = [json.loads(x) for x in (work / key / "train_log.jsonl").read_text().splitlines()]
        per_iter[label] = statistics.fmean(r["time"] for r in records[warmup:])
        return work / key / "final_pose.pth"

    return per_iter, run_chain(scale, timed)


def prediction_seconds(arch: str, checkpoint: Path, val: Path, device: str) -> float:
    """Seconds per image of the evaluation's prediction (ground-truth boxes, flip test), after a warm-up."""
    from dwpose.data import load_annotations
    from dwpose.evaluation.runner import predict_samples
    from dwpose.inference.pose import PoseEstimator

    estimator = PoseEstimator(create_model(arch, checkpoint=checkpoint), backend="torch", device=device, flip_test=True)
    samples = load_annotations(val / ANNOTATION_FILE, val / IMAGE_DIR, train=False)
    predict_samples(estimator, samples[:4], progress=False)
    start = time.perf_counter()
    predict_samples(estimator, samples, progress=False)
    return (time.perf_counter() - start) / len({s.image_path for s in samples})


def aggregate(rows) -> dict[str, dict]:
    """Per training label: model, iterations, seeds, and per part the mean and the sample standard
    deviation of AP over the seeds (0 with one seed)."""
    out: dict[str, dict] = {}
    for model, label, seed, iters, seconds, per_iter, summary, _ in rows:
        entry = out.setdefault(label, {"model": model, "iters": iters, "seeds": [], "seconds": [], "ap": {}})
        entry["seeds"].append(seed)
        entry["seconds"].append(seconds)
        for part in PART_KEYS:
            entry["ap"].setdefault(part, []).append(summary[f"{part}/AP"])
    for entry in out.values():
        entry["mean"] = {p: statistics.fmean(v) for p, v in entry["ap"].items()}
        entry["sd"] = {p: statistics.stdev(v) if len(v) > 1 else 0.0 for p, v in entry["ap"].items()}
    return out


def verdict(stats: dict[str, dict]) -> list[str]:
    """Plain sentences: does each distilled student beat the baseline, by how much, and is the
    difference larger than the seed spread (the two standard deviations added)?"""
    base = stats.get(BASELINE)
    if base is None:
        return []
    lines = []
    for label in (STAGE1, STAGE2, LABEL_FREE):
        other = stats.get(label)
        if other is None:
            continue
        parts = []
        for part in ("body", "wholebody"):
            diff = other["mean"][part] - base["mean"][part]
            spread = other["sd"][part] + base["sd"][part]
            if len(base["seeds"]) < 2 or len(other["seeds"]) < 2:
                judged = "one seed: no spread to compare with"
            elif abs(diff) > spread:
                judged = f"larger than the seed spread ({spread:.3f})"
            else:
                judged = f"within the seed spread ({spread:.3f})"
            parts.append(f"{part} AP {'+' if diff >= 0 else ''}{diff:.3f} ({judged})")
        better = other["mean"]["body"] > base["mean"]["body"]
        lines.append(f"- {label} {'beats' if better else 'does not beat'} the baseline: " + "; ".join(parts) + ".")
    return lines


def render(scale: Scale, args, rows, note: str, total: float, data_seconds: float, train_images: int,
           instances: int, val_images: int, val_people: int, train_seeds: list[int]) -> str:
    seeds = ", ".join(str(s) for s in train_seeds)
    lines = [SECTION, "",
             f"{date.today().isoformat()}, scale `{scale.name}`"
             f"{' (a smoke run: the numbers say the chain runs, not what TPD gives)' if scale.name in ('quick', 'smoke') else ''}; "
             f"{machine(args.device)}.",
             f"Data (`dwpose synth --preset {scale.preset}`): train seed {args.seed}, {train_images} images "
             f"{scale.image_size[0]}x{scale.image_size[1]} with {scale.persons[0]}-{scale.persons[1]} people ({instances} "
             f"training instances); held-out val seed {args.seed + 1}, {val_images} images ({val_people} people). Model "
             f"input {scale.input_hw}, batch {scale.batch_size}, AdamW lr {scale.lr:.2g} (4e-3 * sqrt(batch / 512)), "
             f"augmentation {'on (the DWPose pipeline)' if scale.augment else 'off'}, training seeds {seeds}, evaluation "
             "with ground-truth boxes, flip test, the COCO-WholeBody evaluator (`dwpose eval`).",
             f"Stage 1: feature loss alpha 7e-5 + logit KD 0.1, decayed by r = 1 - epoch/epochs, gradient clip 1; stage 2: "
             f"a fresh student head on the frozen stage-1 backbone, KD only, {scale.s2_iters} iterations at the base schedule's LR.",
             f"Wall time: {total / 60:.1f} min in all (data {data_seconds:.0f} s).", ""]
    if args.teacher:
        lines[-1:-1] = [f"Teacher: one given checkpoint, `{Path(args.teacher).name}`, shared by every seed's students "
                        f"(its row has no training figures){': ' + args.teacher_about if args.teacher_about else ''}."]
    stats = aggregate(rows)
    if len(train_seeds) > 1:
        lines += [f"Mean +- standard deviation over the {len(train_seeds)} training seeds:", "",
                  "| model | training | iterations | train s (mean) | whole AP | body | foot | face | hand |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, e in stats.items():
            lines.append(f"| {e['model']} | {label} | {e['iters']} | {statistics.fmean(e['seconds']):.0f} | " +
                         " | ".join(f"{e['mean'][p]:.3f} +- {e['sd'][p]:.3f}" for p in PART_KEYS) + " |")
        lines += ["", "Each run:", ""]
    lines += ["| model | training | seed | iterations | train s | s/iter | whole AP | body | foot | face | hand | whole AR "
              "| eval s |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for model, label, seed, iters, seconds, per_iter, s, eval_seconds in rows:
        lines.append(f"| {model} | {label} | {seed} | {iters} | {seconds:.0f} | {per_iter:.2f} | {s['wholebody/AP']:.3f} | "
                     f"{s['body/AP']:.3f} | {s['foot/AP']:.3f} | {s['face/AP']:.3f} | {s['hand/AP']:.3f} | "
                     f"{s['wholebody/AR']:.3f} | {eval_seconds:.0f} |")
    lines += ["", note + ".", ""] + verdict(stats)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.exit(main())
