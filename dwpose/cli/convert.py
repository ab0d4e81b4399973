"""`dwpose convert`: a distiller or training checkpoint -> a plain pose checkpoint."""

from __future__ import annotations

import argparse


def add_convert_parser(sub) -> None:
    p = sub.add_parser("convert", help="turn a distiller/training checkpoint into a plain pose checkpoint")
    p.add_argument("src", help="input .pth (mmpose/DWPose/dwpose, plain or distiller)")
    p.add_argument("dst", help="output .pth ({'state_dict', 'meta'})")
    p.add_argument("--stage", type=int, choices=(1, 2), default=None,
                   help="distillation stage of a distiller checkpoint (default: detect)")
    p.add_argument("--weights", choices=("default", "ema", "raw"), default="default",
                   help="which weights of a training checkpoint (default: the EMA/evaluated ones)")
    p.set_defaults(func=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    from ..fileio import check_output_file
    from ..models.checkpoint import pose_state_dict_from_file, save_state_dict
    from ..models.registry import check_pose_state_dict

    check_output_file(args.dst)  # before reading anything
    state = pose_state_dict_from_file(args.src, weights=args.weights, distill_stage=args.stage)
    name = check_pose_state_dict(state, source=str(args.src))  # nothing is written for anything else
    save_state_dict(state, args.dst, meta={"converted_from": str(args.src), "model": name})
    print(f"wrote {args.dst}: {len(state)} tensors, {name}")
    return 0
