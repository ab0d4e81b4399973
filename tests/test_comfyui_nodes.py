"""The ComfyUI node package (dwpose.integrations.comfyui) without ComfyUI: the node classes called
as ComfyUI calls them, with IMAGE tensors (B, H, W, C) float32 0..1, on tiny random-weight models
standing in for the registry's files; the install command on a temporary ComfyUI folder; and
importing the installed node package with the network blocked."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from dwpose.adapters.comfyui import resize_short_side
from dwpose.cli.main import main
from dwpose.drawing import list_styles
from dwpose.drawing.comfyui import draw_comfyui
from dwpose.errors import InputError, WeightsError
from dwpose.formats import PoseResult
from dwpose.integrations.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, install, nodes
from dwpose.weights import DEFAULT_DETECTOR, DEFAULT_POSE
from tests.test_adapters import check_openpose_json
from tests.test_styles import STYLE_REFERENCE, read_rgb, reference_result
from tests.test_styles_json import decode_like_comfyui

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_models(monkeypatch, pose_onnx, yolox_s_onnx):
    """The registry's default files resolved to tiny random-weight ones (nothing downloaded);
    the names asked for are recorded."""
    asked: list[str] = []
    files = {DEFAULT_POSE: pose_onnx, DEFAULT_DETECTOR: yolox_s_onnx}

    def resolve(name, registry_only=False):
        assert registry_only  # the node never looks for a file of that name in the working directory
        asked.append(str(name))
        return Path(files[str(name)])

    monkeypatch.setattr(nodes, "resolve_weights", resolve)
    nodes._loaded.clear()
    yield asked
    nodes._loaded.clear()


class CountingRunner:
    """Wraps the pose network runner: counts its calls and the batch size of each."""

    def __init__(self, runner) -> None:
        self.runner, self.batches = runner, []

    def __call__(self, batch):
        self.batches.append(len(batch))
        return self.runner(batch)


def count_pose_calls(detector) -> CountingRunner:
    counter = CountingRunner(detector.pipeline.pose.runner)
    detector.pipeline.pose.runner = counter
    return counter


def comfy_image(*frames_rgb: np.ndarray) -> torch.Tensor:
    """Frames as ComfyUI passes an IMAGE: (B, H, W, 3) float32 in 0..1."""
    return torch.from_numpy(np.stack(frames_rgb).astype(np.float32) / 255.0)


@pytest.fixture(scope="module")
def sample_rgb(sample_bgr) -> np.ndarray:
    return np.ascontiguousarray(sample_bgr[..., ::-1])  # 218 wide x 346 high


def check_input_spec(name: str, spec: tuple) -> None:
    assert isinstance(spec, tuple) and 1 <= len(spec) <= 2, name
    kind = spec[0]
    options = spec[1] if len(spec) == 2 else {}
    assert isinstance(options, dict), name
    if isinstance(kind, list):  # a combo box: its default must be one of its choices
        assert kind and all(isinstance(c, str) for c in kind), name
        assert options.get("default", kind[0]) in kind, name
    else:
        assert kind in ("IMAGE", "POSE_KEYPOINT", "BOOLEAN", "INT"), name
        if kind == "BOOLEAN":
            assert isinstance(options["default"], bool), name
        if kind == "INT":
            assert options["min"] <= options["default"] <= options["max"], name


def test_node_schema_follows_comfyuis_convention():
    assert set(NODE_CLASS_MAPPINGS) == set(NODE_DISPLAY_NAME_MAPPINGS) == {"DWPoseEstimator", "DWPoseRender"}
    for cls in NODE_CLASS_MAPPINGS.values():
        types = cls.INPUT_TYPES()
        assert set(types) <= {"required", "optional"} and types["required"]
        for group in types.values():
            for name, spec in group.items():
                check_input_spec(name, spec)
        assert isinstance(cls.RETURN_TYPES, tuple) and len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES)
        assert callable(getattr(cls(), cls.FUNCTION)) and isinstance(cls.CATEGORY, str)
        # every input the node declares is a parameter of its function (ComfyUI passes them by name)
        code = getattr(cls, cls.FUNCTION).__code__
        params = set(code.co_varnames[:code.co_argcount])
        assert {n for g in types.values() for n in g} <= params
    estimator = NODE_CLASS_MAPPINGS["DWPoseEstimator"].INPUT_TYPES()["required"]
    assert NODE_CLASS_MAPPINGS["DWPoseEstimator"].RETURN_TYPES == ("IMAGE", "POSE_KEYPOINT")
    assert estimator["style"][0] == list_styles() and estimator["style"][1]["default"] == "comfyui"
    assert "none" in estimator["detector"][0] and estimator["detector"][1]["default"] == DEFAULT_DETECTOR
    assert estimator["pose_model"][1]["default"] == DEFAULT_POSE
    assert {"cpu", "cuda"} <= set(estimator["device"][0]) and "onnxruntime" in estimator["backend"][0]


def test_estimator_batches_all_frames_through_one_network_call(tiny_models, sample_rgb):
    frames = comfy_image(sample_rgb, sample_rgb[:, ::-1], np.zeros_like(sample_rgb))
    node = nodes.DWPoseEstimator()
    detector = nodes.load_detector(DEFAULT_POSE, "none", "cpu", "auto")
    counter = count_pose_calls(detector)
    image, keypoints = node.estimate(frames, detector="none", device="cpu")
    # no detector: each frame is one person; the three persons went through the network together
    assert counter.batches == [3]
    assert tiny_models == [DEFAULT_POSE]  # resolved on first use, by registry name
    # short side (218) to 512, exact aspect: 346 * 512 / 218 = 812.6 -> 813
    assert image.shape == (3, 813, 512, 3) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert len(keypoints) == 3
    for frame_json, frame_map in zip(keypoints, image.numpy()):
        check_openpose_json(frame_json, 218, 346, people=1, compat=True)
        # the pose image is comfyui's own drawing of the returned POSE_KEYPOINT (same poses)
        poses, height, width = decode_like_comfyui(frame_json)
        expected = resize_short_side(draw_comfyui(poses, (width, height)), 512)
        np.testing.assert_array_equal(np.round(frame_map * 255).astype(np.uint8), expected)
    # random weights still place points with score >= 0.3, so the maps are not black
    assert float(image[0].max()) > 0


class FixedPersons:
    """Stands in for the loaded YOLOX (whose random weights find nobody): given person boxes per
    frame, returned in one detect_batch call as the real detector returns them."""

    def __init__(self, boxes_per_frame: list[list[list[float]]]) -> None:
        self.boxes_per_frame, self.calls = boxes_per_frame, 0

    def detect_batch(self, images):
        from dwpose.detection.yolox import Detections

        self.calls += 1
        assert len(images) == len(self.boxes_per_frame)
        return [Detections(np.asarray(b, np.float32).reshape(-1, 4), np.full(len(b), 0.9, np.float32))
                for b in self.boxes_per_frame]


def test_estimator_with_detector_batches_persons_of_all_frames(tiny_models, sample_rgb):
    node = nodes.DWPoseEstimator()
    detector = nodes.load_detector(DEFAULT_POSE, DEFAULT_DETECTOR, "cpu", "auto")
    assert tiny_models == [DEFAULT_POSE, DEFAULT_DETECTOR]
    persons = FixedPersons([[[10, 20, 120, 300], [100, 40, 210, 330]], [], [[0, 0, 218, 346]]])
    detector.pipeline.detector = persons
    counter = count_pose_calls(detector)
    image, keypoints = node.estimate(comfy_image(sample_rgb, sample_rgb, sample_rgb[::-1]), resolution=0,
                                     device="cpu", detect_hand=False, detect_face=False, detect_foot=True)
    # the three persons of the three frames went through the pose network in one batch
    assert persons.calls == 1 and counter.batches == [3]
    assert [len(k["people"]) for k in keypoints] == [2, 0, 1]
    assert image.shape == (3, 346, 218, 3)  # resolution 0 keeps the frame size
    assert float(image[1].max()) == 0.0  # nobody in frame 2: a black map
    for frame_json in keypoints:
        feet = [person.pop("foot_keypoints_2d") for person in frame_json["people"]]  # asked for: 6 points
        assert all(f is None or len(f) == 18 for f in feet)
        check_openpose_json(frame_json, 218, 346, people=len(frame_json["people"]), compat=True)
        assert all(p["hand_left_keypoints_2d"] is None and p["face_keypoints_2d"] is None
                   for p in frame_json["people"])
    # the loaded models are kept for the next run with the same choice
    assert nodes.load_detector(DEFAULT_POSE, DEFAULT_DETECTOR, "cpu", "auto") is detector


def test_nobody_found_and_empty_batches_give_black_maps_and_no_people(monkeypatch, pose_onnx, nobody_onnx,
                                                                       sample_rgb):
    monkeypatch.setattr(nodes, "resolve_weights", lambda name, registry_only: Path(
        {DEFAULT_POSE: pose_onnx, DEFAULT_DETECTOR: nobody_onnx}[str(name)]))
    nodes._loaded.clear()
    node = nodes.DWPoseEstimator()
    image, keypoints = node.estimate(comfy_image(sample_rgb), device="cpu", resolution=256)
    assert image.shape == (1, 406, 256, 3) and float(image.max()) == 0.0
    assert keypoints == [{"people": [], "canvas_height": 346, "canvas_width": 218}]
    image, keypoints = node.estimate(torch.zeros((0, 64, 48, 3)), device="cpu")
    assert image.shape == (0, 64, 48, 3) and keypoints == []
    nodes._loaded.clear()


@pytest.mark.parametrize("bad, message", [
    (torch.zeros((1, 8, 8, 3), dtype=torch.uint8), "floats"),
    (torch.zeros((1, 3, 8, 8)), "C = 1, 3 or 4"),
    (torch.full((1, 8, 8, 3), float("nan")), "NaN"),
    ("photo.png", "IMAGE tensor"),
])
def test_estimator_rejects_what_is_not_a_comfyui_image(bad, message):
    with pytest.raises(InputError, match=message):
        nodes.DWPoseEstimator().estimate(bad, device="cpu")


@pytest.mark.parametrize("option, message", [
    ({"style": "nope"}, "unknown drawing style"), ({"pose_model": "my.onnx"}, "pose_model must be one of"),
    ({"detector": "yolo"}, "detector must be one of"), ({"backend": "tensorrt"}, "backend must be one of"),
    ({"resolution": -1}, "resolution"), ({"detect_hand": "yes"}, "detect_hand"),
    ({"upscale_method": "bicubic"}, "upscale_method"),
])
def test_estimator_rejects_bad_options_before_loading(option, message, tiny_models):
    with pytest.raises(InputError, match=message):
        nodes.DWPoseEstimator().estimate(torch.zeros((1, 8, 8, 3)), device="cpu", **option)
    assert tiny_models == []  # nothing resolved for a bad choice


@pytest.mark.parametrize("image_id, case", [("000000000785", "vis"), ("000000040083", "rand")])
def test_render_node_redraws_comfyuis_image_from_its_json(image_id, case):
    path = STYLE_REFERENCE / f"comfyui_{image_id}_{case}.json"
    if not path.is_file():
        pytest.skip(f"reference {path.name} missing")
    frame = json.loads(path.read_text())  # what comfyui_controlnet_aux itself wrote for these poses
    (image,) = nodes.DWPoseRender().render([frame, frame], style="comfyui", resolution=0)
    expected = read_rgb(STYLE_REFERENCE / f"comfyui_{image_id}_{case}.png")
    assert image.shape == (2, *expected.shape)
    np.testing.assert_array_equal(np.round(image[1].numpy() * 255).astype(np.uint8), expected)


def test_render_node_over_photo_and_size_rules(sample_rgb):
    result = reference_result("000000000785", "vis")
    frame = PoseResult.from_keypoints(result.keypoints * [218 / result.image_size[0], 346 / result.image_size[1]],
                                      result.scores, (218, 346)).to_openpose_json(controlnet_compat=True)
    photo = comfy_image(sample_rgb)
    (over,) = nodes.DWPoseRender().render([frame], style="controlnet", resolution=0, image=photo)
    (alone,) = nodes.DWPoseRender().render([frame], style="controlnet", resolution=0)
    assert over.shape == alone.shape == (1, 346, 218, 3)
    drawn = alone[0].sum(-1) > 0
    assert drawn.any() and torch.equal(over[0][drawn], alone[0][drawn])  # the skeleton over the photo
    assert torch.equal(over[0][~drawn], photo[0][~drawn])
    other = dict(frame, canvas_width=300)
    with pytest.raises(InputError, match="differ in size"):
        nodes.DWPoseRender().render([frame, other], resolution=0)
    with pytest.raises(InputError, match="'people' list"):
        nodes.DWPoseRender().render([{"animals": []}])
    with pytest.raises(InputError, match="2 frames for 1"):
        nodes.DWPoseRender().render([frame], image=comfy_image(sample_rgb, sample_rgb))


def test_openpose_json_round_trip_keeps_the_drawing():
    result = reference_result("000000040083", "rand")
    data = json.loads(json.dumps(result.to_openpose_json(include_foot=True, controlnet_compat=True)))
    back = PoseResult.from_openpose_json(data)
    assert back.image_size == result.image_size and len(back) == len(result)
    present = result.scores >= 0.3
    np.testing.assert_array_equal(back.scores > 0, present)
    np.testing.assert_allclose(back.keypoints[present], result.keypoints[present])


def test_comfyui_install_writes_a_loader_and_keeps_foreign_folders(tmp_path, capsys):
    comfy = tmp_path / "ComfyUI"
    (comfy / "custom_nodes").mkdir(parents=True)
    assert main(["comfyui-install", str(comfy)]) == 0
    loader = comfy / "custom_nodes" / "comfyui-dwpose" / "__init__.py"
    assert "from dwpose.integrations.comfyui import NODE_CLASS_MAPPINGS" in loader.read_text()
    assert main(["comfyui-install", str(comfy / "custom_nodes")]) == 0  # again: its own file is replaced
    assert [p.name for p in loader.parent.iterdir()] == ["__init__.py"]  # no temporary left behind
    (comfy / "custom_nodes" / "other").mkdir()
    (comfy / "custom_nodes" / "other" / "__init__.py").write_text("# someone else's node\n")
    capsys.readouterr()
    assert main(["comfyui-install", str(comfy), "--name", "other"]) == 2
    assert "not written by dwpose comfyui-install" in capsys.readouterr().err
    assert (comfy / "custom_nodes" / "other" / "__init__.py").read_text() == "# someone else's node\n"
    assert main(["comfyui-install", str(tmp_path / "nowhere")]) == 2
    assert "no custom_nodes folder" in capsys.readouterr().err


IMPORT_OFFLINE = r"""
import importlib.util, json, os, socket, sys, urllib.request

def refuse(*args, **kwargs):
    raise AssertionError("network access while importing the ComfyUI package")

socket.socket.connect = refuse
socket.create_connection = refuse
urllib.request.urlopen = refuse
import dwpose.weights
dwpose.weights.download = refuse

loader = sys.argv[1]
spec = importlib.util.spec_from_file_location("comfyui-dwpose", loader,
                                              submodule_search_locations=[os.path.dirname(loader)])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)  # as ComfyUI loads a custom node folder
schemas = {name: cls.INPUT_TYPES() for name, cls in module.NODE_CLASS_MAPPINGS.items()}
print(json.dumps(sorted(schemas)))
"""


def test_installed_package_imports_without_network_or_downloads(tmp_path):
    comfy = tmp_path / "ComfyUI"
    (comfy / "custom_nodes").mkdir(parents=True)
    assert main(["comfyui-install", str(comfy)]) == 0
    cache = tmp_path / "cache"
    env = dict(os.environ, DWPOSE_HOME=str(cache), PYTHONPATH=str(ROOT))
    loader = comfy / "custom_nodes" / "comfyui-dwpose" / "__init__.py"
    done = subprocess.run([sys.executable, "-c", IMPORT_OFFLINE, str(loader)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["DWPoseEstimator", "DWPoseRender"]
    assert not cache.exists()  # nothing fetched, not even the cache folder made


def test_comfyui_install_refuses_the_package_name_and_replaces_its_old_folder(tmp_path, capsys):
    custom = tmp_path / "ComfyUI" / "custom_nodes"
    custom.mkdir(parents=True)
    assert main(["comfyui-install", str(custom.parent), "--name", "dwpose"]) == 2
    assert "would hide the installed dwpose package" in capsys.readouterr().err
    assert not (custom / "dwpose").exists()
    # what an earlier release wrote (its own loader, and Python's cache of it): removed, with a message
    (custom / "dwpose" / "__pycache__").mkdir(parents=True)
    (custom / "dwpose" / "__init__.py").write_text(install.LOADER.replace("dwpose-toolkit", "dwpose"))
    assert main(["comfyui-install", str(custom.parent)]) == 0
    out = capsys.readouterr().out
    assert f"removed {custom / 'dwpose'}" in out and f"into {custom.parent / 'models' / 'dwpose'}" in out
    assert sorted(p.name for p in custom.iterdir()) == ["comfyui-dwpose"]
    # a dwpose folder that holds more than our loader, or is someone else's, is never deleted
    for extra in ("notes.txt", None):
        (custom / "dwpose").mkdir()
        (custom / "dwpose" / "__init__.py").write_text(install.LOADER if extra else "# someone else's node\n")
        if extra:
            (custom / "dwpose" / extra).write_text("mine")
        assert main(["comfyui-install", str(custom.parent)]) == 0
        assert "removed" not in capsys.readouterr().out
        assert (custom / "dwpose" / "__init__.py").is_file()
        shutil.rmtree(custom / "dwpose")


class FakeFolderPaths(types.ModuleType):
    """The part of ComfyUI's `folder_paths` the nodes use, as ComfyUI defines it (a dict of
    name -> ([folders], extensions); file names relative to the folder)."""

    def __init__(self, models_dir: Path) -> None:
        super().__init__("folder_paths")
        self.models_dir = str(models_dir)
        self.folder_names_and_paths = {"checkpoints": ([str(models_dir / "checkpoints")], {".ckpt"})}

    def get_folder_paths(self, name):
        return self.folder_names_and_paths[name][0][:]

    def get_filename_list(self, name):
        folders, extensions = self.folder_names_and_paths[name]
        return sorted(str(p.relative_to(f)) for f in map(Path, folders) if f.is_dir() for p in f.rglob("*")
                      if p.is_file() and (not extensions or p.suffix in extensions))

    def get_full_path(self, name, filename):
        for folder in self.get_folder_paths(name):
            path = os.path.join(folder, filename)
            if os.path.isfile(path):
                return path
        return None


@pytest.fixture
def inside_comfyui(monkeypatch, tmp_path):
    """The nodes as ComfyUI imports them: its `folder_paths` importable; a working directory with
    files named like the registry's (which must never be read)."""
    fake = FakeFolderPaths(tmp_path / "ComfyUI" / "models")
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    work = tmp_path / "cwd"
    (work / "yzd-v" / "DWPose").mkdir(parents=True)
    for trap in (work / DEFAULT_POSE, work / "yzd-v" / "DWPose" / DEFAULT_POSE):
        trap.write_bytes(b"not a model")
    monkeypatch.chdir(work)
    nodes._loaded.clear()
    yield fake, tmp_path / "ComfyUI" / "models" / "dwpose"
    nodes._loaded.clear()


def test_models_in_comfyuis_models_folder_are_offered_and_loaded(inside_comfyui, monkeypatch, pose_onnx,
                                                                  yolox_s_onnx, sample_rgb):
    fake, folder = inside_comfyui
    assert nodes.local_models() == [] and nodes.model_folder() == str(folder)
    assert fake.folder_names_and_paths["dwpose"] == ([str(folder)], {".onnx", ".pth"})  # registered
    (folder / "sub").mkdir(parents=True)
    shutil.copy(pose_onnx, folder / "my_pose.onnx")
    shutil.copy(yolox_s_onnx, folder / "sub" / "my_yolox.onnx")
    (folder / "readme.txt").write_text("not a model")
    poses, detectors = nodes.pose_models(), nodes.detector_choices()
    assert poses[0] == DEFAULT_POSE and poses[-2:] == ["my_pose.onnx", "sub/my_yolox.onnx"]
    assert detectors[0] == DEFAULT_DETECTOR and detectors[-3:] == ["my_pose.onnx", "sub/my_yolox.onnx", "none"]
    assert nodes.DWPoseEstimator.INPUT_TYPES()["required"]["pose_model"][0] == poses
    asked = []
    monkeypatch.setattr(nodes, "resolve_weights", lambda name, **kw: asked.append(name))
    image, keypoints = nodes.DWPoseEstimator().estimate(comfy_image(sample_rgb), pose_model="my_pose.onnx",
                                                        detector="sub/my_yolox.onnx", device="cpu", resolution=0)
    assert asked == [] and image.shape == (1, 346, 218, 3) and len(keypoints) == 1
    loaded = nodes._loaded[("my_pose.onnx", "sub/my_yolox.onnx", "cpu", "auto")]._files
    assert loaded[:2] == (folder / "my_pose.onnx", folder / "sub" / "my_yolox.onnx")
    # a registry name dropped into the folder is read from there, not fetched
    shutil.copy(pose_onnx, folder / DEFAULT_POSE)
    assert nodes.model_path(DEFAULT_POSE) == folder / DEFAULT_POSE and asked == []


def test_offline_inside_comfyui_names_the_models_folder(inside_comfyui, monkeypatch, tmp_path):
    _, folder = inside_comfyui
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing answers
    with pytest.raises(WeightsError) as caught:
        nodes.DWPoseEstimator().estimate(torch.zeros((1, 8, 8, 3)), detector="none", device="cpu")
    message = str(caught.value)
    # neither ./dw-ll_ucoco_384.onnx nor ./yzd-v/DWPose/ (the traps) was read: it tried to download
    assert message.startswith(f"{DEFAULT_POSE} is neither in {folder} nor in the dwpose cache, and cannot download")
    assert message.endswith(f"put it into {folder}, then run the workflow again")
    assert "pass the file's path" not in message


def test_only_installed_backends_are_offered(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(nodes.importlib.util, "find_spec", lambda name, *a: None if name == "openvino"
                        else find_spec(name, *a))
    assert nodes.backend_choices() == ["auto", "onnxruntime", "torch"]
    assert nodes.DWPoseEstimator.INPUT_TYPES()["required"]["backend"][0] == ["auto", "onnxruntime", "torch"]
    with pytest.raises(InputError, match="backend must be one of auto, onnxruntime, torch"):
        nodes.DWPoseEstimator().estimate(torch.zeros((1, 8, 8, 3)), backend="openvino", device="cpu")


def test_adapter_takes_a_hub_repo_id_for_an_id_even_when_such_a_folder_is_in_the_working_directory(
        monkeypatch, tmp_path, pose_onnx):
    from dwpose.adapters import _common
    from dwpose.adapters.comfyui import DwposeDetector

    (tmp_path / "yzd-v" / "DWPose").mkdir(parents=True)
    (tmp_path / "yzd-v" / "DWPose" / DEFAULT_POSE).write_bytes(b"not a model")
    monkeypatch.chdir(tmp_path)
    asked = []
    monkeypatch.setattr(_common, "resolve_model", lambda name: asked.append(name) or Path(pose_onnx))
    DwposeDetector.from_pretrained("yzd-v/DWPose", pose_filename=DEFAULT_POSE)
    assert asked == [DEFAULT_POSE]  # by name, through the verified cache
    # a folder given as a path is still a folder
    DwposeDetector.from_pretrained(Path("yzd-v/DWPose"), pose_filename=DEFAULT_POSE)
    assert asked[-1] == Path("yzd-v/DWPose") / DEFAULT_POSE
def test_render_refuses_canvases_and_coordinates_no_image_holds():
    frame = {"canvas_width": 10**6, "canvas_height": 10**6, "people": []}
    with pytest.raises(InputError, match="OpenPose JSON canvas: 1000000x1000000 px, over the 32766 px per side"):
        nodes.DWPoseRender().render([frame], resolution=0)
    person = {"pose_keypoints_2d": [1e30, -1e30, 1.0] * 18}
    with pytest.raises(InputError, match=r"person 0: pose_keypoints_2d has a coordinate beyond \+-1e\+06 px"):
        nodes.DWPoseRender().render([{"canvas_width": 64, "canvas_height": 48, "people": [person]}], resolution=0)
    far = {"pose_keypoints_2d": [1e6, -1e6, 1.0] * 18}  # far off the canvas, but drawable: nothing shows
    (image,) = nodes.DWPoseRender().render([{"canvas_width": 64, "canvas_height": 48, "people": [far]}], resolution=0)
    assert image.shape == (1, 48, 64, 3)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_estimator_takes_half_precision_images(tiny_models, sample_rgb, dtype):
    frames = comfy_image(sample_rgb)
    node = nodes.DWPoseEstimator()
    full_image, full_keypoints = node.estimate(frames, detector="none", device="cpu", resolution=0)
    half = frames.to(dtype)
    image, keypoints = node.estimate(half, detector="none", device="cpu", resolution=0)
    assert image.dtype == torch.float32 and image.shape == full_image.shape
    # The same frames as the float32 ones rounded to that precision.
    expected, _ = node.estimate(half.float(), detector="none", device="cpu", resolution=0)
    assert torch.equal(image, expected)
