"""Everything a lent GPU has to show, in one call: correctness first, then speed.

    cp -r ../shared/data/coco_wholebody_val_sample .          # once, before the call: the device
                                                              # machine receives the working tree only
    benchmarks/device_check                                   # on the GPU machine (--budget, default 480 s)
    python benchmarks/device_check.py --quick --device cpu    # smoke run of every step (test suite)

The default budget (480 s of work, printed as a plan first) fits a 15-minute device slot with the
machine's start and the file transfers; run it as one call with a timeout of about 570 s.

1. Environment: versions and card. Every installed package other than those the device machine
   has (torch, onnx, onnxruntime, OpenCV, NumPy and what they require) is made unimportable first
   (`--allow-optional` lifts that), which proves that `import dwpose`, the inference path and the
   benchmark need nothing else (tqdm, PIL, albumentations, xtcocotools among what is blocked).
2. Random-weight model files with the official ONNX signatures (DWPose-l 384x288 and YOLOX-L;
   --quick: RTMPose-t and YOLOX-s), exported once into benchmarks/.cache/.
3. Correctness on the sample images (`--data`; default: a copy `coco_wholebody_val_sample/` at
   the repository root, else shared/data/ in or beside the repository, else the bundled photo;
   the report names the folder and the images), on the same person boxes for every run: the whole
   pipeline on the device (detector + pose stage, device placement) against the CPU path
   (OpenCV crops, PyTorch float32 on the CPU); float32 keypoints must agree within 0.05 px. Also
   reported: the device crops against the machine's cv2.warpAffine, the network logits'
   relative error, flip test, TF32, bfloat16/float16 against float32, onnxruntime on the CPU.
4. `benchmarks/gpu.py` without and with `--compile`, each in its own process, time-limited so
   that the whole script stays inside `--budget` seconds less `--tpd-reserve` (100 s).
5. `benchmarks/synth_tpd.py --scale gpu` (the paper-like run: hard preset, 256x192) with what is
   left: its expected duration first, measured here (`--estimate`: a few iterations of each of
   its runs on this device times their planned iterations, plus data and evaluation), then the
   run itself only if it fits the time left. The full run takes hours on one GPU, so in a
   15-minute slot the report carries the estimate and one line saying the run was skipped
   (--quick: `--scale smoke`, estimate only).
6. A section "## GPU: <card>" is written into benchmarks/RESULTS.md through
   benchmarks/results.write_section after every phase (a rerun on the same card replaces its own
   section, every other section stays; `--results`), and every report and log is written to
   `--out-dir` (default $OUT, where the device machine collects files).

Exit code 0 when the float32 correctness check passed, 1 when it failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import pkgutil
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
# Optional packages of the project that the device machine lacks: blocked even where the
# metadata walk below would not find them installed.
OPTIONAL_MODULES = frozenset({"tqdm", "PIL", "albumentations", "xtcocotools"})
# What the device machine has installed (distribution names); their requirements come along.
DEVICE_PACKAGES = ("torch", "onnx", "onnxruntime", "numpy", "opencv-python", "opencv-python-headless",
                   "opencv-contrib-python", "opencv-contrib-python-headless")
SAMPLE_NAME = "coco_wholebody_val_sample"
COPY_COMMAND = f"cp -r ../shared/data/{SAMPLE_NAME} ."
TOLERANCE_PX = 0.05


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def device_modules() -> set[str]:
    """Top-level import names the device machine has: the standard library, the project, and
    DEVICE_PACKAGES with everything they require (from the installed metadata)."""
    by_distribution: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            by_distribution.setdefault(_normalized(distribution), set()).add(module)
    todo, seen = [_normalized(name) for name in DEVICE_PACKAGES], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requirements:
            if "extra" not in requirement.partition(";")[2]:  # optional extras are not installed with it
                todo.append(_normalized(re.match(r"[A-Za-z0-9._-]+", requirement).group()))
    allowed = set(sys.stdlib_module_names) | {"dwpose"}
    for name in seen:
        allowed |= by_distribution.get(name, set())
    return allowed - OPTIONAL_MODULES


def block_imports() -> list[str]:
    """Make every installed top-level module the device machine lacks unimportable in this
    process; returns their names. A None entry in sys.modules makes `import` raise
    ModuleNotFoundError and `importlib.util.find_spec` answer None, exactly as for a package that
    is not installed. Modules of this repository (on sys.path under ROOT) stay importable."""
    # Blocked before torch loads: torch itself imports tqdm where it is installed (not on the device).
    try:
        importlib.metadata.distribution("torch")
    except importlib.metadata.PackageNotFoundError:
        # No metadata to follow torch's requirements (not a pip install): block only the
        # known optional packages rather than something torch needs later.
        blocked = sorted(OPTIONAL_MODULES)
        for name in blocked:
            if sys.modules.get(name) is not None:
                raise RuntimeError(f"{name} was imported before block_imports()")
            sys.modules[name] = None  # type: ignore[assignment]
        return blocked
    allowed = device_modules()
    # Not blocked: this repository, and the interpreter's own library (private modules such as
    # _sysconfigdata_* that sys.stdlib_module_names leaves out; sysconfig needs them).
    keep = [ROOT] + [Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")]
    installed = {info.name for info in pkgutil.iter_modules()
                 if not any(Path(getattr(info.module_finder, "path", "/")).resolve().is_relative_to(place)
                            for place in keep)}
    installed |= set(importlib.metadata.packages_distributions())
    blocked = sorted((installed - allowed) | OPTIONAL_MODULES)
    for name in blocked:
        if name.startswith("__editable__") or name.startswith("_distutils_hack"):
            continue  # import machinery of editable installs / setuptools, loaded at start-up
        if sys.modules.get(name) is not None:
            if name in OPTIONAL_MODULES:
                raise RuntimeError(f"{name} was imported before block_imports()")
            continue  # loaded by the interpreter's start-up (.pth files): nothing to prove there
        sys.modules[name] = None  # type: ignore[assignment]
    return blocked


# Runs benchmarks/gpu.py in a child process with the same import block.
_CHILD = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); import device_check; "
          "device_check.block_imports(); sys.argv = sys.argv[2:]; "
          "runpy.run_path(sys.argv[0], run_name='__main__')")


# --------------------------------------------------------------------------- models and data

def export_random_models(cache: Path, pose_name: str, yolox_name: str) -> tuple[Path, Path]:
    """Random-weight ONNX files with the official signatures (fixed batch 1, opset 11)."""
    import torch

    from dwpose.models import create_model
    from dwpose.models.onnx_io import YOLOX_IO_NAMES, export_onnx

    pose_path, yolox_path = cache / f"{pose_name}_random.onnx", cache / f"{yolox_name}_random.onnx"
    if not pose_path.exists():
        torch.manual_seed(0)
        export_onnx(create_model(pose_name), pose_path, dynamic_batch=False)
    if not yolox_path.exists():
        torch.manual_seed(1)
        export_onnx(create_model(yolox_name), yolox_path, dynamic_batch=False, input_name=YOLOX_IO_NAMES[0],
                    output_names=YOLOX_IO_NAMES[1])
    return pose_path, yolox_path


def default_data(root: Path = ROOT) -> Path | None:
    """The COCO-WholeBody sample: first a copy at the repository root (the device machine
    receives the working tree only: `COPY_COMMAND` puts it there, .gitignore keeps it out of
    commits), then shared/data in or beside the repository."""
    for candidate in (root / SAMPLE_NAME, root / "shared" / "data" / SAMPLE_NAME,
                      root.parent / "shared" / "data" / SAMPLE_NAME):
        if candidate.is_dir():
            return candidate
    return None


def describe_source(data: Path | None, samples: list) -> str:
    """Which images the check used, and from where: one line for the report."""
    names = ", ".join(s[0] for s in samples)
    if data is None or samples[0][0] == "human-pose.jpeg":
        return (f"Images: the bundled photo dwpose/assets/human-pose.jpeg with three fixed boxes (no COCO-WholeBody "
                f"sample found{'' if data is None else f' with annotated images in {data}'}; `{COPY_COMMAND}` at "
                "the repository root puts one where the device machine receives it).")
    where = data.resolve()
    shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    return f"Images ({len(samples)}, COCO-WholeBody sample in `{shown}`): {names}."


def sample_images(data: Path | None, limit: int) -> list[tuple[str, "np.ndarray", "np.ndarray"]]:
    """(name, BGR image, xyxy person boxes): the annotated persons of the COCO-WholeBody sample,
    or for the bundled photo (no annotations) three boxes around its middle."""
    import json

    import cv2
    import numpy as np

    samples = []
    if data is not None:
        annotations = data / "test_coco_wholebody.json"
        boxes_by_name: dict[str, list] = {}
        if annotations.is_file():
            content = json.loads(annotations.read_text())
            names = {image["id"]: image["file_name"] for image in content["images"]}
            for item in content["annotations"]:
                x, y, w, h = item["bbox"]
                boxes_by_name.setdefault(names[item["image_id"]], []).append([x, y, x + w, y + h])
        for path in sorted(data.glob("*.jpg"))[:limit]:
            boxes = boxes_by_name.get(path.name)
            image = cv2.imread(str(path))
            if image is not None and boxes:
                samples.append((path.name, image, np.asarray(boxes, np.float32)))
    if not samples:
        image = cv2.imread(str(ROOT / "dwpose" / "assets" / "human-pose.jpeg"))
        h, w = image.shape[:2]
        # Inside the image: the pipeline clips boxes that cross the border, the bare estimator
        # does not, and the two are compared on the same boxes.
        boxes = np.array([[0.2 * w, 0.05 * h, 0.8 * w, 0.95 * h], [0, 0, w / 2, h / 2], [0.5 * w, 0.3 * h, w, h]],
                         np.float32)
        samples.append(("human-pose.jpeg", image, boxes))
    return samples


# --------------------------------------------------------------------------- comparisons

def keypoint_row(label: str, ours: list, reference: list, tolerance: float) -> tuple[str, float]:
    """A table row comparing per-image (keypoints, scores) lists; returns it and the max px."""
    import numpy as np

    kp = np.concatenate([r[0] for r in ours]) - np.concatenate([r[0] for r in reference])
    scores = np.abs(np.concatenate([r[1] for r in ours]) - np.concatenate([r[1] for r in reference]))
    error = np.abs(kp).max(-1)
    worst = float(error.max()) if error.size else 0.0
    return (f"| {label} | {worst:.4f} | {np.mean(error <= tolerance):.2%} | {np.mean(error <= 0.5):.2%} | "
            f"{np.median(error) if error.size else 0:.4f} | {scores.max() if scores.size else 0:.2e} |"), worst


def relative_error(ours: "np.ndarray", reference: "np.ndarray") -> float:
    import numpy as np

    return float(np.linalg.norm(ours - reference) / max(np.linalg.norm(reference), 1e-30))


def top2_margins(simcc_x: "np.ndarray", simcc_y: "np.ndarray") -> "np.ndarray":
    """Per keypoint, the smaller gap between the best and second-best logit of the two axes:
    tiny gaps are near-ties that any rounding difference may flip."""
    import numpy as np

    gaps = [np.diff(np.sort(s, axis=-1)[..., -2:], axis=-1)[..., 0] for s in (simcc_x, simcc_y)]
    return np.minimum(*gaps)


def correctness(args: argparse.Namespace, report: "Report", pose_file: Path, yolox_file: Path) -> bool:
    import copy

    import cv2
    import numpy as np
    import torch

    from dwpose.detection import YOLOXDetector
    from dwpose.inference.pipeline import WholebodyPipeline
    from dwpose.inference.pose import PoseEstimator, crop_geometry, crop_persons
    from dwpose.models import create_model
    from dwpose.models.registry import detect_model_name

    device = args.device
    samples = sample_images(args.data, args.images)
    images = [s[1] for s in samples]
    boxes = [s[2] for s in samples]
    persons = sum(len(b) for b in boxes)
    report.add(f"### Correctness ({pose_file.stem}, {yolox_file.stem}; {len(images)} images, {persons} persons)", "",
               describe_source(args.data, samples), "",
               "Person boxes from the annotations (the same boxes for every run). float32 on CUDA is strict "
               "IEEE float32 (TF32 off) unless the row says TF32.", "")

    # Each file is imported into PyTorch once; the device runs get copies (a runner moves its module).
    pose_module = create_model(detect_model_name(pose_file), checkpoint=pose_file)
    yolox_module = create_model(detect_model_name(yolox_file), checkpoint=yolox_file)
    device_module = copy.deepcopy(pose_module)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    # The whole pipeline on the device: detector (device letterbox) + pose stage (device placement).
    pipeline = WholebodyPipeline(
        PoseEstimator(copy.deepcopy(pose_module), backend="torch", device=device, placement="device"),
        YOLOXDetector(copy.deepcopy(yolox_module), backend="torch", device=device))
    detected = [len(r) for r in pipeline.predict_batch(images)]
    on_device = [(r.keypoints, r.scores) for r in pipeline.predict_batch(images, boxes)]
    report.add(f"Whole pipeline on {device}: pose {pipeline.pose.device_info}; detector {pipeline.detector.device_info}; "
               f"the random-weight detector found {sum(detected)} person(s).", "")

    cpu = PoseEstimator(pose_module, backend="torch", device="cpu")
    cpu_flip = PoseEstimator(pose_module, backend="torch", device="cpu", flip_test=True)
    reference = cpu.predict_many(images, boxes)

    def on(device_dtype: str = "float32", placement: str = "device", **options) -> PoseEstimator:
        return PoseEstimator(device_module, backend="torch", device=device, dtype=device_dtype, placement=placement,
                             **options)

    rows = ["| comparison (same boxes) | max px | within 0.05 px | within 0.5 px | median px | scores max diff |",
            "|---|---:|---:|---:|---:|---:|"]
    row, worst = keypoint_row(f"{device} float32, whole pipeline (device placement) vs CPU", on_device, reference,
                              TOLERANCE_PX)
    rows.append(row)
    row, worst_host = keypoint_row(f"{device} float32, host placement (OpenCV crops) vs CPU",
                                   on(placement="host").predict_many(images, boxes), reference, TOLERANCE_PX)
    rows.append(row)
    row, worst_flip = keypoint_row(f"{device} float32 + flip test (device placement) vs CPU + flip test",
                                   on(flip_test=True).predict_many(images, boxes), cpu_flip.predict_many(images, boxes),
                                   TOLERANCE_PX)
    rows.append(row)
    device_float32 = on()
    float32_results = device_float32.predict_many(images, boxes)
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.allow_tf32 = True  # PyTorch's default for convolutions
        rows.append(keypoint_row(f"{device} float32 with TF32 convolutions vs CPU",
                                 on().predict_many(images, boxes), reference, TOLERANCE_PX)[0])
        torch.backends.cudnn.allow_tf32 = False
    reduced = ["bfloat16", "float16"] if torch.device(device).type == "cuda" else ["bfloat16"]
    for name in reduced:
        rows.append(keypoint_row(f"{device} {name} vs {device} float32", on(name).predict_many(images, boxes),
                                 float32_results, TOLERANCE_PX)[0])
    onnx = PoseEstimator(pose_file)
    rows.append(keypoint_row("onnxruntime CPU vs torch CPU", onnx.predict_many(images, boxes), reference, TOLERANCE_PX)[0])
    passed = max(worst, worst_host, worst_flip) <= TOLERANCE_PX
    report.add(*rows, "", f"**float32 {device} vs CPU: {'PASS' if passed else 'FAIL'}** (max {max(worst, worst_host, worst_flip):.4f} px, "
               f"limit {TOLERANCE_PX} px).", "")

    # Crops: the device warp against this machine's cv2.warpAffine.
    crops_equal, crops_total, grey = 0, 0, 0
    for image, image_boxes in zip(images, boxes):
        _, _, matrices = crop_geometry(image_boxes, device_float32.input_size)
        host_crops = crop_persons(image, image_boxes, device_float32.input_size)[0]
        device_crops = device_float32.crops([image], [matrices]).cpu().numpy()  # device placement: a tensor
        crops_equal += sum(np.array_equal(a, b) for a, b in zip(device_crops, host_crops))
        crops_total += len(host_crops)
        grey = max(grey, int(np.abs(device_crops.astype(int) - host_crops).max()))
    report.add(f"Crops: device warp vs cv2.warpAffine (OpenCV {cv2.__version__}): {crops_equal}/{crops_total} "
               f"byte-identical, max difference {grey} grey levels.", "")

    # Network logits on the same (host) crops: relative error, and the near-ties behind any jump.
    crops = np.concatenate([crop_persons(i, b, cpu.input_size)[0] for i, b in zip(images, boxes)])
    batch = cpu.normalize(crops)
    logits_cpu = cpu.network(batch)
    margins = top2_margins(*logits_cpu)
    lines = []
    variants = [("float32", "float32", False)] + [(name, name, False) for name in reduced]
    if torch.device(device).type == "cuda":
        variants.insert(1, ("float32 with TF32", "float32", True))
    for label, dtype, tf32 in variants:
        torch.backends.cudnn.allow_tf32 = tf32
        logits = [np.asarray(t.cpu()) for t in on(dtype).network(torch.from_numpy(batch).to(device))]
        torch.backends.cudnn.allow_tf32 = False
        errors = [relative_error(a, b) for a, b in zip(logits, logits_cpu)]
        flips = (logits[0].argmax(-1) != logits_cpu[0].argmax(-1)) | (logits[1].argmax(-1) != logits_cpu[1].argmax(-1))
        detail = (f"; the CPU's top-2 logit gap at those points: max {margins[flips].max():.2e} (median over all "
                  f"keypoints {np.median(margins):.2e})") if flips.any() else ""
        lines.append(f"- {device} {label} logits vs CPU float32: relative error x {errors[0]:.2e}, y {errors[1]:.2e}; "
                     f"argmax differs at {int(flips.sum())} of {flips.size} keypoints{detail}")
    report.add("Network logits on the same crops:", "", *lines, "")

    # Detector: network output on the same letterboxed input, and the device letterbox.
    detector = pipeline.detector
    letterboxed, _ = detector.preprocess(images[0])
    cpu_yolox = YOLOXDetector(yolox_module, backend="torch", device="cpu")
    out_device = detector.runner(letterboxed)[0]
    out_cpu = cpu_yolox.runner(letterboxed)[0]
    device_letterbox = detector.letterbox_on_device([images[0]])[0][0].cpu().numpy()
    grey_letterbox = np.abs(device_letterbox - letterboxed[0]).max()
    report.add(f"Detector: {device} vs CPU raw output on the same input, relative error {relative_error(out_device, out_cpu):.2e}; "
               f"device letterbox vs cv2.resize letterbox: max {grey_letterbox:.0f} grey levels.", "")
    return passed


# --------------------------------------------------------------------------- benchmarks

def run_benchmark(extra: list[str], log: Path, timeout: float, report: "Report", title: str) -> None:
    """benchmarks/gpu.py in a child process (same import block), its section into the report."""
    section_file = log.with_suffix(".md")
    section_file.unlink(missing_ok=True)
    command = [sys.executable, "-c", _CHILD, str(BENCHMARKS), str(BENCHMARKS / "gpu.py"), *extra,
               "--report", str(section_file)]
    code, output, seconds = run_child(command, log, timeout)
    report.add(f"### {title}", "")
    if code == 0 and section_file.exists():
        body = section_file.read_text().splitlines()
        report.add(*body[2:] if body and body[0].startswith("## ") else body)  # our heading replaces its own
        report.add(f"({seconds:.0f} s)", "")
        return
    why = f"stopped after its {timeout:.0f} s share of the budget" if code is None else f"failed with exit code {code}"
    output = output.strip().splitlines()  # gpu.py prints its rows as it measures them
    report.add(f"`gpu.py {' '.join(extra)}` {why} ({seconds:.0f} s); its output{' (end)' if len(output) > 150 else ''}:",
               "", "```", *output[-150:], "```", "")


def tpd_phase(args: argparse.Namespace, report: "Report", started: float) -> None:
    """benchmarks/synth_tpd.py at `args.tpd_scale`: its expected duration measured on this device
    first (--estimate: a few iterations of each run), then the run itself only when that fits the
    time left of the budget; otherwise one line saying so. Child processes without the import
    block: training and `dwpose synth` import tqdm (dwpose.progress); the run's evaluation needs
    xtcocotools too."""
    scale = args.tpd_scale
    report.add(f"### synth_tpd.py --scale {scale}", "")
    left = args.budget - (time.monotonic() - started)
    if left < 30:
        report.add(f"Skipped: {max(left, 0):.0f} s of the {args.budget:.0f} s budget left, too little to measure its "
                   "expected duration.", "")
        return
    base = [sys.executable, str(BENCHMARKS / "synth_tpd.py"), "--scale", scale, "--device", args.device]
    if args.device == "cpu":  # the CPU smoke run: one thread (two on a busy machine spin for minutes per step)
        base += ["--threads", "1"]
    code, output, seconds = run_child(base + ["--estimate"], args.out_dir / "synth_tpd_estimate.log", left - 5)
    found = re.search(r"^expected duration of .*: (\d+) s \(", output, re.M)
    if code != 0 or found is None:
        why = f"stopped after {seconds:.0f} s, the time left" if code is None else f"failed with exit code {code}"
        report.add(f"Its expected duration could not be measured: `synth_tpd.py --estimate` {why}; its output (end):",
                   "", "```", *output.strip().splitlines()[-40:], "```", "")
        return
    expected = int(found.group(1))
    report.add(*output[found.start():].strip().splitlines(), "")
    print(f"synth_tpd.py --scale {scale}: expected {expected} s ({expected / 60:.1f} min)", flush=True)
    left = args.budget - (time.monotonic() - started)
    if args.quick or expected > left - 10:
        why = "--quick measures only" if args.quick else f"{max(left, 0):.0f} s of the {args.budget:.0f} s budget are left"
        line = (f"The run itself skipped: it is expected to take {expected / 60:.1f} min and {why}; on a longer lease: "
                f"`python benchmarks/synth_tpd.py --scale {scale} --device {args.device}`.")
        print(line, flush=True)
        report.add(line, "")
        return
    section = args.out_dir / f"synth_tpd_{scale}.md"
    code, output, seconds = run_child(base + ["--out", str(section)], args.out_dir / f"synth_tpd_{scale}.log", left - 5)
    if code == 0 and section.exists():
        report.add(*section.read_text().splitlines()[2:], f"({seconds:.0f} s)", "")
    else:
        why = f"stopped after {seconds:.0f} s" if code is None else f"failed with exit code {code}"
        report.add(f"`synth_tpd.py --scale {scale}` {why}; its output (end):", "", "```",
                   *output.strip().splitlines()[-40:], "```", "")


def run_child(command: list[str], log: Path, timeout: float) -> tuple[int | None, str, float]:
    """Run a command (output to `log`) for at most `timeout` seconds: (exit code or None when
    stopped, its output, seconds)."""
    start = time.monotonic()
    with open(log, "w") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            code = child.wait(timeout=max(timeout, 1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            code = None
    return code, log.read_text(), time.monotonic() - start


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default=None, help="benchmark precision (default bfloat16; float32 with --quick)")
    parser.add_argument("--quick", action="store_true", help="tiny models and sizes, no --compile run (smoke test)")
    parser.add_argument("--data", type=Path, default=None,
                        help=f"COCO-WholeBody sample folder (default: ./{SAMPLE_NAME}, else shared/data/{SAMPLE_NAME} "
                             "in or beside the repo)")
    parser.add_argument("--images", type=int, default=None, help="at most this many sample images (default 4; 1 with --quick)")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for the whole script (default 480)")
    parser.add_argument("--compile-share", type=float, default=0.6,
                        help="share of the benchmark time left for the --compile run (default 0.6)")
    parser.add_argument("--results", type=Path, default=None,
                        help="RESULTS.md to update (default benchmarks/RESULTS.md; none with --quick)")
    parser.add_argument("--out-dir", type=Path, default=None, help="reports and logs (default $OUT, else benchmarks/.device_check)")
    parser.add_argument("--skip-benchmark", action="store_true", help="correctness only")
    parser.add_argument("--tpd-reserve", type=float, default=None,
                        help="seconds kept for the synth_tpd.py phase (default 100; 0 with --skip-benchmark: none)")
    parser.add_argument("--tpd-scale", default=None, help="synth_tpd.py scale (default gpu; smoke with --quick)")
    parser.add_argument("--allow-optional", action="store_true",
                        help="do not block the packages the device machine lacks (tqdm, PIL, albumentations, ...)")
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = default_data()
    if args.images is None:
        args.images = 1 if args.quick else 4
    if args.dtype is None:
        args.dtype = "float32" if args.quick else "bfloat16"
    if args.results is None and not args.quick:
        args.results = BENCHMARKS / "RESULTS.md"
    if args.tpd_scale is None:
        args.tpd_scale = "smoke" if args.quick else "gpu"
    if args.tpd_reserve is None:
        args.tpd_reserve = 0.0 if args.skip_benchmark else 100.0
    if args.out_dir is None:
        args.out_dir = Path(os.environ["OUT"]) if os.environ.get("OUT") else BENCHMARKS / ".device_check"
    return args


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    blocked = [] if args.allow_optional else block_imports()
    import cv2
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCHMARKS))
    from benchmarks.results import write_section
    from dwpose.backends import torch_dtype
    from gpu import Report, card_name

    torch_dtype(args.dtype)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("device_check: no CUDA device visible to PyTorch", file=sys.stderr)
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    benchmark_phases = [] if args.skip_benchmark else (["gpu.py --quick (eager): all that is left"] if args.quick else [
        f"gpu.py (eager): {1 - args.compile_share:.0%} of what is left",
        f"gpu.py --compile: the rest ({args.compile_share:.0%}), less 5 s"])
    print(f"device_check plan: {args.budget:.0f} s of work in all (the default fits a 15-minute device slot with the "
          "machine's start and the transfers: one call, timeout about 570 s).", f"  1. set-up and correctness on "
          f"{args.device}: random-weight model files, up to {args.images} image(s) from "
          f"{args.data if args.data is not None else 'the bundled photo (no COCO-WholeBody sample found)'}",
          *(f"  {n}. {phase}" for n, phase in enumerate(benchmark_phases, 2)),
          *([f"  {len(benchmark_phases) + 2}. synth_tpd.py --scale {args.tpd_scale}: its expected duration measured here "
             f"(a few iterations of each run; {args.tpd_reserve:.0f} s kept for this), then the run only if it fits "
             "the time left (--scale gpu takes hours: a 15-minute slot gets the estimate)"] if args.tpd_reserve else []),
          f"  RESULTS.md section '## GPU: {card_name(device)}' saved after every phase "
          f"({args.results if args.results is not None else 'no RESULTS.md with --quick'}) and reports in {args.out_dir}.",
          sep="\n", flush=True)
    report = Report()
    cuda = f", CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}" if device.type == "cuda" else ""
    if args.allow_optional:
        imports = "imports not restricted (--allow-optional)"
    else:
        imports = (f"imports limited to what the device machine has (torch, onnx, onnxruntime, OpenCV, NumPy and what "
                   f"they require): {len(blocked)} top-level modules blocked, among them "
                   f"{', '.join(sorted(OPTIONAL_MODULES, key=str.lower))}")
    heading = f"## GPU: {card_name(device)}"
    report.add(heading, "",
               f"{date.today().isoformat()}, `benchmarks/device_check.py{' --quick' if args.quick else ''}`: Python "
               f"{platform.python_version()}, torch {torch.__version__}{cuda}, OpenCV {cv2.__version__}, NumPy "
               f"{np.__version__}; {imports}.", "")

    from dwpose.fileio import write_text_atomic

    def save() -> None:
        """Everything so far, to the reports (a run cut short keeps what it measured)."""
        write_text_atomic(args.out_dir / "device_check.md", report.text())
        if args.results is not None:
            write_section(args.results, heading, report.text())
            if args.results.resolve() != (args.out_dir / "RESULTS.md").resolve():
                shutil.copyfile(args.results, args.out_dir / "RESULTS.md")

    pose_name, yolox_name = ("rtmpose-t-256x192", "yolox-s") if args.quick else ("rtmpose-l-384x288", "yolox-l")
    step = time.monotonic()
    pose_file, yolox_file = export_random_models(BENCHMARKS / ".cache", pose_name, yolox_name)
    print(f"model files ready in {time.monotonic() - step:.0f} s", flush=True)
    passed = correctness(args, report, pose_file, yolox_file)
    report.add(f"(correctness and set-up: {time.monotonic() - started:.0f} s)", "")
    save()

    left = args.budget - (time.monotonic() - started) - args.tpd_reserve
    if not args.skip_benchmark and left < 30:
        report.add(f"Benchmarks skipped: {max(left, 0):.0f} s of the {args.budget:.0f} s budget left after correctness.", "")
        save()
    elif not args.skip_benchmark:
        common = ["--device", args.device, "--dtype", args.dtype]
        plain = ["--quick"] if args.quick else []
        share = left if args.quick else left * (1 - args.compile_share)
        run_benchmark(plain + common, args.out_dir / "gpu_eager.log", share, report,
                      f"gpu.py{' --quick' if args.quick else ''} (eager)")
        save()
        if not args.quick:  # torch.compile on the CPU needs minutes and a C++ compiler: GPU runs only
            left = args.budget - (time.monotonic() - started) - args.tpd_reserve
            run_benchmark(["--compile"] + common, args.out_dir / "gpu_compile.log", left - 5, report,
                          "gpu.py --compile (torch.compile, CUDA graphs)")
            save()
    if args.tpd_reserve:
        tpd_phase(args, report, started)
        save()
    print(f"device_check: {'PASS' if passed else 'FAIL'} in {time.monotonic() - started:.0f} s; "
          f"reports in {args.out_dir}", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
