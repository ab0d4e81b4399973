"""CPU benchmark of RTMW against DWPose, ours against rtmlib, in one run: RTMW-l 384x288,
RTMW-x 384x288 and DWPose-l (RTMPose-l) 384x288 as random-weight ONNX files with the official
signature (generated here with our export), the pose stage on the same image and boxes.
Writes (or replaces) its own section of RESULTS.md, keeping the others.

    python benchmarks/bench_rtmw.py [--repeats 3] [--persons 1,3] [--out benchmarks/RESULTS.md]

rtmlib is imported when installed (`pip install --no-deps rtmlib==0.0.16`; `make bench` does it).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results import load_average, write_section  # noqa: E402

from benchmarks.bench_cpu import BARE, CACHE, PHOTO, by_case, compare, machine, person_boxes, result_table  # noqa: E402
from dwpose.inference.pipeline import WholebodyPipeline  # noqa: E402
from dwpose.inference.pose import PoseEstimator, crop_persons  # noqa: E402
from dwpose.models import create_model  # noqa: E402
from dwpose.models.onnx_io import export_onnx  # noqa: E402

MODELS = {"RTMW-l 384x288": "rtmw-l-384x288", "RTMW-x 384x288": "rtmw-x-384x288",
          "DWPose-l 384x288": "rtmpose-l-384x288"}
TITLE = "## RTMW vs DWPose (CPU)"


def make_pose_files(name: str) -> tuple[Path, Path]:
    """(fixed batch 1, dynamic batch) random-weight ONNX files of a pose model (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    static, dynamic = CACHE / f"{name}_random.onnx", CACHE / f"{name}_random_dynbatch.onnx"
    if not (static.exists() and dynamic.exists()):
        torch.manual_seed(0)
        model = create_model(name)
        export_onnx(model, static, dynamic_batch=False)
        export_onnx(model, dynamic, dynamic_batch=True)
    return static, dynamic


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--persons", default="1,3")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        import rtmlib
    except ImportError:
        rtmlib = None
        print("rtmlib not installed: peer rows skipped (pip install --no-deps rtmlib==0.0.16)")
    files = {label: make_pose_files(name) for label, name in MODELS.items()}
    image = cv2.imread(str(PHOTO))
    image = cv2.resize(image, (image.shape[1] * 3, image.shape[0] * 3))
    rgb = np.ascontiguousarray(image[..., ::-1])  # rtmlib feeds its input unchanged: give it RGB
    load_before = load_average()
    rows: list[tuple[str, str, float]] = []
    parity: dict[str, float] = {}
    for label, (static, dynamic) in files.items():
        ours = PoseEstimator(dynamic)
        pipeline = WholebodyPipeline(ours)
        peer = rtmlib.RTMPose(str(static), model_input_size=ours.input_size, backend="onnxruntime",
                              device="cpu") if rtmlib else None
        for n in [int(v) for v in args.persons.split(",")]:
            boxes = person_boxes(n, image)
            crops, _, _ = crop_persons(image, boxes, ours.input_size)
            batch = ours.normalize(crops)
            fns = {BARE: lambda: ours.runner.session.run(None, {"input": batch}),
                   "dwpose onnxruntime": lambda: pipeline(image, boxes)}
            if peer is not None:
                fns["rtmlib"] = lambda: peer(rgb, list(boxes))
                peer_kp, _ = peer(rgb, list(boxes))
                diff = float(np.abs(pipeline(image, boxes).keypoints - peer_kp).max())
                parity[label] = max(parity.get(label, 0.0), diff)
            compare(f"{label}, {n} person(s)", fns, args.repeats, rows)
    report = render(rows, parity, machine(), load_before, load_average(), args.repeats)
    print(report)
    write_section(args.out, TITLE, report)
    return 0


def render(rows, parity, machine_info: str, load_before: str, load_after: str, repeats: int) -> str:
    lines = [f"{TITLE}", "", f"{date.today().isoformat()}. Machine: {machine_info}", "",
             f"Load average (1/5/15 min) before: {load_before}, after: {load_after} — a shared machine, so the",
             "absolute times are upper bounds; the ratios compare rows measured in turns in the same rounds.",
             f"Random-weight ONNX files with the official signatures (`benchmarks/bench_rtmw.py`), median of {repeats}",
             "rounds; the pose stage on a 654x1038 photo with given boxes (no detector): crops, network, decode.",
             "rtmlib runs the fixed-batch-1 file once per box, as its own downloads do; ours the dynamic-batch file.", "",
             *result_table(rows)]
    ours = {case.split(",")[0]: impls["dwpose onnxruntime"] for case, impls in by_case(rows).items()
            if case.endswith(" 1 person(s)")}
    if "DWPose-l 384x288" in ours:
        base = ours["DWPose-l 384x288"]
        lines += ["", "One person, ours, relative to DWPose-l 384x288: " +
                  ", ".join(f"{label} {seconds / base:.2f}x" for label, seconds in ours.items())]
    if parity:
        lines += ["", "Keypoint agreement with rtmlib on the same files and boxes (rtmlib given RGB), max |diff|: " +
                  ", ".join(f"{label} {diff:.4f} px" for label, diff in parity.items()) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
