"""Teacher labelling at dataset scale (`dwpose label`): person boxes and 133 keypoints for many
images and video frames, written as resumable shards (COCO-WholeBody JSON, Parquet, compact
teacher logits), in-process or on a Ray cluster."""

from .engine import LabellerConfig, ShardLabeller, ShardTask, UnitOutput
from .run import LabelOptions, LabelSummary, label

__all__ = ["LabelOptions", "LabelSummary", "LabellerConfig", "ShardLabeller", "ShardTask", "UnitOutput", "label"]
