"""Rendering of pose results in the drawing styles of the tools people use (ControlNet's
annotator, comfyui, xinsir, MusePose, MimicMotion/ControlNeXt, rtmlib's overlays).

`render(result, style="controlnet", ...)` draws any style by name; `STYLES` lists them."""

from .canvas import controlnet_resize, controlnet_size, output_size_for, overlay
from .openpose import draw_keypoints, draw_openpose
from .styles import DEFAULT_STYLE, STYLES, Style, get_style, list_styles, render

__all__ = [
    "DEFAULT_STYLE", "STYLES", "Style", "controlnet_resize", "controlnet_size", "draw_keypoints", "draw_openpose",
    "get_style", "list_styles", "output_size_for", "overlay", "render",
]
