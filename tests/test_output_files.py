"""Issue 12: file names OpenCV cannot take, outputs renamed into place per input, and ONNX
files checked at load."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.fileio import is_temporary
from dwpose.inference.io import opencv_path
from dwpose.inference.outputs import remove_stale_temporaries, staged_outputs, write_synced
from tests.conftest import DATA, ROOT
from tests.media import count_frames, write_video
from dwpose.inference.video import video_codec
from dwpose.errors import BackendError

POSE_SUFFIX = video_codec()[1]  # the pose video's suffix: .mp4 (H.264) or .webm (VP9)

NOT_UTF8 = os.fsdecode(b"\xff\xfe")  # the bytes of a name that is not valid UTF-8


def test_names_that_are_not_utf8_go_through_predict(tmp_path, pose_onnx):
    """OpenCV segfaulted on these names (imwrite and VideoCapture); a subprocess, so that a
    regression fails this test instead of killing the test run."""
    inputs = tmp_path / f"in-{NOT_UTF8}"
    inputs.mkdir()
    (inputs / f"{NOT_UTF8}.jpg").write_bytes((DATA / "media" / "human-pose.jpeg").read_bytes())
    (inputs / f"{NOT_UTF8}.mp4").write_bytes((DATA / "media" / "demo.mp4").read_bytes())
    out = tmp_path / f"out-{NOT_UTF8}"
    command = [sys.executable, "-m", "dwpose", "predict", str(inputs), "--out", str(out), "--pose-model",
               str(pose_onnx), "--no-detector", "--no-progress", "--overlay"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"2 of 2 input(s) done" in done.stdout
    assert b"out-\\xff\\xfe" in done.stdout  # the folder is shown, not a crash on printing it
    # One naming rule for images and videos: the video is the second input with this stem.
    names = sorted(os.fsencode(p.name) for p in out.iterdir())
    assert names == [b"\xff\xfe.json", b"\xff\xfe_2.jsonl", b"\xff\xfe_2_pose" + POSE_SUFFIX.encode(), b"\xff\xfe_overlay.png",
                     b"\xff\xfe_pose.png"]
    skeleton = cv2.imdecode(np.fromfile(out / f"{NOT_UTF8}_pose.png", np.uint8), cv2.IMREAD_COLOR)
    assert skeleton.shape == (346, 218, 3)
    assert len(json.loads((out / f"{NOT_UTF8}.json").read_text())["people"]) == 1
    with opencv_path(out / f"{NOT_UTF8}_2_pose{POSE_SUFFIX}") as name:
        assert count_frames(Path(name)) == 5
    assert len((out / f"{NOT_UTF8}_2.jsonl").read_text().splitlines()) == 5


def test_opencv_path_aliases_non_ascii_names_and_cleans_up(tmp_path):
    folder = tmp_path / "vidéos"
    folder.mkdir()
    source = folder / f"{NOT_UTF8}.mp4"
    source.write_bytes((DATA / "media" / "demo.mp4").read_bytes())
    with opencv_path(source) as name:  # a non-ASCII file: a link to the file
        assert name.isascii() and name.endswith(".mp4")
        assert count_frames(Path(name)) == 5
    assert not Path(name).exists() and not Path(name).parent.exists()
    with opencv_path(folder / "new.mp4") as name:  # an ASCII name in a non-ASCII folder: a new file
        assert name.isascii()
        write_video(Path(name), [np.zeros((48, 64, 3), np.uint8)] * 3, fourcc="mp4v")
    assert count_frames(folder / "new.mp4") == 3
    with opencv_path(tmp_path / "plain.mp4") as name:
        assert name == str(tmp_path / "plain.mp4")


def test_ubody_frame_extraction_takes_any_video_name(tmp_path):
    from dwpose.data.ubody import extract_frames

    scene = tmp_path / "videos" / "Fitness"
    scene.mkdir(parents=True)
    frames = [np.full((24, 32, 3), i * 40, np.uint8) for i in range(3)]
    write_video(tmp_path / "plain.avi", frames, fps=5).rename(scene / f"{NOT_UTF8}.avi")
    assert extract_frames(tmp_path / "videos", tmp_path / "images", fps=5, progress=False) == 1
    target = tmp_path / "images" / "Fitness" / NOT_UTF8
    assert sorted(p.name for p in target.iterdir()) == [".complete", "000001.png", "000002.png", "000003.png"]
    frame = cv2.imdecode(np.fromfile(target / "000002.png", np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == (24, 32, 3) and abs(int(frame.mean()) - 40) <= 3


def test_staged_outputs_appear_together_json_last(tmp_path, monkeypatch):
    paths = [tmp_path / "a_pose.png", tmp_path / "a.json"]
    renamed = []
    replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renamed.append(Path(dst).name), replace(src, dst)))
    with staged_outputs(paths) as temporaries:
        for temporary, text in zip(temporaries, (b"png", b"{}")):
            assert is_temporary(temporary) and temporary.parent == tmp_path
            write_synced(temporary, text)
        assert not any(p.exists() for p in paths)  # nothing final until the block ends
    assert renamed == ["a_pose.png", "a.json"]
    assert [p.read_bytes() for p in paths] == [b"png", b"{}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a_pose.png"]


def test_staged_outputs_leave_nothing_when_the_input_fails(tmp_path):
    (tmp_path / "b.json").write_text("from an earlier run")
    with pytest.raises(RuntimeError):
        with staged_outputs([tmp_path / "b_pose.png", tmp_path / "b.json"]) as temporaries:
            write_synced(temporaries[0], b"png")
            raise RuntimeError("the pose stage failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]
    assert (tmp_path / "b.json").read_text() == "from an earlier run"


def test_failed_rename_keeps_the_json_out(tmp_path):
    with pytest.raises(OSError):
        with staged_outputs([tmp_path / "c_pose.png", tmp_path / "c.json"]) as temporaries:
            for temporary in temporaries:
                write_synced(temporary, b"data")
            # the JSON's final name cannot be replaced (a folder there before is refused up front)
            (tmp_path / "c.json").mkdir()
    assert (tmp_path / "c.json").is_dir()
    assert not [p for p in tmp_path.iterdir() if is_temporary(p)]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".dwpose-tmp-{dead.stdout.strip()}-0a1b2c3d.png"
    live = tmp_path / f".dwpose-tmp-{os.getpid()}-0a1b2c3d.png"
    for path in (stale, live):
        path.write_bytes(b"partial")
    (tmp_path / "keep.png").write_bytes(b"final")
    assert remove_stale_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "keep.png"])


# --------------------------------------------------------------------------- ONNX signatures

def test_detector_given_as_pose_model_fails_at_load(yolox_s_onnx):
    from dwpose.inference.pose import PoseEstimator

    with pytest.raises(BackendError) as error:
        PoseEstimator(yolox_s_onnx)
    message = str(error.value)
    assert "\n" not in message
    assert "is not a pose model (input Nx3xHxW -> simcc_x, simcc_y)" in message
    assert "images[1x3x640x640] -> output[1x8400x85]" in message and "looks like a YOLOX detector" in message


def test_pose_model_given_as_detector_fails_at_load(pose_onnx):
    from dwpose.detection import YOLOXDetector

    with pytest.raises(BackendError) as error:
        YOLOXDetector(pose_onnx)
    message = str(error.value)
    assert "is not a YOLOX detector (images Nx3xHxW -> output)" in message
    assert "simcc_x[batchx133x384], simcc_y[batchx133x512]" in message and "looks like a pose model" in message


def test_swapped_models_through_the_cli_are_one_line(tmp_path, pose_onnx, yolox_s_onnx, capsys):
    from dwpose.cli import main

    code = main(["predict", str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path), "--pose-model",
                 str(yolox_s_onnx), "--det-model", str(pose_onnx), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a pose model" in err


def test_other_onnx_graphs_are_rejected_with_their_signature(tmp_path):
    import torch

    from dwpose.inference.pose import PoseEstimator

    class TwoInputs(torch.nn.Module):
        def forward(self, a, b):
            return a + b

    path = tmp_path / "adder.onnx"
    example = (torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    torch.onnx.export(TwoInputs(), example, str(path), input_names=["a", "b"], output_names=["sum"], dynamo=False)
    with pytest.raises(BackendError, match=r"it has a\[1x3x8x8\], b\[1x3x8x8\] -> sum\[1x3x8x8\]$"):
        PoseEstimator(path)
