"""dwpose as a ComfyUI custom node package.

Install into a ComfyUI checkout with `python -m dwpose comfyui-install /path/to/ComfyUI` (it
writes `custom_nodes/comfyui-dwpose/__init__.py`, which imports the mappings below from the
installed dwpose-toolkit). ComfyUI reads `NODE_CLASS_MAPPINGS` and `NODE_DISPLAY_NAME_MAPPINGS` from it.

Importing this package loads and downloads nothing: weights are resolved (ComfyUI/models/dwpose,
else the cache, else a verified download) when a node first runs."""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, DWPoseEstimator, DWPoseRender

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "DWPoseEstimator", "DWPoseRender"]
