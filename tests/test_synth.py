"""`dwpose synth`: annotations valid and consistent with the pictures, deterministic files,
left/right and face layout, joint limits, bad input, interruption, and the dataset feeding our
reader, training pipeline and evaluator."""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.cli import main
from dwpose.cli.main import build_parser
from dwpose.errors import InputError
from dwpose.data import TopDownTrainDataset, load_annotations
from dwpose.data.synth import ANNOTATION_FILE, BOXES_FILE, IMAGE_DIR, SceneConfig, SynthSpec, generate_dataset, \
    render_scene
from dwpose.data.synth import writer
from dwpose.data.synth.body import JOINT_LIMITS_DEG, fixed_joints, sample_person
from dwpose.data.synth.geometry3d import DEG, rot_y
from dwpose.data.synth.hand import FINGER_LIMITS_DEG
from dwpose.data.synth.parts import KEYPOINT_OWNERS, decode_labels
from dwpose.data.synth.render import Camera, draw_person, sample_appearance
from dwpose.data.synth.scene import _visibility
from dwpose.data.transforms import AugmentConfig
from dwpose.skeleton import PART_ANNOTATION_FIELDS, PARTS
from tests.conftest import ROOT

FIELDS = {"keypoints": "body", "foot_kpts": "foot", "face_kpts": "face", "lefthand_kpts": "left_hand",
          "righthand_kpts": "right_hand"}
BOX_OF = {"face": "face_box", "left_hand": "lefthand_box", "right_hand": "righthand_box"}
VALID_OF = {"foot": "foot_valid", "face": "face_valid", "left_hand": "lefthand_valid", "right_hand": "righthand_valid"}


def triples(annotation: dict) -> np.ndarray:
    return np.concatenate([np.asarray(annotation[key], float).reshape(-1, 3) for key in PART_ANNOTATION_FIELDS.values()])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "set"
    generate_dataset(out, SynthSpec(num=16, seed=7, width=192, height=160, min_persons=1, max_persons=4), workers=1,
                     progress=False)
    return out


def test_annotations_are_valid_coco_wholebody(dataset):
    data = json.loads((dataset / ANNOTATION_FILE).read_text())
    assert len(data["images"]) == 16 and data["categories"][0]["keypoints"][5] == "left_shoulder"
    assert len({a["id"] for a in data["annotations"]}) == len(data["annotations"]) > 10
    images = {im["id"]: im for im in data["images"]}
    for image in data["images"]:
        picture = cv2.imread(str(dataset / IMAGE_DIR / image["file_name"]))
        assert picture.shape == (image["height"], image["width"], 3)
    seen_parts = set()
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        w, h = image["width"], image["height"]
        kp = triples(ann)
        assert kp.shape == (133, 3) and set(np.unique(kp[:, 2])) <= {0.0, 1.0, 2.0}
        labelled, visible = kp[:, 2] > 0, kp[:, 2] == 2
        assert (kp[~labelled, :2] == 0).all()                          # v=0: (0, 0, 0) as COCO writes it
        assert (kp[labelled, 0] >= 0).all() and (kp[labelled, 0] <= w - 1).all()
        assert (kp[labelled, 1] >= 0).all() and (kp[labelled, 1] <= h - 1).all()
        x, y, bw, bh = ann["bbox"]
        assert bw > 0 and bh > 0 and ann["area"] > 0 and ann["iscrowd"] == 0
        assert ann["area"] <= (bw + 1) * (bh + 1)
        assert (kp[visible, 0] >= x).all() and (kp[visible, 0] <= x + bw).all()   # the box encloses what is seen
        assert (kp[visible, 1] >= y).all() and (kp[visible, 1] <= y + bh).all()
        assert ann["num_keypoints"] == int(labelled[:17].sum())
        for part, flag in VALID_OF.items():
            part_kp = kp[slice(*PARTS[part])]
            assert ann[flag] == bool((part_kp[:, 2] > 0).any()), (ann["id"], part)
            if ann[flag]:
                assert (part_kp[:, 2] == 2).any()                    # a part is labelled only if some of it is seen
                seen_parts.add(part)
            if part in BOX_OF:
                box = ann[BOX_OF[part]]
                if not ann[flag]:
                    assert box == [0.0, 0.0, 0.0, 0.0]
                else:
                    points = part_kp[part_kp[:, 2] > 0, :2]
                    assert box[2] > 0 and box[3] > 0
                    assert (points[:, 0] >= box[0]).all() and (points[:, 0] <= box[0] + box[2]).all()
                    assert (points[:, 1] >= box[1]).all() and (points[:, 1] <= box[1] + box[3]).all()
        assert ann["segmentation"] and all(len(polygon) >= 6 for polygon in ann["segmentation"])
    assert seen_parts == {"foot", "face", "left_hand", "right_hand"}
    boxes = json.loads((dataset / BOXES_FILE).read_text())
    assert sum(len(b) for b in boxes.values()) == len(data["annotations"])


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, dataset):
    spec = SynthSpec(num=16, seed=7, width=192, height=160, min_persons=1, max_persons=4)
    generate_dataset(tmp_path / "two", spec, workers=2, progress=False)
    files = sorted(p.relative_to(dataset) for p in dataset.rglob("*") if p.is_file())
    assert len(files) == 19  # 16 images, two JSON files and the run marker
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file())
    for name in files:
        assert (dataset / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    generate_dataset(tmp_path / "other", SynthSpec(num=2, seed=8, width=192, height=160), workers=1, progress=False)
    assert (tmp_path / "other" / IMAGE_DIR / "000001.jpg").read_bytes() != (dataset / IMAGE_DIR / "000001.jpg").read_bytes()


def test_visible_keypoints_show_their_person():
    """v=2 points lie on pixels painted by their own person (and body part), which differ from
    the background there; v=1 points do not; outside the label map the picture is the background."""
    checked = 0
    for index in range(10):
        scene = render_scene(np.random.default_rng([3, index]), SceneConfig(224, 192, 1, 4, effects=False))
        assert np.array_equal(scene.clean, scene.image)
        background = scene.labels == 0
        assert np.array_equal(scene.clean[background], scene.backdrop[background])
        owner, part = decode_labels(scene.labels)
        for ann, person in zip(scene.annotations, scene.annotated):
            assert ann["area"] == (owner == person).sum()
            kp = triples(ann)
            px = np.floor(kp[:, :2] + 0.5).astype(int)
            for k in np.flatnonzero(kp[:, 2] == 2):
                x, y = px[k]
                assert owner[y, x] == person and KEYPOINT_OWNERS[k, part[y, x]], (index, k)
                checked += 1
            shows_person = np.array([np.any(scene.clean[y, x] != scene.backdrop[y, x]) for x, y in px[kp[:, 2] == 2]])
            assert shows_person.mean() > 0.97
            for k in np.flatnonzero(kp[:, 2] == 1):
                x, y = px[k]
                facing_away = k < 91 and scene.cameras[person].view(scene.people[person].normals[k])[2] <= 0.05
                assert facing_away or owner[y, x] != person or not KEYPOINT_OWNERS[k, part[y, x]]
    assert checked > 500


def _render_single(yaw_deg: float, scale: float = 300.0, size: int = 320, **joints):
    neutral = dict(head_yaw=0, head_pitch=0, head_roll=0, torso_twist=0, torso_lean=0, torso_side_bend=0,
                   shoulder_abduction=30, shoulder_flexion=0, elbow_flexion=0)
    neutral.update(joints)
    rng = np.random.default_rng(5)
    with fixed_joints(**neutral):
        person = sample_person(rng, sample_appearance(rng))
    camera = Camera(rot_y(yaw_deg * DEG), scale, np.zeros(2))
    points = camera.project(person.keypoints)
    camera.offset = np.array([size / 2, size / 2]) - (points.min(axis=0) + points.max(axis=0)) / 2
    labels = np.zeros((size, size), np.uint16)
    draw_person(labels, person.primitives, camera, 0)
    return _visibility(person, camera, labels, 0, SceneConfig(size, size))


def test_front_view_puts_the_persons_left_on_the_image_right_and_back_view_swaps():
    points, visible = _render_single(0.0)
    assert points[5, 0] > points[6, 0] and points[11, 0] > points[12, 0] and points[1, 0] > points[2, 0]
    assert points[91, 0] > points[112, 0] and points[17, 0] > points[20, 0]
    face = points[slice(*PARTS["face"])]
    assert (visible[slice(*PARTS["face"])] > 0).all()
    # iBUG layout on a frontal face: point 0 and the person's right eye (36-41) on the image left.
    assert face[0, 0] < face[8, 0] < face[16, 0] and face[36:42, 0].mean() < face[42:48, 0].mean()
    assert face[8, 1] > face[30, 1] > face[27, 1] > face[19, 1]      # chin below nose below brows
    assert visible[:17].min() == 2 or (visible[:17] >= 1).all()
    points, visible = _render_single(180.0)
    assert points[5, 0] < points[6, 0] and points[11, 0] < points[12, 0]
    assert (visible[slice(*PARTS["face"])] == 0).all() and (visible[:3] == 0).all()   # a face turned away
    assert visible[3] == 2 and visible[4] == 2                                            # ears are seen
    points, visible = _render_single(50.0)                          # three-quarter view: far side hidden
    assert (visible[slice(*PARTS["face"])] == 2).any() and (visible[slice(*PARTS["face"])] == 1).any()


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def test_sampled_poses_stay_within_joint_limits():
    rng = np.random.default_rng(11)
    people = [sample_person(rng, sample_appearance(rng)) for _ in range(150)]
    kp = np.stack([p.keypoints for p in people])
    for shoulder, elbow, wrist in ((5, 7, 9), (6, 8, 10)):
        flexion = _angle(kp[:, elbow] - kp[:, shoulder], kp[:, wrist] - kp[:, elbow])
        assert flexion.max() <= JOINT_LIMITS_DEG["elbow_flexion"][1] + 1e-6 and flexion.max() > 90
    for hip, knee, ankle in ((11, 13, 15), (12, 14, 16)):
        flexion = _angle(kp[:, knee] - kp[:, hip], kp[:, ankle] - kp[:, knee])
        assert flexion.max() <= JOINT_LIMITS_DEG["knee_flexion"][1] + 1e-6 and flexion.max() > 90
    for start in (PARTS["left_hand"][0], PARTS["right_hand"][0]):
        for finger in range(1, 5):                                   # forefinger .. pinky: MCP, PIP, DIP, tip
            joints = kp[:, start + 1 + 4 * finger: start + 5 + 4 * finger]
            for j, limit in ((1, FINGER_LIMITS_DEG[1, 1]), (2, FINGER_LIMITS_DEG[2, 1])):
                bend = _angle(joints[:, j] - joints[:, j - 1], joints[:, j + 1] - joints[:, j])
                assert bend.max() <= limit + 1e-6
    heights = kp[:, :, 1].max(axis=1) - kp[:, :, 1].min(axis=1)
    assert heights.min() > 0.3 and heights.max() < 1.3                     # body-height units


def test_dataset_feeds_reader_and_training_pipeline(dataset):
    data = json.loads((dataset / ANNOTATION_FILE).read_text())
    samples = load_annotations(dataset / ANNOTATION_FILE, dataset / IMAGE_DIR, train=True)
    assert len(samples) == sum(1 for a in data["annotations"] if a["num_keypoints"] > 0)
    train = TopDownTrainDataset(samples, (96, 128), AugmentConfig(), seed=1)
    item = train[0]
    assert item["image"].shape == (3, 128, 96) and item["labels_x"].shape == (133, 192)
    assert item["weights"].sum() > 10


def test_perfect_predictions_score_one_with_our_evaluator(dataset):
    from dwpose.evaluation import evaluate_coco_wholebody

    data = json.loads((dataset / ANNOTATION_FILE).read_text())
    results = []
    for ann in data["annotations"]:
        record = {"image_id": ann["image_id"], "category_id": 1, "score": 1.0}
        for key in FIELDS:
            values = np.asarray(ann[key], float).reshape(-1, 3)
            values[:, 2] = values[:, 2] > 0    # a part the ground truth does not label is not predicted
            record[key] = values.reshape(-1).tolist()
        results.append(record)
    stats = evaluate_coco_wholebody(dataset / ANNOTATION_FILE, results)
    assert all(stats.parts[part][0] == pytest.approx(1.0) for part in stats.parts)


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    out = str(tmp_path / "set")
    for args in (["--num", "0"], ["--num", "many"], ["--num", "2", "--seed", "-1"], ["--num", "2", "--size", "20x20"],
                 ["--num", "2", "--size", "wide"], ["--num", "2", "--persons", "0"], ["--num", "2", "--persons", "5..2"],
                 ["--num", "2", "--persons", "40"], ["--num", "2", "--preset", "trivial"]):
        assert main(["synth", out, *args, "--no-progress"]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("dwpose synth: error: "), err
    assert not (tmp_path / "set").exists()


def test_non_empty_output_needs_overwrite_which_replaces_the_set(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["synth", str(out), "--num", "4", "--seed", "1", "--workers", "1", "--no-progress"]) == 0
    assert "wrote 4 images" in capsys.readouterr().out
    (out / "notes.txt").write_text("mine")
    (out / IMAGE_DIR / "000000000785.jpg").write_bytes(b"a user's COCO image")
    for args in (["--num", "2"], ["--num", "4"]):  # another dataset, or this one again
        assert main(["synth", str(out), *args, "--seed", "1", "--no-progress"]) == 2
        assert "--overwrite" in capsys.readouterr().err
    assert len(list((out / IMAGE_DIR).iterdir())) == 5
    assert main(["synth", str(out), "--num", "2", "--seed", "1", "--workers", "1", "--overwrite", "--no-progress"]) == 0
    assert sorted(p.name for p in (out / IMAGE_DIR).iterdir()) == ["000000000785.jpg", "000001.jpg", "000002.jpg"]
    assert (out / "notes.txt").read_text() == "mine"
    assert len(json.loads((out / ANNOTATION_FILE).read_text())["images"]) == 2


def user_folder(folder: Path) -> dict[str, bytes]:
    """A folder of somebody's own COCO-style data, with names a synth run would also write."""
    (folder / IMAGE_DIR).mkdir(parents=True)
    (folder / ANNOTATION_FILE).write_text('{"images": [], "annotations": [], "categories": []}')
    (folder / BOXES_FILE).write_text("{}")
    for name in ("000001.jpg", "000000000785.jpg"):
        (folder / IMAGE_DIR / name).write_bytes(b"user image " + name.encode())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_synth_did_not_write_is_refused_and_left_alone(tmp_path, capsys, overwrite):
    out = tmp_path / "mine"
    before = user_folder(out)
    args = ["synth", str(out), "--num", "2", "--workers", "1", "--no-progress"] + (["--overwrite"] if overwrite else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not written by dwpose synth" in err, err
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # A label run's folder is not a synth dataset either.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / writer.RUN_MARKER).write_text('{"tool":"dwpose","kind":"label","format":"dwpose-label/1"}')
    assert main(["synth", str(tmp_path / "run"), "--num", "2", "--no-progress", "--overwrite"]) == 2
    assert "holds a dwpose label run" in capsys.readouterr().err


def test_a_dataset_from_before_run_markers_may_be_overwritten(tmp_path):
    out = tmp_path / "old"
    generate_dataset(out, SynthSpec(num=3, seed=4), workers=1, progress=False)
    (out / writer.RUN_MARKER).unlink()  # what synth left before it wrote one
    (out / IMAGE_DIR / "000000000785.jpg").write_bytes(b"mine")
    with pytest.raises(InputError, match="--overwrite"):
        generate_dataset(out, SynthSpec(num=2, seed=4), workers=1, progress=False)
    generate_dataset(out, SynthSpec(num=2, seed=4), overwrite=True, workers=1, progress=False)
    assert sorted(p.name for p in (out / IMAGE_DIR).iterdir()) == ["000000000785.jpg", "000001.jpg", "000002.jpg"]


def old_annotation_bytes(spec: SynthSpec) -> bytes:
    """What synth wrote before it streamed: the whole dataset built in memory, one json.dumps."""
    images, annotations = [], []
    for index in range(spec.num):
        scene, _ = writer.render_image(spec, index)
        images.append({"id": index + 1, "file_name": writer.image_file_name(index + 1), "width": spec.width,
                       "height": spec.height})
        for record in scene.annotations:
            annotations.append({"id": len(annotations) + 1, "image_id": index + 1, **record})
    dataset = {"info": {"description": "dwpose synthetic whole-body people", "generator": "dwpose synth",
                        "version": writer.GENERATOR_VERSION, "seed": spec.seed, "num_images": spec.num,
                        "size": [spec.width, spec.height], "persons": [spec.min_persons, spec.max_persons],
                        "preset": spec.preset},
               "licenses": [], "images": images, "annotations": annotations, "categories": writer._categories()}
    return json.dumps(dataset).encode()


def test_annotations_stream_from_parts_and_an_interrupted_run_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "PART_SIZE", 3)
    spec = SynthSpec(num=8, seed=3, width=96, height=80, min_persons=1, max_persons=3)
    generate_dataset(tmp_path / "whole", spec, workers=1, progress=False)
    assert (tmp_path / "whole" / ANNOTATION_FILE).read_bytes() == old_annotation_bytes(spec)
    assert not (tmp_path / "whole" / writer.PART_DIR).exists()

    real, written = writer._write_one, []

    def killed_after_five(job):
        if len(written) == 5:
            raise KeyboardInterrupt  # as Ctrl-C (or a kill) between two images
        written.append(job[1])
        return real(job)

    monkeypatch.setattr(writer, "_write_one", killed_after_five)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(tmp_path / "split", spec, workers=1, progress=False)
    parts = sorted(p.name for p in (tmp_path / "split" / writer.PART_DIR).iterdir())
    assert parts == ["000000.json"]  # images 0-2 done as a part; 3 and 4 drawn, their part unfinished
    assert not (tmp_path / "split" / ANNOTATION_FILE).exists()
    monkeypatch.setattr(writer, "_write_one", real)
    summary = generate_dataset(tmp_path / "split", spec, workers=2, progress=False)
    assert summary["resumed"] == 3
    tree = {p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole").rglob("*")}
    assert tree == {p.relative_to(tmp_path / "split") for p in (tmp_path / "split").rglob("*")}
    for name in tree:
        if (tmp_path / "whole" / name).is_file():
            assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "split" / name).read_bytes(), name


def test_an_interrupted_cli_run_says_how_to_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(writer, "_write_one", lambda job: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["synth", str(tmp_path / "s"), "--num", "2", "--workers", "1", "--no-progress"]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


def test_interrupted_generation_leaves_no_partial_files(tmp_path, monkeypatch):
    calls = []
    original = writer.atomic_path

    @contextlib.contextmanager
    def interrupted_on_third(path):
        calls.append(path)
        with original(path) as temporary:
            yield temporary
            if len(calls) == 3:  # interrupted after the third image's bytes, before its rename
                raise KeyboardInterrupt

    monkeypatch.setattr(writer, "atomic_path", interrupted_on_third)
    out = tmp_path / "set"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(out, SynthSpec(num=6, seed=2), workers=1, progress=False)
    names = sorted(p.name for p in (out / IMAGE_DIR).iterdir())
    assert names == ["000001.jpg", "000002.jpg"]                 # complete files only, no temporary names
    assert all(cv2.imread(str(out / IMAGE_DIR / n)) is not None for n in names)
    assert not (out / ANNOTATION_FILE).exists() and not (out / BOXES_FILE).exists()


def test_custom_input_size_models_are_built_but_not_listed(tmp_path):
    import torch

    import dwpose
    from dwpose.models.registry import detect_model_name

    model = dwpose.create_model("rtmpose-t-128x96")
    assert model.input_size == (96, 128) and "rtmpose-t-128x96" not in dwpose.list_models()
    simcc_x, simcc_y = model(torch.zeros(1, 3, 128, 96))
    assert simcc_x.shape == (1, 133, 192) and simcc_y.shape == (1, 133, 256)
    torch.save({"state_dict": model.state_dict()}, tmp_path / "small.pth")
    assert detect_model_name(tmp_path / "small.pth") == "rtmpose-t-128x96"
    with pytest.raises(ValueError):
        dwpose.create_model("rtmpose-t-100x96")


def test_readme_first_model_commands_parse():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Train your first model"):]
    section = section[: section.index("\n## ", 3)]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("dwpose "):
                commands.append(line)
    assert len(commands) >= 4 and any(c.startswith("dwpose synth ") for c in commands)
    parser = build_parser()
    for command in commands:
        parser.parse_args(command.split()[1:])
    # The first model trains on the easy preset, and the recipe reads the sets the commands write.
    synth = [parser.parse_args(c.split()[1:]) for c in commands if c.startswith("dwpose synth ")]
    assert synth and all(args.preset == "easy" for args in synth)
    recipe = next(parser.parse_args(c.split()[1:]).config for c in commands if c.startswith("dwpose train "))
    written = {args.out for args in synth}
    values = tomllib.loads((ROOT / recipe).read_text())   # (load_config would want the data to exist)
    assert {str(Path(values["data"]["coco_ann"]).parent), str(Path(values["val"]["ann_file"]).parent)} == written
    assert "synth_learning_curve.py" in section and "RESULTS.md" in section


@pytest.fixture
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two threads contend with other work and
    make this training several times slower (measured: 20 iterations 14 s vs 91 s at load 4)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tpd_benchmark_script_runs_its_chain(tmp_path, monkeypatch, one_torch_thread):
    """benchmarks/synth_tpd.py at its smoke scale: teacher, baseline, stage 1, stage 2, table in
    its own RESULTS.md section next to the sections that were there."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("synth_tpd", ROOT / "benchmarks" / "synth_tpd.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)   # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    results = tmp_path / "RESULTS.md"
    results.write_text("# CPU benchmark\n\nrows\n\n## GPU\n\ngpu rows\n")
    assert bench.main(["--scale", "smoke", "--work-dir", str(tmp_path / "work"), "--out", str(results),
                       "--device", "cpu", "--threads", "1"]) == 0
    text = results.read_text()
    assert text.startswith("# CPU benchmark") and "## GPU\n\ngpu rows" in text
    section = text[text.index(bench.SECTION):]
    assert "--preset easy" in section
    chain = ["teacher (GT)", "student baseline (GT only)", "student, TPD stage 1", "student, TPD stage 1 + 2"]
    if bench.label_free_setting() is not None:               # the training config has the setting: it runs
        chain.append("student, teacher logits only (no GT)")
    assert "label-free" in section
    # The smoke scale has two training seeds: a table of means and spreads, then every run.
    summary, runs = section.split("Each run:")
    means = [line.split(" | ") for line in summary.splitlines() if line.startswith("| rtmpose-")]
    assert [row[1] for row in means] == chain and all("+-" in row[4] for row in means)
    each = [line.split(" | ") for line in runs.splitlines() if line.startswith("| rtmpose-")]
    assert [(row[1], row[2]) for row in each] == [(label, seed) for seed in ("21", "22") for label in chain]
    assert (tmp_path / "work" / "smoke" / "seed22" / "student_s2" / "final_pose.pth").is_file()
    # A plain verdict for each distilled student against the baseline, with the spread it is judged by.
    verdicts = [line for line in section.splitlines() if line.startswith("- student")]
    assert len(verdicts) == len(chain) - 2 and all("seed spread" in line for line in verdicts)
    assert bench.main(["--scale", "smoke", "--work-dir", str(tmp_path / "work"), "--out", str(results),
                       "--device", "cpu", "--threads", "1", "--seeds", "1"]) == 0    # a rerun replaces its section
    assert results.read_text().count(bench.SECTION) == 1


def test_tpd_benchmark_uses_a_given_teacher_for_every_seed(tmp_path, monkeypatch, one_torch_thread):
    """--teacher: no teacher is trained; the given checkpoint is scored once and every seed's
    stage-1 and label-free students learn from it (the checkpoint they load says so)."""
    import importlib.util
    import sys

    import torch

    from dwpose.models import create_model

    spec = importlib.util.spec_from_file_location("synth_tpd", ROOT / "benchmarks" / "synth_tpd.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)
    spec.loader.exec_module(bench)
    teacher = tmp_path / "my_teacher.pth"
    torch.manual_seed(5)
    torch.save({"state_dict": create_model("rtmpose-s-128x96").state_dict()}, teacher)
    seen = []
    real_run = bench.run

    def recording_run(config, work, device):
        seen.append((work.parent.name, work.name, config.distill.teacher_checkpoint if config.distill else None))
        return real_run(config, work, device)

    monkeypatch.setattr(bench, "run", recording_run)
    results = tmp_path / "RESULTS.md"
    assert bench.main(["--scale", "smoke", "--work-dir", str(tmp_path / "work"), "--out", str(results), "--device",
                       "cpu", "--threads", "1", "--iters", "1", "--teacher", str(teacher),
                       "--teacher-about", "trained elsewhere"]) == 0
    assert [name for _, name, _ in seen].count("teacher") == 0
    from_teacher = {(seed, name): ckpt for seed, name, ckpt in seen if name in ("student_s1", "student_label_free")}
    assert set(from_teacher) == {(s, n) for s in ("seed21", "seed22") for n in ("student_s1", "student_label_free")}
    assert set(from_teacher.values()) == {str(teacher)}
    section = results.read_text()
    assert "one given checkpoint, `my_teacher.pth`" in section and "trained elsewhere" in section
    teacher_rows = [line for line in section.splitlines() if "| teacher (GT) |" in line]
    assert len(teacher_rows) == 2 and all("| given |" in line for line in teacher_rows)   # the mean table and the runs


def test_tpd_benchmark_verdict_weighs_differences_against_the_seed_spread(monkeypatch):
    """Mean and spread over seeds, and the plain sentence of the table, from known APs."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("synth_tpd", ROOT / "benchmarks" / "synth_tpd.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)
    spec.loader.exec_module(bench)

    def row(label, seed, body, whole):
        summary = {f"{p}/AP": 0.0 for p in bench.PART_KEYS} | {"body/AP": body, "wholebody/AP": whole}
        return ("rtmpose-t-128x96", label, seed, 100, 60.0, 0.6, summary, 5.0)

    rows = [row(bench.BASELINE, 21, 0.30, 0.10), row(bench.BASELINE, 22, 0.34, 0.12),
            row(bench.STAGE1, 21, 0.40, 0.11), row(bench.STAGE1, 22, 0.42, 0.11),
            row(bench.LABEL_FREE, 21, 0.20, 0.05), row(bench.LABEL_FREE, 22, 0.40, 0.15)]
    stats = bench.aggregate(rows)
    assert stats[bench.BASELINE]["mean"]["body"] == pytest.approx(0.32)
    assert stats[bench.BASELINE]["sd"]["body"] == pytest.approx(0.04 / 2 ** 0.5)
    stage1, label_free = bench.verdict(stats)
    # Stage 1: body +0.09, more than the spread (0.028 + 0.014); whole-body +0.0, within it.
    assert stage1.startswith("- student, TPD stage 1 beats the baseline: body AP +0.090 (larger than the seed spread")
    assert "wholebody AP +0.000 (within the seed spread" in stage1
    # Label-free: body -0.02 on average, far within its own wide spread.
    assert label_free.startswith("- student, teacher logits only (no GT) does not beat the baseline: body AP -0.020 "
                                 "(within the seed spread")
    one_seed = bench.verdict(bench.aggregate([rows[0], rows[2]]))
    assert "one seed: no spread" in one_seed[0]


def _mean_pose_records(samples, records_for) -> list[dict]:
    """Every person predicted as the training set's mean pose, placed in its ground-truth box."""
    from dwpose.formats import coco_wholebody_record

    relative = [(s.keypoints - s.bbox[:2]) / (s.bbox[2:] - s.bbox[:2]) for s in samples]
    weights = np.stack([s.visible for s in samples])[..., None]
    mean = (np.stack(relative) * weights).sum(axis=0) / np.maximum(weights.sum(axis=0), 1)
    records = []
    for s in records_for:
        points = s.bbox[:2] + mean * (s.bbox[2:] - s.bbox[:2])
        records.append(coco_wholebody_record(s.image_id, np.concatenate([points, np.ones((133, 1))], axis=1), 1.0))
    return records


@pytest.mark.synth_training
def test_synth_training_raises_ap_above_zero(tmp_path, monkeypatch, one_torch_thread):
    """A few hundred iterations on synthetic people lift whole-body AP above zero: the real
    chain (reader, crops, SimCC targets, loss, AdamW, EMA, export, decoding, COCO-WholeBody
    evaluator). Kept to seconds-per-iteration size, so it is scored on its own 16 training
    images: neither the untrained model nor the mean pose scores there (AP 0), so AP > 0 means
    the model reads the pixels and the labels sit where the people are. Held-out AP needs far
    more data and iterations: benchmarks/synth_tpd.py."""
    from dwpose.evaluation import evaluate_coco_wholebody
    from dwpose.evaluation.runner import evaluate_model
    from dwpose.models import create_model
    from dwpose.training import Trainer
    from dwpose.training.config import DataConfig, TrainConfig

    data = tmp_path / "train"
    generate_dataset(data, SynthSpec(num=16, seed=3, width=128, height=128, min_persons=1, max_persons=1), workers=1,
                     progress=False)
    ann, images = data / ANNOTATION_FILE, data / IMAGE_DIR
    samples = load_annotations(ann, images, train=False)
    assert evaluate_coco_wholebody(ann, _mean_pose_records(samples, samples)).parts["body"][0] == 0.0
    untrained, _ = evaluate_model(create_model("rtmpose-t-128x96"), ann, images, flip_test=False, progress=False)
    assert untrained.parts["wholebody"][0] == 0.0

    config = TrainConfig(model="rtmpose-t-128x96", data=DataConfig(coco_ann=str(ann), coco_images=str(images)),
                         epochs=1000, max_iters=200, batch_size=8, lr=1e-3, warmup_iters=20, augment=False, workers=0,
                         log_every=50, checkpoint_every_iters=10**6, seed=0)
    # 16 images make an epoch of 2 iterations, and the trainer writes its resume checkpoint after
    # every epoch: not what this test is about (tests/test_training.py covers resume), and ~0.5 s each.
    monkeypatch.setattr(Trainer, "save", lambda self, path=None: None)
    Trainer(config, tmp_path / "work", device="cpu", progress=False).train()
    trained = create_model("rtmpose-t-128x96", checkpoint=tmp_path / "work" / "final_pose.pth")
    stats, _ = evaluate_model(trained, ann, images, flip_test=False, progress=False)
    assert stats.parts["body"][0] > 0.05 and stats.parts["wholebody"][0] > 0.05, stats.table()


# --------------------------------------------------------------------------- difficulty presets

# Digests of the generator before presets existed (pictures and annotations of 8 images each),
# computed with that code: `hard`, named or by default, must draw exactly the same.
HARD_DIGESTS = {(128, 128, 1, 3, 0): "1e6bdc5a658599c182578cb781107f4a458c0989367856772676dfab57d3555d",
                (192, 160, 1, 2, 7): "960eadb2c79c2dc739a3c8f19798c5cb4ad92d6427afbebb70ef9f8144e51ee9"}


def _digest(spec: SynthSpec) -> str:
    import hashlib

    digest = hashlib.sha256()
    for index in range(spec.num):
        scene, data = writer.render_image(spec, index)
        digest.update(hashlib.sha256(data).digest())
        digest.update(json.dumps(scene.annotations, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("key", sorted(HARD_DIGESTS))
def test_hard_preset_draws_what_the_generator_drew_before_presets(key):
    width, height, low, high, seed = key
    assert SynthSpec(8, seed, width, height, low, high).preset == "hard"
    assert _digest(SynthSpec(8, seed, width, height, low, high, preset="hard")) == HARD_DIGESTS[key]


def test_presets_are_deterministic_and_differ():
    for preset in ("easy", "medium"):
        spec = SynthSpec(3, 5, 128, 128, 1, 2, preset=preset)
        assert _digest(spec) == _digest(spec)
    assert len({_digest(SynthSpec(3, 5, 128, 128, 1, 2, preset=p)) for p in ("easy", "medium", "hard")}) == 3


@pytest.fixture(scope="module")
def easy_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "easy"
    assert main(["synth", str(out), "--num", "40", "--size", "128x160", "--seed", "3", "--preset", "easy",
                 "--workers", "1", "--no-progress"]) == 0
    return out


def test_easy_preset_is_one_large_whole_frontal_person(easy_set):
    data = json.loads((easy_set / ANNOTATION_FILE).read_text())
    assert data["info"]["preset"] == "easy" and data["info"]["persons"] == [1, 1]
    width, height = 128, 160
    per_image = {}
    for annotation in data["annotations"]:
        per_image[annotation["image_id"]] = per_image.get(annotation["image_id"], 0) + 1
        x, y, w, h = annotation["bbox"]
        assert h >= 0.5 * height or w >= 0.5 * width, annotation["bbox"]      # most of the picture
        assert x > 0 and y > 0 and x + w < width - 1 and y + h < height - 1, annotation["bbox"]  # not cut
        points = triples(annotation)
        body = points[:17]
        assert (body[:, 2] > 0).sum() >= 14     # at most the nose and eyes of a face turned aside unlabelled
        labelled = points[points[:, 2] > 0]
        assert (labelled[:, :2] >= 0).all() and (labelled[:, 0] <= width - 1).all() and (labelled[:, 1] <= height - 1).all()
        # Seen from the front to three-quarters: the person's left hip is on the picture's right.
        assert body[11, 0] > body[12, 0]
    assert sorted(per_image) == list(range(1, 41)) and set(per_image.values()) == {1}


def test_easy_preset_has_no_occluders_nor_clutter_and_hard_has_both():
    from dwpose.data.synth.parts import OCCLUDER_BASE

    def scenes(preset):
        return [render_scene(np.random.default_rng([11, i]), SceneConfig(128, 128, preset=preset)) for i in range(12)]

    easy = scenes("easy")
    assert all(int(scene.labels.max()) < OCCLUDER_BASE for scene in easy)
    # A plain background: little texture (no clutter shapes, stripes or rooms).
    assert max(float(cv2.Laplacian(s.backdrop, cv2.CV_32F).std()) for s in easy) < 3.0
    hard = scenes("hard")
    assert any(int(scene.labels.max()) >= OCCLUDER_BASE for scene in hard)
    assert max(float(cv2.Laplacian(s.backdrop, cv2.CV_32F).std()) for s in hard) > 8.0
