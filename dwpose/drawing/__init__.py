"""Rendering of pose results (OpenPose / ControlNet style)."""

from .openpose import draw_openpose, output_size_for, overlay

__all__ = ["draw_openpose", "output_size_for", "overlay"]
