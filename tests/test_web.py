"""The web demo's work without a browser (dwpose.web.PoseDemo) and `dwpose serve`'s launch
settings: videos processed and capped, uploads read only from the upload folder and capped,
request folders removed, user errors as messages; 127.0.0.1, no share link, temporary files
gone after the server stops."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.cli.main import build_parser, main
from dwpose.inference.pipeline import WholebodyPipeline
from dwpose.web import Limits, PoseDemo
from tests.media import write_video
from tests.test_adapters import check_openpose_json
from dwpose.inference.video import video_codec

POSE_SUFFIX = video_codec()[1]  # the pose video's suffix: .mp4 (H.264) or .webm (VP9)


@pytest.fixture(scope="module")
def pipeline(pose_onnx) -> WholebodyPipeline:
    return WholebodyPipeline.from_files(pose_onnx)  # no detector: the whole image is one person


PARTS = dict(include_body=True, include_hand=True, include_face=True, include_foot=False)


def make_demo(pipeline, tmp_path: Path, **limits) -> tuple[PoseDemo, Path]:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    return PoseDemo(pipeline, tmp_path / "root", Limits(**limits), upload_dir=uploads), uploads


def test_image_request_gives_maps_json_and_leaves_no_folder(pipeline, tmp_path, sample_bgr):
    demo, uploads = make_demo(pipeline, tmp_path)
    cv2.imwrite(str(uploads / "photo.png"), sample_bgr)
    request = demo.new_request_dir()
    outcome = demo.process(str(uploads / "photo.png"), "comfyui", PARTS, True, request)
    assert outcome.message.startswith("1 person(s) found in photo (218x346)")
    assert outcome.skeleton.shape == outcome.overlay.shape == (346, 218, 3)
    check_openpose_json(outcome.data, 218, 346, people=1, compat=True)
    assert [Path(f).parent for f in outcome.files] == [request]
    assert json.loads(Path(outcome.files[0]).read_text()) == outcome.data
    demo.remove(str(request))
    assert not request.exists() and list(demo.requests.iterdir()) == []
    demo.remove(str(tmp_path))  # only request folders are ever removed
    assert tmp_path.is_dir()


def test_video_request_and_its_length_cap(pipeline, tmp_path, sample_bgr):
    demo, uploads = make_demo(pipeline, tmp_path, max_video_seconds=1.0)
    frame = cv2.resize(sample_bgr, (64, 96))
    short = write_video(uploads / "short.avi", [frame] * 4, fps=10.0)  # 0.4 s
    outcome = demo.process(str(short), "controlnet", PARTS, False, demo.new_request_dir())
    assert outcome.message.startswith("4 frames of short.avi done"), outcome.message
    assert outcome.data["frames"] == 4 and outcome.skeleton.shape == (96, 64, 3)
    assert [Path(f).name for f in outcome.files] == [f"short_pose{POSE_SUFFIX}", "short.jsonl"]
    assert len(Path(outcome.files[1]).read_text().splitlines()) == 4
    long = write_video(uploads / "long.avi", [frame] * 15, fps=10.0)  # 1.5 s
    outcome = demo.process(str(long), "controlnet", PARTS, False, demo.new_request_dir())
    assert outcome.message == "**Error:** long.avi lasts 1.5 s; this server takes videos up to 1 s (--max-video-seconds)"
    assert outcome.skeleton is None and outcome.files == []


def test_uploads_are_read_only_from_the_upload_folder_and_capped(pipeline, tmp_path, sample_bgr):
    demo, uploads = make_demo(pipeline, tmp_path, max_upload_bytes=1000)
    elsewhere = tmp_path / "secret.png"
    cv2.imwrite(str(elsewhere), sample_bgr)
    outcome = demo.process(str(elsewhere), "controlnet", PARTS, False, demo.new_request_dir())
    assert outcome.message == "**Error:** only files uploaded through this page are read"
    big = uploads / "big.png"
    cv2.imwrite(str(big), sample_bgr)
    assert "big.png is 0.1 MB; this server takes up to 0.000954 MB" in demo.process(
        str(big), "controlnet", PARTS, False, demo.new_request_dir()).message
    broken = uploads / "broken.jpg"
    broken.write_bytes(b"no picture")
    message = demo.process(str(broken), "controlnet", PARTS, False, demo.new_request_dir()).message
    assert message == "**Error:** broken.jpg: not a decodable image (corrupt or unsupported format)"
    assert str(uploads) not in message  # the server's folders are not shown
    assert demo.process(None, "controlnet", PARTS, False, demo.new_request_dir()).message.startswith("**Error:** upload")


def test_serve_binds_locally_without_share_link_and_cleans_up(monkeypatch, pose_onnx, capsys):
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.max_upload_mb == 20 and args.max_video_seconds == 30
    launched = {}

    class FakeApp:
        def launch(self, **kwargs):
            launched.update(kwargs)
            launched["root"] = Path(capsys.readouterr().out.split("temporary files in ")[1].split()[0])
            assert launched["root"].is_dir()
            raise KeyboardInterrupt  # as Ctrl-C stops a real server

        def close(self):
            launched["closed"] = True

    monkeypatch.setattr("dwpose.web.build_app", lambda demo: FakeApp())
    # run_serve points Gradio's upload folder into its root: restored after the test
    monkeypatch.setenv("GRADIO_TEMP_DIR", "unused")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    assert main(["serve", "--pose-model", str(pose_onnx), "--no-detector", "--max-upload-mb", "3"]) == 0
    assert launched["share"] is False and launched["server_name"] == "127.0.0.1" and launched["closed"]
    assert launched["max_file_size"] == 3 * 2**20
    assert not launched["root"].exists()


def test_serve_rejects_bad_limits(capsys):
    for flags in (["--max-upload-mb", "0"], ["--max-video-seconds", "-1"], ["--port", "70000"]):
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args(["serve", *flags])
        assert stop.value.code == 2
    assert "expected a number > 0" in capsys.readouterr().err
