"""`dwpose predict`: images, folders, globs and videos -> skeleton PNG/MP4 + OpenPose JSON.

Outputs are written per input and all or nothing (see `inference.outputs`): an input's files
appear under their final names only when complete, its JSON last. The first Ctrl-C finishes the
current image (or abandons the current video), prints the summary and exits with 130."""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from ..backends import BACKENDS, DTYPE_NAMES, backend_for_files
from ..drawing import DEFAULT_STYLE, list_styles, output_size_for, overlay, render as draw_style
from ..errors import (DWPoseError, ImageReadError, IncompleteVideo, InputError, MissingBoxesEntry, VideoReadError,
                      WeightsError)
from ..fileio import is_temporary, temporary_sibling
from ..inference.io import encode_png, read_image
from ..inference.outputs import Interruption, StemNames, remove_stale_temporaries, staged_outputs, write_synced
from ..inference.pipeline import WholebodyPipeline
from ..inference.user_boxes import boxes_for, entry_name, read_boxes
from ..inference.video import VideoSummary, process_video
from ..media import IMAGE_SUFFIXES, MAX_RESOLUTION, VIDEO_SUFFIXES
from ..progress import note as _note, progress as progress_bar
from ..models.release import Preset
from ..models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE, DWPOSE_PRESET
from ..models.rtmw import RTMLIB_MODES
from ..models.zoo import resolve_weights
from ..result import PoseResult



# --------------------------------------------------------------------------- argument types
# argparse turns an ArgumentTypeError into one line naming the option, and exit code 2.

def int_in_range(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


def fraction(allow_zero: bool) -> Callable[[str], float]:
    """A float in [0, 1] (or (0, 1] when `allow_zero` is false)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (0.0 <= value <= 1.0) or (value == 0.0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"must be in {'[0' if allow_zero else '(0'}, 1], got {text}")
        return value

    return parse


def device_name(text: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?|gpu(\.\d+)?|npu", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N (openvino: also gpu, gpu.N, npu), got {text!r}")
    return text


def add_arguments(p: argparse.ArgumentParser, inputs: bool = True) -> None:
    if inputs:
        add_input_argument(p)
    p.add_argument("--out", default="dwpose_out",
                   help="output folder (created if needed; removed again if the run wrote nothing into it)")
    add_model_arguments(p)
    p.add_argument("--no-body", action="store_true", help="leave the body out of the drawing and the JSON")
    p.add_argument("--no-hand", action="store_true", help="leave the hands out of the drawing and the JSON")
    p.add_argument("--no-face", action="store_true", help="leave the face out of the drawing and the JSON")
    p.add_argument("--feet", action="store_true", help="draw and export the 6 foot points")
    p.add_argument("--style", choices=list_styles(), default=DEFAULT_STYLE,
                   help="how the skeleton is drawn (see README, Drawing styles)")
    p.add_argument("--resolution", type=int_in_range(1, MAX_RESOLUTION), default=None,
                   help="short side of the skeleton image (default: input size)")
    p.add_argument("--overlay", action="store_true", help="also write the skeleton over the photo")
    p.add_argument("--controlnet-compat", action="store_true", help="JSON confidence 1.0 for present points (ecosystem convention)")
    p.add_argument("--batch-size", type=int_in_range(1), default=8, help="video frames per batch")
    p.add_argument("--detect-every", type=int_in_range(1), default=1,
                   help="video: run the detector every k frames, track in between")
    p.add_argument("--smooth", action="store_true", help="video: One-Euro smoothing of keypoints")
    p.add_argument("--no-progress", action="store_true")


def add_input_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="images, videos, folders or glob patterns")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """The pose model, detector and backend options (shared by `predict` and `label`)."""
    p.add_argument("--mode", choices=tuple(RTMLIB_MODES), default=None,
                   help="rtmlib's Wholebody preset (RTMW + Human-Art YOLOX); --pose-model/--det-model override it")
    p.add_argument("--pose-model", default=None,
                   help="pose weights: path, official file name or model name with released weights, e.g. "
                        f"rtmw-l-384x288 (default {DEFAULT_POSE}, or the --mode's)")
    p.add_argument("--det-model", default=None,
                   help=f"YOLOX weights: path or official file name (default {DEFAULT_DETECTOR}, or the --mode's)")
    p.add_argument("--det-arch", default=None, help="YOLOX size for the torch backend (default: read from the file)")
    p.add_argument("--det-input-size", type=int, nargs=2, metavar=("W", "H"), default=None,
                   help="detector input for files that do not fix it (default: the --mode's, else 640 640)")
    p.add_argument("--no-detector", action="store_true", help="no detector: the whole image is one person")
    p.add_argument("--boxes", default=None,
                   help='JSON {"<file name or stem>": [[x1, y1, x2, y2], ...]}: your own person boxes instead of the '
                        "detector (a video's boxes are used on every frame); an input without an entry is skipped "
                        "and reported")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="onnxruntime, openvino (pip install 'dwpose-toolkit[openvino]') or torch (default: torch when a "
                        "model file is a PyTorch checkpoint, .pth/.pt/.ckpt/.tar, else onnxruntime)")
    p.add_argument("--device", type=device_name, default="cpu", help="cpu, cuda or cuda:N (openvino: also gpu[.N], npu)")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default="float32",
                   help="precision: torch backend; openvino takes bfloat16 as its inference precision hint")
    p.add_argument("--compile", action="store_true", help="torch backend: torch.compile (CUDA graphs on GPUs)")
    p.add_argument("--score-threshold", type=fraction(allow_zero=True), default=0.3,
                   help="detector: keep persons scoring at least this (0 to 1)")
    p.add_argument("--nms-threshold", type=fraction(allow_zero=False), default=0.45,
                   help="detector: IoU above which the weaker of two overlapping boxes is dropped (above 0, at most 1)")
    p.add_argument("--max-persons", type=int_in_range(1), default=None,
                   help="keep only the best k detections per image (default: all)")


# --------------------------------------------------------------------------- inputs and outputs

def expand_inputs(patterns: list[str]) -> tuple[list[Path], list[str]]:
    """Files named, found in folders (recursively, images and videos) or matched by globs, and
    one message per folder or glob that yields nothing (reported as a failed input)."""
    found: list[Path] = []
    empty: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not is_temporary(p)
                           and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            if not files:
                empty.append(f"{pattern}: folder holds no images or videos")
        elif any(ch in pattern for ch in "*?[") and not path.exists():
            files = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                           if Path(p).is_file() and not is_temporary(p))
            if not files:
                empty.append(f"{pattern}: matches no files")
        else:
            files = [path]  # a missing file is reported when processed
        found += files
    return found, empty


def prepare_output_folder(out: Path) -> list[Path]:
    """Create `out` and make sure files can be written there, before any weights are loaded.
    Returns the folders it created, outermost first (see `remove_if_empty`)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    created = [folder for folder in (out, *out.parents) if not folder.exists()][::-1]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = temporary_sibling(out / "probe")
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None
    remove_stale_temporaries(out)  # left by killed runs
    return created


def remove_if_empty(created: list[Path]) -> bool:
    """Remove the folders a run created (`prepare_output_folder`'s list) where it left them
    empty, innermost first; never a folder that was there before. True if all went."""
    for folder in reversed(created):
        try:
            folder.rmdir()  # fails, and so keeps it, when anything is inside
        except OSError:
            return False
    return True


def shown(path: str | os.PathLike) -> str:
    """A path as printable text, even when its name is not valid UTF-8 (bytes as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


# --------------------------------------------------------------------------- the run

def resolve_model_files(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The pose and detector weight files the options name (downloaded when official names
    are not cached); no detector with your own boxes or `--no-detector`. Every file that cannot
    be had is named in one error (offline: all of them at once). Without `--backend`,
    `args.backend` becomes the one that reads the files (`backends.backend_for_files`)."""
    pose_arch = getattr(args, "pose_arch", None)  # `demo --model`
    if pose_arch and args.backend not in (None, "torch"):
        raise InputError("a pose architecture (--model) needs the torch backend (--backend torch)")
    preset = _preset(args)
    wanted = [args.pose_model or preset.pose]
    if not (args.no_detector or args.boxes):  # with your own boxes (or none wanted) no detector is loaded
        wanted.append(args.det_model or preset.det)
    found: list[Path] = []
    problems: list[str] = []
    for name in wanted:
        try:  # a model name may give a released .pth unless a file backend was asked for
            found.append(Path(resolve_weights(name, progress=not args.no_progress, backend=args.backend or "torch")))
        except WeightsError as exc:
            problems.append(str(exc))
    if problems:
        raise WeightsError("; ".join(problems))
    pose, det = found[0], found[1] if len(found) > 1 else None
    args.backend = backend_for_files(pose, det, backend=args.backend)
    if pose_arch and args.backend != "torch":
        raise InputError("a pose architecture (--model) needs the torch backend (--backend torch)")
    return pose, det


def _preset(args: argparse.Namespace) -> Preset:
    """`--mode`'s files and detector size, or DWPose's (no mode)."""
    mode = getattr(args, "mode", None)
    return RTMLIB_MODES[mode] if mode else DWPOSE_PRESET


def pipeline_options(args: argparse.Namespace) -> dict:
    """`WholebodyPipeline.from_files` keyword arguments of the model options (plain values, so
    they can be sent to other processes)."""
    det_input_size = getattr(args, "det_input_size", None)
    return dict(backend=args.backend, device=args.device, dtype=args.dtype, detector_arch=args.det_arch,
                score_threshold=args.score_threshold, nms_threshold=args.nms_threshold, max_persons=args.max_persons,
                compile=args.compile, pose_arch=getattr(args, "pose_arch", None),
                detector_input_size=list(det_input_size or _preset(args).det_input_size or []) or None)


class Predictor:
    """Loads the models of the options and writes each input's outputs into `args.out` (which
    `prepare_output_folder` made ready)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Path(args.out)
        self.boxes = read_boxes(args.boxes) if args.boxes else None
        pose, det = resolve_model_files(args)
        self.pipeline = WholebodyPipeline.from_files(pose, det, **pipeline_options(args))
        self._stem = StemNames()
        self.interruption: Interruption | None = None

    def parts(self) -> dict:
        a = self.args
        return dict(include_body=not a.no_body, include_hand=not a.no_hand, include_face=not a.no_face, include_foot=a.feet)

    def render(self, result: PoseResult) -> np.ndarray:
        return draw_style(result, self.args.style, output_size=output_size_for(result.image_size, self.args.resolution),
                          **self.parts())

    def to_json(self, result: PoseResult) -> dict:
        return result.to_openpose_json(**self.parts(), controlnet_compat=self.args.controlnet_compat)

    def image(self, path: Path) -> int:
        """Writes an image's outputs; returns the number of people found."""
        image = read_image(path)
        result = self.pipeline(image, None if self.boxes is None else boxes_for(self.boxes, path, image, note))
        skeleton = self.render(result)
        stem = self._stem(path)
        files = {f"{stem}_pose.png": encode_png(skeleton[..., ::-1])}
        if self.args.overlay:
            files[f"{stem}_overlay.png"] = encode_png(overlay(image[..., ::-1], skeleton)[..., ::-1])
        files[f"{stem}.json"] = json.dumps(self.to_json(result)).encode()  # last: it implies the rest
        with staged_outputs([self.out / name for name in files], self.interruption) as temporaries:
            for temporary, data in zip(temporaries, files.values()):
                write_synced(temporary, data)
        return len(result)

    def video(self, path: Path) -> VideoSummary:
        if not path.is_file():
            raise VideoReadError(f"{path}: not found")
        user_boxes = None
        if self.boxes is not None:  # the same rule as for images: no entry, skipped
            entry_name(self.boxes, path)
            user_boxes = lambda frame: boxes_for(self.boxes, path, frame, note)  # noqa: E731
        summary = process_video(self.pipeline, path, self.out, self.render, self.to_json,
                                batch_size=self.args.batch_size, detect_every=self.args.detect_every,
                                smooth=self.args.smooth, progress=not self.args.no_progress,
                                stem=self._stem(path), interruption=self.interruption, user_boxes=user_boxes)
        if not summary.complete:
            raise IncompleteVideo(f"{path}: decoded {summary.frames} of {summary.expected_frames} frames "
                                  f"(truncated or corrupt video); {summary.video_path.name} and "
                                  f"{summary.jsonl_path.name} hold the decoded ones", summary)
        return summary


def note(message: str) -> None:
    """A line on stderr that does not break the progress bar."""
    _note(message)


def people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def image_line(path: Path, count: int) -> str:
    """What `predict` says about an image (stdout)."""
    if count == 0:
        return f"{shown(path)}: no people found (the skeleton image is black)"
    return f"{shown(path)}: {people(count)}"


def video_line(path: Path, summary: VideoSummary) -> str:
    """What `predict` says about a video (stdout): frames and people per frame."""
    frames = f"{summary.frames} frame{'s' if summary.frames != 1 else ''}"
    if summary.people == 0:
        return f"{shown(path)}: {frames}, no people found in any"
    mean = summary.people / summary.frames
    return (f"{shown(path)}: {frames}, {mean:.1f} people per frame on average (at most {summary.most_people}), "
            f"{summary.frames_without_people} frame(s) without people")


class Tally:
    """People found over a run, for the summary line."""

    def __init__(self) -> None:
        self.images = self.image_people = self.images_without_people = 0
        self.videos = self.frames = self.frames_without_people = 0

    def image(self, count: int) -> None:
        self.images += 1
        self.image_people += count
        self.images_without_people += count == 0

    def video(self, summary: VideoSummary) -> None:
        self.videos += 1
        self.frames += summary.frames
        self.frames_without_people += summary.frames_without_people

    def __str__(self) -> str:
        parts = []
        if self.images:
            parts.append(f"{people(self.image_people)} in {self.images} image(s) "
                         f"({self.images_without_people} without people)")
        if self.videos:
            parts.append(f"{self.frames} frame(s) of {self.videos} video(s) "
                         f"({self.frames_without_people} without people)")
        return ", ".join(parts)


def run_predict(args: argparse.Namespace) -> int:
    inputs, empty = expand_inputs(args.inputs)
    if not inputs:
        reason = f" ({'; '.join(empty)})" if empty else ""
        print(f"dwpose predict: error: no input files found{reason}", file=sys.stderr)
        return 2
    out = Path(args.out)
    created = prepare_output_folder(out)
    try:
        code, summary = _predict_all(args, inputs, empty)
    finally:  # also when the models fail to load: no empty folder left behind
        removed = bool(created) and remove_if_empty(created)
    print(f"{summary}; {'nothing written' if removed else f'results in {shown(out)}/'}")
    return code


def _predict_all(args: argparse.Namespace, inputs: list[Path], empty: list[str]) -> tuple[int, str]:
    """Every input through the predictor: one line per input (people found on stdout, a
    skipped or failed input on stderr); returns the exit code and the summary line."""
    predictor = Predictor(args)
    for message in empty:
        note(f"skipped {message}")
    total, done, failed, stopped = len(inputs) + len(empty), 0, len(empty), False
    tally = Tally()

    def say(line: str) -> None:
        _note(line, file=sys.stdout)

    with Interruption() as interruption:
        predictor.interruption = interruption
        for path in progress_bar(inputs, unit="file", disable=args.no_progress or len(inputs) < 2):
            if interruption.requested:
                break
            try:
                if path.suffix.lower() in VIDEO_SUFFIXES:
                    summary = predictor.video(path)
                    tally.video(summary)
                    say(video_line(path, summary))
                else:
                    count = predictor.image(path)
                    tally.image(count)
                    say(image_line(path, count))
                done += 1
            except KeyboardInterrupt:  # a video abandoned, or a second Ctrl-C
                note(f"stopped {path}: interrupted, nothing written for it")
                stopped = True
                break
            except IncompleteVideo as exc:
                failed += 1
                tally.video(exc.summary)
                say(video_line(path, exc.summary))
                note(f"incomplete {exc}")
            except (ImageReadError, VideoReadError, MissingBoxesEntry) as exc:  # their message starts with the path
                failed += 1
                note(f"skipped {exc}")
            except OSError as exc:
                failed += 1
                note(f"skipped {path}: {exc}")
            except DWPoseError as exc:  # e.g. an image over the side limit (named once)
                failed += 1
                text = str(exc)
                note(f"skipped {text}" if text.startswith(str(path)) else f"skipped {path}: {text}")
            except Exception as exc:  # keep going; name the unexpected error type
                failed += 1
                note(f"skipped {path}: {type(exc).__name__}: {exc}")
        stopped = stopped or interruption.requested
    summary = f"{done} of {total} input(s) done, {failed} failed"
    if stopped:
        summary += f", {total - done - failed} not done (interrupted)"
    if str(tally):
        summary += f"; found {tally}"
    return (130 if stopped else 1 if failed else 0), summary
