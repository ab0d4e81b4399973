"""`dwpose ubody-extract`: the frames of UBody's videos as PNG images (the data set's layout)."""

from __future__ import annotations

import argparse


def add_ubody_parser(sub) -> None:
    p = sub.add_parser("ubody-extract", help="extract UBody video frames (30 fps PNGs)")
    p.add_argument("videos", help="folder of UBody videos (<scene>/<name>.mp4)")
    p.add_argument("out", help="output image root (UBody/images)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second to extract")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_ubody_extract)


def run_ubody_extract(args: argparse.Namespace) -> int:
    from ..data.ubody import extract_frames

    count = extract_frames(args.videos, args.out, fps=args.fps, progress=not args.no_progress)
    print(f"extracted frames of {count} video(s) into {args.out}")
    return 0 if count else 1
