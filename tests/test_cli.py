import json

import cv2

from dwpose.cli import main


def test_demo_on_bundled_sample(tmp_path, t_checkpoint, capsys):
    assert main(["demo", "--checkpoint", str(t_checkpoint), "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "human-pose.json").read_text())
    assert len(record["keypoints"]) == 133 and len(record["scores"]) == 133
    height, width = cv2.imread(str(tmp_path / "human-pose_keypoints.png")).shape[:2]
    assert (width, height) == (218, 346)
    # The crop is the whole image padded by 1.25 and widened to 3:4, so points lie inside that.
    crop_w = max(width, height * 0.75) * 1.25
    crop_h = crop_w / 0.75
    assert all(abs(x - width / 2) <= crop_w / 2 and abs(y - height / 2) <= crop_h / 2 for x, y in record["keypoints"])
    assert "133 keypoints" in capsys.readouterr().out


def test_demo_bad_image_is_one_line_error(tmp_path, t_checkpoint, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    assert main(["demo", "--checkpoint", str(t_checkpoint), "--image", str(bad), "--out", str(tmp_path)]) == 2
    assert "cannot read image" in capsys.readouterr().err


def test_models_lists_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "rtmpose-l-384x288" in out and "dwpose-l-384x288" in out
