"""`dwpose` command line. Every command reports a user error as one line on stderr and exit
code 2, never as a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

EXIT_USER_ERROR = 2


class UserError(Exception):
    """An error caused by the user's input; printed as one line."""


def _sample_image() -> Path:
    return Path(str(resources.files("dwpose") / "assets" / "human-pose.jpeg"))


# --------------------------------------------------------------------------- commands

def cmd_models(args: argparse.Namespace) -> int:
    from dwpose.models import MODEL_CONFIGS, list_models

    for name in list_models():
        config = MODEL_CONFIGS.get(name)
        note = f"input {config.input_size[1]}x{config.input_size[0]}" if config else "alias"
        print(f"{name:24s} {note}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from dwpose.models.checkpoint import describe_state_dict, pose_state_dict_from_file, save_state_dict

    state = pose_state_dict_from_file(args.src, weights=args.weights, distill_stage=args.stage)
    save_state_dict(state, args.dst, meta={"converted_from": str(args.src)})
    print(f"wrote {args.dst}: {len(state)} tensors, {describe_state_dict(state)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from dwpose.models import create_model
    from dwpose.models.onnx_io import export_onnx

    model = create_model(args.model, checkpoint=args.checkpoint, weights=args.weights)
    path = export_onnx(model, args.out, dynamic_batch=not args.static_batch, opset=args.opset)
    print(f"wrote {path} (input [{'batch' if not args.static_batch else 1},3,{model.input_size[1]},{model.input_size[0]}] -> simcc_x, simcc_y)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build a model, load a checkpoint, run it on one image (whole image as the box)."""
    import cv2
    import torch

    from dwpose.codec import SimCCCodec
    from dwpose.geometry import bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio, warp_crop
    from dwpose.models import create_model

    image_path = Path(args.image) if args.image else _sample_image()
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"cannot read image {image_path}")
    model = create_model(args.model, checkpoint=args.checkpoint)
    width, height = model.input_size
    box = np.array([[0, 0, image.shape[1], image.shape[0]]], dtype=np.float32)
    center, scale = bbox_xyxy_to_center_scale(box)
    scale = fix_aspect_ratio(scale, width / height)
    crop = warp_crop(image, center[0], scale[0], model.input_size)
    rgb = torch.from_numpy(np.ascontiguousarray(crop[..., ::-1])).permute(2, 0, 1)[None]
    with torch.no_grad():
        simcc_x, simcc_y = model(model.normalize(rgb))
    keypoints, scores = SimCCCodec.for_input_size(model.input_size).decode(simcc_x.numpy(), simcc_y.numpy())
    keypoints = crop_to_image(keypoints, center, scale, model.input_size)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "image": str(image_path), "model": args.model,
        "keypoints": keypoints[0].round(2).tolist(), "scores": scores[0].round(4).tolist(),
    }
    (out / f"{image_path.stem}.json").write_text(json.dumps(record))
    canvas = image.copy()
    for (x, y), s in zip(keypoints[0], scores[0]):
        if s > args.threshold:
            cv2.circle(canvas, (int(x), int(y)), 2, (0, 255, 0), -1)
    cv2.imwrite(str(out / f"{image_path.stem}_keypoints.png"), canvas)
    visible = int((scores[0] > args.threshold).sum())
    print(f"{image_path.name}: {keypoints.shape[1]} keypoints, {visible} above {args.threshold}; wrote {out}/")
    return 0


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dwpose", description="DWPose whole-body pose estimation")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list model names")
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
    p.add_argument("model", help="model name, e.g. rtmpose-l-384x288 (see `dwpose models`)")
    p.add_argument("--checkpoint", required=True, help=".pth or .onnx weights")
    p.add_argument("--out", required=True, help="output .onnx path")
    p.add_argument("--static-batch", action="store_true", help="fixed batch 1 instead of a dynamic batch axis")
    p.add_argument("--opset", type=int, default=11)
    p.add_argument("--weights", choices=("default", "ema", "raw"), default="default")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="run a model on one image (default: the bundled sample photo)")
    p.add_argument("--model", default="rtmpose-t-256x192")
    p.add_argument("--checkpoint", required=True, help=".pth or .onnx weights")
    p.add_argument("--image", default=None, help="image path (default: bundled sample)")
    p.add_argument("--out", default="dwpose_out")
    p.add_argument("--threshold", type=float, default=0.3)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dwpose.models.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except (UserError, CheckpointError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        message = str(exc).strip().replace("\n", " | ")
        print(f"dwpose {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"dwpose {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
