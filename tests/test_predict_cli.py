import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from dwpose.cli import main
from dwpose.inference.pipeline import WholebodyPipeline
from tests.conftest import DATA
from tests.media import count_frames, write_video
from dwpose.inference.video import video_codec

POSE_SUFFIX = video_codec()[1]  # the pose video's suffix: .mp4 (H.264) or .webm (VP9)


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
    capture = cv2.VideoCapture(str(tmp_path / f"demo_pose{POSE_SUFFIX}"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    codec = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode().lower()
    assert codec in {"avc1", "h264", "vp90", "vp09"}, codec  # H.264 or VP9: browsers play them
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


# --------------------------------------------------------------------------- issue 12: user errors, one line, exit 2

def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_out_being_a_file_is_one_line(tmp_path, pose_onnx, capsys):
    (tmp_path / "taken").write_text("a file")
    assert run([str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path / "taken")], pose_onnx) == 2
    assert "is a file, not a folder" in one_error_line(capsys)
    assert (tmp_path / "taken").read_text() == "a file"


def test_unwritable_out_folder_says_so(tmp_path, pose_onnx, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if not _cannot_create_in(locked):  # root ignores permissions: a folder nobody may write to
        locked = Path("/sys/kernel")
        if not (locked.is_dir() and _cannot_create_in(locked)):
            pytest.skip("no unwritable folder available to this user")
    assert run([str(DATA / "media" / "human-pose.jpeg"), "--out", str(locked)], pose_onnx) == 2
    line = one_error_line(capsys)
    assert f"cannot write to the output folder {locked}" in line and "offline" not in line


def _cannot_create_in(folder: Path) -> bool:
    try:
        (folder / ".dwpose-probe").touch()
    except OSError:
        return True
    (folder / ".dwpose-probe").unlink()
    return False


def test_corrupt_onnx_with_torch_backend_is_one_line(tmp_path, pose_onnx, capsys):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(pose_onnx.read_bytes()[:50_000])
    image = str(DATA / "media" / "human-pose.jpeg")
    assert main(["predict", image, "--out", str(tmp_path / "out"), "--pose-model", str(corrupt), "--backend", "torch",
                 "--no-detector", "--no-progress"]) == 2
    line = one_error_line(capsys)
    assert "corrupt.onnx" in line and "not a readable ONNX file" in line


def test_pth_given_to_onnxruntime_suggests_the_torch_backend(tmp_path, t_checkpoint, capsys):
    image = str(DATA / "media" / "human-pose.jpeg")
    assert main(["predict", image, "--out", str(tmp_path), "--pose-model", str(t_checkpoint), "--no-detector",
                 "--backend", "onnxruntime", "--no-progress"]) == 2
    line = one_error_line(capsys)
    assert "PyTorch checkpoint" in line and "--backend torch" in line and "Protobuf" not in line


def test_a_pth_runs_without_naming_the_backend(tmp_path, t_checkpoint, pose_onnx, capsys):
    """Issue 20: the CLI picks torch for a PyTorch checkpoint, as the adapters do (one rule,
    `backends.backend_for_files`); an ONNX file still runs in onnxruntime."""
    image = str(DATA / "media" / "human-pose.jpeg")
    seen = []
    real = WholebodyPipeline.from_files.__func__

    def spy(cls, pose, det=None, **options):
        seen.append(options["backend"])
        return real(cls, pose, det, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WholebodyPipeline, "from_files", classmethod(spy))
        for model in (t_checkpoint, pose_onnx):
            assert main(["predict", image, "--out", str(tmp_path), "--pose-model", str(model), "--no-detector",
                         "--no-progress"]) == 0
    assert seen == ["torch", "onnxruntime"]
    assert "human-pose.jpeg: 1 person" in capsys.readouterr().out


@pytest.mark.parametrize("option, value", [
    ("--resolution", "-10"), ("--resolution", "0"), ("--resolution", "100000"), ("--resolution", "1e3"),
    ("--score-threshold", "-1"), ("--score-threshold", "1.5"), ("--score-threshold", "nan"),
    ("--nms-threshold", "0"), ("--nms-threshold", "1.01"), ("--batch-size", "0"), ("--detect-every", "0"), ("--max-persons", "0"),
    ("--device", "banana"), ("--device", "cuda:x"),
])
def test_out_of_range_options_are_rejected_by_the_parser(tmp_path, option, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path), option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # rejected before anything ran


def test_in_range_edges_are_accepted():
    from dwpose.cli.main import build_parser

    args = build_parser().parse_args(["predict", "x.jpg", "--resolution", "1", "--score-threshold", "0",
                                      "--nms-threshold", "1", "--batch-size", "1", "--detect-every", "1",
                                      "--max-persons", "1", "--device", "cuda:1"])
    assert (args.resolution, args.score_threshold, args.nms_threshold, args.device) == (1, 0.0, 1.0, "cuda:1")


def test_glob_or_folder_matching_nothing_is_a_reported_failure(tmp_path, pose_onnx, capsys):
    (tmp_path / "empty").mkdir()
    pattern = str(tmp_path / "nothing*.jpg")
    code = run([pattern, str(tmp_path / "empty"), str(DATA / "media" / "human-pose.jpeg"),
                "--out", str(tmp_path / "out")], pose_onnx)
    captured = capsys.readouterr()
    assert code == 1
    assert "1 of 3 input(s) done, 2 failed" in captured.out
    assert f"skipped {pattern}: matches no files" in captured.err
    assert "folder holds no images or videos" in captured.err
    assert (tmp_path / "out" / "human-pose.json").exists()


# --------------------------------------------------------------------------- issue 12: --boxes validation

def test_boxes_are_clipped_and_empty_ones_dropped_with_a_warning(tmp_path, pose_onnx, capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"human-pose.jpeg": [
        [-50, -50, 100, 150],      # partly outside: clipped
        [200, 300, 10, 10],        # inverted: dropped
        [5, 5, 5, 50],             # zero width: dropped
        [1000, 1000, 2000, 2000],  # outside the 218x346 image: dropped
        [0, 0, 1e30, 1e300],       # huge: clipped to the image
    ]}))
    code = main(["predict", str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path / "out"),
                 "--boxes", str(boxes), "--pose-model", str(pose_onnx), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3
    for index, line in zip((1, 2, 3), warnings):
        assert "human-pose.jpeg" in line and f"box {index} " in line and "dropped" in line
    assert len(json.loads((tmp_path / "out" / "human-pose.json").read_text())["people"]) == 2


@pytest.mark.parametrize("text", ['[[0, 0, NaN, 10]]', '[[0, 0, 10, Infinity]]', '[[0, 0, 10, 1e999]]',
                                  '[[0, 0, 10, -Infinity]]'])
def test_non_finite_boxes_are_an_error_naming_file_and_entry(tmp_path, pose_onnx, capsys, text):
    boxes = tmp_path / "boxes.json"
    boxes.write_text('{"good.jpg": [[0, 0, 5, 5]], "human-pose.jpeg": %s}' % text)
    code = main(["predict", str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path / "out"),
                 "--boxes", str(boxes), "--pose-model", str(pose_onnx), "--no-progress"])
    assert code == 2
    line = one_error_line(capsys)
    assert str(boxes) in line and "'human-pose.jpeg' box 0" in line and "non-finite" in line
    assert not (tmp_path / "out" / "human-pose.json").exists()


def test_malformed_boxes_entries_are_one_line(tmp_path, pose_onnx, capsys):
    boxes = tmp_path / "boxes.json"
    for text in ('{"a.jpg": [["x", 1, 2, 3]]}', '{"a.jpg": [[1, 2, 3, 4], [1, 2]]}', '{"a.jpg": null}'):
        boxes.write_text(text)
        assert main(["predict", str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path), "--boxes",
                     str(boxes), "--pose-model", str(pose_onnx), "--no-progress"]) == 2
        assert "entry 'a.jpg' is not a list of [x1, y1, x2, y2]" in one_error_line(capsys)


# --------------------------------------------------------------------------- issue 12: video outputs

@pytest.fixture(scope="module")
def small_frames(sample_bgr):
    return [cv2.resize(np.roll(sample_bgr, 7 * i, axis=1), (96, 144)) for i in range(12)]


def test_videos_with_the_same_stem_do_not_overwrite_each_other(tmp_path, pose_onnx, small_frames):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = write_video(tmp_path / "a" / "clip.mp4", small_frames[:3], fourcc="mp4v")
    second = write_video(tmp_path / "b" / "clip.avi", small_frames[:4])
    image = tmp_path / "b" / "clip.png"
    cv2.imwrite(str(image), small_frames[0])
    out = tmp_path / "out"
    assert run([str(first), str(second), str(image), "--out", str(out), "--batch-size", "2"], pose_onnx) == 0
    assert len((out / "clip.jsonl").read_text().splitlines()) == 3 and count_frames(out / f"clip_pose{POSE_SUFFIX}") == 3
    assert len((out / "clip_2.jsonl").read_text().splitlines()) == 4 and count_frames(out / f"clip_2_pose{POSE_SUFFIX}") == 4
    assert (out / "clip_3.json").exists() and (out / "clip_3_pose.png").exists()  # one rule for both


def test_zero_frame_video_leaves_nothing_and_is_reported(tmp_path, pose_onnx, capsys):
    video = write_video(tmp_path / "empty.avi", [])
    assert cv2.VideoCapture(str(video)).isOpened()  # opens, but has no frame
    out = tmp_path / "out"
    assert run([str(video), str(DATA / "media" / "human-pose.jpeg"), "--out", str(out)], pose_onnx) == 1
    captured = capsys.readouterr()
    assert "no decodable frames" in captured.err and "1 of 2 input(s) done, 1 failed" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["human-pose.json", "human-pose_pose.png"]


def test_video_that_stops_decoding_early_is_reported_with_counts(tmp_path, pose_onnx, small_frames, capsys):
    whole = write_video(tmp_path / "whole.avi", small_frames)
    truncated = tmp_path / "cut.avi"
    data = whole.read_bytes()
    truncated.write_bytes(data[: len(data) * 6 // 10])
    decodable = count_frames(truncated)
    assert 0 < decodable < len(small_frames)
    out = tmp_path / "out"
    assert run([str(truncated), "--out", str(out)], pose_onnx) == 1
    captured = capsys.readouterr()
    assert f"decoded {decodable} of {len(small_frames)} frames" in captured.err
    assert "0 of 1 input(s) done, 1 failed" in captured.out
    # What was decoded is kept, complete and consistent.
    assert len((out / "cut.jsonl").read_text().splitlines()) == decodable == count_frames(out / f"cut_pose{POSE_SUFFIX}")


def test_video_with_resolution_writes_every_frame(tmp_path, pose_onnx, small_frames):
    video = write_video(tmp_path / "clip.avi", small_frames[:3])
    assert run([str(video), "--out", str(tmp_path / "out"), "--resolution", "64"], pose_onnx) == 0
    capture = cv2.VideoCapture(str(tmp_path / "out" / f"clip_pose{POSE_SUFFIX}"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert capture.read()[1].shape[:2] == (96, 64)  # 96x144 scaled to a short side of 64


def test_stopped_video_leaves_no_partial_output(tmp_path, pose_onnx, small_frames):
    from dwpose.inference.outputs import Interruption
    from dwpose.inference.pipeline import WholebodyPipeline
    from dwpose.inference.video import process_video

    video = write_video(tmp_path / "clip.avi", small_frames)
    pipeline = WholebodyPipeline.from_files(pose_onnx)
    interruption = Interruption()  # not installed: Ctrl-C is simulated by setting the flag
    rendered = []

    def render(result):
        rendered.append(1)
        if len(rendered) == 3:
            interruption.requested = True  # as the first Ctrl-C does, mid-video
        return np.zeros((*result.image_size[::-1], 3), np.uint8)

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        process_video(pipeline, video, out, render, lambda r: {}, batch_size=2, progress=False,
                      interruption=interruption)
    assert len(rendered) == 4  # the batch in progress was finished, the next one not started
    assert list(out.iterdir()) == []  # neither final names nor temporary files


# --------------------------------------------------------------------------- issue 12: Ctrl-C in a folder run

def test_ctrl_c_finishes_the_current_image_then_stops_with_a_summary(tmp_path, pose_onnx, monkeypatch, capsys):
    import signal

    from dwpose.cli.predict import Predictor

    images = sorted(str(p) for p in (DATA / "coco_wholebody_val_sample").glob("*.jpg"))
    assert len(images) == 4
    render = Predictor.render
    calls = []

    def render_then_ctrl_c(self, result):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)  # delivered to the handler now, mid-image
        return render(self, result)

    monkeypatch.setattr(Predictor, "render", render_then_ctrl_c)
    handler_before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "out"
    assert run([*images, "--out", str(out)], pose_onnx) == 130
    assert "2 of 4 input(s) done, 0 failed, 2 not done (interrupted)" in capsys.readouterr().out
    stems = [Path(p).stem for p in images[:2]]
    expected = [f"{stem}{tail}" for stem in stems for tail in (".json", "_pose.png")]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    assert signal.getsignal(signal.SIGINT) is handler_before  # restored


def test_rtmw_by_model_name_and_rtmlib_mode(monkeypatch, tmp_path, reference):
    """`--pose-model rtmw-...` resolves the released ONNX of that model, `--mode` rtmlib's preset;
    the cache holds stand-ins under the official names (the tiny RTMW; an end2end detector)."""
    import shutil

    from dwpose.models.rtmw import RTMLIB_MODES
    from tests.test_detection import export_end2end

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("DWPOSE_HOME", str(cache))
    lightweight = RTMLIB_MODES["lightweight"]
    shutil.copy(reference / "rtmw_t_256x192_random.onnx", cache / lightweight.pose)
    export_end2end(cache / lightweight.det)
    image = str(DATA / "media" / "human-pose.jpeg")
    assert main(["predict", image, "--out", str(tmp_path / "a"), "--pose-model", "rtmw-m-256x192", "--no-detector",
                 "--no-progress"]) == 0
    assert main(["predict", image, "--out", str(tmp_path / "b"), "--mode", "lightweight", "--no-progress"]) == 0
    assert len(json.loads((tmp_path / "b" / "human-pose.json").read_text())["people"]) == 2  # the stand-in's persons
    assert len(json.loads((tmp_path / "a" / "human-pose.json").read_text())["people"]) == 1  # the whole image


# --------------------------------------------------------------------------- issue 20: honest output

def test_people_found_are_said_per_input_and_in_the_summary(tmp_path, pose_onnx, nobody_onnx, yolox_s_onnx, capsys):
    image = DATA / "media" / "human-pose.jpeg"
    video = DATA / "media" / "demo.mp4"
    common = ["--pose-model", str(pose_onnx), "--no-progress", "--score-threshold", "0", "--max-persons", "2"]
    assert main(["predict", str(image), str(video), "--out", str(tmp_path / "a"), "--det-model", str(yolox_s_onnx),
                 *common]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{image}: 2 people" in out
    assert f"{video}: 5 frames, 2.0 people per frame on average (at most 2), 0 frame(s) without people" in out
    assert out[-1].startswith("2 of 2 input(s) done, 0 failed; found 2 people in 1 image(s) (0 without people), "
                              "5 frame(s) of 1 video(s) (0 without people); results in ")
    # A detector that finds nobody: said, not only a black PNG.
    assert main(["predict", str(image), str(video), "--out", str(tmp_path / "b"), "--det-model", str(nobody_onnx),
                 *common]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{image}: no people found (the skeleton image is black)" in out
    assert f"{video}: 5 frames, no people found in any" in out
    assert "found 0 people in 1 image(s) (1 without people), 5 frame(s) of 1 video(s) (5 without people)" in out[-1]


def test_boxes_rules_are_the_same_for_images_and_videos(tmp_path, pose_onnx, small_frames, capsys):
    """Issue 20: an input without a --boxes entry is skipped with a line, image or video (a
    video was silently posed as the whole frame); a video's entry is its boxes on every frame."""
    posed = write_video(tmp_path / "posed.avi", small_frames)
    unlisted = write_video(tmp_path / "unlisted.avi", small_frames)
    image = DATA / "media" / "human-pose.jpeg"
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"posed.avi": [[2, 2, 30, 40], [20, 5, 60, 47], [-10, -10, -1, -1]]}))
    out = tmp_path / "out"
    code = main(["predict", str(posed), str(unlisted), str(image), "--out", str(out), "--boxes", str(boxes),
                 "--pose-model", str(pose_onnx), "--no-progress", "--detect-every", "2"])
    captured = capsys.readouterr()
    assert code == 1
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped")]
    assert skipped == [f"skipped {unlisted}: no entry in the --boxes file",
                       f"skipped {image}: no entry in the --boxes file"]
    assert "box 2 [-10.0, -10.0, -1.0, -1.0] has no area" in captured.err  # said once, not per frame
    assert captured.err.count("has no area") == 1
    records = [json.loads(line) for line in (out / "posed.jsonl").read_text().splitlines()]
    assert len(records) == len(small_frames)
    assert all(len(r["people"]) == 2 for r in records)
    assert sorted(p.name for p in out.iterdir()) == ["posed.jsonl", f"posed_pose{POSE_SUFFIX}"]


def test_a_run_that_writes_nothing_leaves_no_folder_it_created(tmp_path, pose_onnx, bad_inputs, capsys):
    nested = tmp_path / "new" / "out"
    assert run([str(bad_inputs), "--out", str(nested)], pose_onnx) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith("; nothing written")
    assert not (tmp_path / "new").exists()
    # Models that fail to load: the same.
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a model")
    image = str(DATA / "media" / "human-pose.jpeg")
    assert main(["predict", image, "--out", str(nested), "--pose-model", str(corrupt), "--no-detector",
                 "--no-progress"]) == 2
    assert not (tmp_path / "new").exists()
    # A folder that was there before stays, even empty.
    existing = tmp_path / "existing"
    existing.mkdir()
    assert run([str(bad_inputs), "--out", str(existing)], pose_onnx) == 1
    assert existing.is_dir()
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"results in {existing}/")


def test_offline_names_every_missing_model_file_at_once(monkeypatch, tmp_path, capsys):
    from tests.test_weights import socket_free_port

    with socket_free_port() as port:
        monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path / "cache"))
    assert main(["demo", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    for name in ("dw-ll_ucoco_384.onnx", "yolox_l.onnx"):
        assert f"put it at {tmp_path / 'cache' / name}" in err
    assert not (tmp_path / "out").exists()


def test_images_over_opencvs_side_limit_are_refused_in_one_line_each(tmp_path, pose_onnx, capsys):
    from tests.test_web import _png_header_only

    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "wide.png"), np.full((4, 32767), 128, np.uint8))  # decodes; OpenCV cannot crop it
    _png_header_only(folder / "huge.png", 40000, 40000)  # refused from its header, never decoded
    cv2.imwrite(str(folder / "edge.png"), np.full((4, 32766), 128, np.uint8))  # the largest side taken
    assert run([str(folder), "--out", str(tmp_path / "out")], pose_onnx) == 1
    captured = capsys.readouterr()
    assert "1 of 3 input(s) done, 2 failed" in captured.out
    lines = sorted(line for line in captured.err.splitlines() if line.strip())
    assert lines == [f"skipped {folder / 'huge.png'}: 40000x40000 px, over the 32766 px per side dwpose takes "
                     "(OpenCV's limit); downscale it first",
                     f"skipped {folder / 'wide.png'}: 32767x4 px, over the 32766 px per side dwpose takes "
                     "(OpenCV's limit); downscale it first"], captured.err
    assert (tmp_path / "out" / "edge.json").is_file()


def test_video_codec_prefers_h264_then_vp9_then_mp4v(monkeypatch):
    """One function picks the pose video's codec and suffix from what this OpenCV can encode."""
    from dwpose.inference import video

    def run_with(encodable):
        monkeypatch.setattr(video, "_can_encode", lambda path, fourcc: fourcc in encodable)
        video.video_codec.cache_clear()
        try:
            return video.video_codec()
        finally:
            video.video_codec.cache_clear()

    assert run_with({"avc1", "VP90"}) == ("avc1", ".mp4")
    assert run_with({"VP90"}) == ("VP90", ".webm")
    assert run_with(set()) == ("mp4v", ".mp4")
    assert video._can_encode(Path("/nonexistent-folder/x.webm"), "VP90") is False  # cannot write: not encodable


# --------------------------------------------------------------------------- issue 21: a bug is not a skipped file

def test_a_bug_while_posing_an_input_raises_instead_of_skipping_it(tmp_path, pose_onnx, monkeypatch, capsys):
    """Only user errors (a DWPoseError or an OSError) skip an input; anything else is a bug and
    stops the run with its traceback, not a 'skipped' line that hides it."""
    from dwpose.cli.predict import Predictor

    def broken(self, path):
        raise ZeroDivisionError("a bug in the pipeline")

    monkeypatch.setattr(Predictor, "image", broken)
    good = DATA / "media" / "human-pose.jpeg"
    with pytest.raises(ZeroDivisionError, match="a bug in the pipeline"):
        run([str(good), "--out", str(tmp_path / "out")], pose_onnx)
    assert "skipped" not in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # the folder the run created is gone again
