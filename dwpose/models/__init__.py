"""Networks of every model family (RTMPose / DWPose, RTMW, YOLOX), one registry, and their
weights. Importing this package registers the families (see `registry.py`)."""

from .registry import (
    Architecture, ModelFamily, create_model, detect_architecture, detect_model_name, families, get_config,
    get_family, list_models, load_weights, register_family,
)
from .rtmpose import RTMPose, RTMPoseConfig
from .rtmw import RTMW, RTMWConfig
from .topdown import PoseModelConfig, TopdownPoseModel
from .yolox import YOLOX, YOLOXConfig

__all__ = [
    "Architecture", "ModelFamily", "PoseModelConfig", "RTMPose",
    "RTMPoseConfig", "RTMW", "RTMWConfig", "TopdownPoseModel", "YOLOX", "YOLOXConfig", "create_model",
    "detect_architecture", "detect_model_name", "families", "get_config", "get_family", "list_models",
    "load_weights", "register_family",
]
