"""COCO-WholeBody / UBody evaluation."""

from .coco_wholebody import (STAT_NAMES, WholebodyStats, evaluate_coco_wholebody, load_coco, rescore_and_nms,
    results_from_annotations, validate_results)
from .oks import oks_iou, oks_nms

__all__ = ["STAT_NAMES", "WholebodyStats", "evaluate_coco_wholebody", "load_coco",
           "oks_iou", "oks_nms", "rescore_and_nms", "results_from_annotations", "validate_results"]
