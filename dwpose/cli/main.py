"""`dwpose` command line. Every command reports a user error (a `DWPoseError` or an `OSError`)
as one line on stderr and exit code 2; any other exception is a bug and shows its traceback."""

from __future__ import annotations

import argparse
import sys
import textwrap
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence


EXIT_USER_ERROR = 2


def _sample_image() -> Path:
    return Path(str(resources.files("dwpose") / "assets" / "human-pose.jpeg"))


# --------------------------------------------------------------------------- commands

def cmd_models(args: argparse.Namespace) -> int:
    from dwpose.models.registry import canonical_name, get_config, get_family, list_models
    from dwpose.models.zoo import REGISTRY, zoo_markdown

    if args.markdown:
        print(zoo_markdown(args.kind), end="")
        return 0
    if args.kind == "backbone":  # not models of their own: registry names for `pretrained_backbone`
        print(f"{'name':20s} file")
        for entry in REGISTRY.values():
            if entry.kind == "backbone":
                print(f"{entry.alias:20s} {entry.filename}")
        return 0
    names = list_models(family=args.family, kind=args.kind)  # checks --family
    released = {}
    for entry in REGISTRY.values():
        released[entry.arch] = released.get(entry.arch, 0) + 1
    print(f"{'name':20s} {'family':8s} {'kind':8s} {'input (HxW)':11s} released")
    for name in names:
        family, config = get_family(name), get_config(name)
        width, height = config.input_size
        alias = canonical_name(name)
        note = f"  (alias of {alias})" if alias != name else ""
        files = released.get(alias, 0)  # registry files: `dwpose models --markdown` lists them
        mark = f"{files} file{'s' if files > 1 else ''}" if files else "-"
        print(f"{name:20s} {family.name:8s} {family.kind:8s} {f'{height}x{width}':11s} {mark:8s}{note}".rstrip())
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from dwpose.fileio import check_output_file
    from dwpose.models.checkpoint import pose_state_dict_from_file, save_state_dict
    from dwpose.models.registry import check_pose_state_dict

    check_output_file(args.dst)  # before reading anything
    state = pose_state_dict_from_file(args.src, weights=args.weights, distill_stage=args.stage)
    name = check_pose_state_dict(state, source=str(args.src))  # nothing is written for anything else
    save_state_dict(state, args.dst, meta={"converted_from": str(args.src), "model": name})
    print(f"wrote {args.dst}: {len(state)} tensors, {name}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from dwpose.fileio import check_output_file
    from dwpose.models import create_model, detect_model_name, get_family
    from dwpose.models.onnx_io import check_opset, export_onnx

    check_output_file(args.out)  # before building and tracing the model
    if args.model is None:  # the checkpoint says what it is (a CheckpointError says when it cannot)
        args.model = detect_model_name(args.checkpoint)
        print(f"{args.checkpoint}: {args.model}")
    family = get_family(args.model)
    check_opset(args.opset, family.kind)  # before loading weights
    input_name, output_names = family.onnx_io_names
    model = create_model(args.model, checkpoint=args.checkpoint, weights=args.weights)
    path = export_onnx(model, args.out, dynamic_batch=not args.static_batch, opset=args.opset,
                       input_name=input_name, output_names=output_names)
    batch = "batch" if not args.static_batch else 1
    print(f"wrote {path} ({input_name} [{batch},3,{model.input_size[1]},{model.input_size[0]}] -> {', '.join(output_names)})")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .predict import run_predict

    return run_predict(args)


def cmd_label(args: argparse.Namespace) -> int:
    from .label import run_label

    return run_label(args)


def _train(args: argparse.Namespace, distill: bool) -> int:
    from .train import run_train

    return run_train(args, distill=distill)


def _eval(args: argparse.Namespace) -> int:
    from .train import run_eval

    return run_eval(args)


def _ubody_extract(args: argparse.Namespace) -> int:
    from .train import run_ubody_extract

    return run_ubody_extract(args)


# --------------------------------------------------------------------------- synth (synthetic dataset)

def cmd_synth(args: argparse.Namespace) -> int:
    from dwpose.data.synth import (PRESETS, SynthSpec, generate_dataset, parse_count, parse_persons, parse_preset,
                                   parse_seed, parse_size)

    width, height = parse_size(args.size)
    preset = parse_preset(args.preset)
    low, high = parse_persons(args.persons) if args.persons is not None else PRESETS[preset].persons
    spec = SynthSpec(num=parse_count(args.num), seed=parse_seed(args.seed), width=width, height=height,
                     min_persons=low, max_persons=high, preset=preset)
    workers = parse_count(args.workers, "--workers", 1, 256) if args.workers is not None else None
    try:
        summary = generate_dataset(args.out, spec, overwrite=args.overwrite, workers=workers,
                                   progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"dwpose synth: interrupted; run the same command again to resume in {args.out}", file=sys.stderr)
        return 130
    resumed = f" ({summary['resumed']} done by an earlier run)" if summary["resumed"] else ""
    print(f"wrote {summary['images']} images{resumed} with {summary['people']} annotated people to {args.out} "
          f"({summary['images_per_second']:.0f} images/s, {summary['workers']} worker(s)); "
          f"annotations: {summary['annotation_file']}, images: {summary['image_dir']}")
    return 0


def add_synth_parser(sub) -> None:
    # Values are validated by the command (one clear line and exit 2 for a bad one), not argparse.
    p = sub.add_parser("synth", help="generate a synthetic COCO-WholeBody dataset (rendered people, exact labels)")
    p.add_argument("out", help="output folder: images/, annotations.json, boxes.json (a new or empty folder, or an "
                               "interrupted run of the same values, which resumes)")
    p.add_argument("--num", required=True, help="number of images")
    p.add_argument("--seed", default="0", help="random seed; the same seed gives the same files (default 0)")
    p.add_argument("--size", default="256x256", help="image size WxH (default 256x256)")
    p.add_argument("--persons", default=None,
                   help="people per image: K (1..K) or A..B (default: the preset's, 1 / 1..2 / 1..3)")
    p.add_argument("--preset", default=None,
                   help="difficulty: easy (one large person, front to 3/4 view, plain background, no occluders), "
                        "medium, hard (default: people of any size and view, cut by the border, occluders, clutter)")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset dwpose synth wrote there (only its files are removed)")
    p.add_argument("--workers", default=None, help="processes (default: one per CPU core)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_synth)


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole pipeline on the bundled sample photo, or `--image` (official weights unless
    given; `--checkpoint` runs your pose weights with the torch backend)."""
    from .predict import run_predict

    args.inputs = [args.image or str(_sample_image())]
    if args.checkpoint:
        args.pose_model, args.backend = args.checkpoint, "torch"
    return run_predict(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import run_serve

    return run_serve(args)


def cmd_comfyui_install(args: argparse.Namespace) -> int:
    from dwpose.integrations.comfyui.install import install

    installed = install(args.comfyui, name=args.name, force=args.force)
    if installed.removed is not None:
        print(f"removed {installed.removed}, written by an earlier comfyui-install: under that name ComfyUI "
              "cannot import the dwpose package")
    models = installed.loader.parents[2] / "models" / "dwpose"
    print(f"wrote {installed.loader}; restart ComfyUI to load the dwpose nodes (dwpose-toolkit must be installed "
          f"in ComfyUI's Python); local model files go into {models}")
    return 0


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    from dwpose import __version__
    from dwpose.integrations.comfyui.install import DEFAULT_NODE_FOLDER

    parser = argparse.ArgumentParser(prog="dwpose", description="DWPose whole-body pose estimation")
    # the distribution's name beside the version: `pip install dwpose` is another project
    parser.add_argument("--version", action="version", version=f"dwpose-toolkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list model names with their family, input size and released files")
    p.add_argument("--family", default=None, help="only this family (rtmpose, rtmw, yolox)")
    p.add_argument("--kind", choices=("pose", "detector", "backbone"), default=None,
                   help="only pose models, detectors or the recipes' pretrained backbones")
    p.add_argument("--markdown", action="store_true",
                   help="print the model zoo instead: every released file with its source, size, sha256, the "
                        "authors' whole-body AP and licence, as a Markdown table (the README's)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("convert", help="turn a distiller/training checkpoint into a plain pose checkpoint")
    p.add_argument("src", help="input .pth (mmpose/DWPose/dwpose, plain or distiller)")
    p.add_argument("dst", help="output .pth ({'state_dict', 'meta'})")
    p.add_argument("--stage", type=int, choices=(1, 2), default=None,
                   help="distillation stage of a distiller checkpoint (default: detect)")
    p.add_argument("--weights", choices=("default", "ema", "raw"), default="default",
                   help="which weights of a training checkpoint (default: the EMA/evaluated ones)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("export", help="export a model to ONNX with the official I/O names")
    p.add_argument("model", nargs="?", default=None,
                   help="model name of any family, e.g. rtmpose-l-384x288, rtmw-l-384x288, yolox-l (see `dwpose "
                        "models`); default: detected from the checkpoint")
    p.add_argument("--checkpoint", required=True, help=".pth or .onnx weights")
    p.add_argument("--out", required=True, help="output .onnx path")
    p.add_argument("--static-batch", action="store_true", help="fixed batch 1 instead of a dynamic batch axis")
    p.add_argument("--opset", type=int, default=11,
                   help="ONNX opset (default 11, as the official files; an unsupported one is refused, naming the range)")
    p.add_argument("--weights", choices=("default", "ema", "raw"), default="default",
                   help="which weights of a training checkpoint (default: the EMA/evaluated ones)")
    p.set_defaults(func=cmd_export)

    from .predict import add_arguments

    p = sub.add_parser("predict", help="whole-body poses for images, folders, globs and videos")
    add_arguments(p)
    p.set_defaults(func=cmd_predict)

    from .label import add_label_arguments

    p = sub.add_parser("label", help="teacher labels (COCO-WholeBody, Parquet, logits) for many images and videos, "
                                     "resumable, in-process or on Ray")
    add_label_arguments(p)
    p.set_defaults(func=cmd_label)

    from .train import add_eval_arguments, add_train_arguments

    p = sub.add_parser("train", help="train an RTMPose model from a TOML recipe")
    add_train_arguments(p)
    p.set_defaults(func=lambda a: _train(a, distill=False))

    p = sub.add_parser("distill", help="two-stage pose distillation (TPD) from a TOML recipe")
    add_train_arguments(p)
    p.add_argument("--stage", type=int, choices=(1, 2), default=None,
                   help="the recipe's TPD stage, checked against it (default: the recipe's distill.stage)")
    p.add_argument("--teacher-checkpoint", default=None, help="override the recipe's teacher weights")
    p.set_defaults(func=lambda a: _train(a, distill=True))

    p = sub.add_parser("eval", help="COCO-WholeBody / UBody AP of a checkpoint")
    add_eval_arguments(p)
    p.set_defaults(func=_eval)

    p = sub.add_parser("ubody-extract", help="extract UBody video frames (30 fps PNGs)")
    p.add_argument("videos", help="folder of UBody videos (<scene>/<name>.mp4)")
    p.add_argument("out", help="output image root (UBody/images)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second to extract")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_ubody_extract)

    p = sub.add_parser("demo", help="run the whole pipeline on the bundled sample photo")
    add_arguments(p, inputs=False)
    p.add_argument("--image", default=None, help="run on this photo instead of the bundled one")
    p.add_argument("--checkpoint", default=None,
                   help="pose weights (.pth or .onnx) run with the torch backend (replaces --pose-model)")
    p.add_argument("--model", dest="pose_arch", default=None,
                   help="architecture of --checkpoint, e.g. rtmpose-t-256x192 (default: detected from the file)")
    p.set_defaults(func=cmd_demo)

    from .serve import add_arguments as add_serve_arguments

    p = sub.add_parser("serve", help="local web demo (Gradio): upload an image or video, see and download the poses")
    add_serve_arguments(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("comfyui-install",
                       help=f"add the dwpose nodes to a ComfyUI checkout (custom_nodes/{DEFAULT_NODE_FOLDER})")
    p.add_argument("comfyui", help="the ComfyUI folder (or its custom_nodes folder)")
    p.add_argument("--name", default=DEFAULT_NODE_FOLDER,
                   help=f"folder name under custom_nodes (default: {DEFAULT_NODE_FOLDER}; not 'dwpose', which would "
                        "hide the installed package from ComfyUI)")
    p.add_argument("--force", action="store_true", help="overwrite a folder of that name not written by this command")
    p.set_defaults(func=cmd_comfyui_install)

    add_synth_parser(sub)
    from dwpose.progress import PLAIN_INTERVAL_S

    # Help of options that several commands share, written once.
    shared_help = {"no_progress": f"no progress bars (where stderr is not a terminal they are plain lines every "
                                  f"{PLAIN_INTERVAL_S:g} s)"}
    for command in (parser, *sub.choices.values()):
        command.formatter_class = HelpFormatter
        for action in command._actions:
            if action.help is None and action.dest in shared_help:
                action.help = shared_help[action.dest]
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    from dwpose.errors import DWPoseError

    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except (DWPoseError, OSError) as exc:
        # User errors only: anything else is a bug and keeps its traceback.
        print(f"dwpose {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"dwpose {args.command}: interrupted", file=sys.stderr)
        return 130


def one_line(exc: BaseException) -> str:
    """The message of an error on one line (for an OSError: its reason and file name)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc).strip().replace("\n", " | ") or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
