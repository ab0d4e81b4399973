"""`dwpose export`: a model of any family to ONNX, with the official input and output names."""

from __future__ import annotations

import argparse


def add_export_parser(sub) -> None:
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
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ..fileio import check_output_file
    from ..models import create_model, detect_model_name, get_family
    from ..models.onnx_io import check_opset, export_onnx

    check_output_file(args.out)  # before building and tracing the model
    model_name = args.model
    if model_name is None:  # the checkpoint says what it is (a CheckpointError says when it cannot)
        model_name = detect_model_name(args.checkpoint)
        print(f"{args.checkpoint}: {model_name}")
    family = get_family(model_name)
    check_opset(args.opset, family.kind)  # before loading weights
    input_name, output_names = family.onnx_io_names
    model = create_model(model_name, checkpoint=args.checkpoint, weights=args.weights)
    path = export_onnx(model, args.out, dynamic_batch=not args.static_batch, opset=args.opset,
                       input_name=input_name, output_names=output_names)
    batch = "batch" if not args.static_batch else 1
    print(f"wrote {path} ({input_name} [{batch},3,{model.input_size[1]},{model.input_size[0]}] -> {', '.join(output_names)})")
    return 0
