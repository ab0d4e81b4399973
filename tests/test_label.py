"""`dwpose label` in-process: the dataset it writes, resuming, refusals and bad input."""

import errno
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.cli import main
from dwpose.codec.topk import compress_topk, expand_topk, topk_dtype, unpack_persons
from dwpose.data import load_annotations
from dwpose.data.coco_wholebody import recorded_image_root
from dwpose.evaluation import evaluate_coco_wholebody, results_from_annotations
from dwpose.inference.outputs import Interruption
from dwpose.inference.pipeline import WholebodyPipeline
from dwpose.labelling import LabelOptions, LabellerConfig, label
from dwpose.labelling import writer as writer_module
from tests.conftest import DATA

SAMPLE = DATA / "coco_wholebody_val_sample"
GT = SAMPLE / "test_coco_wholebody.json"
PART_FIELDS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative name -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def label_cli(out, inputs, pose_onnx, yolox=None, *extra):
    models = ["--pose-model", str(pose_onnx), "--no-progress"]
    models += (["--det-model", str(yolox), "--score-threshold", "0.0", "--max-persons", "3"] if yolox
               else ["--no-detector"])
    return main(["label", *map(str, inputs), "--out", str(out), *models, *map(str, extra)])


def config_for(pose_onnx, yolox=None, **fields) -> LabellerConfig:
    options = dict(backend="onnxruntime", device="cpu", dtype="float32", detector_arch=None, score_threshold=0.0,
                   nms_threshold=0.45, max_persons=3, compile=False, pose_arch=None)
    return LabellerConfig(str(pose_onnx), str(yolox) if yolox else None, options, **fields)


def test_labels_are_a_coco_wholebody_dataset_that_reader_and_scoring_accept(tmp_path, pose_onnx, capsys):
    out = tmp_path / "labels"
    assert label_cli(out, [SAMPLE], pose_onnx, None, "--visibility-threshold", "0.5") == 0
    assert "4 of 4 image(s)/frame(s) labelled, 4 person(s), 0 failed" in capsys.readouterr().out
    dataset = json.loads((out / "annotations.json").read_text())
    assert [Path(i["file_name"]).name for i in dataset["images"]] == sorted(p.name for p in SAMPLE.glob("*.jpg"))
    assert [a["id"] for a in dataset["annotations"]] == [1, 2, 3, 4]
    import pyarrow.parquet as pq

    parquet = pq.read_table(out / "shards" / "000000.parquet").to_pylist()
    for image, ann, row in zip(dataset["images"], dataset["annotations"], parquet):
        assert image["file_name"] == Path(image["file_name"]).name  # relative to the image root, the inputs' folder
        assert (Path(dataset["image_root"]) / image["file_name"]).resolve() == (SAMPLE / image["file_name"]).resolve()
        assert ann["bbox"] == [0.0, 0.0, image["width"], image["height"]]  # --no-detector: the whole image
        triples = np.concatenate([np.reshape(ann[key], (-1, 3)) for key in PART_FIELDS])
        keypoints, scores = np.asarray(row["keypoints"][0]), np.asarray(row["scores"][0])
        inside = (keypoints >= 0).all(1) & (keypoints[:, 0] < image["width"]) & (keypoints[:, 1] < image["height"])
        labelled = (scores >= 0.5) & inside
        assert np.array_equal(triples[:, 2] == 2, labelled) and (triples[~labelled] == 0).all()
        assert np.abs(triples[labelled, :2] - keypoints[labelled]).max() <= 0.005  # rounded to 0.01 px
        assert ann["num_keypoints"] == labelled[:17].sum()
        assert ann["face_valid"] == labelled[23:91].any() and ann["lefthand_valid"] == labelled[91:112].any()
        if ann["face_valid"]:
            face = triples[23:91][labelled[23:91], :2]
            assert ann["face_box"] == pytest.approx([*face.min(0), *(face.max(0) - face.min(0))], abs=0.011)
    # Our training reader takes it with the image root it records ...
    assert recorded_image_root(out / "annotations.json") == SAMPLE
    samples = load_annotations(out / "annotations.json", recorded_image_root(out / "annotations.json"), train=True)
    assert len(samples) == sum(a["num_keypoints"] > 0 for a in dataset["annotations"])
    assert all(Path(s.image_path).is_file() for s in samples)
    # ... and COCO-WholeBody scoring: the ground truth turned into a "labelled" file scores AP 1,
    # the labels of the random model score far less.
    truth = json.loads(GT.read_text())
    perfect = evaluate_coco_wholebody(GT, results_from_annotations(truth, GT))
    assert perfect.parts["wholebody"][0] == pytest.approx(1.0)
    assert main(["eval", "--ann", str(GT), "--results", str(out / "annotations.json"),
                 "--out", str(tmp_path / "s.json")]) == 0
    stats = json.loads((tmp_path / "s.json").read_text())["stats"]
    assert 0.0 <= stats["parts"]["wholebody"]["AP"] < 0.5


def test_interrupted_run_resumes_to_the_same_bytes(tmp_path, pose_onnx, yolox_s_onnx, clip):
    options = dict(shard_size=3, logits_top_k=4, write_frames=True, every=2, progress=False)
    config = config_for(pose_onnx, yolox_s_onnx, logits_top_k=4, write_frames=True)
    paths = sorted(SAMPLE.glob("*.jpg")) + [clip]
    # Both runs write into the same folder (the file names of the frames, inside the run folder,
    # are relative to an image root that holds it): the first one is moved aside.
    whole = label(paths, tmp_path / "split", config, LabelOptions(**options))
    assert (whole.shards, whole.units, whole.failed) == (3, 8, 0)
    (tmp_path / "split").rename(tmp_path / "whole")

    stop = Interruption()  # what the first Ctrl-C does: finish the shard, then stop
    first = label(paths, tmp_path / "split", config, LabelOptions(**options), interruption=stop,
                  on_shard=lambda index, pid: setattr(stop, "requested", index == 1))
    assert first.interrupted and first.merged is None
    assert sorted(p.name for p in (tmp_path / "split" / "shards").glob("*.done.json")) == ["000000.done.json",
                                                                                          "000001.done.json"]
    again = label(paths, tmp_path / "split", config, LabelOptions(**options))
    assert again.shards_before == 2 and not again.interrupted
    assert tree(tmp_path / "split") == tree(tmp_path / "whole")
    # The video's frames span shards 1 and 2: the tracker went on across them.
    dataset = json.loads((tmp_path / "whole" / "annotations.json").read_text())
    frames = [i for i in dataset["images"] if "frame_index" in i]
    assert [i["frame_index"] for i in frames] == [0, 2, 4, 6]
    root = Path(dataset["image_root"])
    assert [root / i["file_name"] for i in frames] == [tmp_path / f"split/frames/clip/{n:06d}.jpg" for n in (0, 2, 4, 6)]
    assert cv2.imread(str(tmp_path / "whole" / "frames" / "clip" / "000000.jpg")).shape == (96, 128, 3)
    import pyarrow.parquet as pq

    rows = [r for n in range(3) for r in pq.read_table(tmp_path / "whole" / "shards" / f"{n:06d}.parquet").to_pylist()]
    assert [r["track_ids"] is None for r in rows] == [True] * 4 + [False] * 4
    assert len({t for r in rows[4:] for t in r["track_ids"]}) >= 1


def test_logits_are_the_pipelines_top_k(tmp_path, pose_onnx):
    out = tmp_path / "labels"
    assert label_cli(out, [DATA / "media" / "human-pose.jpeg"], pose_onnx, None, "--save-logits", "6") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["logits"]["top_k"] == 6 and manifest["logits"]["bins"] == [384, 512]
    records = np.load(out / "shards" / "000000.logits.npy")
    assert records.dtype == topk_dtype(133, 6) and records.dtype.itemsize == 8 + 2 * 133 * (4 * 6 + 2)
    assert records["annotation_id"].tolist() == [1]
    pipeline = WholebodyPipeline.from_files(pose_onnx)
    result = pipeline.predict_batch([cv2.imread(str(DATA / "media" / "human-pose.jpeg"))], keep_logits=True)[0]
    for stored, raw in zip(unpack_persons(records, (384, 512)), result.meta["simcc"]):
        top = np.argsort(-raw, axis=-1)[..., :6]
        # Relative to the peak, to float16 precision, on the teacher's own top bins.
        expected = np.take_along_axis(raw - raw.max(-1, keepdims=True), top, -1)
        assert np.allclose(np.take_along_axis(stored, top, -1), expected, atol=2e-3 * np.abs(expected).max() + 1e-3)


def test_topk_keeps_the_softmax_of_its_bins_and_the_tail_mass():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 0.3, (2, 5, 100))
    logits[..., 40] += 2.0
    bins, values, tail = compress_topk(logits, k=8)
    rebuilt = expand_topk(bins, values, tail, 100)

    def softmax(z):
        e = np.exp(10 * (z - z.max(-1, keepdims=True)))
        return e / e.sum(-1, keepdims=True)

    p, q = softmax(logits), softmax(rebuilt)
    top = np.argsort(-logits, -1)[..., :8]
    assert np.allclose(np.take_along_axis(q, top, -1), np.take_along_axis(p, top, -1), rtol=0.02, atol=1e-6)
    assert np.allclose(1 - np.take_along_axis(q, top, -1).sum(-1), 1 - np.take_along_axis(p, top, -1).sum(-1),
                       rtol=0.02, atol=1e-6)
    assert (bins[..., 0] == 40).all()


def test_another_run_in_the_folder_is_refused_naming_the_difference(tmp_path, pose_onnx, capsys):
    image = DATA / "media" / "human-pose.jpeg"
    assert label_cli(tmp_path, [image], pose_onnx) == 0
    assert label_cli(tmp_path, [image], pose_onnx, None, "--visibility-threshold", "0.6") == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "settings.visibility_threshold: 0.6 in this run, 0.3 in the folder's" in error
    assert label_cli(tmp_path, [image, SAMPLE / "000000000785.jpg"], pose_onnx) == 2
    assert "inputs.sources: 2 in this run, 1 in the folder's" in capsys.readouterr().err
    assert label_cli(tmp_path, [image], pose_onnx, None, "--visibility-threshold", "0.6", "--overwrite") == 0
    assert json.loads((tmp_path / "manifest.json").read_text())["settings"]["visibility_threshold"] == 0.6


def test_bad_and_duplicate_inputs_are_reported_recorded_and_not_retried(tmp_path, pose_onnx, capsys):
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (bad / "fake.mp4").write_bytes(b"not a video")
    good = DATA / "media" / "human-pose.jpeg"
    out = tmp_path / "out"
    assert label_cli(out, [bad, good, good, str(good).replace("human-pose", "*-pose")], pose_onnx) == 1
    captured = capsys.readouterr()
    assert "skipped " + str(bad / "corrupt.jpg") in captured.err and "fake.mp4: cannot open as a video" in captured.err
    assert captured.err.count("labelled once") == 2
    assert "1 of 2 image(s)/frame(s) labelled, 1 person(s), 2 failed" in captured.out
    done = json.loads((out / "shards" / "000000.done.json").read_text())
    assert [f["source"] for f in done["failures"]] == [str(bad / "corrupt.jpg")]
    assert len(json.loads((out / "manifest.json").read_text())["skipped_inputs"]) == 3
    # A finished shard is not redone: its failure stays recorded (--overwrite retries everything).
    before = tree(out)
    assert label_cli(out, [bad, good, good], pose_onnx) == 1
    assert "1 of 2 image(s)/frame(s) labelled" in capsys.readouterr().out
    assert tree(out) == before


def test_full_disk_leaves_no_partial_shard_and_the_rerun_completes(tmp_path, pose_onnx, monkeypatch, capsys):
    inputs = sorted(SAMPLE.glob("*.jpg"))
    assert label_cli(tmp_path / "whole", inputs, pose_onnx, None, "--shard-size", "2") == 0
    real = writer_module.write_synced

    def full_disk(path, data):
        shard_0_done = (tmp_path / "full" / "shards" / "000000.done.json").exists()
        if shard_0_done and writer_module.FRAME_FOLDER not in str(path):
            real(path, data[: len(data) // 2])  # some bytes made it before the disk filled up
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(writer_module, "write_synced", full_disk)
    assert label_cli(tmp_path / "full", inputs, pose_onnx, None, "--shard-size", "2") == 2
    assert "No space left on device" in capsys.readouterr().err
    names = sorted(p.name for p in (tmp_path / "full" / "shards").iterdir())
    assert names == ["000000.done.json", "000000.json", "000000.parquet"]  # shard 1: nothing, not even temporaries
    monkeypatch.setattr(writer_module, "write_synced", real)
    assert label_cli(tmp_path / "full", inputs, pose_onnx, None, "--shard-size", "2") == 0
    assert tree(tmp_path / "full") == tree(tmp_path / "whole")


def test_fps_sampling_and_option_errors(tmp_path, pose_onnx, clip, capsys):
    # clip.avi: 7 frames at 10 fps; 4 per second -> frames 0, 2 (2.5), 5
    assert label_cli(tmp_path, [clip], pose_onnx, None, "--fps", "4") == 0
    frames = [i["frame_index"] for i in json.loads((tmp_path / "annotations.json").read_text())["images"]]
    assert frames == [0, 2, 5]
    with pytest.raises(SystemExit) as exc:
        label_cli(tmp_path / "x", [clip], pose_onnx, None, "--fps", "4", "--every", "2")
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("fourcc, suffix", [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_frames_from_the_middle_of_a_video_are_the_decoded_ones(tmp_path, fourcc, suffix):
    """A shard that starts inside a video seeks to its first frame: the frames it gets are those
    a decode from the start gives (mp4v: most frames are not key frames)."""
    from dwpose.labelling.engine import read_frames
    from tests.media import write_video

    frames = []
    for i in range(30):
        frame = np.full((48, 64, 3), 4 * i, np.uint8)
        cv2.rectangle(frame, (2 * i, 5), (2 * i + 10, 30), (255, 255 - 8 * i, 0), -1)
        frames.append(frame)
    path = write_video(tmp_path / f"v{suffix}", frames, fourcc=fourcc)
    capture, decoded = cv2.VideoCapture(str(path)), []
    while (frame := capture.read()[1]) is not None:
        decoded.append(frame)
    got = dict(read_frames(path, [13, 14, 20, 29, 35]))
    for index in (13, 14, 20, 29):
        assert np.array_equal(got[index], decoded[index]), index
    assert got[35] is None  # past the end: reported as a frame that does not decode


# --------------------------------------------------------------------------- whose folder it is

def user_dataset(folder: Path) -> dict[str, bytes]:
    """Somebody's own COCO-style folder, with the names a labelling run also writes."""
    (folder / "frames" / "clip").mkdir(parents=True)
    (folder / "shards").mkdir()
    (folder / "annotations.json").write_text('{"images": [], "annotations": [], "categories": []}')
    (folder / "frames" / "clip" / "000000.jpg").write_bytes(b"a user's frame")
    (folder / "shards" / "000000.json").write_text("{}")
    (folder / "000000000785.jpg").write_bytes(b"a user's image")
    return tree(folder)


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_is_not_a_labelling_run_is_refused_and_left_alone(tmp_path, pose_onnx, capsys, overwrite):
    out = tmp_path / "mine"
    before = user_dataset(out)
    extra = ["--overwrite"] if overwrite else []
    assert label_cli(out, [DATA / "media" / "human-pose.jpeg"], pose_onnx, None, *extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no labelling run (no .dwpose-run.json)" in err, err
    assert tree(out) == before
    # Nor does it label into a synth dataset.
    assert main(["synth", str(tmp_path / "set"), "--num", "1", "--workers", "1", "--no-progress"]) == 0
    assert label_cli(tmp_path / "set", [DATA / "media" / "human-pose.jpeg"], pose_onnx, None, *extra) == 2
    assert "holds a dwpose synth dataset" in capsys.readouterr().err


def test_overwrite_removes_only_what_the_run_wrote(tmp_path, pose_onnx, clip):
    out = tmp_path / "run"
    image = DATA / "media" / "human-pose.jpeg"
    assert label_cli(out, [image, clip], pose_onnx, None, "--write-frames", "--shard-size", "3") == 0
    assert (out / ".dwpose-run.json").is_file() and (out / "frames" / "clip" / "000006.jpg").is_file()
    mine = {"notes.txt": b"mine", "shards/README": b"mine", "frames/clip/poster.png": b"mine",
            "000000000785.jpg": b"mine"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    assert label_cli(out, [image], pose_onnx, None, "--overwrite", "--visibility-threshold", "0.5") == 0
    left = tree(out)
    assert {name: left[name] for name in mine} == mine
    assert not list((out / "frames" / "clip").glob("0*.jpg")) and sorted(p.name for p in (out / "shards").iterdir()) \
        == ["000000.done.json", "000000.json", "000000.parquet", "README"]


def test_a_run_from_before_markers_resumes_and_may_start_over(tmp_path, pose_onnx):
    """A run folder written before .dwpose-run.json existed (manifest.json of dwpose label, and
    file names relative to the run folder) is recognised by its manifest."""
    inputs = sorted(SAMPLE.glob("*.jpg"))
    out = tmp_path / "old"
    assert label_cli(out, inputs, pose_onnx, None, "--shard-size", "2") == 0
    (out / ".dwpose-run.json").unlink()
    for path in [out / "annotations.json", out / "shards" / "000001.done.json"]:
        path.unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("image_root", "stills_root"):  # what an old run file lacks
        del manifest[key]
    for source in manifest["sources"]:
        del source["stat"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    shard = json.loads((out / "shards" / "000000.json").read_text())
    for image in shard["images"]:
        image["file_name"] = os.path.relpath(SAMPLE / image["file_name"], out)
    (out / "shards" / "000000.json").write_text(writer_module.dumps(shard))
    assert label_cli(out, inputs, pose_onnx, None, "--shard-size", "2") == 0
    dataset = json.loads((out / "annotations.json").read_text())
    assert dataset["image_root"] == "." and all(i["file_name"].startswith("../") for i in dataset["images"])
    assert all((out / i["file_name"]).is_file() for i in dataset["images"])
    assert (out / ".dwpose-run.json").is_file()
    (out / ".dwpose-run.json").unlink()
    assert label_cli(out, inputs, pose_onnx, None, "--shard-size", "2", "--overwrite") == 0
    assert json.loads((out / "annotations.json").read_text())["image_root"] == str(SAMPLE)


# --------------------------------------------------------------------------- damaged run files

@pytest.mark.parametrize("name, content", [
    ("manifest.json", b'{"format": "dwpose-label/1", "pose_'), ("manifest.json", b"{}"), ("manifest.json", b"[1]"),
    ("shards/000000.done.json", b'{"shard": 0, "un'), ("shards/000001.done.json", b"[]"),
    ("shards/000001.done.json", b'{"shard": 1, "units": 2, "images": 2, "annotations": 2, "failures": [], '
                                b'"carry": {}}'),
    ("shards/000000.json", b'{"images": [{"id": 1'), ("shards/000001.json", b'{"images": {}, "annotations": []}'),
])
def test_damaged_run_files_are_one_line_naming_the_file(tmp_path, pose_onnx, capsys, name, content):
    inputs = sorted(SAMPLE.glob("*.jpg"))
    assert label_cli(tmp_path, inputs, pose_onnx, None, "--shard-size", "2") == 0
    capsys.readouterr()
    (tmp_path / name).write_bytes(content)
    assert label_cli(tmp_path, inputs, pose_onnx, None, "--shard-size", "2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dwpose label: error: ") and str(tmp_path / name) in err, err
    assert "--overwrite" in err
    assert label_cli(tmp_path, inputs, pose_onnx, None, "--shard-size", "2", "--overwrite") == 0


# --------------------------------------------------------------------------- changed inputs, --ray

def test_a_changed_image_is_refused_on_resume(tmp_path, pose_onnx, capsys):
    images = tmp_path / "in"
    images.mkdir()
    for path in sorted(SAMPLE.glob("*.jpg")):
        (images / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    stop = Interruption()
    first = label(sorted(images.iterdir()), out, config_for(pose_onnx),
                  LabelOptions(shard_size=2, progress=False), interruption=stop,
                  on_shard=lambda index, pid: setattr(stop, "requested", True))
    assert first.interrupted
    changed = images / "000000000785.jpg"
    small = cv2.resize(cv2.imread(str(changed)), (64, 48))  # another picture under the same name
    cv2.imwrite(str(changed), small)
    assert label_cli(out, [images], pose_onnx, None, "--shard-size", "2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{changed} changed (size or modification time)" in err, err
    assert not (out / "annotations.json").exists()
    assert label_cli(out, [images], pose_onnx, None, "--shard-size", "2", "--overwrite") == 0
    widths = {i["file_name"]: i["width"] for i in json.loads((out / "annotations.json").read_text())["images"]}
    assert widths["000000000785.jpg"] == 64


@pytest.mark.parametrize("reply", [None, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"])
def test_ray_address_of_a_server_that_is_not_ray_is_one_line(tmp_path, pose_onnx, capsys, monkeypatch, reply):
    pytest.importorskip("ray.data")
    import socket
    import threading

    from dwpose.labelling import ray_exec

    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def answer():  # accepts, then says nothing (or answers as a web server), never closes first
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            if reply is not None:
                connection.recv(1024)
                connection.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    real = ray_exec.check_reachable
    monkeypatch.setattr(ray_exec, "check_reachable", lambda address: real(address, timeout=1.0))
    address = f"127.0.0.1:{server.getsockname()[1]}"
    try:
        assert label_cli(tmp_path / "out", [DATA / "media" / "human-pose.jpeg"], pose_onnx, None, "--ray",
                         address) == 2
    finally:
        server.close()
        for connection in held:
            connection.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{address} " in err and "Ray cluster" in err, err
    assert ("answered 'HTTP/1.1'" if reply else "no gRPC reply") in err


# --------------------------------------------------------------------------- portable datasets

def test_a_labelled_folder_moves_and_its_images_are_found(tmp_path, pose_onnx):
    inputs = sorted(SAMPLE.glob("*.jpg"))
    assert label_cli(tmp_path / "run", inputs, pose_onnx) == 0
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "run").rename(tmp_path / "a" / "b" / "moved")  # deeper: a path relative to the run would break
    ann = tmp_path / "a" / "b" / "moved" / "annotations.json"
    samples = load_annotations(ann, recorded_image_root(ann), train=False)
    assert len(samples) == 4 and all(Path(s.image_path).is_file() for s in samples)
    assert all(".." not in Path(s.image_path).relative_to(SAMPLE).parts for s in samples)


@pytest.mark.parametrize("option", ["--copy-images", "--link-images"])
def test_images_placed_in_the_run_folder_make_it_self_contained(tmp_path, pose_onnx, option):
    images = tmp_path / "in"
    (images / "a").mkdir(parents=True)
    (images / "b").mkdir()
    paths = [images / "a" / "x.jpg", images / "b" / "x.jpg"]  # the same name in two folders
    for path, source in zip(paths, sorted(SAMPLE.glob("*.jpg"))):
        path.write_bytes(source.read_bytes())
    out = tmp_path / "run"
    assert label_cli(out, paths, pose_onnx, None, option) == 0
    assert label_cli(out, paths, pose_onnx, None, option) == 0  # a rerun (resume of a complete run) is fine
    dataset = json.loads((out / "annotations.json").read_text())
    assert dataset["image_root"] == "." and [i["file_name"] for i in dataset["images"]] == ["images/a/x.jpg",
                                                                                          "images/b/x.jpg"]
    for path, image in zip(paths, dataset["images"]):
        assert (out / image["file_name"]).read_bytes() == path.read_bytes()
        assert (out / image["file_name"]).samefile(path) == (option == "--link-images")
    (out).rename(tmp_path / "moved")
    ann = tmp_path / "moved" / "annotations.json"
    assert recorded_image_root(ann) == tmp_path / "moved" / "."
    assert all(Path(s.image_path).is_file() for s in load_annotations(ann, recorded_image_root(ann), train=False))
