import json

import cv2

from dwpose.cli import main


def test_demo_runs_pipeline_on_bundled_sample(tmp_path, pose_onnx, yolox_s_onnx, capsys):
    args = ["demo", "--out", str(tmp_path), "--pose-model", str(pose_onnx), "--det-model", str(yolox_s_onnx),
            "--score-threshold", "0", "--max-persons", "2", "--no-progress"]
    assert main(args) == 0
    data = json.loads((tmp_path / "human-pose.json").read_text())
    assert (data["canvas_width"], data["canvas_height"]) == (218, 346)
    assert len(data["people"]) == 2
    assert cv2.imread(str(tmp_path / "human-pose_pose.png")).shape == (346, 218, 3)
    assert "1 of 1 input(s) done" in capsys.readouterr().out


def test_models_lists_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "rtmpose-l-384x288" in out and "dwpose-l-384x288" in out
