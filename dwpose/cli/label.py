"""`dwpose label`: teacher labels for many images and video frames, as resumable shards
(see `dwpose.labelling`). The model, detector and backend options and the input expansion are
those of `dwpose predict` (`cli.options`, `cli.common`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..codec.topk import DEFAULT_TOP_K
from ..errors import InputError
from ..inference.outputs import Interruption
from ..inference.user_boxes import read_boxes
from ..skeleton import VISIBILITY_THRESHOLD
from .common import expand_inputs, no_inputs, note, prepare_output_folder, resolve_model_files, shown
from .options import (PipelineOptions, add_input_argument, add_pipeline_arguments, fraction, int_in_range,
                      pipeline_kwargs, positive_number)


def add_label_parser(sub) -> None:
    p = sub.add_parser("label", help="teacher labels (COCO-WholeBody, Parquet, logits) for many images and videos, "
                                     "resumable, in-process or on Ray")
    add_input_argument(p)
    p.add_argument("--out", required=True,
                   help="run folder: manifest.json, shards/, annotations.json (a new or empty folder, or a run of "
                        "dwpose label, which resumes)")
    add_pipeline_arguments(p)
    frames = p.add_mutually_exclusive_group()
    frames.add_argument("--every", type=int_in_range(1), default=1, metavar="K",
                        help="videos: every K-th frame (default 1)")
    frames.add_argument("--fps", type=positive_number(), default=None, metavar="F",
                        help="videos: F frames per second of video")
    p.add_argument("--shard-size", type=int_in_range(1), default=256, help="images/frames per shard (default 256)")
    p.add_argument("--visibility-threshold", type=fraction(allow_zero=True), default=VISIBILITY_THRESHOLD,
                   help=f"keypoints with a score >= this are labelled (v=2), others not (0,0,0); "
                        f"default {VISIBILITY_THRESHOLD:g}")
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
    _add_placement_arguments(p)
    p.set_defaults(func=run_label)


def _add_placement_arguments(p: argparse.ArgumentParser) -> None:
    """Where the work runs (Ray), where the images go, and starting over."""
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


def label_options(args: argparse.Namespace):
    """The run's `labelling.LabelOptions` (`--ray` with no address: a new local instance)."""
    from ..labelling import LabelOptions

    return LabelOptions(every=args.every, fps=args.fps, shard_size=args.shard_size,
                        visibility_threshold=args.visibility_threshold, logits_top_k=args.save_logits,
                        write_frames=args.write_frames, parquet=args.parquet, batch_size=args.batch_size,
                        threads=args.threads, ray=args.ray is not None, ray_address=args.ray or None,
                        ray_actors=args.ray_actors, overwrite=args.overwrite, progress=not args.no_progress,
                        place_images=args.place_images)


def check_requirements(options) -> None:
    """What the options need from outside, before any model is loaded: a reachable Ray
    address, pyarrow for `--parquet`."""
    if options.ray:
        from ..labelling.ray_exec import _import_ray, check_reachable

        _import_ray()
        if options.ray_address not in (None, "auto"):
            check_reachable(options.ray_address)
    if options.parquet:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("--parquet needs pyarrow: pip install 'dwpose-toolkit[ray]' (or pyarrow)") from None


def run_label(args: argparse.Namespace) -> int:
    from ..labelling import LabellerConfig, label
    from ..labelling.plan import dedupe

    options, pipeline = label_options(args), PipelineOptions.from_args(args)
    check_requirements(options)
    inputs, empty = expand_inputs(args.inputs)
    if not inputs:
        return no_inputs("label", empty)
    inputs, duplicates = dedupe(inputs)
    out = Path(args.out)
    prepare_output_folder(out)
    boxes_file = pipeline.model.boxes
    boxes = read_boxes(boxes_file) if boxes_file else None
    files = resolve_model_files(pipeline, options.progress)
    config = LabellerConfig(str(files.pose), str(files.det) if files.det else None,
                            pipeline_kwargs(pipeline, files.backend), boxes, options.logits_top_k,
                            options.write_frames, options.batch_size, options.threads)
    for message in empty:
        note(f"skipped {message}")
    for message in duplicates:
        note(f"note: {message}")
    with Interruption() as interruption:
        summary = label(inputs, out, config, options, boxes_file, skipped=empty + duplicates,
                        interruption=interruption, warn=note)
    failed = summary.failed + len(empty) + summary.unplanned
    line = (f"{summary.labelled} of {summary.units} image(s)/frame(s) labelled, {summary.persons} person(s), "
            f"{failed} failed; {summary.shards} shard(s), {summary.shards_before} done before this run")
    if summary.interrupted:
        print(f"{line}; interrupted: run the same command again to resume in {shown(out)}/")
        return 130
    print(f"{line}; dataset {shown(summary.merged)}")
    return 1 if failed else 0
