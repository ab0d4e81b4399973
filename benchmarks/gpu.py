"""GPU benchmark (one command on the device): pose stage persons/s at batch 1..256 for
RTMPose-l 384x288 and RTMPose-m 256x192 (the network alone, and the whole stage: crop +
normalise + network + decode + map back, on the device placement), end-to-end latency for
images with 1/3/6/9 persons (and the 9/1 ratio), 1080p video frames/s with 1 and 6 persons
(decoding included, detector every frame), training iterations/s for l-256 with AMP next to the
same model's inference rate, and the card's bf16 matmul ceiling.

    python benchmarks/gpu.py [--compile] [--out benchmarks/RESULTS.md]
    python benchmarks/gpu.py --quick --device cpu      # a smoke run of every code path

Random weights with the official architectures; the random YOLOX-L is made to find nobody
(class bias -10) so the video rows time the detector network and use fixed person boxes.
With --compile only the first model is timed, at the batch sizes the other rows need
(each batch bucket is one compilation).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dwpose.backends import torch_dtype  # noqa: E402
from dwpose.detection import YOLOXDetector  # noqa: E402
from dwpose.distillation import KLDiscretLoss  # noqa: E402
from dwpose.fileio import write_text_atomic  # noqa: E402
from benchmarks.results import write_section  # noqa: E402
from dwpose.inference.pose import PoseEstimator, crop_geometry  # noqa: E402
from dwpose.inference.video import iter_frame_batches  # noqa: E402
from dwpose.models import create_model  # noqa: E402
from dwpose.training.optim import param_groups  # noqa: E402

class Report(list):
    """Markdown lines, printed as they are added: a run cut short still shows what it measured."""

    def add(self, *lines: str) -> None:
        for line in lines:
            print(line, flush=True)
            self.append(line)

    def text(self) -> str:
        return "\n".join(self) + "\n"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_ceiling(device, quick: bool) -> float:
    n = 256 if quick else 8192
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    seconds = timed(lambda: a @ b, device, 3 if quick else 20)
    return 2 * n**3 / seconds / 1e12


def boxes_for(n: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    x1 = rng.uniform(0, width * 0.7, n)
    y1 = rng.uniform(0, height * 0.3, n)
    return np.stack([x1, y1, x1 + width * 0.25, y1 + height * 0.6], 1).astype(np.float32)


def card_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"


def heading(device: torch.device, compile: bool) -> str:
    """This run's RESULTS.md heading: one section per card (and mode); a rerun replaces its own."""
    return f"## GPU benchmark: {card_name(device)}{' (--compile)' if compile else ''}"


def run(args: argparse.Namespace) -> str:
    """The benchmark; returns its Markdown section."""
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    quick = args.quick
    repeats, warmup = (1, 1) if quick else (20, 3)
    report = Report()
    report.add(heading(device, args.compile), "",
               f"{date.today().isoformat()}, `benchmarks/gpu.py`: torch {torch.__version__}, dtype {args.dtype} (autocast), channels_last, "
               f"compile={args.compile}, device placement. Random weights, official architectures; median of "
               f"{repeats} repeats.", "")
    report.add(f"bf16 matmul ceiling: {matmul_ceiling(device, quick):.0f} TFLOP/s", "")

    # --- pose stage throughput
    if args.models:
        models = args.models.split(",")
    else:
        models = ["rtmpose-t-256x192"] if quick else ["rtmpose-l-384x288", "rtmpose-m-256x192"][:1 if args.compile else 2]
    if quick:
        batches = [1, 4]
    elif args.compile:  # each bucket compiles once: only the sizes the rows below use
        batches = [1, 8, 64, 256]
    else:
        batches = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    report.add("| model | batch | network persons/s | stage persons/s (crop+net+decode) |", "|---|---:|---:|---:|")
    image = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    estimators = {}
    for name in models:
        pose = PoseEstimator(create_model(name), backend="torch", device=str(device), dtype=args.dtype,
                             compile=args.compile, placement="device")
        estimators[name] = pose
        width, height = pose.input_size
        for batch in batches:
            x = torch.randn(batch, 3, height, width, device=device)
            net = timed(lambda: pose.runner.run_tensor(x), device, repeats, warmup)
            boxes = boxes_for(batch, 1920, 1080)
            full = timed(lambda: pose(image, boxes), device, repeats, warmup)
            report.add(f"| {name} | {batch} | {batch / net:,.0f} | {batch / full:,.0f} |")

    # --- images with 1/3/6/9 persons, end to end (user boxes)
    main_model = models[0]
    pose = estimators[main_model]
    report.add("", f"End to end, one 1080p image, user boxes ({main_model}):", "", "| persons | latency ms |", "|---:|---:|")
    latency = {}
    for n in (1, 3, 6, 9):
        boxes = boxes_for(n, 1920, 1080)
        latency[n] = timed(lambda: pose(image, boxes), device, repeats, warmup)
        report.add(f"| {n} | {latency[n] * 1000:.2f} |")
    report.add("", f"latency(9) / latency(1) = {latency[9] / latency[1]:.2f}", "")

    # --- compiled vs eager: the same stage without torch.compile, same module, same inputs
    if args.compile:
        eager = PoseEstimator(pose.runner.module, backend="torch", device=str(device), dtype=args.dtype,
                              placement="device")
        boxes = boxes_for(9, 1920, 1080)
        matrices = [crop_geometry(boxes, pose.input_size)[2]]
        same_crops = torch.equal(pose.crops([image], matrices), eager.crops([image], matrices))
        error = np.abs(pose(image, boxes)[0] - eager(image, boxes)[0]).max(-1)
        report.add(f"compiled vs eager ({args.dtype}, 9 persons): crops {'identical' if same_crops else 'DIFFERENT'}; "
                   f"keypoints {np.mean(error <= 0.5):.1%} within 0.5 px, max {error.max():.2f} px", "")

    # --- numerics: reduced precision vs float32, same module, same inputs
    if torch_dtype(args.dtype) != torch.float32:
        reference = PoseEstimator(pose.runner.module, backend="torch", device=str(device), placement="device")
        boxes = boxes_for(9, 1920, 1080)
        error = np.abs(pose(image, boxes)[0] - reference(image, boxes)[0]).max(-1)
        report.add(f"{args.dtype} vs float32 keypoints (9 persons): {np.mean(error <= 0.5):.1%} within 0.5 px, "
                   f"median {np.median(error):.2f} px (random weights amplify small differences: the 0.5 px "
                   "target needs trained weights)", "")

    # --- video, 1080p, detector every frame, decoding included
    frames = 2 if quick else 300
    size = (320, 180) if quick else (1920, 1080)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
        frame = cv2.resize(image, size)
        for i in range(frames):
            writer.write(np.roll(frame, i * 4, axis=1))
        writer.release()
        detector_model = create_model("yolox-s" if quick else "yolox-l")
        with torch.no_grad():
            for pred in detector_model.head.cls_preds:
                pred.bias.fill_(-10.0)
        detector = YOLOXDetector(detector_model, backend="torch", device=str(device), dtype=args.dtype)
        report.add("| video | persons | frames/s |", "|---|---:|---:|")
        for persons in (1, 6):
            boxes = boxes_for(persons, *size)
            for batch in iter_frame_batches(video, 8):  # warm-up: cuDNN autotuning, compiled buckets
                detector.detect_batch(batch)
                pose.predict_many(batch, [boxes] * len(batch))
                break
            sync(device)
            start = time.perf_counter()
            count = 0
            for batch in iter_frame_batches(video, 8):
                detector.detect_batch(batch)
                pose.predict_many(batch, [boxes] * len(batch))
                count += len(batch)
            sync(device)
            report.add(f"| {size[0]}x{size[1]} | {persons} | {count / (time.perf_counter() - start):.1f} |")

    # --- training iterations/s, l-256, AMP, next to the same model's inference rate
    train_name = "rtmpose-t-256x192" if quick else "rtmpose-l-256x192"
    model = create_model(train_name, eval_mode=False).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(param_groups(model, 0.05), lr=4e-3)
    loss_fn = KLDiscretLoss()
    batch = 4 if quick else 64
    x = torch.randn(batch, 3, 256, 192, device=device).contiguous(memory_format=torch.channels_last)
    lx, ly = torch.rand(batch, 133, 384, device=device), torch.rand(batch, 133, 512, device=device)
    w = torch.ones(batch, 133, device=device)
    amp = torch_dtype(args.dtype) if torch_dtype(args.dtype) != torch.float32 else None

    def step():
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = loss_fn(model(x), (lx, ly), w)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = timed(step, device, repeats, warmup)
    inference = PoseEstimator(create_model(train_name), backend="torch", device=str(device), dtype=args.dtype,
                              placement="device")
    inference_seconds = timed(lambda: inference.runner.run_tensor(x), device, repeats, warmup)
    report.add("", f"Training {train_name}, batch {batch}, AMP {amp or 'off'}: {1 / seconds:.2f} it/s "
                   f"({batch / seconds:,.0f} samples/s); the same model's inference (network, batch {batch}, "
                   f"{args.dtype}): {batch / inference_seconds:,.0f} persons/s", "")
    return report.text()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16", help="float32, float16, bfloat16 (or fp32/fp16/bf16)")
    parser.add_argument("--compile", action="store_true", help="torch.compile + CUDA graphs (reduce-overhead)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--models", default=None, help="comma-separated model names for the throughput rows")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"),
                        help="RESULTS.md to write this card's section into (not with --quick)")
    parser.add_argument("--report", default=None, help="write only this run's section to this file instead")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch_dtype(args.dtype)  # a clear error for an unknown name before anything runs
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    section = run(args)
    if args.report:
        write_text_atomic(args.report, section)
    elif not args.quick:
        write_section(args.out, heading(torch.device(args.device), args.compile), section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
