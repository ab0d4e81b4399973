"""dwpose: DWPose whole-body pose estimation (RTMPose + two-stage pose distillation) in plain
PyTorch, without the OpenMMLab stack."""

from .inference.pipeline import WholebodyPipeline
from .formats import PoseResult
from .models import create_model, list_models
from .solutions import DWposeDetector, Wholebody
from .errors import CheckpointError

__version__ = "0.1.0"
__all__ = [
    "CheckpointError", "DWposeDetector", "PoseResult", "Wholebody", "WholebodyPipeline",
    "create_model", "list_models", "__version__",
]
