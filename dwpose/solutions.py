"""Ready-made entry points in the shapes users know: `Wholebody` (rtmlib) and `DWposeDetector`
(controlnet_aux), kept here for existing imports. They are the adapters of `dwpose.adapters`,
which has one module per peer (also easy_dwpose and comfyui_controlnet_aux)."""

from .adapters.controlnet_aux import DWposeDetector
from .adapters.rtmlib import Wholebody

__all__ = ["DWposeDetector", "Wholebody"]
