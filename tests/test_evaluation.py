import contextlib
import copy
import io
import json

import numpy as np
import pytest
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from dwpose.cli import main
from dwpose.evaluation import evaluate_coco_wholebody, oks_nms, rescore_and_nms
from dwpose.skeleton import SIGMAS
from tests.conftest import DATA, REFERENCE
from dwpose.errors import EvaluationError

SAMPLE = DATA / "coco_wholebody_val_sample"
GT = SAMPLE / "test_coco_wholebody.json"
FIELDS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")


def gt_as_results(noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    records = []
    for ann in json.loads(GT.read_text())["annotations"]:
        record = {"image_id": ann["image_id"], "category_id": 1, "score": float(rng.uniform(0.5, 1.0))}
        for key in FIELDS:
            triples = np.asarray(ann[key], float).reshape(-1, 3)
            triples[:, :2] += rng.normal(0, noise, (len(triples), 2))
            triples[:, 2] = (triples[:, 2] > 0) * rng.uniform(0.3, 1.0, len(triples))
            record[key] = triples.reshape(-1).tolist()
        records.append(record)
    return records


def test_ground_truth_scores_one_everywhere():
    stats = evaluate_coco_wholebody(GT, gt_as_results())
    for part, values in stats.parts.items():
        assert values[0] == 1.0, part
    assert stats.hand_ap == 1.0


def mmpose_sigmas() -> np.ndarray:
    """The 133 OKS sigmas of mmpose's COCO-WholeBody metainfo (shared/reference), float32 as
    mmpose keeps them: the reference side never uses the project's own SIGMAS."""
    return np.asarray(json.loads((REFERENCE / "coco_wholebody_sigmas.json").read_text())["sigmas"], np.float32)


def direct_xtcocotools(results):
    """The community evaluator called directly, as mmpose's CocoWholeBodyMetric does."""
    coco = COCO(str(GT))
    coco_det = coco.loadRes(copy.deepcopy(results))
    sigmas = mmpose_sigmas()
    cuts = np.cumsum([0, 17, 6, 68, 21, 21])
    out = {}
    runs = [("body", "keypoints_body", sigmas[cuts[0]:cuts[1]]), ("foot", "keypoints_foot", sigmas[cuts[1]:cuts[2]]),
            ("face", "keypoints_face", sigmas[cuts[2]:cuts[3]]), ("left_hand", "keypoints_lefthand", sigmas[cuts[3]:cuts[4]]),
            ("right_hand", "keypoints_righthand", sigmas[cuts[4]:cuts[5]]), ("wholebody", "keypoints_wholebody", sigmas)]
    for part, iou_type, part_sigmas in runs:
        ev = COCOeval(coco, coco_det, iou_type, np.array(part_sigmas), use_area=True)
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        out[part] = list(ev.stats)
    return out


@pytest.mark.parametrize("noise", [2.0, 8.0])
def test_perturbed_predictions_equal_direct_xtcocotools(noise):
    results = gt_as_results(noise, seed=int(noise))
    ours = evaluate_coco_wholebody(GT, results)
    with contextlib.redirect_stdout(io.StringIO()):
        reference = direct_xtcocotools(results)
    for part, values in reference.items():
        assert ours.parts[part] == pytest.approx(values, abs=0), part
    assert 0 < ours.parts["wholebody"][0] < 1


def test_oks_nms_drops_near_duplicates():
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.uniform(0, 100, (133, 2)), np.ones((133, 1))], axis=1)
    near = base.copy()
    near[:, :2] += 0.5
    far = base.copy()
    far[:, :2] += 60
    keep = oks_nms(np.stack([base, near, far]), np.array([0.9, 0.8, 0.7]), np.array([1e4, 1e4, 1e4]), SIGMAS)
    assert keep.tolist() == [0, 2]


def test_rescoring_uses_scores_above_threshold():
    keypoints = np.zeros((1, 133, 2))
    scores = np.full((1, 133), 0.1)
    scores[0, :10] = 0.6
    (record,) = rescore_and_nms(np.array([7]), keypoints, scores, np.array([0.5]), np.array([100.0]))
    assert record["score"] == pytest.approx(0.5 * 0.6)
    assert len(record["keypoints"]) == 51 and record["image_id"] == 7


def test_eval_cli_with_detections(tmp_path, t_checkpoint, capsys):
    out = tmp_path / "eval.json"
    code = main(["eval", "--checkpoint", str(t_checkpoint), "--ann", str(GT), "--images", str(SAMPLE),
                 "--dets", str(SAMPLE / "test_coco_det_AP_H_56.json"), "--out", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "wholebody" in printed and "hand (mean)" in printed
    payload = json.loads(out.read_text())
    assert set(payload["stats"]["parts"]) == {"body", "foot", "face", "left_hand", "right_hand", "wholebody"}
    assert 0 < len(payload["results"]) <= 118


def test_eval_cli_errors_are_one_line(tmp_path, t_checkpoint, capsys):
    code = main(["eval", "--checkpoint", str(t_checkpoint), "--ann", str(tmp_path / "missing.json"),
                 "--images", str(SAMPLE), "--no-progress"])
    assert code == 2
    assert "missing.json" in capsys.readouterr().err


def test_eval_cli_scores_a_results_file(tmp_path, capsys):
    results = gt_as_results(4.0, seed=4)
    path = tmp_path / "preds.json"
    path.write_text(json.dumps(results))
    out = tmp_path / "stats.json"
    assert main(["eval", "--ann", str(GT), "--results", str(path), "--out", str(out)]) == 0
    assert "wholebody" in capsys.readouterr().out
    stats = json.loads(out.read_text())["stats"]
    expected = evaluate_coco_wholebody(GT, results)
    assert stats["parts"]["face"]["AP"] == expected.parts["face"][0]
    assert stats["hand_AP"] == expected.hand_ap


def spoil(records, index, **changes):
    """A copy of `records` with record `index` changed (a value of None deletes the field)."""
    records = copy.deepcopy(records)
    for key, value in changes.items():
        if value is None:
            del records[index][key]
        else:
            records[index][key] = value
    return records


BAD_RECORDS = [
    (dict(keypoints=[float("nan")] * 51), "'keypoints'[0] must be a finite number, got nan"),
    (dict(face_kpts=[1.0] * 60), "'face_kpts' has 60 values, expected 204 (x, y, score for 68 keypoints)"),
    (dict(lefthand_kpts=None), "missing field 'lefthand_kpts'"),
    (dict(righthand_kpts="1 2 3"), "'righthand_kpts' must be a list of 63 numbers, got str"),
    (dict(foot_kpts=[0.0] * 17 + ["7"]), "'foot_kpts'[17] must be a finite number, got '7'"),
    (dict(score="high"), "'score' must be a finite number, got 'high'"),
    (dict(score=float("inf")), "'score' must be a finite number, got inf"),
    (dict(score=None), "missing field 'score'"),
    (dict(image_id=987654321), "image_id 987654321 is not an image of the ground truth"),
    (dict(image_id=[1]), "'image_id' must be an integer, got [1]"),
    (dict(category_id=2), "category_id 2 is not a category of the ground truth ([1])"),
]


@pytest.mark.parametrize("change, problem", BAD_RECORDS)
def test_malformed_records_name_the_record_and_the_problem(change, problem):
    records = spoil(gt_as_results(), 5, **change)
    image_id = records[5]["image_id"]
    with pytest.raises(EvaluationError) as info:
        evaluate_coco_wholebody(GT, records)
    assert str(info.value) == f"results record 5 (image_id {image_id!r}): {problem}"


def test_nan_body_points_are_not_scored_as_perfect():
    """Unvalidated, xtcocotools gives NaN body points a whole-body AP of 1.000."""
    records = gt_as_results()
    for record in records:
        record["keypoints"] = [float("nan")] * 51
    with pytest.raises(EvaluationError, match="results record 0 .*'keypoints'\\[0\\] must be a finite number, got nan"):
        evaluate_coco_wholebody(GT, records)
    with pytest.raises(EvaluationError, match=r"results record 2: expected an object, got list"):
        evaluate_coco_wholebody(GT, gt_as_results()[:2] + [[1, 2, 3]])


def test_eval_cli_rejects_a_malformed_results_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "preds.json"
    records = spoil(gt_as_results(), 3, face_kpts=[0.0] * 3)
    path.write_text(json.dumps(records))
    out = tmp_path / "stats.json"
    assert main(["eval", "--ann", str(GT), "--results", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: results record 3 (image_id {records[3]['image_id']}): 'face_kpts' has 3 values, expected 204" in err
    assert not out.exists()
