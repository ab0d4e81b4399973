"""dwpose: DWPose whole-body pose estimation (RTMPose + two-stage pose distillation) in plain
PyTorch, without the OpenMMLab stack."""

from .models import CheckpointError, create_model, list_models

__version__ = "0.1.0"
__all__ = ["CheckpointError", "create_model", "list_models", "__version__"]
