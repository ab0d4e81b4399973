"""Networks of every model family (RTMPose / DWPose, RTMW, YOLOX), one registry, and their
weights. Importing this package registers the families (see `registry.py`)."""

from .checkpoint import load_weights
from .registry import (
    Architecture, ModelFamily, create_model, detect_architecture, detect_model_name, families, get_config,
    get_family, list_models, register_family,
)
from .rtmpose import RTMPose, RTMPoseConfig
from .rtmw import RTMW, RTMWConfig
from .topdown import RGB_MEAN, RGB_STD, PoseModelConfig, TopdownPoseModel
from .yolox import YOLOX, YOLOXConfig

__all__ = [
    "Architecture", "ModelFamily", "PoseModelConfig", "RGB_MEAN", "RGB_STD", "RTMPose",
    "RTMPoseConfig", "RTMW", "RTMWConfig", "TopdownPoseModel", "YOLOX", "YOLOXConfig", "create_model",
    "detect_architecture", "detect_model_name", "families", "get_config", "get_family", "list_models",
    "load_weights", "register_family",
]
