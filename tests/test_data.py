import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.cli import main
from dwpose.data import AugmentConfig, TopDownTrainDataset, load_annotations, load_detections, load_ubody
from dwpose.data.transforms import random_flip, random_half_body, truncated_normal
from dwpose.data.ubody import extract_frames
from dwpose.skeleton import FLIP_INDICES
from tests.conftest import DATA
from dwpose.errors import DatasetError

SAMPLE = DATA / "coco_wholebody_val_sample"
GT = SAMPLE / "test_coco_wholebody.json"


def test_training_filters_and_box_clipping():
    train = load_annotations(GT, SAMPLE, train=True)
    every = load_annotations(GT, SAMPLE, train=False)
    assert len(every) == 14 and len(train) == 12  # two people with no body keypoints dropped
    assert all(s.keypoints.shape == (133, 2) and set(np.unique(s.visible)) <= {0.0, 1.0} for s in train)
    image = json.loads(GT.read_text())["images"][0]
    assert all(s.bbox[2] <= image["width"] - 1 or s.image_id != image["id"] for s in every)


def test_detections_become_xyxy_person_samples():
    samples = load_detections(SAMPLE / "test_coco_det_AP_H_56.json", GT, SAMPLE)
    raw = json.loads((SAMPLE / "test_coco_det_AP_H_56.json").read_text())
    assert len(samples) == sum(1 for d in raw if d.get("category_id", 1) == 1)
    x, y, w, h = raw[0]["bbox"]
    np.testing.assert_allclose(samples[0].bbox, [x, y, x + w, y + h], rtol=1e-6)
    assert samples[0].bbox_score == pytest.approx(raw[0]["score"])


def test_malformed_annotations_name_file_and_record(tmp_path):
    data = json.loads(GT.read_text())
    bad_id = data["annotations"][3]["id"]
    data["annotations"][3]["face_kpts"] = [0.0] * 10
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=rf"bad.json: annotation id {bad_id} field 'face_kpts' has 10 numbers"):
        load_annotations(path, SAMPLE)
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_annotations(path, SAMPLE)
    with pytest.raises(DatasetError, match="annotation file not found"):
        load_annotations(tmp_path / "missing.json", SAMPLE)


def test_flip_mirrors_and_swaps_sides():
    image = np.zeros((10, 20, 3), np.uint8)
    image[2, 3] = 255
    keypoints = np.zeros((133, 2), np.float32)
    keypoints[5] = (3, 2)  # left shoulder
    visible = np.zeros(133, np.float32)
    visible[5] = 1
    rng = np.random.default_rng(0)
    flipped, center, kp, vis = random_flip(image, np.array([4.0, 5.0]), keypoints, visible, rng, prob=1.0)
    assert flipped[2, 16].max() == 255 and center[0] == 15
    assert tuple(kp[6]) == (16, 2) and vis[6] == 1 and vis[5] == 0  # now the right shoulder
    assert list(FLIP_INDICES[:7]) == [0, 2, 1, 4, 3, 6, 5]


def test_half_body_picks_a_half():
    keypoints = np.random.default_rng(0).uniform(0, 100, (133, 2)).astype(np.float32)
    visible = np.ones(133, np.float32)
    center, scale = random_half_body(np.zeros(2), np.ones(2), keypoints, visible, np.random.default_rng(1), prob=1.0)
    upper, lower = keypoints[:11], keypoints[11:23]
    assert any(np.allclose(center, part.mean(0)) and np.allclose(scale, (part.max(0) - part.min(0)) * 1.5)
               for part in (upper, lower))
    assert abs(truncated_normal(np.random.default_rng(0), 10000)).max() <= 1


def test_samples_are_reproducible_per_epoch_and_switch_stage():
    samples = load_annotations(GT, SAMPLE)
    dataset = TopDownTrainDataset(samples, (192, 256), AugmentConfig(), seed=3, switch_epoch=2)
    first = dataset[1]
    again = dataset[1]
    assert first["image"].dtype.is_floating_point is False and first["image"].shape == (3, 256, 192)
    assert np.array_equal(first["image"], again["image"])
    dataset.set_epoch(1)
    assert not np.array_equal(dataset[1]["image"], first["image"])
    assert dataset.stage == "A"
    dataset.set_epoch(2)
    assert dataset.stage == "B"


def test_unaugmented_labels_follow_the_crop():
    samples = load_annotations(GT, SAMPLE)
    item = TopDownTrainDataset(samples, (192, 256), AugmentConfig.none())[0]
    sample = samples[0]
    visible = np.flatnonzero(item["weights"].numpy() > 0)
    assert len(visible) > 10
    # The peak bin of a label is the keypoint mapped into the crop (x2 bins per pixel).
    center = (sample.bbox[:2] + sample.bbox[2:]) / 2
    width = max(sample.bbox[2] - sample.bbox[0], (sample.bbox[3] - sample.bbox[1]) * 0.75) * 1.25
    k = 192 / width
    expected = (sample.keypoints[visible] - center) * k + np.array([96, 128])
    peaks = np.stack([item["labels_x"][visible].argmax(1).numpy(), item["labels_y"][visible].argmax(1).numpy()], 1)
    inside = (expected[:, 0] > 0) & (expected[:, 0] < 191) & (expected[:, 1] > 0) & (expected[:, 1] < 255)
    assert np.abs(peaks[inside] / 2 - expected[inside]).max() <= 0.5 + 1e-3


@pytest.fixture
def ubody_root(tmp_path):
    """A UBody-like tree from the COCO sample: scene Fitness, frames named <video>/<frame>.png."""
    data = json.loads(GT.read_text())
    root = tmp_path / "UBody"
    (root / "annotations" / "Fitness").mkdir(parents=True)
    for i, image in enumerate(data["images"]):
        video = "clipA_Trim3" if i % 2 == 0 else "clipB"
        new_name = f"{video}/{image['id']:06d}.jpg"
        target = root / "images" / "Fitness" / new_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE / image["file_name"], target)
        image["file_name"] = new_name
        image["id"] = image["id"] * 10  # every 10th frame is kept
    for ann in data["annotations"]:
        ann["image_id"] *= 10
    (root / "annotations" / "Fitness" / "keypoint_annotation.json").write_text(json.dumps(data))
    (root / "split.txt").write_text("clipA\n")
    return root


def test_ubody_split_by_video(ubody_root):
    train = load_ubody(ubody_root, ["Fitness"], train=True, split_list=ubody_root / "split.txt")
    test = load_ubody(ubody_root, ["Fitness"], train=False, split_list=ubody_root / "split.txt")
    assert train and test
    assert all("clipB" in s.image_path for s in train) and all("clipA" in s.image_path for s in test)
    assert all(s.meta["scene"] == "Fitness" for s in train)
    with pytest.raises(DatasetError, match="UBody root not found"):
        load_ubody(ubody_root / "nope", ["Fitness"])


def test_ubody_file_names_with_the_scene_prefix(ubody_root):
    ann = ubody_root / "annotations" / "Fitness" / "keypoint_annotation.json"
    data = json.loads(ann.read_text())
    for image in data["images"]:
        image["file_name"] = "Fitness/" + image["file_name"]
    ann.write_text(json.dumps(data))
    samples = load_ubody(ubody_root, ["Fitness"], train=False)
    assert samples and all(Path(s.image_path).is_file() for s in samples)


def test_ubody_eval_cli_per_scene(ubody_root, t_checkpoint, tmp_path, capsys):
    base = ["eval", "--checkpoint", str(t_checkpoint), "--ubody-root", str(ubody_root),
            "--ubody-split", str(ubody_root / "split.txt"), "--no-progress"]
    # By default all 13 evaluation scenes are needed; only Fitness exists here.
    assert main(base) == 2 and "annotation file not found" in capsys.readouterr().err
    out = tmp_path / "ubody.json"
    assert main([*base, "--ubody-scenes", "Fitness", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "== Fitness" in printed and "== overall" in printed
    payload = json.loads(out.read_text())
    assert payload["overall"]["parts"]["wholebody"] == payload["Fitness"]["parts"]["wholebody"]


def test_frame_extraction_resamples_and_resumes(tmp_path):
    videos = tmp_path / "videos" / "Fitness"
    videos.mkdir(parents=True)
    writer = cv2.VideoWriter(str(videos / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 24))
    for i in range(10):
        writer.write(np.full((24, 32, 3), i * 20, np.uint8))
    writer.release()
    out = tmp_path / "images"
    assert extract_frames(tmp_path / "videos", out, fps=5, progress=False) == 1
    frames = sorted((out / "Fitness" / "clip").glob("*.png"))
    assert [f.name for f in frames] == [f"{i:06d}.png" for i in range(1, 6)]
    frames[0].unlink()
    assert extract_frames(tmp_path / "videos", out, fps=5, progress=False) == 1  # complete: skipped
    assert not frames[0].exists()
