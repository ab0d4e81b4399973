"""Options that several `dwpose` commands share: the argparse types and groups that add them, and
the typed, frozen objects a command builds once from the parsed namespace and hands down to the
library (`PipelineOptions` and its parts), so nothing below the CLI reads an argparse Namespace."""

from __future__ import annotations

import argparse
import re
import textwrap
from dataclasses import dataclass
from typing import Callable

from ..backends import BACKENDS, DTYPE_NAMES
from ..detection.yolox import NMS_THRESHOLD, SCORE_THRESHOLD
from ..models.release import Preset
from ..models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE, DWPOSE_PRESET
from ..models.rtmw import RTMLIB_MODES


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


def positive_number(refusal: str = "must be a positive number, got {text}") -> Callable[[str], float]:
    """A finite float above 0; `refusal` words the error (`{text}`: the value given), so each
    command keeps its own wording."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (value > 0 and value < float("inf")):
            raise argparse.ArgumentTypeError(refusal.format(text=text))
        return value

    return parse


def device_name(text: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?|gpu(\.\d+)?|npu", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N (openvino: also gpu, gpu.N, npu), got {text!r}")
    return text


# --------------------------------------------------------------------------- shared argument groups

def add_input_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="images, videos, folders or glob patterns")


def add_pipeline_arguments(p: argparse.ArgumentParser) -> None:
    """The pose model, detector and backend options (shared by `predict`, `demo` and `label`)."""
    add_model_arguments(p)
    add_runtime_arguments(p)
    add_detector_arguments(p)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
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


def add_runtime_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="onnxruntime, openvino (pip install 'dwpose-toolkit[openvino]') or torch (default: torch when a "
                        "model file is a PyTorch checkpoint, .pth/.pt/.ckpt/.tar, else onnxruntime)")
    p.add_argument("--device", type=device_name, default="cpu", help="cpu, cuda or cuda:N (openvino: also gpu[.N], npu)")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default="float32",
                   help="precision: torch backend; openvino takes bfloat16 as its inference precision hint")
    p.add_argument("--compile", action="store_true", help="torch backend: torch.compile (CUDA graphs on GPUs)")


def add_detector_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--score-threshold", type=fraction(allow_zero=True), default=SCORE_THRESHOLD,
                   help="detector: keep persons scoring at least this (0 to 1)")
    p.add_argument("--nms-threshold", type=fraction(allow_zero=False), default=NMS_THRESHOLD,
                   help="detector: IoU above which the weaker of two overlapping boxes is dropped (above 0, at most 1)")
    p.add_argument("--max-persons", type=int_in_range(1), default=None,
                   help="keep only the best k detections per image (default: all)")


# --------------------------------------------------------------------------- typed options

@dataclass(frozen=True)
class ModelOptions:
    """Which weights: names or paths as given (None: the --mode's, else DWPose's files)."""

    pose_model: str | None = None
    det_model: str | None = None
    mode: str | None = None               # rtmlib's Wholebody preset
    pose_arch: str | None = None          # `demo --model`: architecture of a torch pose checkpoint
    det_arch: str | None = None
    det_input_size: tuple[int, int] | None = None
    no_detector: bool = False
    boxes: str | None = None              # your own person boxes (JSON file): no detector is loaded

    @property
    def preset(self) -> Preset:
        """`--mode`'s files and detector size, or DWPose's (no mode)."""
        return RTMLIB_MODES[self.mode] if self.mode else DWPOSE_PRESET

    @property
    def wanted(self) -> list[str]:
        """The pose weights, then the detector's unless no detector is loaded."""
        names = [self.pose_model or self.preset.pose]
        if not (self.no_detector or self.boxes):
            names.append(self.det_model or self.preset.det)
        return names


@dataclass(frozen=True)
class RuntimeOptions:
    """Where and how the networks run (backend None: chosen from the files)."""

    backend: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    compile: bool = False


@dataclass(frozen=True)
class DetectorOptions:
    score_threshold: float = SCORE_THRESHOLD
    nms_threshold: float = NMS_THRESHOLD
    max_persons: int | None = None


@dataclass(frozen=True)
class PipelineOptions:
    """The model, runtime and detector options of `predict`, `demo` and `label`."""

    model: ModelOptions
    runtime: RuntimeOptions
    detector: DetectorOptions

    @classmethod
    def from_args(cls, args: argparse.Namespace, pose_arch: str | None = None) -> PipelineOptions:
        """The options `add_pipeline_arguments` added (`pose_arch`: `demo --model`)."""
        size = tuple(args.det_input_size) if args.det_input_size else None
        model = ModelOptions(args.pose_model, args.det_model, args.mode, pose_arch, args.det_arch, size,
                             args.no_detector, args.boxes)
        return cls(model, RuntimeOptions(args.backend, args.device, args.dtype, args.compile),
                   DetectorOptions(args.score_threshold, args.nms_threshold, args.max_persons))


def pipeline_kwargs(options: PipelineOptions, backend: str | None) -> dict:
    """`WholebodyPipeline.from_files` keyword arguments of the options, with the backend that
    reads the files (plain values, so they can be sent to other processes)."""
    model, runtime, detector = options.model, options.runtime, options.detector
    return dict(backend=backend, device=runtime.device, dtype=runtime.dtype, detector_arch=model.det_arch,
                score_threshold=detector.score_threshold, nms_threshold=detector.nms_threshold,
                max_persons=detector.max_persons, compile=runtime.compile, pose_arch=model.pose_arch,
                detector_input_size=list(model.det_input_size or model.preset.det_input_size or []) or None)


# --------------------------------------------------------------------------- help

class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default shown (unless its help already says it, or there is none: None,
    a flag that is off), and help lines wrapped between words, never inside a hyphenated name
    or a path (`dw-ll_ucoco_384.onnx`, `<work-dir>`)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or action.default == []:
            return text
        return super()._get_help_string(action)

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


def shared_help() -> dict[str, str]:
    """Help of options that several commands share, by destination, written once."""
    from ..progress import PLAIN_INTERVAL_S

    return {"no_progress": f"no progress bars (where stderr is not a terminal they are plain lines every "
                           f"{PLAIN_INTERVAL_S:g} s)"}
