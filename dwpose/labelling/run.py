"""A labelling run from start to end: plan, check the folder's run (resume or refuse), label the
unfinished shards in-process or on Ray, write them in order, merge. The API behind
`dwpose label`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..codec.topk import KD_BETA
from ..errors import InputError, RunFileError
from ..fileio import RUN_MARKER, is_temporary, read_run_marker, write_text_atomic
from ..inference.outputs import Interruption, StemNames, remove_stale_temporaries
from ..skeleton import VISIBILITY_THRESHOLD
from .engine import LabellerConfig, ShardLabeller, ShardTask, label_in_process
from .layout import FRAME_FOLDER, IMAGE_FOLDER, MANIFEST_NAME, MERGED_NAME, SHARD_FOLDER
from .plan import (FORMAT, Source, check_resumable, file_sha256, file_stat, inputs_digest, plan_sources, plan_units,
                   split_shards, versions)
from .writer import ShardWriter, dumps, merge_shards, read_run_file

SPLIT_RATIO = 2.0  # SimCC bins per input pixel of the released models


@dataclass
class LabelOptions:
    every: int = 1                        # video: every k-th frame ...
    fps: float | None = None              # ... or this many frames per second of video
    shard_size: int = 256                 # images/frames per shard
    visibility_threshold: float = VISIBILITY_THRESHOLD  # keypoint score from which a point is labelled
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
    place_images: str | None = None       # "copy" / "link": the still images go into the run folder


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

    def add(self, record: dict) -> None:
        """Count a written shard (its record from the shard writer)."""
        self.labelled += record["images"]
        self.failed += len(record["failures"])
        self.persons += record["annotations"]


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


def image_roots(sources: list[Source], out: Path, place: str | None) -> tuple[str, str | None]:
    """(image root, root of the still images). The image root is the folder the `file_name`s
    are relative to: the run folder when the images are placed in it, else the deepest folder
    holding every still image (and the run folder when there are videos: their frames are
    files of the run folder), so the run folder can move while the images stay."""
    stills = [os.path.dirname(s.path) for s in sources if s.kind == "image"]
    try:
        stills_root = os.path.commonpath(stills) if stills else None
        if place:
            return os.path.abspath(out), stills_root
        folders = stills + ([os.path.abspath(out)] if len(stills) < len(sources) or not stills else [])
        return os.path.commonpath(folders), stills_root
    except ValueError:  # Windows: inputs on different drives have no common folder
        raise InputError("the inputs have no common folder (different drives); use --copy-images") from None


def build_manifest(sources: list[Source], skipped: list[str], config: LabellerConfig, boxes_file: str | None,
                   options: LabelOptions, parquet: bool, out: Path) -> dict:
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
    if options.place_images:  # only when given: runs from before the option still resume
        settings["place_images"] = options.place_images
    image_root, stills_root = image_roots(sources, out, options.place_images)
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
        "image_root": image_root,
        "stills_root": stills_root,
        "sources": [{"path": s.path, "kind": s.kind, "frames": len(s.frames) if s.frames else None, "fps": s.fps,
                     "stat": file_stat(s.path)} for s in sources],
        "skipped_inputs": skipped,
        "versions": versions(),
    }
    return manifest


_SHARD_FILE = re.compile(r"^\d{6}(\.json|\.parquet|\.done\.json|" + re.escape(".logits.npy") + r")$")
_FRAME_FILE = re.compile(r"^\d{6}\.jpg$")


def _marker() -> str:
    return dumps({"tool": "dwpose", "kind": "label", "format": FORMAT})


def folder_state(out: Path) -> str:
    """Whose folder `out` is: "ours" (its run marker says dwpose label), "legacy" (no marker,
    but a valid run file of dwpose label: a run from before markers were written, accepted to
    resume and to start over), "empty", or "foreign" (anything else: never written into)."""
    if read_run_marker(out, "label") is not None:
        return "ours"
    if not any(not is_temporary(p) for p in out.iterdir()):
        return "empty"
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "foreign"
    return "legacy" if isinstance(manifest, dict) and manifest.get("format") == FORMAT else "foreign"


def _unlink_matching(folder: Path, pattern: re.Pattern) -> None:
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and (pattern.match(path.name) or is_temporary(path)):
                path.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


def start_over(out: Path) -> None:
    """--overwrite in a folder of ours: remove the files a run writes (and nothing else: a file
    of another name, put there by someone, stays)."""
    shards = out / SHARD_FOLDER
    if shards.is_dir():
        for shard in sorted(shards.glob("[0-9]" * 6 + ".json")):  # the images a run placed (--copy-images)
            try:
                names = [i.get("file_name", "") for i in json.loads(shard.read_text(encoding="utf-8"))["images"]]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue  # a damaged shard: its placed images, if any, are left
            for name in names:
                if isinstance(name, str) and name.startswith(IMAGE_FOLDER + "/") and ".." not in name.split("/"):
                    (out / name).unlink(missing_ok=True)
    _unlink_matching(shards, _SHARD_FILE)
    frames = out / FRAME_FOLDER
    if frames.is_dir():
        for folder in frames.iterdir():
            if folder.is_dir():
                _unlink_matching(folder, _FRAME_FILE)
        if not any(frames.iterdir()):
            frames.rmdir()
    for name in (MERGED_NAME, MANIFEST_NAME):
        (out / name).unlink(missing_ok=True)


def _prepare(out: Path, manifest: dict, overwrite: bool, warn: Callable[[str], None]) -> dict | None:
    """Make `out` ready for the run of `manifest`; the folder's own run file when it resumes."""
    state = folder_state(out)
    path = out / MANIFEST_NAME
    if state == "foreign":
        why = f" ({path} is not a run file of dwpose label)" if path.exists() else ""
        raise InputError(f"{out} is not empty and holds no labelling run (no {RUN_MARKER}){why}: dwpose label writes "
                         "only into a new or empty folder or its own run; choose another --out")
    if overwrite and state != "empty":
        start_over(out)
    elif path.is_file():
        theirs = read_run_file(path, "run file", ("format", "settings", "inputs"))
        check_resumable(manifest, theirs, out)
        if theirs.get("versions") != manifest["versions"]:
            warn(f"note: {out} was started with other package versions ({theirs.get('versions')}); "
                 "the shards of both may differ slightly")
        if state == "legacy":  # its run file shows it is a run of ours: mark it as such
            write_text_atomic(out / RUN_MARKER, _marker())
        return theirs  # resume: the folder's run file stays as it was written
    elif (out / SHARD_FOLDER).exists():
        raise InputError(f"{out}/{SHARD_FOLDER} exists but {MANIFEST_NAME} does not: not a labelling run this "
                         "command can resume; use another --out, or --overwrite")
    write_text_atomic(out / RUN_MARKER, _marker())  # first: the folder is ours from here on
    write_text_atomic(path, dumps(manifest))
    return None


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
    manifest = build_manifest(sources, skipped, config, boxes_file, options, parquet, out)
    out.mkdir(parents=True, exist_ok=True)
    run = _prepare(out, manifest, options.overwrite, warn) or manifest
    # A resumed run writes its file names as the run began (a run from before the image root
    # was recorded: relative to the run folder).
    image_root, stills_root = run.get("image_root"), run.get("stills_root")
    if not all(isinstance(root, (str, type(None))) for root in (image_root, stills_root)):
        raise RunFileError(f"{out / MANIFEST_NAME}: not a run file of dwpose label (its image_root is not a path)")
    for folder in [out / SHARD_FOLDER, *(out / FRAME_FOLDER).glob("*")]:
        if folder.is_dir():
            remove_stale_temporaries(folder)

    shards = split_shards(plan_units(sources), options.shard_size)
    writer = ShardWriter(out, sources, options.visibility_threshold, parquet, options.logits_top_k > 0, interruption,
                         image_root, options.place_images, stills_root)
    finished = writer.finished(len(shards))
    summary = LabelSummary(out, len(shards), len(finished), sum(len(s) for s in shards), skipped_inputs=skipped,
                           unplanned=len(unplanned))
    for record in finished:
        summary.add(record)
    tasks = [ShardTask(i, units, {u.source: sources[u.source] for u in units})
             for i, units in enumerate(shards) if i >= len(finished)]
    done_before = sum(len(s) for s in shards[:len(finished)])
    _label_shards(tasks, config, options, writer, summary, done_before, interruption, warn, on_shard)
    if not summary.interrupted:
        recorded = "." if image_root in (None, os.path.abspath(out)) else image_root
        summary.merged = merge_shards(out, len(shards), recorded)
    return summary


def _label_shards(tasks: list[ShardTask], config: LabellerConfig, options: LabelOptions, writer: ShardWriter,
                  summary: LabelSummary, done_before: int, interruption: Interruption | None,
                  warn: Callable[[str], None], on_shard: Callable[[int, int], None] | None) -> None:
    """Label the unfinished shards (in-process or on Ray) and write each as it comes, in order,
    into `summary`; stops after the shard under way when an interruption is requested."""
    from ..progress import progress as progress_bar

    bar = progress_bar(total=summary.units, initial=done_before, unit="image", disable=not options.progress,
                       desc="label")
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
            summary.add(record)
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
