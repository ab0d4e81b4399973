import json

import numpy as np
import pytest
import torch

from dwpose.backends import BackendError
from dwpose.detection import YOLOXDetector, letterbox, nms
from dwpose.models.checkpoint import CheckpointError
from dwpose.models import create_model


def test_nms_uses_plus_one_areas_and_keeps_iou_at_threshold():
    boxes = np.array([[0, 0, 9, 9], [0, 5, 9, 14], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    # boxes 0 and 1: +1 areas 100 each, overlap 10x5 = 50 -> IoU 50/150 = 1/3
    assert nms(boxes, scores, 0.34).tolist() == [0, 1, 2]
    assert nms(boxes, scores, 0.33).tolist() == [0, 2]


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
