"""`dwpose predict` and `dwpose demo` (predict on the bundled sample photo): images, folders,
globs and videos -> skeleton PNG/MP4 + OpenPose JSON.

Outputs are written per input and all or nothing (see `inference.outputs`): an input's files
appear under their final names only when complete, its JSON last. The first Ctrl-C finishes the
current image (or abandons the current video), prints the summary and exits with 130."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

import numpy as np

from ..drawing import DEFAULT_STYLE, list_styles, output_size_for, overlay, render as draw_style
from ..drawing.primitives import Parts
from ..errors import DWPoseError, ImageReadError, IncompleteVideo, MissingBoxesEntry, VideoReadError
from ..inference.io import encode_png, read_image
from ..inference.outputs import Interruption, StemNames, staged_outputs, write_synced
from ..inference.pipeline import WholebodyPipeline
from ..inference.user_boxes import boxes_for, entry_name, read_boxes
from ..inference.video import VideoSummary, process_video
from ..media import MAX_RESOLUTION, VIDEO_SUFFIXES
from ..progress import progress as progress_bar
from ..result import PoseResult
from .common import (expand_inputs, no_inputs, note, prepare_output_folder, remove_if_empty, resolve_model_files,
                     say, shown)
from .options import PipelineOptions, add_input_argument, add_pipeline_arguments, int_in_range, pipeline_kwargs


# --------------------------------------------------------------------------- arguments

def add_predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="whole-body poses for images, folders, globs and videos")
    add_input_argument(p)
    add_arguments(p)
    p.set_defaults(func=lambda args: run_predict(PredictOptions.from_args(args, args.inputs)))


def add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on the bundled sample photo")
    add_arguments(p)
    p.add_argument("--image", default=None, help="run on this photo instead of the bundled one")
    p.add_argument("--checkpoint", default=None,
                   help="pose weights (.pth or .onnx) run with the torch backend (replaces --pose-model)")
    p.add_argument("--model", dest="pose_arch", default=None,
                   help="architecture of --checkpoint, e.g. rtmpose-t-256x192 (default: detected from the file)")
    p.set_defaults(func=cmd_demo)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `predict` and `demo` after the inputs."""
    p.add_argument("--out", default="dwpose_out",
                   help="output folder (created if needed; removed again if the run wrote nothing into it)")
    add_pipeline_arguments(p)
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


@dataclass(frozen=True)
class OutputOptions:
    """What is drawn and exported for each input, and how."""

    parts: Parts = Parts()                # which parts are drawn and written to the JSON
    style: str = DEFAULT_STYLE
    resolution: int | None = None         # short side of the skeleton image (None: the input's)
    overlay: bool = False                 # also the skeleton over the photo
    controlnet_compat: bool = False       # JSON confidence 1.0 for present points

    @property
    def part_flags(self) -> dict:
        """`parts` as the include_* keywords of `render` and `to_openpose_json`."""
        return {f"include_{field.name}": getattr(self.parts, field.name) for field in fields(Parts)}


@dataclass(frozen=True)
class VideoOptions:
    batch_size: int = 8
    detect_every: int = 1
    smooth: bool = False


@dataclass(frozen=True)
class PredictOptions:
    inputs: tuple[str, ...]
    out: Path
    pipeline: PipelineOptions
    output: OutputOptions
    video: VideoOptions
    progress: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace, inputs: list[str], pose_arch: str | None = None) -> PredictOptions:
        """The options `add_arguments` added, for these inputs (`pose_arch`: `demo --model`)."""
        output = OutputOptions(Parts(not args.no_body, not args.no_hand, not args.no_face, args.feet), args.style,
                               args.resolution, args.overlay, args.controlnet_compat)
        return cls(tuple(inputs), Path(args.out), PipelineOptions.from_args(args, pose_arch), output,
                   VideoOptions(args.batch_size, args.detect_every, args.smooth), not args.no_progress)


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole pipeline on the bundled sample photo, or `--image` (official weights unless
    given; `--checkpoint` runs your pose weights with the torch backend)."""
    image = args.image or str(resources.files("dwpose") / "assets" / "human-pose.jpeg")
    options = PredictOptions.from_args(args, [image], pose_arch=args.pose_arch)
    if args.checkpoint:
        pipeline = options.pipeline
        pipeline = dataclasses.replace(pipeline, model=dataclasses.replace(pipeline.model, pose_model=args.checkpoint),
                                       runtime=dataclasses.replace(pipeline.runtime, backend="torch"))
        options = dataclasses.replace(options, pipeline=pipeline)
    return run_predict(options)


# --------------------------------------------------------------------------- the predictor

class Predictor:
    """Loads the models of the options and writes each input's outputs into `options.out` (which
    `prepare_output_folder` made ready)."""

    def __init__(self, options: PredictOptions) -> None:
        self.options = options
        self.out = options.out
        model = options.pipeline.model
        self.boxes = read_boxes(model.boxes) if model.boxes else None
        files = resolve_model_files(options.pipeline, options.progress)
        self.pipeline = WholebodyPipeline.from_files(files.pose, files.det,
                                                     **pipeline_kwargs(options.pipeline, files.backend))
        self._stem = StemNames()
        self.interruption: Interruption | None = None

    def render(self, result: PoseResult) -> np.ndarray:
        output = self.options.output
        return draw_style(result, output.style, output_size=output_size_for(result.image_size, output.resolution),
                          **output.part_flags)

    def to_json(self, result: PoseResult) -> dict:
        output = self.options.output
        return result.to_openpose_json(**output.part_flags, controlnet_compat=output.controlnet_compat)

    def image(self, path: Path) -> int:
        """Writes an image's outputs; returns the number of people found."""
        image = read_image(path)
        result = self.pipeline(image, None if self.boxes is None else boxes_for(self.boxes, path, image, note))
        skeleton = self.render(result)
        stem = self._stem(path)
        files = {f"{stem}_pose.png": encode_png(skeleton[..., ::-1])}
        if self.options.output.overlay:
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
        video = self.options.video
        summary = process_video(self.pipeline, path, self.out, self.render, self.to_json,
                                batch_size=video.batch_size, detect_every=video.detect_every,
                                smooth=video.smooth, progress=self.options.progress,
                                stem=self._stem(path), interruption=self.interruption, user_boxes=user_boxes)
        if not summary.complete:
            raise IncompleteVideo(f"{path}: decoded {summary.frames} of {summary.expected_frames} frames "
                                  f"(truncated or corrupt video); {summary.video_path.name} and "
                                  f"{summary.jsonl_path.name} hold the decoded ones", summary)
        return summary


# --------------------------------------------------------------------------- what is said

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
    """Inputs done and failed and people found over a run, for the summary line."""

    def __init__(self, total: int, failed: int) -> None:
        self.total, self.done, self.failed = total, 0, failed
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

    def found(self) -> str:
        parts = []
        if self.images:
            parts.append(f"{people(self.image_people)} in {self.images} image(s) "
                         f"({self.images_without_people} without people)")
        if self.videos:
            parts.append(f"{self.frames} frame(s) of {self.videos} video(s) "
                         f"({self.frames_without_people} without people)")
        return ", ".join(parts)

    def summary(self, stopped: bool) -> str:
        line = f"{self.done} of {self.total} input(s) done, {self.failed} failed"
        if stopped:
            line += f", {self.total - self.done - self.failed} not done (interrupted)"
        found = self.found()
        return f"{line}; found {found}" if found else line


# --------------------------------------------------------------------------- the run

def run_predict(options: PredictOptions) -> int:
    inputs, empty = expand_inputs(list(options.inputs))
    if not inputs:
        return no_inputs("predict", empty)
    created = prepare_output_folder(options.out)
    try:
        code, summary = _predict_all(options, inputs, empty)
    finally:  # also when the models fail to load: no empty folder left behind
        removed = bool(created) and remove_if_empty(created)
    print(f"{summary}; {'nothing written' if removed else f'results in {shown(options.out)}/'}")
    return code


def _predict_all(options: PredictOptions, inputs: list[Path], empty: list[str]) -> tuple[int, str]:
    """Every input through the predictor: one line per input (people found on stdout, a
    skipped or failed input on stderr); returns the exit code and the summary line."""
    predictor = Predictor(options)
    for message in empty:
        note(f"skipped {message}")
    tally, stopped = Tally(len(inputs) + len(empty), len(empty)), False
    with Interruption() as interruption:
        predictor.interruption = interruption
        for path in progress_bar(inputs, unit="file", disable=not options.progress or len(inputs) < 2):
            if interruption.requested:
                break
            try:
                _predict_one(predictor, path, tally)
            except KeyboardInterrupt:  # a video abandoned, or a second Ctrl-C
                note(f"stopped {path}: interrupted, nothing written for it")
                stopped = True
                break
        stopped = stopped or interruption.requested
    return (130 if stopped else 1 if tally.failed else 0), tally.summary(stopped)


def _predict_one(predictor: Predictor, path: Path, tally: Tally) -> None:
    """One input: its line on stdout, or, for a user error (`DWPoseError`, `OSError`), why it
    was skipped on stderr (counted as failed)."""
    try:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            summary = predictor.video(path)
            tally.video(summary)
            say(video_line(path, summary))
        else:
            count = predictor.image(path)
            tally.image(count)
            say(image_line(path, count))
        tally.done += 1
        return
    except IncompleteVideo as exc:
        tally.video(exc.summary)
        say(video_line(path, exc.summary))
        note(f"incomplete {exc}")
    except (ImageReadError, VideoReadError, MissingBoxesEntry) as exc:  # their message starts with the path
        note(f"skipped {exc}")
    except OSError as exc:
        note(f"skipped {path}: {exc}")
    except DWPoseError as exc:  # e.g. an image over the side limit (named once)
        text = str(exc)
        note(f"skipped {text}" if text.startswith(str(path)) else f"skipped {path}: {text}")
    # Anything else is a bug: it stops the run with its traceback, not a "skipped" line.
    tally.failed += 1
