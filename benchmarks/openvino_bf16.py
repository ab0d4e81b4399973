"""OpenVINO backend on the CPU: float32 (the default) against the bf16 opt-in (OpenVINO's
inference precision hint), timed on the pose stage with user boxes, and the keypoint
difference of bf16 from float32; onnxruntime float32 as the reference row. Writes (or
replaces) the "OpenVINO" section of RESULTS.md with the CPU's name and whether it has
AVX512-BF16 / AMX-BF16 (without them OpenVINO runs the bf16 request in float32, and says so).

    python benchmarks/openvino_bf16.py [--repeats 5] [--out benchmarks/RESULTS.md] [--quick]

The files are bench_cpu.py's random-weight DWPose-l 384x288 (official architecture); `--quick`
uses the small RTMPose-t test file and prints without writing (a smoke run)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpu import PHOTO, ROOT, compare, machine, make_files, person_boxes  # noqa: E402
from results import write_section  # noqa: E402

from dwpose.inference.pipeline import WholebodyPipeline  # noqa: E402
from dwpose.inference.pose import PoseEstimator  # noqa: E402

SECTION = "## OpenVINO (CPU): bfloat16 against float32"
QUICK_MODEL = ROOT.parent / "shared" / "reference" / "rtmpose_t_256x192_random.onnx"


def cpu_flags() -> str:
    try:
        flags = set(subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split())
    except OSError:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    found = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]
    return ", ".join(found) if found else "neither avx512_bf16 nor amx_bf16"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--persons", default="1,3,6")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--quick", action="store_true", help="small model, 1 repeat, nothing written")
    args = parser.parse_args()
    import openvino as ov

    model = QUICK_MODEL if args.quick else make_files()["pose_dynamic"]
    repeats = 1 if args.quick else args.repeats
    image = cv2.imread(str(PHOTO))
    image = cv2.resize(image, (image.shape[1] * 3, image.shape[0] * 3))  # a 654x1038 photo
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bf16 = WholebodyPipeline(PoseEstimator(model, backend="openvino", dtype="bfloat16"))
    f32 = WholebodyPipeline(PoseEstimator(model, backend="openvino"))
    ort = WholebodyPipeline(PoseEstimator(model))
    # The same number format elsewhere, for a figure where OpenVINO cannot run bf16: torch's
    # bfloat16 autocast (emulated on CPUs without bf16, so only compared, never timed).
    torch_f32 = WholebodyPipeline(PoseEstimator(model, backend="torch"))
    torch_bf16 = WholebodyPipeline(PoseEstimator(model, backend="torch", dtype="bfloat16"))
    pipelines = {"onnxruntime float32": ort, "openvino float32": f32, "openvino bfloat16 (hint)": bf16}
    rows: list[tuple[str, str, float]] = []
    differences = []
    loads = [os.getloadavg()[0]]
    for n in [int(v) for v in args.persons.split(",")]:
        boxes = person_boxes(n, image)
        compare(f"{n} person(s)", {name: (lambda p=p: p(image, boxes)) for name, p in pipelines.items()}, repeats, rows)
        reference, half, other = f32(image, boxes), bf16(image, boxes), ort(image, boxes)
        proxy = np.abs(torch_bf16(image, boxes).keypoints - torch_f32(image, boxes).keypoints)
        differences.append((n, np.abs(half.keypoints - reference.keypoints), np.abs(half.scores - reference.scores),
                            np.abs(other.keypoints - reference.keypoints), proxy))

    loads.append(os.getloadavg()[0])
    really = bf16.pose.runner.precision
    baseline = {case: ms for case, name, ms in rows if name == "openvino float32"}
    lines = [SECTION, "",
             f"{date.today().isoformat()}, `benchmarks/openvino_bf16.py`. Machine: {machine()}, OpenVINO {ov.__version__.split('-')[0]}; CPU flags: {cpu_flags()}; "
             f"OpenVINO's CPU capabilities: {', '.join(ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))}.",
             f"The bfloat16 request really ran in **{really}**"
             + (f" ({caught[0].message})." if caught else "."), "",
             f"Pose stage (crops, network, decode) with user boxes on a 654x1038 photo, "
             f"{'RTMPose-t 256x192 (quick run)' if args.quick else 'random-weight DWPose-l 384x288'}; "
             f"median of {repeats}; 1-minute load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the "
             f"end (on {os.cpu_count()} cores: above that, other work shared the CPU and the timings scatter).", "",
             "| case | backend | ms | vs openvino float32 |", "|---|---|---:|---:|"]
    lines += [f"| {case} | {name} | {ms * 1000:.1f} | {ms / baseline[case]:.3f} |" for case, name, ms in rows]
    lines += ["", "Keypoint difference (pixels of the photo): openvino bfloat16 request from openvino float32; "
              "onnxruntime from openvino float32; torch bfloat16 autocast from torch float32 (the bf16 number "
              "format, emulated where the CPU lacks it):", "",
              "| persons | openvino bf16: max | mean | max score diff | onnxruntime: max | torch bf16: max | mean | "
              "points moved > 1 px |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {n} | {kp.max():.3f} | {kp.mean():.4f} | {sc.max():.4f} | {ortd.max():.4f} | {proxy.max():.2f} | "
              f"{proxy.mean():.3f} | {(proxy.max(-1) > 1).mean():.1%} |" for n, kp, sc, ortd, proxy in differences]
    lines += ["", "Random weights give flat SimCC distributions, so a small change of the logits can move the "
              "argmax far: on trained weights the bf16 difference is expected to be smaller than here."
              + ("" if really == "bfloat16" else " Rerun on a CPU with AVX512-BF16 or AMX to measure the bf16 speed-up."),
              ""]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_section(args.out, SECTION, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
