"""The folder a `dwpose label` run writes: the names of its files and folders, and the rows of
its Parquet files. Read by the run itself and by `dwpose.data.teacher_logits`."""

from __future__ import annotations

import numpy as np

from ..result import PoseResult
from ..skeleton import NUM_KEYPOINTS

MANIFEST_NAME = "manifest.json"     # the run file: models, settings, inputs, logits layout
SHARD_FOLDER = "shards"             # NNNNNN.json / .parquet / .logits.npy / .done.json
MERGED_NAME = "annotations.json"    # all shards in one COCO-WholeBody file
FRAME_FOLDER = "frames"             # frames/<video>/<frame>.jpg (--write-frames)
LOGITS_SUFFIX = ".logits.npy"       # structured records of dwpose.codec.topk
IMAGE_FOLDER = "images"             # the inputs placed in the run folder (--copy-images, --link-images)


def parquet_row(result: PoseResult, image_id: int, source: str, frame_index: int | None,
                annotation_ids: list[int]) -> dict:
    """One image or video frame as a row of `dwpose label`'s Parquet files (`parquet_schema`):
    everything the pipeline found, unthresholded, in float32 pixels of the image."""
    return {
        "image_id": int(image_id), "source": source, "frame_index": frame_index,
        "width": int(result.image_size[0]), "height": int(result.image_size[1]),
        "annotation_ids": [int(i) for i in annotation_ids],
        "boxes": np.asarray(result.boxes, np.float32).reshape(-1, 4).tolist(),
        "box_scores": np.asarray(result.box_scores, np.float32).tolist(),
        "keypoints": np.asarray(result.keypoints, np.float32).tolist(),
        "scores": np.asarray(result.scores, np.float32).tolist(),
        "track_ids": None if result.track_ids is None else [int(t) for t in result.track_ids],
    }


def parquet_schema(num_keypoints: int = NUM_KEYPOINTS):
    """The pyarrow schema of `parquet_row` (pyarrow is an optional dependency)."""
    import pyarrow as pa

    f32 = pa.float32()
    return pa.schema([
        ("image_id", pa.int64()), ("source", pa.string()), ("frame_index", pa.int64()),
        ("width", pa.int32()), ("height", pa.int32()),
        ("annotation_ids", pa.list_(pa.int64())),
        ("boxes", pa.list_(pa.list_(f32, 4))),                               # xyxy per person
        ("box_scores", pa.list_(f32)),
        ("keypoints", pa.list_(pa.list_(pa.list_(f32, 2), num_keypoints))),  # (persons, K, 2)
        ("scores", pa.list_(pa.list_(f32, num_keypoints))),
        ("track_ids", pa.list_(pa.int64())),                                 # videos only
    ])
