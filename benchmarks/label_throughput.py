"""Throughput of `dwpose label` (images/s) in-process and on a local Ray instance, and the
per-person size of each output format, on the sample images repeated, with random-weight files
of the official architectures (DWPose-l 384x288, made as bench_cpu.py makes them). Writes its
own section of RESULTS.md (the others are kept).

    python benchmarks/label_throughput.py [--repeat 8] [--persons 3] [--ray-actors 2]

Two cases: one person per image (`--no-detector`: the whole image) and `--persons` per image
(given boxes, as `--boxes` does), the second with every output (Parquet, top-k logits) so that
the per-person sizes are measured on it. Ray's own start-up is timed apart; the Ray rows include
starting the actor pool (each actor loads the model) as every run does. Every case runs `--rounds`
times (the cases take turns in each round); the rows give the median and the range.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results import load_average, write_section  # noqa: E402

from benchmarks.bench_cpu import machine, make_files, person_boxes  # noqa: E402
from dwpose.labelling import LabelOptions, LabellerConfig, label  # noqa: E402

SAMPLES = [ROOT.parent / "shared" / "data" / "coco_wholebody_val_sample" / name for name in
           ("000000000785.jpg", "000000040083.jpg", "000000196141.jpg", "000000197388.jpg")]
SAMPLES.append(ROOT / "dwpose" / "assets" / "human-pose.jpeg")
HEADING = "## Labelling throughput (dwpose label)"


def copies(folder: Path, repeat: int) -> list[Path]:
    """The sample images copied `repeat` times (copies, not links: links are one input)."""
    paths = []
    for n in range(repeat):
        for sample in SAMPLES:
            path = folder / f"{sample.stem}_{n}{sample.suffix}"
            shutil.copyfile(sample, path)
            paths.append(path)
    return paths


def config(pose: Path, boxes: dict | None, top_k: int, threads: int | None) -> LabellerConfig:
    options = dict(backend="onnxruntime", device="cpu", dtype="float32", detector_arch=None, score_threshold=0.3,
                   nms_threshold=0.45, max_persons=None, compile=False, pose_arch=None)
    return LabellerConfig(str(pose), None, options, boxes, top_k, False, 8, threads)


def timed_run(paths, out: Path, cfg: LabellerConfig, **options) -> tuple[float, int]:
    start = time.perf_counter()
    summary = label(paths, out, cfg, LabelOptions(shard_size=8, progress=False, **options), warn=lambda m: None)
    return time.perf_counter() - start, summary.persons


def sizes_per_person(out: Path, persons: int) -> dict[str, float]:
    shards = out / "shards"
    total = {kind: sum(p.stat().st_size for p in shards.glob(pattern)) for kind, pattern in
             (("COCO-WholeBody JSON (shards)", "[0-9]*[0-9].json"), ("Parquet", "*.parquet"),
              ("top-k logits (.npy)", "*.logits.npy"))}
    total["COCO-WholeBody JSON (merged)"] = (out / "annotations.json").stat().st_size
    return {kind: size / persons for kind, size in total.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8, help="copies of the 5 sample images")
    parser.add_argument("--persons", type=int, default=3)
    parser.add_argument("--ray-actors", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="runs of every case; the median is reported")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    pose = make_files()["pose_dynamic"]
    load_before = load_average()
    times: dict[tuple[str, str], list[float]] = {}
    persons_of: dict[tuple[str, str], int] = {}
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="dwpose-label-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        paths = copies(tmp / "in", args.repeat)
        import cv2

        boxes = {p.name: person_boxes(args.persons, cv2.imread(str(p))) for p in paths}
        cases = [("1 person/image (--no-detector)", None, 0),
                 (f"{args.persons} persons/image, Parquet + top-{args.top_k} logits", boxes, args.top_k)]

        def measure(executor: str, ray: bool) -> None:
            """Every case `--rounds` times, the cases taking turns; a fresh output folder each run
            (no run resumes another)."""
            nonlocal sizes
            for round_index in range(args.rounds):
                for case, case_boxes, top_k in cases:
                    out = tmp / f"run_{ray}_{round_index}_{top_k}"
                    cfg = config(pose, case_boxes, top_k, 1 if ray else None)
                    extra = {"ray": True, "ray_actors": args.ray_actors} if ray else {}
                    seconds, persons = timed_run(paths, out, cfg, logits_top_k=top_k, **extra)
                    if top_k and not sizes:
                        sizes = sizes_per_person(out, persons)
                    times.setdefault((case, executor), []).append(seconds)
                    persons_of[(case, executor)] = persons
                    shutil.rmtree(out)

        # In-process first, before Ray's own processes (GCS, raylet) share the cores.
        measure("in-process (all cores)", ray=False)
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - start
        measure(f"Ray, {args.ray_actors} actors x 1 thread", ray=True)
        ray.shutdown()
    rows = [(case, executor, len(paths), persons_of[(case, executor)], runs) for (case, executor), runs in times.items()]
    section = render(rows, sizes, ray_start, load_before, load_average(), args)
    print(section)
    write_section(args.out, HEADING, section)
    return 0


def render(rows, sizes, ray_start, load_before, load_after, args) -> str:
    lines = [HEADING, "", f"{date.today().isoformat()}, `benchmarks/label_throughput.py`. Machine: {machine()}", "",
             f"Load average (1/5/15 min) before: {load_before}, after: {load_after} — the machine is shared with other",
             "work, so the figures are lower bounds of what it does alone. Random-weight DWPose-l 384x288 (onnxruntime),",
             f"{len(SAMPLES)} sample images x {args.repeat} copies, shards of 8, batches of 8 images;",
             "each time covers the whole `label()` call: planning, reading, inference, writing, merging.",
             f"Median of {args.rounds} runs per row (the cases take turns in each round); the range is the fastest and",
             "the slowest run.",
             "", "| case | executor | images | persons | s (median) | s (range) | images/s | persons/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for case, executor, images, persons, runs in rows:
        seconds = statistics.median(runs)
        lines.append(f"| {case} | {executor} | {images} | {persons} | {seconds:.1f} | {min(runs):.1f}-{max(runs):.1f} | "
                     f"{images / seconds:.2f} | {persons / seconds:.2f} |")
    lines += ["", f"Starting the local Ray instance (`ray.init`) took {ray_start:.1f} s (not in the rows).", "",
              "Output size per person (the multi-person run):", "", "| format | bytes/person |", "|---|---:|"]
    lines += [f"| {kind} | {size:.0f} |" for kind, size in sizes.items()]
    lines += ["", f"Logits: top-{args.top_k} bins per keypoint and axis (uint16 bins, float16 values, one float16 "
                  "tail value) = 8 + 2·133·(4k + 2) bytes; the float32 logits themselves are 4·133·(576 + 768) = "
                  f"{4 * 133 * (576 + 768)} bytes at 384x288."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
