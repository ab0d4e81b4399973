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
    uploads.mkdir(parents=True)
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


def _lying_avi(path: Path, frames: list[np.ndarray], announced: int | None = None, fps: int | None = None) -> Path:
    """A 10 fps MJPG AVI that holds `frames` but whose headers announce `announced` frames
    (avih total frames, strh length) or a rate of `fps` (strh scale and rate)."""
    import struct

    write_video(path, frames, fps=10.0)
    data = bytearray(path.read_bytes())
    avih, strh = data.find(b"avih") + 8, data.find(b"strh") + 8
    if announced is not None:
        struct.pack_into("<I", data, avih + 16, announced)
        struct.pack_into("<I", data, strh + 32, announced)
    if fps is not None:
        struct.pack_into("<II", data, strh + 20, 1, fps)
    path.write_bytes(bytes(data))
    return path


def test_video_caps_count_decoded_frames_not_the_header(pipeline, tmp_path):
    frames = [np.full((48, 64, 3), 40 + i, np.uint8) for i in range(30)]
    demo, uploads = make_demo(pipeline, tmp_path, max_video_seconds=1.0)
    lying = _lying_avi(uploads / "lying.avi", frames, announced=4)  # says 0.4 s, holds 3 s
    capture = cv2.VideoCapture(str(lying))
    capture_says = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()
    assert capture_says == 4  # the lie reaches OpenCV
    outcome = demo.handle(str(lying), "controlnet", PARTS, False, keep=str)
    assert outcome.message == ("**Error:** lying.avi lasts more than 1 s; this server takes videos up to 1 s "
                               "(--max-video-seconds)"), outcome.message
    assert outcome.files == [] and list(demo.requests.iterdir()) == []
    # A high frame rate makes many frames a short clip: the frame cap counts them.
    demo, uploads = make_demo(pipeline, tmp_path / "fast", max_video_frames=12)
    fast = _lying_avi(uploads / "fast.avi", frames, fps=3000)  # 30 frames in 0.01 s
    assert demo.handle(str(fast), "controlnet", PARTS, False, keep=str).message == (
        "**Error:** fast.avi has more than 12 frames; this server takes videos up to 12 frames (--max-video-frames)")
    demo, uploads = make_demo(pipeline, tmp_path / "pixels", max_video_pixels=10 * 64 * 48)
    many = _lying_avi(uploads / "many.avi", frames, announced=2)
    message = demo.handle(str(many), "controlnet", PARTS, False, keep=str).message
    assert "many.avi has more than 0.03072 million pixels in its first 11 frames" in message, message
    demo, uploads = make_demo(pipeline, tmp_path / "ok", max_video_frames=30, max_video_pixels=30 * 64 * 48)
    ok = write_video(uploads / "ok.avi", frames, fps=30.0)
    assert demo.handle(str(ok), "controlnet", PARTS, False, keep=str).message.startswith("30 frames of ok.avi done")


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header announces width x height (8-bit gray) with a tiny, unfinished IDAT:
    anything that decodes it fails or takes width*height bytes; a header read costs nothing."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compressobj().compress(b"\0" * 4096)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_image_pixel_cap_is_checked_from_the_header(pipeline, tmp_path, sample_bgr):
    demo, uploads = make_demo(pipeline, tmp_path)
    huge = _png_header_only(uploads / "huge.png", 16000, 16000)
    outcome = demo.handle(str(huge), "controlnet", PARTS, False, keep=str)
    assert outcome.message == ("**Error:** huge.png is 16000x16000 px (256 MP); this server takes images and video "
                               "frames up to 50 MP (--max-image-megapixels)")
    wide = _png_header_only(uploads / "wide.png", 40000, 8)  # few pixels, but a side OpenCV cannot crop from
    assert demo.handle(str(wide), "controlnet", PARTS, False, keep=str).message == (
        "**Error:** wide.png: 40000x8 px, over the 32766 px per side dwpose takes (OpenCV's limit); downscale it first")
    demo, uploads = make_demo(pipeline, tmp_path / "small", max_image_pixels=218 * 346 - 1)
    cv2.imwrite(str(uploads / "photo.png"), sample_bgr)
    assert "photo.png is 218x346 px (0.0754 MP)" in demo.handle(str(uploads / "photo.png"), "controlnet", PARTS,
                                                                 False, keep=str).message
    bmp = uploads / "photo.bmp"  # the cap holds for what the header check does not read too
    cv2.imwrite(str(bmp), sample_bgr)
    assert "photo.bmp is 218x346 px" in demo.handle(str(bmp), "controlnet", PARTS, False, keep=str).message


def test_every_request_folder_is_removed_by_the_server(pipeline, tmp_path, sample_bgr, monkeypatch):
    pytest.importorskip("gradio")
    from dwpose.web import build_app

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    demo, uploads = make_demo(pipeline, tmp_path)
    cv2.imwrite(str(uploads / "photo.png"), sample_bgr)
    (uploads / "broken.png").write_bytes(b"not an image")
    video = write_video(uploads / "clip.avi", [cv2.resize(sample_bgr, (64, 96))] * 3)
    app = build_app(demo)
    (run,) = [f.fn for f in app.fns.values() if f.name == "run"]  # what an API client calls: no follow-up event
    served, outputs_video = [], []
    for upload in ["photo.png", "broken.png", "clip.avi", "photo.png", None]:
        outputs = run(str(uploads / upload) if upload else None, "controlnet", True, True, True, False, False)
        assert list(demo.requests.iterdir()) == [], upload
        served += outputs[3] or []
        outputs_video += [outputs[4]] if outputs[4] else []
    # What the page offers for download was copied out first and is still there.
    assert sorted(Path(p).name for p in served) == sorted(["clip.jsonl", f"clip_pose{POSE_SUFFIX}", "photo.json", "photo.json"])
    assert all(Path(p).is_file() and str(tmp_path / "gradio") in p for p in served)
    # the page plays the served copy of the pose video, not the request folder's removed one
    assert len(outputs_video) == 1 and Path(outputs_video[0]).is_file() and str(tmp_path / "gradio") in outputs_video[0]


def test_serve_passes_its_pixel_and_frame_caps_to_the_page(monkeypatch, pose_onnx, capsys):
    seen = {}

    class FakeApp:
        def launch(self, **kwargs):
            raise KeyboardInterrupt

        def close(self):
            pass

    def build(demo):
        seen["limits"] = demo.limits
        return FakeApp()

    monkeypatch.setattr("dwpose.web.build_app", build)
    monkeypatch.setenv("GRADIO_TEMP_DIR", "unused")
    assert main(["serve", "--pose-model", str(pose_onnx), "--no-detector", "--max-image-megapixels", "2.5",
                 "--max-video-frames", "90", "--max-video-megapixels", "12"]) == 0
    assert seen["limits"] == Limits(20 * 2**20, 30.0, max_image_pixels=2_500_000, max_video_frames=90,
                                    max_video_pixels=12_000_000)
    for flags in (["--max-image-megapixels", "0"], ["--max-video-frames", "0"], ["--max-video-megapixels", "nan"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", *flags])
