"""Synthetic whole-body people with exact COCO-WholeBody annotations (`dwpose synth`).

body.py samples an articulated 3D person within joint limits (hand.py: five jointed fingers on
the 21 hand keypoints; face.py: the 68 iBUG landmarks on a drawn face); render.py rasterises it
with OpenCV into a label map and a picture; scene.py composes people, occluders and backgrounds
and derives visibility, boxes and areas from the label map; writer.py writes the dataset."""

from .scene import PRESET_NAMES, PRESETS, Scene, SceneConfig, render_scene
from .writer import ANNOTATION_FILE, BOXES_FILE, IMAGE_DIR, SynthSpec, generate_dataset, render_image

__all__ = ["ANNOTATION_FILE", "BOXES_FILE", "IMAGE_DIR", "PRESETS", "PRESET_NAMES", "Scene", "SceneConfig", "SynthSpec", "generate_dataset",
           "render_image", "render_scene"]
