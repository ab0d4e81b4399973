"""`dwpose label`: teacher labels for many images and video frames, as resumable shards
(see `dwpose.labelling`). The model, detector and backend options and the input expansion are
those of `dwpose predict`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..codec.topk import DEFAULT_TOP_K
from ..errors import InputError
from ..inference.outputs import Interruption
from ..inference.user_boxes import read_boxes
from .predict import (add_input_argument, add_model_arguments, expand_inputs, fraction, int_in_range, note,
                      pipeline_options, prepare_output_folder, resolve_model_files, shown)


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_label_arguments(p: argparse.ArgumentParser) -> None:
    add_input_argument(p)
    p.add_argument("--out", required=True,
                   help="run folder: manifest.json, shards/, annotations.json (a new or empty folder, or a run of "
                        "dwpose label, which resumes)")
    add_model_arguments(p)
    frames = p.add_mutually_exclusive_group()
    frames.add_argument("--every", type=int_in_range(1), default=1, metavar="K",
                        help="videos: every K-th frame (default 1)")
    frames.add_argument("--fps", type=positive_number, default=None, metavar="F",
                        help="videos: F frames per second of video")
    p.add_argument("--shard-size", type=int_in_range(1), default=256, help="images/frames per shard (default 256)")
    p.add_argument("--visibility-threshold", type=fraction(allow_zero=True), default=0.3,
                   help="keypoints with a score >= this are labelled (v=2), others not (0,0,0); default 0.3")
    p.add_argument("--save-logits", nargs="?", type=int_in_range(1, 64), const=DEFAULT_TOP_K, default=0, metavar="K",
                   help=f"also store the teacher's top-K SimCC logits per keypoint and axis "
                        f"(default K {DEFAULT_TOP_K})")
    p.add_argument("--write-frames", action="store_true",
                   help="write the labelled video frames as JPEG (trainable dataset)")
    p.add_argument("--parquet", action=argparse.BooleanOptionalAction, default=None,
                   help="a Parquet file per shard (default: when pyarrow is installed)")
    p.add_argument("--batch-size", type=int_in_range(1), default=8, help="images per pipeline batch (default 8)")
    p.add_argument("--threads", type=int_in_range(1), default=None,
                   help="CPU threads per process or Ray actor (default: all cores in-process, 1 per Ray actor)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: a new local instance, or the cluster at ADDRESS "
                        "(HOST:PORT, ray://HOST:PORT, auto)")
    p.add_argument("--ray-actors", type=int_in_range(1), default=None,
                   help="CPU actors (default: cluster CPUs / --threads); with --device cuda one per GPU")
    place = p.add_mutually_exclusive_group()
    place.add_argument("--copy-images", dest="place_images", action="store_const", const="copy",
                       help="copy the still images into OUT/images/, so the run folder is a self-contained dataset")
    place.add_argument("--link-images", dest="place_images", action="store_const", const="link",
                       help="as --copy-images with hard links (same file system)")
    p.add_argument("--overwrite", action="store_true",
                   help="start over in a folder that holds another run of dwpose label, or one whose inputs changed "
                        "(size or modification time; only the run's files are removed)")
    p.add_argument("--no-progress", action="store_true")


def run_label(args: argparse.Namespace) -> int:
    from ..labelling import LabelOptions, LabellerConfig, label

    ray_address = args.ray or None
    if args.ray is not None:  # a bad address fails before any model is loaded
        from ..labelling.ray_exec import _import_ray, check_reachable

        _import_ray()
        if ray_address not in (None, "auto"):
            check_reachable(ray_address)
    if args.parquet:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("--parquet needs pyarrow: pip install 'dwpose-toolkit[ray]' (or pyarrow)") from None
    inputs, empty = expand_inputs(args.inputs)
    if not inputs:
        reason = f" ({'; '.join(empty)})" if empty else ""
        print(f"dwpose label: error: no input files found{reason}", file=sys.stderr)
        return 2
    from ..labelling.plan import dedupe

    inputs, duplicates = dedupe(inputs)
    out = Path(args.out)
    prepare_output_folder(out)
    boxes = read_boxes(args.boxes) if args.boxes else None
    pose, det = resolve_model_files(args)
    config = LabellerConfig(str(pose), str(det) if det else None, pipeline_options(args), boxes, args.save_logits,
                            args.write_frames, args.batch_size, args.threads)
    options = LabelOptions(every=args.every, fps=args.fps, shard_size=args.shard_size,
                           visibility_threshold=args.visibility_threshold, logits_top_k=args.save_logits,
                           write_frames=args.write_frames, parquet=args.parquet, batch_size=args.batch_size,
                           threads=args.threads, ray=args.ray is not None, ray_address=ray_address,
                           ray_actors=args.ray_actors, overwrite=args.overwrite, progress=not args.no_progress,
                           place_images=args.place_images)
    for message in empty:
        note(f"skipped {message}")
    for message in duplicates:
        note(f"note: {message}")
    with Interruption() as interruption:
        summary = label(inputs, out, config, options, args.boxes, skipped=empty + duplicates,
                        interruption=interruption, warn=note)
    failed = summary.failed + len(empty) + summary.unplanned
    line = (f"{summary.labelled} of {summary.units} image(s)/frame(s) labelled, {summary.persons} person(s), "
            f"{failed} failed; {summary.shards} shard(s), {summary.shards_before} done before this run")
    if summary.interrupted:
        print(f"{line}; interrupted: run the same command again to resume in {shown(out)}/")
        return 130
    print(f"{line}; dataset {shown(summary.merged)}")
    return 1 if failed else 0
