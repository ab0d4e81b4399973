import json

import cv2
import numpy as np
import pytest
from PIL import Image

from dwpose.cli import main
from tests.conftest import DATA


@pytest.fixture(scope="module")
def odd_images(tmp_path_factory, sample_bgr):
    folder = tmp_path_factory.mktemp("odd")
    cv2.imwrite(str(folder / "gray.png"), cv2.cvtColor(sample_bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "rgba.png"), cv2.cvtColor(sample_bgr, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(folder / "deep.png"), sample_bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "tiny.png"), sample_bgr[:1, :1])
    cv2.imwrite(str(folder / "large.jpg"), cv2.resize(sample_bgr, (4000, 3000)))
    # EXIF orientation 6 (rotate 90 clockwise): a 218x346 photo is shown as 346x218.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(sample_bgr[..., ::-1]).save(folder / "rotated.jpg", exif=exif.tobytes())
    return folder


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (folder / "text.png").write_text("this is not an image")
    (folder / "fake.mp4").write_bytes(b"not a video")
    return folder


def run(args, pose_onnx, yolox=None):
    models = ["--pose-model", str(pose_onnx), "--no-progress"]
    models += ["--det-model", str(yolox), "--score-threshold", "0.0", "--max-persons", "3"] if yolox else ["--no-detector"]
    return main(["predict", *args, *models])


def test_odd_but_valid_images(tmp_path, odd_images, pose_onnx, capsys):
    assert run([str(odd_images), "--out", str(tmp_path)], pose_onnx) == 0
    assert "6 of 6 input(s) done, 0 failed" in capsys.readouterr().out
    for stem in ("gray", "rgba", "deep", "tiny", "large", "rotated"):
        data = json.loads((tmp_path / f"{stem}.json").read_text())
        assert len(data["people"]) == 1
        skeleton = cv2.imread(str(tmp_path / f"{stem}_pose.png"))
        assert skeleton.shape[:2] == (data["canvas_height"], data["canvas_width"])
    rotated = json.loads((tmp_path / "rotated.json").read_text())
    assert (rotated["canvas_width"], rotated["canvas_height"]) == (346, 218)


def test_bad_files_are_skipped_and_reported(tmp_path, bad_inputs, pose_onnx, capsys):
    good = DATA / "media" / "human-pose.jpeg"
    missing = tmp_path / "missing.jpg"
    code = run([str(bad_inputs), str(good), str(missing), "--out", str(tmp_path / "out")], pose_onnx)
    captured = capsys.readouterr()
    assert code == 1
    assert "1 of 6 input(s) done, 5 failed" in captured.out
    lines = [line for line in captured.err.splitlines() if line.startswith("skipped")]
    assert len(lines) == 5 and "Traceback" not in captured.err
    assert any("empty file" in line for line in lines)
    assert any("missing.jpg" in line for line in lines)
    assert any("fake.mp4" in line for line in lines)
    assert (tmp_path / "out" / "human-pose.json").exists()


def test_globs_overlay_toggles_and_resolution(tmp_path, pose_onnx, yolox_s_onnx, capsys):
    pattern = str(DATA / "coco_wholebody_val_sample" / "000000*.jpg")
    code = run([pattern, "--out", str(tmp_path), "--overlay", "--no-face", "--resolution", "256", "--controlnet-compat"],
               pose_onnx, yolox_s_onnx)
    assert code == 0
    assert "4 of 4 input(s) done" in capsys.readouterr().out
    data = json.loads((tmp_path / "000000000785.json").read_text())
    assert all(p["face_keypoints_2d"] is None for p in data["people"])
    assert all(set(p["pose_keypoints_2d"][2::3]) <= {0.0, 1.0} for p in data["people"])
    skeleton = cv2.imread(str(tmp_path / "000000000785_pose.png"))
    assert min(skeleton.shape[:2]) == 256
    assert (tmp_path / "000000000785_overlay.png").exists()


def test_video_writes_skeleton_video_and_json_lines(tmp_path, pose_onnx):
    video = DATA / "media" / "demo.mp4"
    assert run([str(video), "--out", str(tmp_path), "--batch-size", "2", "--smooth"], pose_onnx) == 0
    lines = (tmp_path / "demo.jsonl").read_text().splitlines()
    assert len(lines) == 5
    records = [json.loads(line) for line in lines]
    assert [r["frame"] for r in records] == list(range(5))
    assert all(r["track_ids"] == [0] for r in records)  # one stable id for the whole-image person
    capture = cv2.VideoCapture(str(tmp_path / "demo_pose.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    ok, frame = capture.read()
    assert ok and frame.shape == (540, 960, 3)


def test_nothing_to_do_is_an_error(tmp_path, pose_onnx, capsys):
    assert run([str(tmp_path / "none*.jpg"), "--out", str(tmp_path)], pose_onnx) == 2
    assert "no input files" in capsys.readouterr().err


def test_video_detect_every_k_frames_tracks_between(tmp_path, pose_onnx, yolox_s_onnx):
    video = DATA / "media" / "demo.mp4"
    args = ["predict", str(video), "--out", str(tmp_path), "--detect-every", "2", "--pose-model", str(pose_onnx),
            "--det-model", str(yolox_s_onnx), "--score-threshold", "0", "--max-persons", "2", "--no-progress"]
    assert main(args) == 0
    records = [json.loads(line) for line in (tmp_path / "demo.jsonl").read_text().splitlines()]
    assert len(records) == 5
    # Frames 1 and 3 follow frame 0 and 2's people (boxes from their keypoints): same count.
    assert [len(r["people"]) for r in records] == [2, 2, 2, 2, 2]
    assert all(len(set(r["track_ids"])) == 2 for r in records)


def test_user_boxes_from_a_json_file(tmp_path, pose_onnx, capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"human-pose.jpeg": [[10, 10, 200, 300], [0, 0, 50, 80]], "000000000785": []}))
    images = [str(DATA / "media" / "human-pose.jpeg"), str(DATA / "coco_wholebody_val_sample" / "000000000785.jpg"),
              str(DATA / "coco_wholebody_val_sample" / "000000040083.jpg")]
    code = main(["predict", *images, "--out", str(tmp_path / "out"), "--boxes", str(boxes), "--pose-model",
                 str(pose_onnx), "--no-progress"])
    assert code == 1  # the third image has no entry
    assert "no entry in the --boxes file" in capsys.readouterr().err
    assert len(json.loads((tmp_path / "out" / "human-pose.json").read_text())["people"]) == 2
    assert json.loads((tmp_path / "out" / "000000000785.json").read_text())["people"] == []
    boxes.write_text('{"a.jpg": [1, 2, 3]}')
    assert main(["predict", images[0], "--out", str(tmp_path), "--boxes", str(boxes), "--pose-model",
                 str(pose_onnx), "--no-progress"]) == 2
