"""Issue 12: `dwpose predict` killed at random points (SIGINT, SIGKILL) over a folder of images
and a video leaves only complete outputs under final names; temporary files are the only
debris, and a rerun clears them. Every trial really cuts the run (issue 18): the video is long
enough to be still running at every kill point, and two kills land while its MP4 is being
written."""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.fileio import is_temporary
from tests.conftest import DATA, ROOT
from tests.media import count_frames, write_video
from dwpose.inference.video import video_codec

POSE_SUFFIX = video_codec()[1]  # the pose video's suffix: .mp4 (H.264) or .webm (VP9)

VIDEO_FRAMES = 96  # about 5 s of work on a busy CPU: every kill point falls before the end
SEED = 12


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, sample_bgr) -> Path:
    folder = tmp_path_factory.mktemp("signal_inputs")
    photos = sorted((DATA / "coco_wholebody_val_sample").glob("*.jpg"))
    for i, photo in enumerate(photos):
        image = cv2.imread(str(photo))
        cv2.imwrite(str(folder / f"img{i}.jpg"), cv2.resize(image, (320, image.shape[0] * 320 // image.shape[1])))
    frames = [cv2.resize(np.roll(sample_bgr, 9 * i, axis=1), (160, 240)) for i in range(VIDEO_FRAMES)]
    write_video(folder / "video.mp4", frames, fourcc="mp4v")
    return folder


def start(inputs: Path, out: Path, pose_onnx: Path) -> subprocess.Popen:
    # No detector (the whole image is one person): the outputs are the same kind, the run shorter.
    command = [sys.executable, "-m", "dwpose", "predict", str(inputs), "--out", str(out), "--pose-model",
               str(pose_onnx), "--no-detector", "--overlay", "--batch-size", "2", "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def wait_for_files(process: subprocess.Popen, out: Path, count: int) -> None:
    """Block until the run has `count` files (temporary or final) in `out`, or has ended."""
    while process.poll() is None:
        if out.is_dir() and sum(1 for _ in out.iterdir()) >= count:
            return
        time.sleep(0.005)


def wait_for_video_frames(process: subprocess.Popen, out: Path) -> None:
    """Block until the pose video being written (under whatever name) holds encoded frames, not
    just its header, or the run has ended."""
    while process.poll() is None:
        for path in out.glob(f"*{POSE_SUFFIX}") if out.is_dir() else ():
            with contextlib.suppress(OSError):
                if path.stat().st_size > 1024:
                    return
        time.sleep(0.005)


def check_outputs(out: Path, image_stems: list[str], after_sigint: bool) -> list[str]:
    """Assert every final-named output is complete and consistent; return the stems done."""
    finals = sorted(p for p in out.iterdir() if not is_temporary(p))
    temporaries = [p for p in out.iterdir() if is_temporary(p)]
    if after_sigint:
        assert temporaries == [], "SIGINT must clean up its temporary files"
    allowed = {f"{s}{tail}" for s in image_stems for tail in (".json", "_pose.png", "_overlay.png")}
    allowed |= {"video.jsonl", f"video_pose{POSE_SUFFIX}"}
    assert {p.name for p in finals} <= allowed
    for png in (p for p in finals if p.suffix == ".png"):
        image = cv2.imdecode(np.fromfile(png, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.size, f"{png.name} does not decode"
        stem = png.name.rsplit("_", 1)[0]
        if after_sigint:
            assert (out / f"{stem}.json").exists(), f"{png.name} without its JSON after SIGINT"
    done = []
    for record in (p for p in finals if p.suffix == ".json"):
        data = json.loads(record.read_text())
        assert {"people", "canvas_width", "canvas_height"} <= set(data)
        assert (out / f"{record.stem}_pose.png").exists() and (out / f"{record.stem}_overlay.png").exists()
        done.append(record.stem)
    jsonl, video = out / "video.jsonl", out / f"video_pose{POSE_SUFFIX}"
    if jsonl.exists():
        lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
        assert [line["frame"] for line in lines] == list(range(VIDEO_FRAMES))
        assert video.exists() and count_frames(video) == VIDEO_FRAMES
        done.append("video")
    elif after_sigint:
        assert not video.exists(), "a video without its JSON lines after SIGINT"
    elif video.exists():
        assert count_frames(video) == VIDEO_FRAMES
    return done


def test_killed_runs_leave_only_complete_outputs(tmp_path, inputs, pose_onnx):
    image_stems = [p.stem for p in sorted(inputs.glob("*.jpg"))]
    everything = sorted([*image_stems, "video"])
    # Random points along the run: once k files are there (3 per image, then the video's two
    # temporary files while it runs), plus a little more; then twice inside the video's write.
    files_in_a_run = 3 * len(image_stems) + 2
    rng = random.Random(SEED)
    trials = [("random", signal.SIGINT), ("random", signal.SIGKILL), ("video", signal.SIGINT), ("video", signal.SIGKILL)]
    for trial, (point, kind) in enumerate(trials):
        out = tmp_path / f"trial{trial}"
        process = start(inputs, out, pose_onnx)
        if point == "random":
            wait_for_files(process, out, rng.randint(1, files_in_a_run))
            time.sleep(rng.uniform(0, 0.3))
        else:
            wait_for_video_frames(process, out)
        assert process.poll() is None, f"trial {trial}: the run ended before its kill point"
        process.send_signal(kind)
        stdout, stderr = process.communicate(timeout=600)
        done = check_outputs(out, image_stems, after_sigint=kind == signal.SIGINT)
        assert "video" not in done and sorted(done) != everything, f"trial {trial}: the run was not cut"
        if kind == signal.SIGINT:
            assert process.returncode == 130, stderr
            assert "Traceback" not in stderr
            if stdout:  # stopped: the summary says how far it got
                assert f"{len(done)} of {len(everything)} input(s) done" in stdout
                assert "not done (interrupted)" in stdout
            else:  # stopped while the models loaded
                assert "dwpose predict: interrupted" in stderr and done == []
        else:
            assert process.returncode == -signal.SIGKILL
        if point == "video":  # cut inside the video: all images done, the MP4 only as a temporary
            assert sorted(done) == sorted(image_stems)
            assert not (out / f"video_pose{POSE_SUFFIX}").exists() and not (out / "video.jsonl").exists()
            if kind == signal.SIGINT:
                assert "stopped" in stderr and "video.mp4" in stderr, stderr
            else:
                assert [p for p in out.iterdir() if is_temporary(p) and p.suffix == POSE_SUFFIX], "no partial pose video left"

    # A rerun into the folder of the last kill (inside the video) completes it and clears the debris.
    process = start(inputs, out, pose_onnx)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert sorted(check_outputs(out, image_stems, after_sigint=True)) == everything
