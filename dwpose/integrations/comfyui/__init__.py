"""dwpose as a ComfyUI custom node package.

Install into a ComfyUI checkout with `python -m dwpose comfyui-install /path/to/ComfyUI` (it
writes `custom_nodes/dwpose/__init__.py`, which imports the mappings below from the installed
dwpose). ComfyUI reads `NODE_CLASS_MAPPINGS` and `NODE_DISPLAY_NAME_MAPPINGS` from it.

Importing this package loads and downloads nothing: weights are resolved (cache, else a verified
download) when a node first runs."""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, DWPoseEstimator, DWPoseRender

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "DWPoseEstimator", "DWPoseRender"]
