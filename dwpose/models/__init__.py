"""RTMPose / DWPose networks and their weights."""

from .checkpoint import CheckpointError, load_weights
from .registry import MODEL_CONFIGS, create_model, get_config, list_models
from .rtmpose import RGB_MEAN, RGB_STD, RTMPose, RTMPoseConfig

__all__ = [
    "CheckpointError", "MODEL_CONFIGS", "RGB_MEAN", "RGB_STD", "RTMPose", "RTMPoseConfig",
    "create_model", "get_config", "list_models", "load_weights",
]
