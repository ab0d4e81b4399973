"""The ComfyUI nodes: `DWPoseEstimator` (IMAGE batch -> pose IMAGE batch + POSE_KEYPOINT) and
`DWPoseRender` (POSE_KEYPOINT -> IMAGE in any drawing style).

ComfyUI passes an IMAGE as a torch tensor (B, H, W, C) float32 in 0..1 and reads one back the same
way. POSE_KEYPOINT is comfyui_controlnet_aux's: a list with one OpenPose-JSON dict per frame
(pixel coordinates, c = 1.0 for present points), so its nodes (e.g. its pose editor and
"Render POSE_KEYPOINT") read ours and ours reads theirs. Models are loaded on the first run of
a node, and the last set is kept for the next run.

Model files: inside ComfyUI, the files in `ComfyUI/models/dwpose/` (registered with ComfyUI's
`folder_paths` as the folder "dwpose") are offered next to the registry's names, and a registry
name found there is read from there; other registry names come from dwpose's verified cache
(downloaded once when missing). Nothing is looked up relative to the working directory."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import numpy as np

from ...adapters.comfyui import DWPOSE_MODEL_NAME, UPSCALE_METHODS, DwposeDetector, resize_short_side
from ...backends import BACKENDS
from ...drawing import get_style, list_styles, render
from ...errors import InputError, WeightsError
from ...formats import PoseResult
from ...inference.io import MAX_RESOLUTION
from ...weights import DEFAULT_DETECTOR, DEFAULT_POSE, REGISTRY, resolve_weights

CATEGORY = "dwpose"
NO_DETECTOR = "none"  # the whole frame is one person, as comfyui without a bbox detector
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_STYLE = "comfyui"  # pixel-identical to comfyui_controlnet_aux's DWPose node
MODEL_FOLDER = "dwpose"  # ComfyUI/models/dwpose
MODEL_EXTENSIONS = {".onnx", ".pth"}
_BACKEND_MODULES = {"onnxruntime": "onnxruntime", "openvino": "openvino", "torch": "torch"}


def backend_choices() -> list[str]:
    """"auto" and the backends whose package is installed (openvino is an optional extra)."""
    return ["auto"] + [b for b in BACKENDS if importlib.util.find_spec(_BACKEND_MODULES.get(b, b)) is not None]


def comfy_folder_paths() -> ModuleType | None:
    """ComfyUI's `folder_paths` with the "dwpose" model folder registered, when running inside
    ComfyUI; else None."""
    try:
        import folder_paths  # ComfyUI's own module, importable only inside ComfyUI
    except ImportError:
        return None
    if not hasattr(folder_paths, "folder_names_and_paths") or not hasattr(folder_paths, "models_dir"):
        return None  # some other module of that name
    if MODEL_FOLDER not in folder_paths.folder_names_and_paths:  # (extra_model_paths.yaml may have set it)
        folder_paths.folder_names_and_paths[MODEL_FOLDER] = (
            [os.path.join(folder_paths.models_dir, MODEL_FOLDER)], set(MODEL_EXTENSIONS))
    return folder_paths


def local_models() -> list[str]:
    """The model files in ComfyUI's models/dwpose folder(s) (names relative to the folder)."""
    folder_paths = comfy_folder_paths()
    if folder_paths is None:
        return []
    return sorted(n for n in folder_paths.get_filename_list(MODEL_FOLDER)
                  if os.path.splitext(n)[1].lower() in MODEL_EXTENSIONS)


def model_folder() -> str:
    """Where a user drops model files: ComfyUI's models/dwpose (the cache outside ComfyUI)."""
    folder_paths = comfy_folder_paths()
    if folder_paths is None:
        return "the dwpose weights cache"
    return folder_paths.get_folder_paths(MODEL_FOLDER)[0]


def _choices(kind: str, default: str) -> list[str]:
    names = sorted((name for name, entry in REGISTRY.items() if entry.kind == kind), key=lambda n: n != default)
    # local files: a pose model and a detector cannot be told apart by name, so both lists show them
    return names + [n for n in local_models() if n not in names]


def pose_models() -> list[str]:
    """The registry's pose weight files, then the files in ComfyUI/models/dwpose."""
    return _choices("pose", DEFAULT_POSE)


def detector_choices() -> list[str]:
    return _choices("detector", DEFAULT_DETECTOR) + [NO_DETECTOR]


def model_path(name: str) -> Path:
    """The file of a model choice: from ComfyUI/models/dwpose when it is there, else a registry
    name through the verified cache (never a path relative to the working directory)."""
    folder_paths = comfy_folder_paths()
    if folder_paths is not None:
        local = folder_paths.get_full_path(MODEL_FOLDER, name)
        if local is not None:
            return Path(local)
    if name not in REGISTRY:
        raise InputError(f"{name} is not in {model_folder()} (any more?); refresh ComfyUI's node choices")
    try:
        return resolve_weights(name, registry_only=True)
    except WeightsError as exc:
        if folder_paths is None:
            raise
        # the weights module's advice names its cache and paths, which a ComfyUI user cannot give
        reason = str(exc).split(";")[0]  # what failed; the rest is advice for the command line
        folder = model_folder()
        raise WeightsError(f"{name} is neither in {folder} nor in the dwpose cache, and {reason}. "
                           f"Download it by hand and put it into {folder}, then run the workflow again") from None


def _toggles(body: bool, hand: bool, face: bool, foot: bool) -> dict:
    return {
        "detect_body": ("BOOLEAN", {"default": body}),
        "detect_hand": ("BOOLEAN", {"default": hand}),
        "detect_face": ("BOOLEAN", {"default": face}),
        "detect_foot": ("BOOLEAN", {"default": foot}),
    }


def _drawing_inputs() -> dict:
    return {
        "style": (list_styles(), {"default": DEFAULT_STYLE}),
        "resolution": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1,
                               "tooltip": "short side of the pose image; 0 keeps the input's size"}),
        "upscale_method": (list(UPSCALE_METHODS), {"default": "INTER_CUBIC"}),
    }


def _check_choice(name: str, value: object, choices: list[str] | tuple[str, ...]) -> str:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value  # type: ignore[return-value]


def frames_from_image(image: object) -> np.ndarray:
    """A ComfyUI IMAGE (B, H, W, C) float 0..1 (torch or NumPy; one (H, W, C) frame is a batch
    of 1) as uint8 frames, truncated as comfyui_controlnet_aux converts them."""
    if hasattr(image, "detach"):
        tensor = image.detach().cpu()
        if tensor.is_floating_point() and tensor.element_size() < 4:
            tensor = tensor.float()  # bfloat16 / float16 IMAGEs: NumPy has no bfloat16
        array = tensor.numpy()
    else:
        array = image
    if not isinstance(array, np.ndarray):
        raise InputError(f"image must be a ComfyUI IMAGE tensor (B, H, W, C), got {type(image).__name__}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise InputError(f"image must be a ComfyUI IMAGE (B, H, W, C) with C = 1, 3 or 4, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"image must hold floats in 0..1 (a ComfyUI IMAGE), got {array.dtype}")
    if not np.isfinite(array).all():
        raise InputError("image holds NaN or infinite values")
    frames = (array.astype(np.float32) * 255.0).clip(0, 255).astype(np.uint8)
    return np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames


def image_from_maps(maps: list[np.ndarray], empty_size: tuple[int, int]) -> object:
    """(H, W, 3) uint8 maps as a ComfyUI IMAGE (B, H, W, 3) float32 0..1."""
    import torch

    if not maps:
        return torch.zeros((0, empty_size[1], empty_size[0], 3), dtype=torch.float32)
    sizes = {m.shape for m in maps}
    if len(sizes) > 1:
        raise InputError(f"the frames' pose images differ in size ({', '.join(map(str, sorted(sizes)))}); "
                         "an IMAGE batch needs one size: set a resolution or render frames of one canvas size")
    return torch.from_numpy(np.stack(maps).astype(np.float32) / 255.0)


def draw_map(result: PoseResult, style: str, parts: tuple[bool, bool, bool, bool], resolution: int,
             upscale_method: str, photo: np.ndarray | None = None) -> np.ndarray:
    """The poses in `style` at the result's image size (over `photo` when given), then resized as
    comfyui does: short side to `resolution`, exact aspect ratio (0 keeps the size)."""
    width, height = result.image_size
    if width and height:
        canvas = render(result, style, *parts, image=photo)
    else:
        canvas = np.zeros((height, width, 3), np.uint8)
    return resize_short_side(canvas, resolution, upscale_method)


def _check_drawing(style: str, resolution: object, flags: dict) -> tuple[bool, bool, bool, bool]:
    get_style(style)
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not (
            0 <= resolution <= MAX_RESOLUTION):
        raise InputError(f"resolution must be a whole number in 0..{MAX_RESOLUTION}, got {resolution!r}")
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {value!r}")
    return tuple(bool(v) for v in flags.values())  # type: ignore[return-value]


_loaded: dict[tuple[str, str, str, str], DwposeDetector] = {}


def load_detector(pose_model: str, detector: str, device: str, backend: str) -> DwposeDetector:
    """The models of one choice, loaded once (weights through the verified cache); only the last
    choice stays in memory."""
    key = (_check_choice("pose_model", pose_model, pose_models()),
           _check_choice("detector", detector, detector_choices()),
           _check_choice("device", device, DEVICES), _check_choice("backend", backend, backend_choices()))
    if key not in _loaded:
        _loaded.clear()  # free the previous models before loading others
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        if backend == "auto":  # on a GPU, dwpose's torch path (device crops); else by file type
            backend = "torch" if device.startswith("cuda") else None
        pose_file = model_path(pose_model)
        det_file = None if detector == NO_DETECTOR else model_path(detector)
        _loaded[key] = DwposeDetector.from_pretrained(
            DWPOSE_MODEL_NAME, det_filename=None if det_file is None else str(det_file), pose_filename=str(pose_file),
            device=device, backend=backend)
    return _loaded[key]


class DWPoseEstimator:
    """Whole-body poses of every frame of an IMAGE batch: all persons of all frames go through
    the pose network together (one batch)."""

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {
            "required": {
                "image": ("IMAGE",),
                **_toggles(True, True, True, False),
                **_drawing_inputs(),
                "pose_model": (pose_models(), {"default": DEFAULT_POSE}),
                "detector": (detector_choices(), {"default": DEFAULT_DETECTOR}),
                "device": (list(DEVICES), {"default": "auto"}),
                "backend": (backend_choices(), {"default": "auto"}),
            },
        }

    RETURN_TYPES = ("IMAGE", "POSE_KEYPOINT")
    RETURN_NAMES = ("image", "pose_keypoint")
    FUNCTION = "estimate"
    CATEGORY = CATEGORY
    DESCRIPTION = "DWPose whole-body keypoints (body, feet, face, hands) drawn as a ControlNet pose image"

    def estimate(self, image: object, detect_body: bool = True, detect_hand: bool = True, detect_face: bool = True,
                 detect_foot: bool = False, style: str = DEFAULT_STYLE, resolution: int = 512,
                 upscale_method: str = "INTER_CUBIC", pose_model: str = DEFAULT_POSE,
                 detector: str = DEFAULT_DETECTOR, device: str = "auto", backend: str = "auto") -> tuple:
        parts = _check_drawing(style, resolution, dict(detect_body=detect_body, detect_hand=detect_hand,
                                                       detect_face=detect_face, detect_foot=detect_foot))
        _check_choice("upscale_method", upscale_method, UPSCALE_METHODS)
        frames = frames_from_image(image)
        results = load_detector(pose_model, detector, device, backend).detect_batch(list(frames)) if len(frames) else []
        maps = [draw_map(r, style, parts, resolution, upscale_method) for r in results]
        keypoints = [r.to_openpose_json(*parts, controlnet_compat=True) for r in results]
        return image_from_maps(maps, (frames.shape[2], frames.shape[1])), keypoints


class DWPoseRender:
    """A POSE_KEYPOINT (comfyui_controlnet_aux's or ours) drawn in a chosen style, on black or
    over the frames of an optional IMAGE."""

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {
            "required": {"pose_keypoint": ("POSE_KEYPOINT",), **_toggles(True, True, True, False),
                         **_drawing_inputs()},
            "optional": {"image": ("IMAGE",)},
        }

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    FUNCTION = "render"
    CATEGORY = CATEGORY
    DESCRIPTION = "Draw POSE_KEYPOINT (OpenPose JSON per frame) in a dwpose drawing style"

    def render(self, pose_keypoint: object, detect_body: bool = True, detect_hand: bool = True,
               detect_face: bool = True, detect_foot: bool = False, style: str = DEFAULT_STYLE,
               resolution: int = 512, upscale_method: str = "INTER_CUBIC", image: object = None) -> tuple:
        parts = _check_drawing(style, resolution, dict(detect_body=detect_body, detect_hand=detect_hand,
                                                       detect_face=detect_face, detect_foot=detect_foot))
        _check_choice("upscale_method", upscale_method, UPSCALE_METHODS)
        frames = [pose_keypoint] if isinstance(pose_keypoint, dict) else pose_keypoint
        if not isinstance(frames, list):
            raise InputError(f"pose_keypoint must be a list of OpenPose-JSON dicts, got {type(pose_keypoint).__name__}")
        results = [PoseResult.from_openpose_json(frame) for frame in frames]
        photos: list[np.ndarray | None] = [None] * len(results)
        if image is not None:
            given = frames_from_image(image)
            if len(given) not in (1, len(results)):
                raise InputError(f"image has {len(given)} frames for {len(results)} pose frames (give 1 or as many)")
            photos = [given[0 if len(given) == 1 else i][..., :3] for i in range(len(results))]
        maps = [draw_map(r, style, parts, resolution, upscale_method, photo) for r, photo in zip(results, photos)]
        return (image_from_maps(maps, (0, 0)),)


NODE_CLASS_MAPPINGS = {"DWPoseEstimator": DWPoseEstimator, "DWPoseRender": DWPoseRender}
NODE_DISPLAY_NAME_MAPPINGS = {"DWPoseEstimator": "DWPose Estimator (dwpose)",
                              "DWPoseRender": "Render POSE_KEYPOINT (dwpose)"}
