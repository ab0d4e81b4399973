"""The labelling work of one shard, the same in-process and in a Ray actor: read its images and
video frames, run the pipeline over batches of them (every person of a batch in one pose
batch), and hand back plain per-unit outputs. Ids, tracks and files are the writer's job, so
the results of shards can arrive in any order and from any process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..codec.topk import pack_persons
from ..errors import DWPoseError, VideoReadError
from ..formats import PoseResult
from ..inference.io import read_image
from ..inference.pipeline import WholebodyPipeline
from ..inference.user_boxes import boxes_for
from ..inference.video import open_video
from .plan import Source, Unit

JPEG_QUALITY = 95


@dataclass
class ShardTask:
    """A shard to label: its number and its units, with the sources they come from."""

    index: int
    units: list[Unit]
    sources: dict[int, Source]


@dataclass
class UnitOutput:
    """What the pipeline found in one image or frame (`error`: why it could not be read)."""

    unit: Unit
    error: str | None = None
    result: PoseResult | None = None
    logits: np.ndarray | None = None     # top-k records (codec.topk), annotation ids left 0
    frame_jpeg: bytes | None = None      # the frame as JPEG (--write-frames)
    warnings: list[str] = field(default_factory=list)


@dataclass
class LabellerConfig:
    """Everything a labeller needs, as plain values (sent to Ray actors)."""

    pose_model: str
    detector_model: str | None
    pipeline_options: dict
    boxes: dict[str, np.ndarray] | None = None
    logits_top_k: int = 0                # 0: no logits
    write_frames: bool = False
    batch_size: int = 8
    threads: int | None = None


def read_frames(path: str | os.PathLike, wanted: list[int]) -> Iterator[tuple[int, np.ndarray | None]]:
    """(index, BGR frame) for the increasing frame indices `wanted` of a video, decoding from the
    first one on; None for frames past the end of what decodes. The first frame is reached by a
    seek when the container reports landing exactly on it, else by decoding up to it."""
    capture = open_video(path)
    try:
        position = 0
        if wanted and wanted[0] > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, wanted[0])
            position = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
            if position != wanted[0]:  # an inexact seek: start over and decode up to the frame
                capture.release()
                capture = open_video(path)
                position = 0
        ended = False
        for index in wanted:
            while not ended and position < index:
                ended = not capture.grab()
                position += 1
            ok, frame = (False, None) if ended else capture.read()
            if not ok:
                ended = True
                yield index, None
                continue
            position += 1
            yield index, frame
    finally:
        capture.release()


class ShardLabeller:
    """Labels shards with one pipeline (built once: a Ray actor keeps it between shards)."""

    def __init__(self, config: LabellerConfig) -> None:
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        self.config = config
        self.pipeline = WholebodyPipeline.from_files(config.pose_model, config.detector_model,
                                                     threads=config.threads, **config.pipeline_options)

    def _images(self, task: ShardTask) -> Iterator[tuple[Unit, np.ndarray | None, str | None]]:
        """(unit, BGR image, error) of the shard's units in order."""
        units = task.units
        i = 0
        while i < len(units):
            source = task.sources[units[i].source]
            if source.kind == "image":
                try:
                    yield units[i], read_image(source.path), None
                except (DWPoseError, OSError) as exc:
                    yield units[i], None, str(exc)
                i += 1
                continue
            run = [units[i]]  # the consecutive frames of this video in this shard
            while i + len(run) < len(units) and units[i + len(run)].source == units[i].source:
                run.append(units[i + len(run)])
            i += len(run)
            try:
                frames = dict(read_frames(source.path, [u.frame for u in run]))
            except (VideoReadError, OSError) as exc:
                for unit in run:
                    yield unit, None, str(exc)
                continue
            for unit in run:
                frame = frames[unit.frame]
                error = None if frame is not None else f"{source.path}: frame {unit.frame} does not decode"
                yield unit, frame, error

    def __call__(self, task: ShardTask) -> list[UnitOutput]:
        outputs: list[UnitOutput] = []
        batch: list[tuple[UnitOutput, np.ndarray, np.ndarray | None]] = []
        for unit, image, error in self._images(task):
            output = UnitOutput(unit, error)
            outputs.append(output)
            if image is None:
                continue
            boxes = None
            if self.config.boxes is not None:  # the same --boxes rules as `dwpose predict`
                try:
                    boxes = boxes_for(self.config.boxes, Path(task.sources[unit.source].path), image,
                                      output.warnings.append)
                except DWPoseError as exc:
                    output.error = str(exc)
                    continue
            batch.append((output, image, boxes))
            if len(batch) == self.config.batch_size:
                self._run(batch)
                batch = []
        if batch:
            self._run(batch)
        return outputs

    def _run(self, batch: list[tuple[UnitOutput, np.ndarray, np.ndarray | None]]) -> None:
        config = self.config
        boxes = None if config.boxes is None else [b for _, _, b in batch]
        results = self.pipeline.predict_batch([image for _, image, _ in batch], boxes,
                                              keep_logits=config.logits_top_k > 0)
        for (output, image, _), result in zip(batch, results):
            output.result = result
            if config.logits_top_k:
                simcc_x, simcc_y = result.meta.pop("simcc")
                output.logits = pack_persons(np.zeros(len(result), np.int64), simcc_x, simcc_y, config.logits_top_k)
            if config.write_frames and output.unit.frame is not None:
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                output.frame_jpeg = data.tobytes() if ok else None


def label_in_process(labeller: Callable[[ShardTask], list[UnitOutput]], tasks: list[ShardTask]
                     ) -> Iterator[tuple[int, list[UnitOutput], int]]:
    """(shard index, outputs, this process's pid) of each task in order, computed here."""
    for task in tasks:
        yield task.index, labeller(task), os.getpid()
