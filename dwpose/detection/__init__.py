"""Person detection (YOLOX)."""

from .yolox import Detections, YOLOXDetector, letterbox
from .nms import nms

__all__ = ["Detections", "YOLOXDetector", "letterbox", "nms"]
