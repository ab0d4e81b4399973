"""Drawing styles by name, and `render`, the one entry point that draws any of them."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import InputError
from ..result import PoseResult
from .canvas import overlay
from .comfyui import draw_comfyui_style, draw_xinsir_style
from .mimicmotion import draw_mimicmotion_style
from .musepose import draw_musepose_style
from .openpose import draw_controlnet
from .primitives import Parts
from .rtmlib import draw_mmpose_style, draw_openpose134_style

DEFAULT_STYLE = "controlnet"


@dataclass(frozen=True)
class Style:
    """A drawing style: `draw(result, canvas_size, parts, **options)` returns (H, W, 3) uint8
    RGB. `on_photo` styles also take `image` and draw onto a copy of it (rtmlib's overlays);
    for the others a photo is pasted under the finished skeleton map."""

    name: str
    draw: Callable[..., np.ndarray]
    description: str
    on_photo: bool = False
    options: dict = field(init=False)

    def __post_init__(self) -> None:
        signature = inspect.signature(self.draw).parameters.values()
        names = {p.name: p.default for p in signature if p.default is not inspect.Parameter.empty}
        names.pop("image", None)
        object.__setattr__(self, "options", names)


STYLES: dict[str, Style] = {style.name: style for style in (
    Style("controlnet", draw_controlnet, "DWPose's ControlNet annotator (the default)"),
    Style("comfyui", draw_comfyui_style, "comfyui_controlnet_aux's DWPose node"),
    Style("xinsir", draw_xinsir_style, "comfyui with xinsr_stick_scaling (thicker limbs for xinsir's SDXL ControlNet)"),
    Style("musepose", draw_musepose_style, "MusePose (person 0 only; option draw_face)"),
    Style("mimicmotion", draw_mimicmotion_style, "MimicMotion (score-faded colours; option ref_w)"),
    Style("controlnext", draw_mimicmotion_style, "ControlNeXt-SVD-v2 (the same drawing as mimicmotion)"),
    Style("mmpose", draw_mmpose_style, "rtmlib's draw_skeleton, mmpose colours, over the photo",
          on_photo=True),
    Style("openpose134", draw_openpose134_style, "rtmlib's draw_skeleton(openpose_skeleton=True) over the photo",
          on_photo=True),
)}


def list_styles() -> list[str]:
    return list(STYLES)


def get_style(name: str) -> Style:
    style = STYLES.get(name) if isinstance(name, str) else None
    if style is None:
        raise InputError(f"unknown drawing style {name!r}; styles: {', '.join(STYLES)}")
    return style


def render(
    result: PoseResult,
    style: str = DEFAULT_STYLE,
    include_body: bool = True,
    include_hand: bool = True,
    include_face: bool = True,
    include_foot: bool = False,
    *,
    image: np.ndarray | None = None,
    output_size: tuple[int, int] | None = None,
    **style_options,
) -> np.ndarray:
    """The poses of `result` drawn in `style`: (H, W, 3) uint8 RGB at the result's image size,
    or at `output_size` (W, H) with the poses scaled to it.

    `image` (H, W, 3) uint8 RGB, the photo: `mmpose` and `openpose134` draw onto a copy of it as
    rtmlib does (without it they draw on black); the other styles draw their map and paste its
    non-black pixels over it. A photo of another size is resized to the output.
    `style_options` are the style's own (see `STYLES[name].options`), e.g. `kpt_thr` for the
    rtmlib styles, `ref_w` for mimicmotion, `draw_face` for musepose."""
    chosen = get_style(style)
    unknown = sorted(set(style_options) - set(chosen.options))
    if unknown:
        allowed = ", ".join(chosen.options) or "none"
        raise InputError(f"style {chosen.name!r} has no option {', '.join(unknown)} (its options: {allowed}); "
                         f"styles: {', '.join(STYLES)}")
    for option, value in style_options.items():
        _check_option(chosen.name, option, value, chosen.options[option])
    if not isinstance(result, PoseResult):
        raise InputError(f"render() needs a PoseResult (e.g. PoseResult.from_keypoints), got {type(result).__name__}")
    canvas_size = _canvas_size(output_size or result.image_size)
    photo = _check_image(image)
    parts = Parts(bool(include_body), bool(include_hand), bool(include_face), bool(include_foot))
    if chosen.on_photo:
        return chosen.draw(result, canvas_size, parts, image=photo, **style_options)
    skeleton = chosen.draw(result, canvas_size, parts, **style_options)
    return skeleton if photo is None else overlay(photo, skeleton, reuse_skeleton=True)


def _check_option(style: str, option: str, value: object, default: object) -> None:
    """Options take the kind of value their default has: a number (finite) for floats, a whole
    number >= 1 for ints (sizes and widths), True/False for flags."""
    if default is None or isinstance(default, bool):
        ok = value is None or isinstance(value, (bool, np.bool_))
        wanted = "True or False"
    elif isinstance(default, int):
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
        wanted = "a whole number >= 1"
    else:
        ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and np.isfinite(value)
        wanted = "a finite number"
    if not ok:
        raise InputError(f"style {style!r} option {option} must be {wanted}, got {value!r}")


def _canvas_size(size: object) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"a canvas size must be (width, height), got {size!r}") from None
    if width < 1 or height < 1:
        raise InputError(f"a canvas size must be at least 1 x 1, got {width} x {height}")
    return width, height


def _check_image(image: object) -> np.ndarray | None:
    if image is None:
        return None
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 \
            or 0 in image.shape:
        described = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"image must be an (H, W, 3) uint8 RGB array, got {described}")
    return image
