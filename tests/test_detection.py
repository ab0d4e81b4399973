import json

import numpy as np
import pytest
import torch

from dwpose.detection import YOLOXDetector, letterbox, nms
from dwpose.models import create_model
from dwpose.errors import BackendError, CheckpointError


def test_nms_uses_plus_one_areas_and_keeps_iou_at_threshold():
    boxes = np.array([[0, 0, 9, 9], [0, 5, 9, 14], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    # boxes 0 and 1: +1 areas 100 each, overlap 10x5 = 50 -> IoU 50/150 = 1/3
    assert nms(boxes, scores, 0.34).tolist() == [0, 1, 2]
    assert nms(boxes, scores, 0.33).tolist() == [0, 2]
    # IoU exactly at the threshold is kept (suppressed only when > threshold): overlap 10x4 = 40
    # of a union 160 = 0.25, exact in floating point.
    touching = np.array([[0, 0, 9, 9], [0, 6, 9, 15]], np.float32)
    assert nms(touching, scores[:2], 0.25).tolist() == [0, 1]
    assert nms(touching, scores[:2], 0.2499).tolist() == [0]


def test_letterbox_top_left_with_grey_padding():
    image = np.full((100, 200, 3), 7, np.uint8)
    canvas, ratio = letterbox(image, (640, 640))
    assert ratio == 3.2 and canvas.shape == (640, 640, 3)
    assert (canvas[:320, :640] == 7).all() and (canvas[320:] == 114).all()


def test_postprocess_decodes_grid_and_filters(yolox_s_onnx):
    detector = YOLOXDetector(yolox_s_onnx)
    output = np.zeros((8400, 85), np.float32)
    output[:, 4] = 0.0  # objectness 0 everywhere ...
    anchor = 3 * 80 + 5  # stride-8 grid cell (x=5, y=3)
    output[anchor, :4] = [0.5, 0.5, np.log(4.0), np.log(2.0)]
    output[anchor, 4], output[anchor, 5] = 0.9, 0.5  # person score 0.45
    second = 80 * 80 + 2  # stride 16, (x=2, y=0): a cat, dropped
    output[second, 4], output[second, 5 + 15] = 1.0, 0.9
    weak = 80 * 80 + 40 * 40 + 7  # stride 32: person score 0.2, below 0.3
    output[weak, 4], output[weak, 5] = 0.4, 0.5
    result = detector.postprocess(output, ratio=2.0)
    cx, cy, w, h = (5.5 * 8), (3.5 * 8), 32, 16
    np.testing.assert_allclose(result.boxes, [[(cx - w / 2) / 2, (cy - h / 2) / 2, (cx + w / 2) / 2, (cy + h / 2) / 2]], rtol=1e-6)
    np.testing.assert_allclose(result.scores, [0.45], rtol=1e-6)
    detector.score_threshold = 0.5
    assert len(detector.postprocess(output, ratio=2.0).boxes) == 0


def test_yolox_l_parameter_count_matches_official_onnx(reference):
    manifest = json.loads((reference / "manifest.json").read_text())["onnx"]["yolox_l_random.onnx"]
    model = create_model("yolox-l")
    assert sum(p.numel() for p in model.parameters()) == manifest["n_params"]


def test_megvii_pth_and_onnx_import_agree(tmp_path, yolox_s_onnx):
    imported = create_model("yolox-s", checkpoint=yolox_s_onnx)
    pth = tmp_path / "yolox_s.pth"
    torch.save({"model": imported.state_dict(), "start_epoch": 300, "optimizer": {}}, pth)
    loaded = create_model("yolox-s", checkpoint=pth)
    x = torch.rand(1, 3, 640, 640) * 255
    with torch.no_grad():
        assert torch.equal(imported(x), loaded(x))
    with pytest.raises(CheckpointError, match="looks like yolox-s"):
        create_model("yolox-m", checkpoint=pth)


def test_torch_and_onnxruntime_detectors_agree(yolox_s_onnx, sample_bgr):
    ort_det = YOLOXDetector(yolox_s_onnx, score_threshold=0.0, candidate_threshold=0.0)
    torch_det = YOLOXDetector(yolox_s_onnx, backend="torch", arch="yolox-s", score_threshold=0.0, candidate_threshold=0.0)
    batch, _ = ort_det.preprocess(sample_bgr)
    (a,), (b,) = ort_det.runner(batch), torch_det.runner(batch)
    assert a.shape == (1, 8400, 85)
    assert np.abs(a - b).max() < 1e-3
    assert "CPUExecutionProvider" in ort_det.device_info and "torch" in torch_det.device_info


def test_cuda_request_fails_loudly_without_cuda(yolox_s_onnx):
    with pytest.raises(BackendError, match="CUDA"):
        YOLOXDetector(yolox_s_onnx, device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="CUDA"):
            YOLOXDetector(yolox_s_onnx, backend="torch", arch="yolox-s", device="cuda")


def test_device_letterbox_and_decode_match_the_host_path(sample_bgr):
    import cv2

    model = create_model("yolox-s")
    detector = YOLOXDetector(model, backend="torch", arch="yolox-s", score_threshold=0.0, candidate_threshold=0.0,
                             max_detections=5)
    image = cv2.resize(sample_bgr, (1000, 700))
    batch, ratios = detector.letterbox_on_device([image])
    canvas, ratio = letterbox(image, (640, 640))
    assert ratios == [ratio]
    diff = np.abs(batch[0].permute(1, 2, 0).numpy() - canvas)
    assert diff.max() <= 2 and diff.mean() < 0.1  # bilinear with exact vs fixed-point weights
    # The device decode (candidates only leave the device) equals the host decode on the same output.
    (output,) = detector.runner.run_tensor(batch)
    scores = output[0, :, 4] * output[0, :, 5]
    index = (scores > 0.0).nonzero()[:, 0]
    on_device = detector._decode_candidates(output[0][index].numpy(), index.numpy(), ratio)
    on_host = detector.postprocess(output[0].numpy(), ratio)
    np.testing.assert_array_equal(on_device.boxes, on_host.boxes)


def test_yolox_size_is_read_from_the_file(tmp_path, yolox_s_onnx):
    from dwpose.models import detect_model_name

    assert detect_model_name(yolox_s_onnx) == "yolox-s"
    pth = tmp_path / "m.pth"
    torch.save({"model": create_model("yolox-m").state_dict()}, pth)
    assert detect_model_name(pth) == "yolox-m"
    detector = YOLOXDetector(yolox_s_onnx, backend="torch")  # no arch given
    assert detector.runner.module.config.name == "yolox-s"


def test_export_yolox_from_megvii_pth(tmp_path):
    import onnxruntime as ort

    from dwpose.cli import main

    torch.manual_seed(2)
    model = create_model("yolox-s")
    pth = tmp_path / "yolox_s.pth"
    torch.save({"model": model.state_dict()}, pth)
    out = tmp_path / "yolox_s.onnx"
    assert main(["export", "yolox-s", "--checkpoint", str(pth), "--out", str(out), "--static-batch"]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"] and session.get_inputs()[0].shape == [1, 3, 640, 640]
    x = torch.rand(1, 3, 640, 640) * 255
    (ours,) = session.run(None, {"images": x.numpy()})
    with torch.no_grad():
        assert np.abs(ours - model.eval()(x).numpy()).max() < 1e-3


class End2EndStandIn(torch.nn.Module):
    """The output layout of mmdeploy's end2end YOLOX (NMS inside): fixed boxes in network pixels
    (xyxy, score) and class ids, whatever the image (its mean enters with weight 0, so the graph
    keeps its input)."""

    def __init__(self):
        super().__init__()
        dets = [[10, 20, 110, 220, 0.9], [50, 60, 90, 100, 0.2], [0, 0, 40, 40, 0.95], [30, 30, 200, 300, 0.6]]
        self.register_buffer("dets", torch.tensor([dets]))
        self.register_buffer("labels", torch.tensor([[0, 0, 2, 0]]))  # the third box is not a person

    def forward(self, x):
        zero = x.mean() * 0
        return self.dets + zero, self.labels + zero.long()


def export_end2end(path, size=None):
    """`size` (H, W) fixes the input; None leaves H and W free, as dynamic exports do."""
    height, width = size or (320, 320)
    axes = None if size else {"input": {2: "height", 3: "width"}}
    torch.onnx.export(End2EndStandIn(), (torch.zeros(1, 3, height, width),), str(path), input_names=["input"],
                      output_names=["dets", "labels"], dynamic_axes=axes, opset_version=11, dynamo=False)
    return path


def test_end2end_detector_with_nms_takes_its_persons_best_first(tmp_path):
    detector = YOLOXDetector(export_end2end(tmp_path / "free.onnx"), input_size=(416, 416))
    assert detector.with_nms and detector.input_size == (416, 416)  # free H, W: the given size
    image = np.zeros((208, 104, 3), np.uint8)  # letterboxed into 416x416 at ratio 2
    found = detector(image)
    # Persons above the 0.3 score threshold, best first, back in image pixels; no second NMS.
    np.testing.assert_allclose(found.scores, [0.9, 0.6])
    np.testing.assert_allclose(found.boxes, [[5, 10, 55, 110], [15, 15, 100, 150]])
    assert [len(d.scores) for d in detector.detect_batch([image, image])] == [2, 2]
    fixed = YOLOXDetector(export_end2end(tmp_path / "fixed.onnx", size=(640, 640)), input_size=(416, 416))
    assert fixed.input_size == (640, 640)  # the file's own size wins
    capped = YOLOXDetector(tmp_path / "free.onnx", max_detections=1)
    assert capped.input_size == (640, 640) and len(capped(image).scores) == 1


# ------------------------------------------------- YOLOX-tiny against mmdet (shared/reference)

TINY = "yolox_tiny_416_random"


@pytest.fixture(scope="module")
def mmdet_yolox(reference):
    """mmdet's YOLOX-tiny fixture: its input (a letterboxed photo), its forward in Megvii's
    layout, its own detections and the settings it made them with."""
    return {"input": np.load(reference / f"{TINY}_input.npy"), "output": np.load(reference / f"{TINY}_output.npy"),
            "dets": np.load(reference / f"{TINY}_mmdet_dets.npy"),
            "meta": json.loads((reference / f"{TINY}.json").read_text())}


def test_letterbox_is_mmdets_input(mmdet_yolox, reference):
    import cv2

    from tests.conftest import DATA

    photo = cv2.imread(str(DATA / "coco_wholebody_val_sample" / "000000000785.jpg"))
    batch, ratio = YOLOXDetector(reference / f"{TINY}.onnx").preprocess(photo)
    assert ratio == 0.65
    np.testing.assert_array_equal(batch, mmdet_yolox["input"])


@pytest.mark.parametrize("source", ["onnx->torch", "onnx->onnxruntime", "mmdet.pth->torch"])
def test_yolox_tiny_matches_mmdets_forward(mmdet_yolox, reference, source):
    """The same random weights three ways (the ONNX file imported into our torch model, the
    ONNX file run by onnxruntime, mmdet's own state dict renamed to ours) give mmdet's forward
    within float32 noise (measured <= 6e-5; a layer wired or named wrongly is off by > 0.1)."""
    if source == "onnx->torch":
        runner = YOLOXDetector(reference / f"{TINY}.onnx", backend="torch").runner
    elif source == "onnx->onnxruntime":
        runner = YOLOXDetector(reference / f"{TINY}.onnx").runner
    else:  # no --det-arch: the architecture is read from mmdet's names
        runner = YOLOXDetector(reference / f"{TINY}_mmdet.pth", backend="torch").runner
    (output,) = runner(mmdet_yolox["input"])[:1]
    assert output.shape == mmdet_yolox["output"].shape == (1, 3549, 85)
    np.testing.assert_allclose(output, mmdet_yolox["output"], rtol=0, atol=2e-4)


def test_mmdet_state_dict_is_renamed_completely(reference):
    from dwpose.models import detect_model_name
    from dwpose.models.yolox import is_mmdet_yolox_state_dict, mmdet_yolox_state_dict

    mmdet = torch.load(reference / f"{TINY}_mmdet.pth", map_location="cpu", weights_only=True)
    assert is_mmdet_yolox_state_dict(mmdet)
    ours = mmdet_yolox_state_dict(mmdet)
    expected = create_model("yolox-tiny").state_dict()
    assert set(ours) == set(expected) and all(ours[k].shape == v.shape for k, v in expected.items())
    assert detect_model_name(reference / f"{TINY}_mmdet.pth") == "yolox-tiny"
    with pytest.raises(CheckpointError, match="bbox_head.extra_conv.weight"):
        mmdet_yolox_state_dict({**mmdet, "bbox_head.extra_conv.weight": torch.zeros(1)})


def test_mmdet_checkpoint_through_the_command_line(tmp_path, reference, pose_onnx, capsys):
    """`--det-model <mmdet .pth> --backend torch` is accepted as it is (mmengine's container:
    `{"state_dict": ..., "meta": ...}`)."""
    from dwpose.cli import main
    from tests.conftest import DATA

    mmdet = torch.load(reference / f"{TINY}_mmdet.pth", map_location="cpu", weights_only=True)
    container = tmp_path / "yolox_tiny_8xb8-300e_coco.pth"
    torch.save({"state_dict": mmdet, "meta": {"epoch": 300}}, container)
    t_pth = reference / "rtmpose_t_256x192_random.pth"
    code = main(["predict", str(DATA / "coco_wholebody_val_sample" / "000000000785.jpg"), "--out", str(tmp_path / "out"),
                 "--pose-model", str(t_pth), "--det-model", str(container), "--backend", "torch", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "000000000785_pose.png").is_file()


def test_decode_threshold_and_nms_match_mmdets_detections(mmdet_yolox, reference):
    """Our decode (grid, strides, exp sizes), score threshold and NMS on mmdet's forward give
    mmdet's own detections (YOLOXHead.predict_by_feat), to float32 rounding.

    Where the two rules differ, and how the test lines them up:
    - classes: mmdet labels each anchor with its best class, score = obj x that class's prob,
      and runs NMS per label (batched_nms); ours (DWPose's) scores only the person class,
      obj x prob[person], and keeps only persons. Random weights find no person here, so each
      of mmdet's labels in turn is put in the person column (its anchors' best-class prob, 0
      elsewhere): per-class NMS is then ours run once per label.
    - threshold: mmdet keeps score >= score_thr, ours score > threshold (the fixture's
      threshold is its 40th score itself), so ours gets the next float32 below it.
    - NMS: mmdet (mmcv) computes IoU without DWPose's "+1" pixel areas and uses IoU 0.65
      (its YOLOX test_cfg); ours "+1" at 0.45 by default: given mmdet's 0.65 here. No two boxes
      of one label overlap by more than 0.45 in this fixture, so neither difference decides
      anything (the NMS rule is tested on its own above and below). mmdet has no top-k here.
    """
    output, dets, meta = mmdet_yolox["output"][0], mmdet_yolox["dets"], mmdet_yolox["meta"]
    threshold = float(np.nextafter(np.float32(meta["score_thr"]), np.float32(0)))
    detector = YOLOXDetector(reference / f"{TINY}.onnx", score_threshold=threshold, candidate_threshold=threshold,
                             nms_threshold=meta["nms_iou"])
    labels, best = output[:, 5:].argmax(1), output[:, 5:].max(1)
    boxes, scores, found_labels = [], [], []
    for label in np.unique(labels):
        as_person = output.copy()
        as_person[:, 5] = np.where(labels == label, best, 0.0)
        found = detector.postprocess(as_person, ratio=1.0)
        boxes.append(found.boxes)
        scores.append(found.scores)
        found_labels += [label] * len(found.scores)
    order = np.argsort(-np.concatenate(scores), kind="stable")
    boxes, scores = np.concatenate(boxes)[order], np.concatenate(scores)[order]
    assert len(scores) == len(dets) == 40
    np.testing.assert_array_equal(np.asarray(found_labels)[order], meta["labels"])
    np.testing.assert_array_equal(scores, dets[:, 4])
    np.testing.assert_allclose(boxes, dets[:, :4], rtol=0, atol=1e-4)  # box values up to ~400


def _two_person_rows(size: int, shift: float) -> np.ndarray:
    """A raw output with two person anchors on the stride-8 grid: 64 x 64 boxes (65 x 65 in
    '+1' pixels) `shift` pixels apart horizontally, scores 0.9 and 0.8."""
    cells = size // 8
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    output = np.zeros((anchors, 85), np.float32)
    whole, frac = divmod(shift, 8)
    for x, dx, score in ((10, 0.5, 0.9), (10 + int(whole), 0.5 + frac / 8, 0.8)):
        row = output[10 * cells + x]
        row[:4] = dx, 0.5, np.log(8.0), np.log(8.0)
        row[4], row[5] = 1.0, score
    return output


@pytest.mark.parametrize("shift, kept", [(24, 1), (25, 2)])
def test_default_nms_is_dwposes_045(reference, pose_onnx, shift, kept):
    """DWPose's detector drops a box whose '+1' IoU with a better one is > 0.45: squares 24 px
    apart overlap by 41/89 = 0.461 (dropped), 25 px apart by 40/90 = 0.444 (kept). The same
    default in the detector, the pipeline and `dwpose predict`."""
    from dwpose.cli.main import build_parser
    from dwpose.cli.options import PipelineOptions, pipeline_kwargs
    from dwpose.inference.pipeline import WholebodyPipeline

    onnx = reference / f"{TINY}.onnx"
    args = build_parser().parse_args(["predict", "x.jpg", "--det-model", str(onnx)])
    detectors = [YOLOXDetector(onnx), WholebodyPipeline.from_files(pose_onnx, onnx).detector,
                 WholebodyPipeline.from_files(pose_onnx, onnx, **pipeline_kwargs(PipelineOptions.from_args(args), None)).detector]
    for detector in detectors:
        found = detector.postprocess(_two_person_rows(416, shift), ratio=1.0)
        assert len(found.scores) == kept
        np.testing.assert_allclose(found.boxes[0], [52, 52, 116, 116], atol=1e-4)


def test_every_pyramid_level_decodes_on_its_own_grid(reference):
    """One anchor on each level (strides 8, 16, 32; row-major grids, stride 8 first) at a cell
    away from the origin: centre = (cell + offset) x stride, size = exp(log size) x stride
    (spec: inference_and_drawing.md, YOLOX post-processing), in image pixels = / ratio."""
    detector = YOLOXDetector(reference / f"{TINY}.onnx", score_threshold=0.5)
    output = np.zeros((3549, 85), np.float32)
    expected, start = [], 0
    for stride, (x, y), score in ((8, (3, 5), 0.9), (16, (20, 7), 0.8), (32, (12, 11), 0.7)):
        cells = 416 // stride
        row = output[start + y * cells + x]
        row[:4] = 0.25, 0.75, np.log(2.0), np.log(0.5)
        row[4], row[5] = 1.0, score
        cx, cy, w, h = (x + 0.25) * stride, (y + 0.75) * stride, 2.0 * stride, 0.5 * stride
        expected.append([(cx - w / 2) / 0.5, (cy - h / 2) / 0.5, (cx + w / 2) / 0.5, (cy + h / 2) / 0.5])
        start += cells * cells
    found = detector.postprocess(output, ratio=0.5)
    np.testing.assert_allclose(found.boxes, expected, rtol=1e-6)
    np.testing.assert_allclose(found.scores, [0.9, 0.8, 0.7], rtol=1e-6)
