"""RTMW parity with mmpose: key/shape manifests of every official size, and the numeric fixture
`rtmw_t_256x192` (an unofficial tiny size: RTMPose-t widths with RTMW's neck and head) through
its `.pth` and through its official-signature ONNX file."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.codec import SimCCCodec
from dwpose.models import RTMW, RTMWConfig, load_weights
from dwpose.models.registry import get_family

# Float32 noise of this random network on its logits (|max| ~ 300): mmpose itself moves them by
# 0.01-0.03 between float32 and float64, onnxruntime and torch differ by ~0.015 (spec §12).
LOGIT_TOLERANCE = 0.05
NECK_TOLERANCE = 5e-3
TINY = RTMWConfig("rtmw-t-256x192", deepen_factor=0.167, widen_factor=0.375, input_size=(192, 256))
OFFICIAL = ["m_256x192", "l_256x192", "x_256x192", "m_384x288", "l_384x288", "x_384x288"]


def assert_same_argmax(ours: np.ndarray, reference: np.ndarray, tie: float = LOGIT_TOLERANCE) -> None:
    """Argmax per row equal, except where the reference's top two logits are nearly tied (then
    our pick must be one of the near-maximal reference bins)."""
    ours_index = ours.argmax(-1)
    differ = ours_index != reference.argmax(-1)
    picked = np.take_along_axis(reference, ours_index[..., None], -1)[..., 0]
    assert np.all(picked[differ] >= reference.max(-1)[differ] - tie)


@pytest.fixture(scope="module")
def tiny_input(reference):
    return np.load(reference / "rtmw_t_256x192_input.npy")


@pytest.fixture(scope="module")
def tiny_pth(reference):
    model = RTMW(TINY)
    load_weights(model, reference / "rtmw_t_256x192_random.pth")
    return model.eval()


@pytest.mark.parametrize("size", OFFICIAL)
def test_state_dict_equals_reference_manifest(reference, size):
    manifest = json.loads((reference / "manifest.json").read_text())["keys"][f"rtmw_{size}"]
    expected = json.loads((reference / manifest["file"]).read_text())
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = dwpose.create_model(f"rtmw-{size.replace('_', '-', 1)}")
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert ours == list(expected.items())  # names, shapes and order
    assert len(ours) == manifest["n_keys"]
    assert sum(p.numel() for p in model.parameters()) == manifest["n_params"]
    for part, count in manifest["n_params_by_part"].items():
        assert sum(p.numel() for p in getattr(model, part).parameters()) == count


def test_pth_reproduces_mmpose_logits_neck_and_keypoints(reference, tiny_pth, tiny_input):
    x = torch.from_numpy(tiny_input)
    with torch.no_grad():  # one pass: features (n4, n5), then the head on them
        features = tiny_pth.extract_features(x)
        simcc_x, simcc_y = (t.numpy() for t in tiny_pth.forward_head(features))
        neck = features[-1].numpy()
        # forward_features is that last feature (batch 1 vs 2: float32 noise only).
        assert torch.allclose(tiny_pth.forward_features(x[:1])[0], features[-1][0], atol=NECK_TOLERANCE)
    ref_x = np.load(reference / "rtmw_t_256x192_simcc_x.npy")
    ref_y = np.load(reference / "rtmw_t_256x192_simcc_y.npy")
    assert ref_x.std() > 50  # a real signal
    assert np.abs(simcc_x - ref_x).max() < LOGIT_TOLERANCE
    assert np.abs(simcc_y - ref_y).max() < LOGIT_TOLERANCE
    assert neck.shape == (2, 384, 8, 6)
    assert np.abs(neck - np.load(reference / "rtmw_t_256x192_neck.npy")).max() < NECK_TOLERANCE
    assert_same_argmax(simcc_x, ref_x)
    assert_same_argmax(simcc_y, ref_y)
    keypoints, scores = SimCCCodec.for_input_size(tiny_pth.input_size).decode(simcc_x, simcc_y)
    ref_keypoints = np.load(reference / "rtmw_t_256x192_keypoints.npy")
    assert np.abs(keypoints - ref_keypoints).max() <= 0.5  # at most a near-tie flip of one bin
    np.testing.assert_allclose(scores, np.load(reference / "rtmw_t_256x192_scores.npy"), atol=LOGIT_TOLERANCE)


def test_onnx_import_is_as_close_to_mmpose_as_onnxruntime(reference, tiny_input):
    path = reference / "rtmw_t_256x192_random.onnx"
    ops = {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}
    assert {"Resize", "Concat", "DepthToSpace"} <= ops  # the neck's and the head's resampling
    model = RTMW(TINY)
    load_weights(model, path)
    with torch.no_grad():
        ours = [t.numpy() for t in model.eval()(torch.from_numpy(tiny_input))]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": tiny_input})
    for axis, ours_axis, ort_axis in zip("xy", ours, theirs):
        mmpose = np.load(reference / f"rtmw_t_256x192_simcc_{axis}.npy")
        ort_error = np.abs(ort_axis - mmpose).max()  # ~0.015: onnxruntime's own float32 noise
        # Measured: ours vs mmpose 0.019 (x and y), ours vs onnxruntime 0.013.
        assert np.abs(ours_axis - mmpose).max() < max(2 * ort_error, 0.02)
        assert np.abs(ours_axis - ort_axis).max() < LOGIT_TOLERANCE
        assert_same_argmax(ours_axis, mmpose)


def test_export_runs_in_onnxruntime_and_imports_back(tmp_path, reference, tiny_pth, tiny_input, monkeypatch):
    # Register the tiny size for this test only, so that the CLI can name it.
    monkeypatch.setitem(get_family("rtmw-l-384x288").configs, TINY.name, TINY)
    out = tmp_path / "rtmw_t.onnx"
    assert main(["export", TINY.name, "--checkpoint", str(reference / "rtmw_t_256x192_random.pth"),
                 "--out", str(out)]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["simcc_x", "simcc_y"]
    assert session.get_inputs()[0].shape == ["batch", 3, 256, 192]
    batch = np.concatenate([tiny_input, tiny_input[:1]])  # dynamic batch of 3
    exported_x, exported_y = session.run(None, {"input": batch})
    with torch.no_grad():
        simcc_x, simcc_y = (t.numpy() for t in tiny_pth(torch.from_numpy(batch)))
    assert exported_x.shape == (3, 133, 384)
    assert np.abs(exported_x - simcc_x).max() < LOGIT_TOLERANCE
    assert np.abs(exported_y - simcc_y).max() < LOGIT_TOLERANCE
    assert dwpose.models.detect_model_name(out) == TINY.name
    back = dwpose.create_model(TINY.name, checkpoint=out)  # import, checked against onnxruntime
    with torch.no_grad():
        back_x, _ = (t.numpy() for t in back(torch.from_numpy(tiny_input)))
    assert np.abs(back_x - simcc_x[:2]).max() < LOGIT_TOLERANCE


def test_rtmpose_head_weights_do_not_load_into_rtmw(t_checkpoint):
    with pytest.raises(dwpose.CheckpointError, match="looks like rtmpose-t-256x192"):
        load_weights(RTMW(TINY), t_checkpoint)


def test_backbone_outputs_and_neck_shapes():
    with torch.device("meta"):
        model = dwpose.create_model("rtmw-l-384x288")
        c3, c4, c5 = model.backbone(torch.zeros(1, 3, 384, 288))
        n4, n5 = model.neck((c3, c4, c5))
    assert [tuple(t.shape) for t in (c3, c4, c5)] == [(1, 256, 48, 36), (1, 512, 24, 18), (1, 1024, 12, 9)]
    assert tuple(n4.shape) == (1, 512, 24, 18) and tuple(n5.shape) == (1, 1024, 12, 9)
    assert model.feature_channels == 1024


def test_head_init_follows_mmpose_effective_init():
    torch.manual_seed(0)
    model = RTMW(TINY)
    head = model.head
    # Kaiming-normal, fan_out, ReLU gain: std sqrt(2 / (C_out * 49)), 0.0175 for 133 outputs.
    assert abs(head.final_layer.conv.weight.std().item() - (2 / (133 * 49)) ** 0.5) < 1e-3
    assert abs(head.conv_dec.conv.weight.std().item() - (2 / (96 * 49)) ** 0.5) < 1e-3
    assert abs(head.gau.uv.weight.std().item() - 0.01) < 1e-3
    assert isinstance(head.final_layer.activate, torch.nn.ReLU)
    assert isinstance(model.neck.reduce_layers[0].activate, torch.nn.SiLU)
    assert head.final_layer.conv.bias is None and head.final_layer.bn.eps == 1e-5


def test_pixel_shuffle_layout_is_crd():
    """out[b, c, 2i + a, 2j + e] = in[b, 4c + 2a + e, i, j] (ONNX DepthToSpace, mode CRD)."""
    x = torch.arange(2 * 8 * 3 * 2, dtype=torch.float32).reshape(2, 8, 3, 2)
    out = RTMW(TINY).head.ps(x)
    for c, a, e, i, j in [(0, 0, 1, 2, 1), (1, 1, 0, 0, 1), (1, 1, 1, 2, 0)]:
        assert out[1, c, 2 * i + a, 2 * j + e] == x[1, 4 * c + 2 * a + e, i, j]


def test_pose_estimator_runs_rtmw_with_both_backends(reference, tiny_pth, sample_bgr):
    from dwpose.inference.pose import PoseEstimator, crop_persons
    from tests.test_pipeline import BOXES, reference_pose

    onnx_path = reference / "rtmw_t_256x192_random.onnx"
    ort_estimator = PoseEstimator(onnx_path)
    ort_keypoints, ort_scores = ort_estimator(sample_bgr, BOXES)
    ref_keypoints, ref_scores = reference_pose(onnx_path, sample_bgr, BOXES)  # DWPose's per-box loop
    assert ort_keypoints.shape == (3, 133, 2)
    assert np.abs(ort_keypoints - ref_keypoints).max() < 0.01
    assert np.abs(ort_scores - ref_scores).max() < LOGIT_TOLERANCE  # batch 3 vs 1: float32 noise

    torch_estimator = PoseEstimator(tiny_pth, backend="torch")
    keypoints, scores = torch_estimator(sample_bgr, BOXES)
    batch = ort_estimator.normalize(crop_persons(sample_bgr, BOXES, (192, 256))[0])
    torch_logits, ort_logits = torch_estimator.infer_crops(batch), ort_estimator.infer_crops(batch)
    for ours, theirs in zip(torch_logits, ort_logits):
        # On real crops the logits reach ~300 and differ by ~3e-4 of that (spec: relative ~1e-3).
        tolerance = 1e-3 * np.abs(theirs).max()
        assert np.abs(ours - theirs).max() < tolerance
        assert_same_argmax(ours, theirs, tie=tolerance)
    agree = np.all([ours.argmax(-1) == theirs.argmax(-1) for ours, theirs in zip(torch_logits, ort_logits)], axis=0)
    assert agree.mean() > 0.95 and np.abs(keypoints - ort_keypoints)[agree].max() < 0.01
    assert np.abs(scores - ort_scores).max() < tolerance
    # From a path, the torch backend needs a registered architecture (or a module, as above).
    with pytest.raises(dwpose.CheckpointError, match="no registered rtmw model"):
        PoseEstimator(reference / "rtmw_t_256x192_random.pth", backend="torch")


def test_distiller_uses_the_neck_output_and_stage2_keeps_the_teacher_neck(tiny_pth):
    import copy

    from dwpose.distillation import PoseDistiller
    from dwpose.distillation.distiller import decay_factor

    torch.manual_seed(0)
    codec = SimCCCodec.for_input_size((192, 256))
    labels_x, labels_y, weights = codec.encode(np.random.default_rng(0).uniform(20, 170, (1, 133, 2)), np.ones((1, 133)))
    labels, weights = (torch.from_numpy(labels_x), torch.from_numpy(labels_y)), torch.from_numpy(weights)
    images = torch.randn(1, 3, 256, 192)

    # Stage 1, RTMW teacher -> RTMPose student: the feature loss compares the student's stage-4
    # map with the teacher's neck output n5 (both 384 channels here: no align conv).
    stage1 = PoseDistiller(copy.deepcopy(tiny_pth), dwpose.create_model("rtmpose-t-256x192", eval_mode=False), stage=1)
    assert "loss_fea" in stage1.distill_losses and stage1.distill_losses["loss_fea"].align is None
    losses = stage1(images, labels, weights, epoch=0, max_epochs=10)
    feature_loss, r = stage1.distill_losses["loss_fea"], decay_factor(0, 10)
    with torch.no_grad():
        stage4 = stage1.student.backbone(images)[-1]
        n5 = stage1.teacher.neck(stage1.teacher.backbone(images))[-1]
        teacher_stage4 = stage1.teacher.backbone(images)[-1]
        assert losses["loss_fea"] > 0 and torch.allclose(losses["loss_fea"], r * feature_loss(stage4, n5), rtol=1e-5)
        assert not torch.allclose(losses["loss_fea"], r * feature_loss(stage4, teacher_stage4), rtol=1e-3)

    # Stage 2: only the student head trains, on the teacher's (n4, n5).
    stage2 = PoseDistiller(copy.deepcopy(tiny_pth), RTMW(TINY), stage=2)
    trainable = [n for n, p in stage2.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("student.head.") for n in trainable)
    stage2(images, labels, weights, epoch=0, max_epochs=10)["loss_logit"].backward()
    assert stage2.student.head.final_layer2.conv.weight.grad.abs().sum() > 0
    deployed = stage2.deploy_state_dict()
    assert list(deployed) == list(RTMW(TINY).state_dict())
    assert torch.equal(deployed["neck.reduce_layers.0.conv.weight"], tiny_pth.state_dict()["neck.reduce_layers.0.conv.weight"])
