"""The package as users get it: a wheel built from this checkout (`pip wheel .`), installed into a
fresh venv with no editable finder in sight (tests/package_install.py), then its console script
and `python -m dwpose` run there. About 30 s on 2 cores (building and installing the wheel, four
short commands)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import dwpose

def run(venv, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=venv.env(),
                          timeout=300)
    assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_wheel_metadata_is_what_users_expect(installed_venv):
    with zipfile.ZipFile(installed_venv.wheel) as wheel:
        names = wheel.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(wheel.read(meta_name).decode())
        entry_points = wheel.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert meta["Name"] == "dwpose-toolkit" and meta["Version"] == dwpose.__version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["Description-Content-Type"] == "text/markdown" and "# " in meta.get_payload()
    assert {"openvino", "serve", "ray", "test"} <= set(meta.get_all("Provides-Extra"))
    assert any(c.startswith("Programming Language :: Python :: 3") for c in meta.get_all("Classifier"))
    assert "dwpose = dwpose.cli:main" in entry_points
    # the sample photo `dwpose demo` uses and the ComfyUI node package travel in the wheel
    assert "dwpose/assets/human-pose.jpeg" in names and "dwpose/integrations/comfyui/nodes.py" in names
    assert not [n for n in names if n.startswith("tests/")]


def test_installed_wheel_runs_without_the_checkout(installed_venv, tmp_path, reference):
    venv = installed_venv
    where = run(venv, venv.python, "-c", "import dwpose, sys; print(dwpose.__file__); print(sys.meta_path)",
                cwd=tmp_path).stdout.splitlines()
    # the wheel's copy, not the checkout through an editable finder
    assert Path(where[0]).is_relative_to(venv.site_packages), where
    assert "editable" not in where[1].lower(), where
    version = run(venv, venv.bin / "dwpose", "--version", cwd=tmp_path).stdout.strip()
    assert version == f"dwpose-toolkit {dwpose.__version__}"
    help_text = run(venv, venv.bin / "dwpose", "--help", cwd=tmp_path).stdout
    assert "predict" in help_text and "comfyui-install" in help_text and "--version" in help_text
    models = run(venv, venv.python, "-m", "dwpose", "models", cwd=tmp_path).stdout
    assert "rtmpose-t" in models and "yolox-l" in models
    sample = Path(where[0]).parent / "assets" / "human-pose.jpeg"
    out = tmp_path / "out"
    run(venv, venv.bin / "dwpose", "predict", sample, "--pose-model", reference / "rtmpose_t_256x192_random.onnx",
        "--no-detector", "--out", out, "--no-progress", cwd=tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["human-pose.json", "human-pose_pose.png"]
    data = json.loads((out / "human-pose.json").read_text())
    # no detector: the whole photo is one person, whose 133 points are written as OpenPose JSON
    assert (data["canvas_width"], data["canvas_height"]) == (218, 346) and len(data["people"]) == 1
    person = data["people"][0]
    assert [len(person[k]) for k in ("pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d",
                                     "hand_right_keypoints_2d")] == [18 * 3, 70 * 3, 21 * 3, 21 * 3]
