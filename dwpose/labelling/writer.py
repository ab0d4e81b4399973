"""Shard files of a labelling run, written in shard order by one process (the driver).

Per shard `shards/NNNNNN.*`: the COCO-WholeBody annotation JSON, a Parquet file (when pyarrow
is there), the teacher's top-k logits (`.logits.npy`, with --save-logits), the frames as JPEG
(`frames/<video>/<frame>.jpg`, with --write-frames) and last `NNNNNN.done.json`: the shard's
counts, its failed inputs and what the next shard continues from (the next annotation id, the
video tracker). All of a shard's files are staged under temporary names and renamed into
place together, the done file last, so a done file means a complete shard; a run that is
stopped, killed or out of disk space leaves no partial shard under its final names.

Ids follow the run's order and nothing else: image id = position of the image or frame in the
run + 1, annotation ids count up over the shards, track ids come from one IoU tracker per video
run over its frames in order. So a resumed run writes the same bytes as an uninterrupted one."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import InputError, RunFileError
from ..fileio import atomic_open, atomic_path
from ..formats import (COCO_WHOLEBODY_CATEGORY, LABEL_FRAME_FOLDER, LABEL_IMAGE_FOLDER, LABEL_LOGITS_SUFFIX,
                       LABEL_MANIFEST, LABEL_MERGED, LABEL_SHARD_FOLDER, coco_wholebody_dataset, coco_wholebody_image,
                       parquet_row, parquet_schema)
from ..inference.outputs import Interruption, fsync_path, staged_outputs, write_synced
from ..inference.tracking import IoUTracker
from .engine import UnitOutput
from .plan import Source

SHARD_FOLDER = LABEL_SHARD_FOLDER
FRAME_FOLDER = LABEL_FRAME_FOLDER
MERGED_NAME = LABEL_MERGED
MANIFEST_NAME = LABEL_MANIFEST
IMAGE_FOLDER = LABEL_IMAGE_FOLDER


def read_run_file(path: Path, what: str, keys: tuple[str, ...] = ()) -> dict:
    """A JSON object the run wrote, with `keys`; anything else is a RunFileError naming the file."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFileError(f"{path}: missing ({what})") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        raise RunFileError(f"{path}: unreadable {what} ({reason})") from None
    if not isinstance(value, dict) or any(key not in value for key in keys):
        raise RunFileError(f"{path}: not a {what} of dwpose label (expected a JSON object with "
                           f"{', '.join(keys) or 'fields'})")
    return value


def dumps(value: object) -> str:
    """The JSON text of every output file: compact, key order as built, no timestamps."""
    return json.dumps(value, separators=(",", ":"))


def shard_stem(index: int) -> str:
    return f"{index:06d}"


class ShardWriter:
    def __init__(self, out: Path, sources: list[Source], visibility_threshold: float, parquet: bool,
                 logits: bool, interruption: Interruption | None = None, image_root: str | None = None,
                 place: str | None = None, stills_root: str | None = None) -> None:
        """`image_root`: the folder the `file_name`s are relative to (None: the run folder, as
        runs from before it was recorded wrote them, `../` paths included). `place` ("copy",
        "link"): the still images are put under `images/` in the run folder (the image root
        then), at their paths relative to `stills_root`."""
        self.out = out
        self.image_root = image_root
        self.place = place
        self.stills_root = stills_root
        self.folder = out / SHARD_FOLDER
        self.sources = sources
        self.visibility_threshold = visibility_threshold
        self.parquet = parquet
        self.logits = logits
        self.interruption = interruption
        self.next_annotation_id = 1
        self.tracked: tuple[int, IoUTracker] | None = None  # (source number, its tracker)

    def path(self, index: int, suffix: str) -> Path:
        return self.folder / f"{shard_stem(index)}{suffix}"

    # ------------------------------------------------------------------ resuming
    def finished(self, num_shards: int) -> list[dict]:
        """The done records of the finished shards at the start of the run (the first shard
        without one ends it), with the writer's position restored after the last of them."""
        records = []
        for index in range(num_shards):
            path = self.path(index, ".done.json")
            if not path.is_file():
                break
            record = read_run_file(path, "shard done file", ("images", "annotations", "failures", "units", "carry"))
            records.append(record)
        if records:
            try:
                self._restore(records[-1]["carry"])
            except (KeyError, TypeError, ValueError, AttributeError):
                raise RunFileError(f"{self.path(len(records) - 1, '.done.json')}: not a shard done file of "
                                   "dwpose label (its 'carry' is incomplete)") from None
        return records

    def _restore(self, carry: dict) -> None:
        self.next_annotation_id = carry["next_annotation_id"]
        state = carry["tracker"]
        self.tracked = None
        if state is not None:
            tracker = IoUTracker()
            tracker.boxes = np.asarray(state["boxes"], np.float32).reshape(-1, 4)
            tracker.ids = np.asarray(state["ids"], np.int64)
            tracker.ages = np.asarray(state["ages"], np.int64)
            tracker.next_id = state["next_id"]
            self.tracked = (state["source"], tracker)

    def _carry(self) -> dict:
        tracker = None
        if self.tracked is not None:
            source, state = self.tracked
            tracker = {"source": source, "boxes": state.boxes.tolist(), "ids": state.ids.tolist(),
                       "ages": state.ages.tolist(), "next_id": int(state.next_id)}
        return {"next_annotation_id": self.next_annotation_id, "tracker": tracker}

    # ------------------------------------------------------------------ one shard
    def _tracker(self, source: int) -> IoUTracker:
        if self.tracked is None or self.tracked[0] != source:
            self.tracked = (source, IoUTracker())
        return self.tracked[1]

    def relative(self, path: str) -> str:
        """A path as written in the annotations: relative to the image root. A video outside it
        (the `video` field only: its frames are files of their own) keeps its absolute path."""
        if self.image_root is None:  # a run from before the image root: relative to the run folder
            return Path(os.path.relpath(path, self.out)).as_posix()
        relative = os.path.relpath(path, self.image_root)
        return path if relative.startswith(os.pardir) else Path(relative).as_posix()

    def _place(self, path: str) -> str:
        """Copy or hard-link a still image into the run folder (once: a resumed run finds it
        there); its `file_name`."""
        name = Path(IMAGE_FOLDER, os.path.relpath(path, self.stills_root)).as_posix()
        target = self.out / name
        if not _same_file(path, target, self.place):  # placed by an earlier try of this shard: kept
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with atomic_path(target) as temporary:
                    if self.place == "link":
                        os.link(path, temporary)
                    else:
                        shutil.copy2(path, temporary)  # with its modification time: see _same_file
            except OSError as exc:
                hint = " (another file system? --copy-images copies instead)" if self.place == "link" else ""
                raise InputError(f"cannot {self.place} {path} into {target.parent}: {exc.strerror or exc}{hint}") \
                    from None
        return name

    def commit(self, index: int, outputs: list[UnitOutput]) -> dict:
        """Write shard `index` (all of its files or none) and return its done record."""
        images, annotations, rows, logits, frames, failures = [], [], [], [], [], []
        for output in outputs:
            unit = output.unit
            source = self.sources[unit.source]
            if output.error is not None or output.result is None:
                failures.append({"image_id": unit.index + 1, "source": source.path, "frame_index": unit.frame,
                                 "error": output.error})
                continue
            result = output.result
            image_id = unit.index + 1
            if source.kind == "video":
                result.track_ids = self._tracker(unit.source).update(result.boxes)
                frame = self.out / FRAME_FOLDER / source.stem / f"{unit.frame:06d}.jpg"
                file_name = (f"{FRAME_FOLDER}/{source.stem}/{unit.frame:06d}.jpg" if self.image_root is None
                             else self.relative(str(frame)))
                extra = {"video": self.relative(source.path), "frame_index": unit.frame}
                if output.frame_jpeg is not None:
                    frames.append((frame, output.frame_jpeg))
            elif self.place:
                file_name, extra = self._place(source.path), {}
            else:
                file_name, extra = self.relative(source.path), {}
            width, height = result.image_size
            images.append(coco_wholebody_image(image_id, file_name, width, height, **extra))
            records = result.to_coco_wholebody_annotations(image_id, self.next_annotation_id, self.visibility_threshold)
            ids = [record["id"] for record in records]
            self.next_annotation_id += len(records)
            annotations += records
            rows.append(parquet_row(result, image_id, os.fsencode(source.path).decode("utf-8", "backslashreplace"),
                                    unit.frame, ids))
            if output.logits is not None:
                packed = output.logits.copy()
                packed["annotation_id"] = ids
                logits.append(packed)
        record = {"shard": index, "units": len(outputs), "images": len(images), "annotations": len(annotations),
                  "failures": failures, "carry": self._carry()}
        files: list[tuple[Path, bytes | None]] = list(frames)
        files.append((self.path(index, ".json"), dumps(coco_wholebody_dataset(images, annotations)).encode()))
        if self.parquet:
            files.append((self.path(index, ".parquet"), None))  # written by pyarrow below
        if self.logits:
            files.append((self.path(index, LABEL_LOGITS_SUFFIX), _npy_bytes(logits)))
        files.append((self.path(index, ".done.json"), dumps(record).encode()))  # last: it means "complete"
        for folder in {path.parent for path, _ in files}:
            folder.mkdir(parents=True, exist_ok=True)
        with staged_outputs([path for path, _ in files], self.interruption) as temporaries:
            for temporary, (path, data) in zip(temporaries, files):
                if data is None:
                    write_parquet(temporary, rows)
                else:
                    write_synced(temporary, data)
        return record


def _same_file(source: str, target: Path, place: str) -> bool:
    """Whether `target` is already `source` placed: the same file (a link), or a copy of the
    same size and modification time."""
    try:
        if place == "link":
            return os.path.samefile(source, target)
        a, b = os.stat(source), os.stat(target)
    except OSError:
        return False
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


def _npy_bytes(parts: list[np.ndarray]) -> bytes:
    from ..codec.topk import topk_dtype

    array = np.concatenate(parts) if parts else np.zeros(0, topk_dtype(133, 1))
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_parquet(path: Path, rows: list[dict]) -> None:
    """Rows (`formats.parquet_row`) as a Parquet file, flushed to disk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows, schema=parquet_schema()), path)
    fsync_path(path)


def merge_shards(out: Path, num_shards: int, image_root: str = ".") -> Path:
    """`annotations.json`: the images and annotations of all shards in order, in one
    COCO-WholeBody file (streamed: one shard in memory at a time), and `image_root`, the folder
    the `file_name`s are relative to (a relative one is relative to the run folder)."""
    path = out / MERGED_NAME
    shard_files = [out / SHARD_FOLDER / f"{shard_stem(i)}.json" for i in range(num_shards)]
    with atomic_open(path, "w", encoding="utf-8") as handle:
        for key, opening in (("images", '{"images":['), ("annotations", '],"annotations":[')):
            handle.write(opening)
            first = True
            for shard_file in shard_files:
                items = read_run_file(shard_file, "shard annotation file", ("images", "annotations"))[key]
                if not isinstance(items, list):
                    raise RunFileError(f"{shard_file}: not a shard annotation file of dwpose label ('{key}' is not "
                                       "a list)")
                for item in items:
                    handle.write(("" if first else ",") + dumps(item))
                    first = False
        handle.write(f'],"categories":[{dumps(COCO_WHOLEBODY_CATEGORY)}],"image_root":{dumps(image_root)}}}')
    return path
