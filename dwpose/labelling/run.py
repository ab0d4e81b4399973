"""A labelling run from start to end: plan, check the folder's run (resume or refuse), label the
unfinished shards in-process or on Ray, write them in order, merge. The API behind
`dwpose label`."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..codec.topk import KD_BETA
from ..errors import InputError
from ..inference.outputs import Interruption, StemNames, remove_stale_temporaries
from .engine import LabellerConfig, ShardLabeller, ShardTask, label_in_process
from .plan import (FORMAT, Source, check_resumable, file_sha256, inputs_digest, plan_sources, plan_units,
                   split_shards, versions)
from .writer import FRAME_FOLDER, MANIFEST_NAME, MERGED_NAME, SHARD_FOLDER, ShardWriter, dumps, merge_shards

SPLIT_RATIO = 2.0  # SimCC bins per input pixel of the released models


@dataclass
class LabelOptions:
    every: int = 1                        # video: every k-th frame ...
    fps: float | None = None              # ... or this many frames per second of video
    shard_size: int = 256                 # images/frames per shard
    visibility_threshold: float = 0.3     # keypoint score from which a point is labelled
    logits_top_k: int = 0                 # > 0: store the teacher's top-k SimCC logits
    write_frames: bool = False            # video frames as JPEG, so the dataset is trainable
    parquet: bool | None = None           # None: when pyarrow is installed
    batch_size: int = 8                   # images per pipeline batch (all their persons in one pose batch)
    threads: int | None = None            # per process / Ray actor (None: in-process all cores, Ray 1)
    ray: bool = False
    ray_address: str | None = None        # None: a new local Ray instance; "auto"; HOST:PORT
    ray_actors: int | None = None
    overwrite: bool = False
    progress: bool = True


@dataclass
class LabelSummary:
    out: Path
    shards: int
    shards_before: int                    # already done when this run started
    units: int
    labelled: int = 0
    failed: int = 0
    persons: int = 0
    skipped_inputs: list[str] = field(default_factory=list)
    unplanned: int = 0                    # inputs that could not be planned (unreadable videos)
    interrupted: bool = False
    merged: Path | None = None


def pose_input_size(pose_model: Path, pose_arch: str | None) -> tuple[int, int]:
    """(width, height) of the pose network, read from the file (or its named architecture)."""
    from ..models.registry import detect_model_name, get_config

    if pose_arch:
        return tuple(get_config(pose_arch).input_size)
    if pose_model.suffix.lower() == ".onnx":
        from ..models.onnx_probe import probe_onnx

        input_hw = probe_onnx(pose_model).input_hw
        if input_hw is None:
            raise InputError(f"{pose_model}: the pose model's input has no fixed height and width; pass --model")
        return input_hw[1], input_hw[0]
    return tuple(get_config(detect_model_name(pose_model)).input_size)


def build_manifest(sources: list[Source], skipped: list[str], config: LabellerConfig, boxes_file: str | None,
                   options: LabelOptions, parquet: bool) -> dict:
    """The run file: identity (models by content, settings, inputs) first, then information."""
    pose, det = Path(config.pose_model), config.detector_model and Path(config.detector_model)
    p = config.pipeline_options
    width, height = pose_input_size(pose, p.get("pose_arch"))
    # The detector's options matter only with a detector (the identity ignores them otherwise).
    detector = {key: p.get(name) if det else None for key, name in (
        ("det_arch", "detector_arch"), ("score_threshold", "score_threshold"), ("nms_threshold", "nms_threshold"),
        ("max_persons", "max_persons"))}
    if det and p.get("detector_input_size"):  # only when given: runs from before the option still resume
        detector["det_input_size"] = list(p["detector_input_size"])
    settings = {
        "backend": p["backend"], "dtype": p["dtype"], "pose_arch": p.get("pose_arch"), **detector,
        "every": options.every, "fps": options.fps, "shard_size": options.shard_size,
        "visibility_threshold": options.visibility_threshold, "logits_top_k": options.logits_top_k,
        "write_frames": options.write_frames, "parquet": parquet,
    }
    manifest = {
        "format": FORMAT,
        "pose_model": {"sha256": file_sha256(pose), "input_size": [width, height]},
        "detector": {"sha256": file_sha256(det)} if det else None,
        "boxes_file": {"sha256": file_sha256(boxes_file)} if boxes_file else None,
        "settings": settings,
        "inputs": {"sources": len(sources), "units": sum(len(s.frames) if s.frames else 1 for s in sources),
                   "digest": inputs_digest(sources)},
        "files": {"pose_model": pose.name, "detector": det.name if det else None,
                  "boxes_file": Path(boxes_file).name if boxes_file else None},
        "logits": None if not options.logits_top_k else {
            "top_k": options.logits_top_k, "bins": [int(width * SPLIT_RATIO), int(height * SPLIT_RATIO)],
            "beta": KD_BETA, "layout": "dwpose.codec.topk (see its docstring)"},
        "sources": [{"path": s.path, "kind": s.kind, "frames": len(s.frames) if s.frames else None, "fps": s.fps}
                    for s in sources],
        "skipped_inputs": skipped,
        "versions": versions(),
    }
    return manifest


def start_over(out: Path) -> None:
    """--overwrite: remove what an earlier run wrote (and nothing else)."""
    for folder in (SHARD_FOLDER, FRAME_FOLDER):
        shutil.rmtree(out / folder, ignore_errors=True)
    for name in (MERGED_NAME, MANIFEST_NAME):
        (out / name).unlink(missing_ok=True)


def _prepare(out: Path, manifest: dict, overwrite: bool, warn: Callable[[str], None]) -> None:
    import json

    path = out / MANIFEST_NAME
    if overwrite:
        start_over(out)
    elif path.is_file():
        theirs = json.loads(path.read_text(encoding="utf-8"))
        check_resumable(manifest, theirs, out)
        if theirs.get("versions") != manifest["versions"]:
            warn(f"note: {out} was started with other package versions ({theirs.get('versions')}); "
                 "the shards of both may differ slightly")
        return  # resume: the folder's run file stays as it was written
    elif (out / SHARD_FOLDER).exists():
        raise InputError(f"{out}/{SHARD_FOLDER} exists but {MANIFEST_NAME} does not: not a labelling run this "
                         "command can resume; use another --out, or --overwrite")
    from ..fileio import write_text_atomic

    write_text_atomic(path, dumps(manifest))


def label(
    paths: list[Path],
    out: Path,
    config: LabellerConfig,
    options: LabelOptions,
    boxes_file: str | None = None,
    skipped: list[str] | None = None,
    interruption: Interruption | None = None,
    warn: Callable[[str], None] = print,
    on_shard: Callable[[int, int], None] | None = None,
) -> LabelSummary:
    """Label `paths` (expanded, deduplicated inputs) into `out`. `skipped`: messages about inputs
    already dropped (recorded in the run file). `on_shard(index, pid)` is called after each
    shard is written, with the pid of the process that labelled it."""
    from ..progress import progress as progress_bar

    parquet = options.parquet
    if parquet is None:
        try:
            import pyarrow  # noqa: F401

            parquet = True
        except ImportError:
            parquet = False
    sources, unplanned = plan_sources(paths, options.every, options.fps, StemNames())
    skipped = list(skipped or []) + unplanned
    for message in unplanned:
        warn(f"skipped {message}")
    manifest = build_manifest(sources, skipped, config, boxes_file, options, parquet)
    out.mkdir(parents=True, exist_ok=True)
    _prepare(out, manifest, options.overwrite, warn)
    for folder in [out / SHARD_FOLDER, *(out / FRAME_FOLDER).glob("*")]:
        if folder.is_dir():
            remove_stale_temporaries(folder)

    shards = split_shards(plan_units(sources), options.shard_size)
    writer = ShardWriter(out, sources, options.visibility_threshold, parquet, options.logits_top_k > 0, interruption)
    finished = writer.finished(len(shards))
    summary = LabelSummary(out, len(shards), len(finished), sum(len(s) for s in shards), skipped_inputs=skipped,
                           unplanned=len(unplanned))
    for record in finished:
        summary.labelled += record["images"]
        summary.failed += len(record["failures"])
        summary.persons += record["annotations"]
    tasks = [ShardTask(i, units, {u.source: sources[u.source] for u in units})
             for i, units in enumerate(shards) if i >= len(finished)]
    bar = progress_bar(total=summary.units, initial=sum(len(s) for s in shards[:len(finished)]), unit="image",
               disable=not options.progress, desc="label")
    connected = False
    try:
        if tasks and options.ray:
            from .ray_exec import connect, label_on_ray

            connected = connect(options.ray_address)
            results = label_on_ray(config, tasks, options.ray_actors)
        else:
            results = label_in_process(ShardLabeller(config) if tasks else None, tasks)
        for index, outputs, pid in results:
            record = writer.commit(index, outputs)
            for output in outputs:
                for message in output.warnings:
                    warn(message)
            for failure in record["failures"]:
                warn(f"skipped {failure['error']}")
            summary.labelled += record["images"]
            summary.failed += len(record["failures"])
            summary.persons += record["annotations"]
            bar.update(record["units"])
            if on_shard is not None:
                on_shard(index, pid)
            if interruption is not None and interruption.requested:
                summary.interrupted = True
                break
    finally:
        bar.close()
        if connected:
            import ray

            ray.shutdown()
    if not summary.interrupted:
        summary.merged = merge_shards(out, len(shards))
    return summary
