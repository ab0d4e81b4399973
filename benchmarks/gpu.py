"""GPU benchmark (one command on the device): pose stage persons/s at batch 1..256 for
RTMPose-l 384x288 and RTMPose-m 256x192, end-to-end latency for images with 1/3/6/9 persons
(and the 9/1 ratio), 1080p video frames/s with 1 and 6 persons (decoding included, detector
every frame), training iterations/s for l-256 with AMP, and the card's bf16 matmul ceiling.

    python benchmarks/gpu.py [--compile] [--out benchmarks/RESULTS.md]
    python benchmarks/gpu.py --quick --device cpu      # a smoke run of every code path

Random weights with the official architectures; the random YOLOX-L is made to find nobody
(class bias -10) so the video rows time the detector network and use fixed person boxes.
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

from dwpose.detection import YOLOXDetector  # noqa: E402
from dwpose.distillation import KLDiscretLoss  # noqa: E402
from dwpose.inference.device_stage import DevicePoseStage  # noqa: E402
from dwpose.inference.video import iter_frame_batches  # noqa: E402
from dwpose.models import create_model  # noqa: E402
from dwpose.models.yolox import create_yolox  # noqa: E402
from dwpose.training.optim import param_groups  # noqa: E402


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
    n = 1024 if quick else 8192
    dtype = torch.bfloat16
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = timed(lambda: a @ b, device, 3 if quick else 20)
    return 2 * n**3 / seconds / 1e12


def boxes_for(n: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    x1 = rng.uniform(0, width * 0.7, n)
    y1 = rng.uniform(0, height * 0.3, n)
    return np.stack([x1, y1, x1 + width * 0.25, y1 + height * 0.6], 1).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--compile", action="store_true", help="torch.compile + CUDA graphs (reduce-overhead)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    repeats = 3 if args.quick else 20
    lines = [f"## GPU benchmark ({date.today().isoformat()}): {card}", "",
             f"torch {torch.__version__}, dtype {args.dtype}, channels_last, compile={args.compile}. "
             "Random weights, official architectures; median of repeats.", ""]

    ceiling = matmul_ceiling(device, args.quick)
    lines += [f"bf16 matmul ceiling: {ceiling:.0f} TFLOP/s", ""]

    # --- pose stage throughput
    batches = [1, 2, 4] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
    models = ["rtmpose-t-256x192"] if args.quick else ["rtmpose-l-384x288", "rtmpose-m-256x192"]
    lines += ["| model | batch | network persons/s | stage persons/s (crop+net+decode) |", "|---|---:|---:|---:|"]
    image = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    stages = {}
    for name in models:
        stage = DevicePoseStage(create_model(name), device=str(device), dtype=args.dtype, compile=args.compile)
        stages[name] = stage
        width, height = stage.input_size
        for batch in batches:
            x = torch.randn(batch, 3, height, width, device=device)
            net = timed(lambda: stage.run(x), device, repeats)
            boxes = boxes_for(batch, 1920, 1080)
            full = timed(lambda: stage(image, boxes), device, repeats)
            lines.append(f"| {name} | {batch} | {batch / net:,.0f} | {batch / full:,.0f} |")

    # --- images with 1/3/6/9 persons, end to end (user boxes)
    main_model = models[0]
    stage = stages[main_model]
    lines += ["", f"End to end, one 1080p image, user boxes ({main_model}):", "",
              "| persons | latency ms |", "|---:|---:|"]
    latency = {}
    for n in (1, 3, 6, 9):
        boxes = boxes_for(n, 1920, 1080)
        latency[n] = timed(lambda: stage(image, boxes), device, repeats)
        lines.append(f"| {n} | {latency[n] * 1000:.2f} |")
    lines += ["", f"latency(9) / latency(1) = {latency[9] / latency[1]:.2f}", ""]

    # --- numerics: reduced precision vs float32 on the same inputs
    if args.dtype != "float32":
        reference = DevicePoseStage(create_model(main_model), device=str(device), dtype="float32")
        reference.model.load_state_dict({k: v.float() for k, v in stage.model.state_dict().items()})
        boxes = boxes_for(9, 1920, 1080)
        kp32, _ = reference(image, boxes)
        kp16, _ = stage(image, boxes)
        error = np.abs(kp16 - kp32).max(-1)
        lines += [f"{args.dtype} vs float32 keypoints (9 persons): {np.mean(error <= 0.5):.1%} within 0.5 px, "
                  f"median {np.median(error):.2f} px (random weights amplify small input differences: the "
                  "0.5 px target needs trained weights)", ""]

    # --- video, 1080p, detector every frame, decoding included
    frames = 8 if args.quick else 300
    size = (640, 360) if args.quick else (1920, 1080)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
        frame = cv2.resize(image, size)
        for i in range(frames):
            writer.write(np.roll(frame, i * 4, axis=1))
        writer.release()
        detector_model = create_yolox("yolox-s" if args.quick else "yolox-l")
        with torch.no_grad():
            for pred in detector_model.head.cls_preds:
                pred.bias.fill_(-10.0)
        detector = YOLOXDetector(detector_model, backend="torch", device=str(device), dtype=args.dtype)
        lines += ["| video | persons | frames/s |", "|---|---:|---:|"]
        for persons in (1, 6):
            boxes = boxes_for(persons, *size)
            sync(device)
            start = time.perf_counter()
            count = 0
            for batch in iter_frame_batches(video, 8):
                detector.detect_batch(batch)
                stage.predict_many(batch, [boxes] * len(batch))
                count += len(batch)
            sync(device)
            lines.append(f"| {size[0]}x{size[1]} | {persons} | {count / (time.perf_counter() - start):.1f} |")

    # --- training iterations/s, l-256, AMP
    train_name = "rtmpose-t-256x192" if args.quick else "rtmpose-l-256x192"
    model = create_model(train_name, eval_mode=False).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(param_groups(model, 0.05), lr=4e-3)
    loss_fn = KLDiscretLoss()
    batch = 8 if args.quick else 64
    x = torch.randn(batch, 3, 256, 192, device=device).contiguous(memory_format=torch.channels_last)
    lx, ly = torch.rand(batch, 133, 384, device=device), torch.rand(batch, 133, 512, device=device)
    w = torch.ones(batch, 133, device=device)
    amp = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(args.dtype)

    def step():
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = loss_fn(model(x), (lx, ly), w)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = timed(step, device, 3 if args.quick else 20)
    lines += ["", f"Training {train_name}, batch {batch}, AMP {amp or 'off'}: {1 / seconds:.2f} it/s "
                  f"({batch / seconds:,.0f} samples/s)", ""]

    report = "\n".join(lines) + "\n"
    print(report)
    if not args.quick:
        out = Path(args.out)
        previous = out.read_text() if out.exists() else ""
        placeholder = previous.find("\n## GPU\n\nNot measured yet")
        if placeholder >= 0:  # drop the placeholder section only: later sections (OpenVINO) stay
            end = previous.find("\n## ", placeholder + 1)
            previous = previous[:placeholder] + (previous[end:] if end >= 0 else "")
        out.write_text(previous.rstrip() + "\n\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
