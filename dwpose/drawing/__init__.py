"""Rendering of pose results (OpenPose / ControlNet style)."""

from .openpose import controlnet_resize, controlnet_size, draw_keypoints, draw_openpose, output_size_for, overlay

__all__ = ["controlnet_resize", "controlnet_size", "draw_keypoints", "draw_openpose", "output_size_for", "overlay"]
