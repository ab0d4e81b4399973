"""CPU benchmark of the whole-body pipeline against rtmlib, on the same random-weight files
with the official architectures (RTMPose-l 384x288 = DWPose-l, YOLOX-L), generated here with
our own export. Prints a table with ratios measured in this run and writes RESULTS.md.

    python benchmarks/bench_cpu.py [--repeats 3] [--out benchmarks/RESULTS.md]

rtmlib is imported when installed (`pip install --no-deps rtmlib`; `make bench` does it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import cpu_name, load_average, write_section  # noqa: E402
from dwpose.detection import YOLOXDetector  # noqa: E402
from dwpose.inference.pipeline import WholebodyPipeline  # noqa: E402
from dwpose.inference.pose import PoseEstimator, crop_persons  # noqa: E402
from dwpose.models import create_model  # noqa: E402
from dwpose.models.onnx_io import YOLOX_IO_NAMES, export_onnx  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
TITLE = "# CPU benchmark"
BARE = "bare network (onnxruntime, one batch)"
PHOTO = ROOT / "dwpose" / "assets" / "human-pose.jpeg"


def make_files() -> dict[str, Path]:
    """Random-weight ONNX files with the official signatures (cached between runs)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    files = {"pose_static": CACHE / "dw-ll_ucoco_384_random.onnx",
             "pose_dynamic": CACHE / "dw-ll_ucoco_384_random_dynbatch.onnx",
             "yolox": CACHE / "yolox_l_random.onnx"}
    if not all(p.exists() for p in files.values()):
        torch.manual_seed(0)
        pose = create_model("rtmpose-l-384x288")
        export_onnx(pose, files["pose_static"], dynamic_batch=False)
        export_onnx(pose, files["pose_dynamic"], dynamic_batch=True)
        det = create_model("yolox-l")
        with torch.no_grad():  # random class logits would give ~8400 boxes; make it find nobody
            for pred in det.head.cls_preds:
                pred.bias.fill_(-10.0)
        export_onnx(det, files["yolox"], dynamic_batch=False, input_name=YOLOX_IO_NAMES[0],
                    output_names=YOLOX_IO_NAMES[1])
    return files


def compare(case: str, fns: dict, repeats: int, rows: list) -> None:
    """Median seconds per implementation; the implementations take turns in every round so that
    drift of the machine (clock, caches, other load) hits them alike."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            # onnxruntime's worker threads spin for a while after a run; let them settle so one
            # session's spinning does not slow the next implementation down.
            time.sleep(0.2)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    rows.extend((case, name, statistics.median(t)) for name, t in times.items())
    SPREADS.extend((max(t) - min(t)) / statistics.median(t) for t in times.values() if len(t) > 1)


# (max - min) / median of every row's repeats in this process: how much single timings scattered.
SPREADS: list[float] = []


def person_boxes(n: int, image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    rng = np.random.default_rng(n)
    x1 = rng.uniform(0, w * 0.5, n)
    y1 = rng.uniform(0, h * 0.3, n)
    return np.stack([x1, y1, x1 + w * 0.45, y1 + h * 0.65], 1).astype(np.float32)


def machine() -> str:
    return (f"{cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch.__version__}, "
            f"onnxruntime {ort.__version__}, OpenCV {cv2.__version__}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--persons", default="1,3,6,9")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    files = make_files()
    image = cv2.imread(str(PHOTO))
    image = cv2.resize(image, (image.shape[1] * 3, image.shape[0] * 3))  # a 654x1038 photo
    rows: list[tuple[str, str, float]] = []
    load_before = load_average()

    try:
        import rtmlib
    except ImportError:
        rtmlib = None
        print("rtmlib not installed: peer columns skipped (pip install --no-deps rtmlib)")

    # --- detector alone
    ours_det = YOLOXDetector(files["yolox"])
    torch_det = YOLOXDetector(files["yolox"], backend="torch", arch="yolox-l")
    detectors = {"dwpose onnxruntime": lambda: ours_det(image), "dwpose torch": lambda: torch_det(image)}
    if rtmlib:
        peer_det = rtmlib.YOLOX(str(files["yolox"]), model_input_size=(640, 640), backend="onnxruntime", device="cpu")
        detectors["rtmlib"] = lambda: peer_det(image)
    compare("detector (YOLOX-L 640)", detectors, args.repeats, rows)

    # --- pose stage vs bare network, and end to end with user boxes
    ort_pose = PoseEstimator(files["pose_dynamic"])
    torch_pose = PoseEstimator(files["pose_dynamic"], backend="torch")
    ours = WholebodyPipeline(ort_pose)
    ours_torch = WholebodyPipeline(torch_pose)
    peer_pose = rtmlib.RTMPose(str(files["pose_static"]), model_input_size=(288, 384), backend="onnxruntime",
                               device="cpu") if rtmlib else None
    session = ort_pose.runner.session
    rgb = np.ascontiguousarray(image[..., ::-1])  # rtmlib feeds its input unchanged: give it RGB
    parity = []
    for n in [int(v) for v in args.persons.split(",")]:
        boxes = person_boxes(n, image)
        crops, _, _ = crop_persons(image, boxes, ort_pose.input_size)
        batch = ort_pose.normalize(crops)
        fns = {
            BARE: lambda: session.run(None, {"input": batch}),
            "dwpose onnxruntime": lambda: ours(image, boxes),
            "dwpose torch": lambda: ours_torch(image, boxes),
        }
        if peer_pose is not None:
            fns["rtmlib"] = lambda: peer_pose(rgb, list(boxes))
            peer_kp, _ = peer_pose(rgb, list(boxes))
            parity.append(float(np.abs(ours(image, boxes).keypoints - peer_kp).max()))
        compare(f"{n} person(s), user boxes", fns, args.repeats, rows)

    report = render(rows, parity, machine(), load_before, load_average(), args.repeats)
    print(report)
    write_section(args.out, TITLE, report)
    return 0


def by_case(rows) -> dict[str, dict[str, float]]:
    cases: dict[str, dict[str, float]] = {}
    for case, impl, seconds in rows:
        cases.setdefault(case, {})[impl] = seconds
    return cases


def result_table(rows) -> list[str]:
    """Markdown table of (case, implementation, seconds) rows, with ratios to the bare network
    and to rtmlib of the same case."""
    lines = ["| case | implementation | ms | vs bare network | vs rtmlib |", "|---|---|---:|---:|---:|"]
    for case, impls in by_case(rows).items():
        bare = impls.get(BARE)
        peer = impls.get("rtmlib")
        for impl, seconds in impls.items():
            vs_bare = f"{seconds / bare:.3f}" if bare and impl != BARE else ""
            vs_peer = f"{seconds / peer:.3f}" if peer and impl != "rtmlib" else ""
            lines.append(f"| {case} | {impl} | {seconds * 1000:.1f} | {vs_bare} | {vs_peer} |")
    return lines


def spread_line() -> str:
    """How far single timings of this run scattered around their medians (measured, not assumed)."""
    if not SPREADS:
        return "One repeat per row: no spread measured."
    return (f"Spread of the single timings within a row, (max - min) / median: median {statistics.median(SPREADS):.0%}, "
            f"largest {max(SPREADS):.0%} over {len(SPREADS)} rows.")


def render(rows, parity, machine_info: str, load_before: str, load_after: str, repeats: int) -> str:
    lines = [f"{TITLE} ({date.today().isoformat()})", "", f"Machine: {machine_info}", "",
             f"Load average (1/5/15 min) before: {load_before}, after: {load_after} (a shared machine: other work",
             "slows the absolute times; the ratios compare rows measured in turns in the same rounds).",
             "Random-weight files with the official architectures, generated by `benchmarks/bench_cpu.py`;",
             "the random YOLOX-L finds no person (class bias -10), so the detector row is network + letterbox +",
             f"decode. Median of {repeats} repeats (implementations take turns each round). {spread_line()}",
             "The bare-network row is the same onnxruntime session the dwpose stage uses, so ratios near 1 mean no overhead.",
             "", *result_table(rows)]
    if parity:
        lines += ["", f"Keypoint agreement with rtmlib on the same file and boxes (rtmlib given RGB): "
                      f"max |diff| = {max(parity):.4f} px over all cases."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
