"""`dwpose predict`: images, folders, globs and videos -> skeleton PNG/MP4 + OpenPose JSON."""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import cv2

from ..backends import BACKENDS
from ..drawing import DEFAULT_STYLE, list_styles, output_size_for, overlay, render as draw_style
from ..errors import InputError
from ..formats import PoseResult
from ..inference.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ImageReadError, read_image
from ..inference.pipeline import WholebodyPipeline
from ..inference.video import VideoReadError, process_video
from ..weights import DEFAULT_DETECTOR, DEFAULT_POSE, resolve_weights


def add_arguments(p: argparse.ArgumentParser, inputs: bool = True) -> None:
    if inputs:
        p.add_argument("inputs", nargs="+", help="images, videos, folders or glob patterns")
    p.add_argument("--out", default="dwpose_out", help="output folder (default: dwpose_out)")
    p.add_argument("--pose-model", default=DEFAULT_POSE, help=f"pose weights: path or official file name (default {DEFAULT_POSE})")
    p.add_argument("--det-model", default=DEFAULT_DETECTOR, help=f"YOLOX weights: path or official file name (default {DEFAULT_DETECTOR})")
    p.add_argument("--det-arch", default=None, help="YOLOX size for the torch backend (default: read from the file)")
    p.add_argument("--no-detector", action="store_true", help="no detector: the whole image is one person")
    p.add_argument("--boxes", default=None,
                   help='JSON {"<file name or stem>": [[x1, y1, x2, y2], ...]}: your own person boxes for images')
    p.add_argument("--backend", choices=BACKENDS, default="onnxruntime",
                   help="onnxruntime (default), openvino (pip install 'dwpose[openvino]') or torch")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32",
                   help="precision: torch backend; openvino takes bfloat16 as its inference precision hint")
    p.add_argument("--compile", action="store_true", help="torch backend: torch.compile (CUDA graphs on GPUs)")
    p.add_argument("--score-threshold", type=float, default=0.3, help="person score threshold")
    p.add_argument("--nms-threshold", type=float, default=0.45)
    p.add_argument("--max-persons", type=int, default=None, help="keep only the best k detections per image")
    p.add_argument("--no-body", action="store_true")
    p.add_argument("--no-hand", action="store_true")
    p.add_argument("--no-face", action="store_true")
    p.add_argument("--feet", action="store_true", help="draw and export the 6 foot points")
    p.add_argument("--style", choices=list_styles(), default=DEFAULT_STYLE,
                   help=f"how the skeleton is drawn (default {DEFAULT_STYLE}; see README, Drawing styles)")
    p.add_argument("--resolution", type=int, default=None, help="short side of the skeleton image (default: input size)")
    p.add_argument("--overlay", action="store_true", help="also write the skeleton over the photo")
    p.add_argument("--controlnet-compat", action="store_true", help="JSON confidence 1.0 for present points (ecosystem convention)")
    p.add_argument("--batch-size", type=int, default=8, help="video frames per batch")
    p.add_argument("--detect-every", type=int, default=1, help="video: run the detector every k frames, track in between")
    p.add_argument("--smooth", action="store_true", help="video: One-Euro smoothing of keypoints")
    p.add_argument("--no-progress", action="store_true")


def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files named, found in folders (recursively, images and videos) or matched by globs."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        elif any(ch in pattern for ch in "*?[") and not path.exists():
            found += sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        else:
            found.append(path)  # a missing file is reported when processed
    return found


class Predictor:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        pose = resolve_weights(args.pose_model, progress=not args.no_progress)
        # With your own boxes (or none wanted) the detector is not loaded at all.
        det = None if args.no_detector or args.boxes else resolve_weights(args.det_model, progress=not args.no_progress)
        self.pipeline = WholebodyPipeline.from_files(
            pose, det, backend=args.backend, device=args.device, dtype=args.dtype, detector_arch=args.det_arch,
            score_threshold=args.score_threshold, nms_threshold=args.nms_threshold, max_persons=args.max_persons,
            compile=args.compile)
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.used_stems: set[str] = set()
        self.boxes = _read_boxes(args.boxes) if args.boxes else None

    def parts(self) -> dict:
        a = self.args
        return dict(include_body=not a.no_body, include_hand=not a.no_hand, include_face=not a.no_face, include_foot=a.feet)

    def render(self, result: PoseResult) -> "cv2.typing.MatLike":
        return draw_style(result, self.args.style, output_size=output_size_for(result.image_size, self.args.resolution),
                          **self.parts())

    def to_json(self, result: PoseResult) -> dict:
        return result.to_openpose_json(**self.parts(), controlnet_compat=self.args.controlnet_compat)

    def _stem(self, path: Path) -> str:
        stem, n = path.stem, 1
        while stem in self.used_stems:
            n += 1
            stem = f"{path.stem}_{n}"
        self.used_stems.add(stem)
        return stem

    def image(self, path: Path) -> str:
        image = read_image(path)
        boxes = None
        if self.boxes is not None:
            boxes = self.boxes.get(path.name, self.boxes.get(path.stem))
            if boxes is None:
                raise ImageReadError(f"{path}: no entry in the --boxes file")
        result = self.pipeline(image, boxes)
        skeleton = self.render(result)
        stem = self._stem(path)
        _write_png(self.out / f"{stem}_pose.png", skeleton)
        if self.args.overlay:
            _write_png(self.out / f"{stem}_overlay.png", overlay(image[..., ::-1], skeleton))
        (self.out / f"{stem}.json").write_text(json.dumps(self.to_json(result)))
        return f"{len(result)} person(s)"

    def video(self, path: Path) -> str:
        if not path.is_file():
            raise VideoReadError(f"{path}: not found")
        summary = process_video(self.pipeline, path, self.out, self.render, self.to_json,
                                batch_size=max(self.args.batch_size, 1), detect_every=max(self.args.detect_every, 1),
                                smooth=self.args.smooth, progress=not self.args.no_progress)
        return f"{summary.frames} frames"


def _read_boxes(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read --boxes file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"--boxes file {path}: expected an object mapping file names to box lists")
    import numpy as np

    out = {}
    for name, boxes in data.items():
        array = np.asarray(boxes, dtype=np.float32)
        if array.size and (array.ndim != 2 or array.shape[1] != 4):
            raise InputError(f"--boxes file {path}: entry {name!r} is not a list of [x1, y1, x2, y2]")
        out[name] = array.reshape(-1, 4)
    return out


def _write_png(path: Path, rgb) -> None:
    if not cv2.imwrite(str(path), rgb[..., ::-1]):
        raise OSError(f"cannot write {path}")


def run_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    inputs = expand_inputs(args.inputs)
    if not inputs:
        print("dwpose predict: error: no input files found", file=sys.stderr)
        return 2
    predictor = Predictor(args)
    failures = []
    for path in tqdm(inputs, unit="file", disable=args.no_progress or len(inputs) < 2):
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                predictor.video(path)
            else:
                predictor.image(path)
        except (ImageReadError, VideoReadError) as exc:  # their message starts with the path
            failures.append(path)
            tqdm.write(f"skipped {exc}", file=sys.stderr)
        except OSError as exc:
            failures.append(path)
            tqdm.write(f"skipped {path}: {exc}", file=sys.stderr)
        except Exception as exc:  # keep going; name the unexpected error type
            failures.append(path)
            tqdm.write(f"skipped {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
    done = len(inputs) - len(failures)
    print(f"{done} of {len(inputs)} input(s) done, {len(failures)} failed; results in {predictor.out}/")
    return 1 if failures else 0
