import json

import numpy as np
import pytest
import torch

import dwpose
from dwpose.codec import SimCCCodec

MANIFESTS = {
    "rtmpose-t-256x192": "keys_t_256x192.json",
    "rtmpose-s-256x192": "keys_s_256x192.json",
    "rtmpose-m-256x192": "keys_m_256x192.json",
    "rtmpose-l-256x192": "keys_l_256x192.json",
    "rtmpose-x-256x192": "keys_x_256x192.json",
    "rtmpose-l-384x288": "keys_l_384x288.json",
    "rtmpose-x-384x288": "keys_x_384x288.json",
}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_state_dict_equals_reference_manifest(reference, name):
    expected = json.loads((reference / MANIFESTS[name]).read_text())
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = dwpose.create_model(name)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert set(ours) - set(expected) == set()
    assert set(expected) - set(ours) == set()
    assert list(ours.items()) == list(expected.items())  # order too: mmpose's state-dict order
    manifest = json.loads((reference / "manifest.json").read_text())["keys"]
    key = name.removeprefix("rtmpose-").replace("-", "_")
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == manifest[key]["n_params"]


def test_reference_outputs_match_exactly(reference, t_input, t_checkpoint):
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=t_checkpoint)
    x = torch.from_numpy(t_input)
    with torch.no_grad():
        simcc_x, simcc_y = model(x)
        feature = model.forward_features(x)
    ref_x = np.load(reference / "rtmpose_t_256x192_simcc_x.npy")
    ref_y = np.load(reference / "rtmpose_t_256x192_simcc_y.npy")
    assert ref_x.std() > 5  # a real signal, not zeros
    assert np.abs(simcc_x.numpy() - ref_x).max() < 1e-3
    assert np.abs(simcc_y.numpy() - ref_y).max() < 1e-3
    assert np.abs(feature.numpy() - np.load(reference / "rtmpose_t_256x192_backbone.npy")).max() < 1e-3
    keypoints, scores = SimCCCodec.for_input_size(model.input_size).decode(simcc_x.numpy(), simcc_y.numpy())
    np.testing.assert_array_equal(keypoints, np.load(reference / "rtmpose_t_256x192_keypoints.npy"))
    np.testing.assert_allclose(scores, np.load(reference / "rtmpose_t_256x192_scores.npy"), atol=1e-3)


def test_model_carries_its_input_contract():
    model = dwpose.create_model("rtmpose-t-384x288")
    assert model.input_size == (288, 384)
    assert model.simcc_split_ratio == 2.0
    assert "mean" not in model.state_dict() and "std" not in model.state_dict()
    rgb = torch.full((1, 3, 4, 4), 123.675)
    assert torch.allclose(model.normalize(rgb)[0, 0], torch.zeros(4, 4))
    with torch.no_grad():
        simcc_x, simcc_y = model(torch.zeros(2, 3, 384, 288))
    assert simcc_x.shape == (2, 133, 576) and simcc_y.shape == (2, 133, 768)


def test_dwpose_aliases_and_unknown_names():
    assert dwpose.create_model("dwpose-t-256x192").config.name == "rtmpose-t-256x192"
    assert len(dwpose.list_models(family="rtmpose", aliases=False)) == 10
    with pytest.raises(ValueError, match="unknown model 'rtmpose-q-1x1'.*rtmpose-l-384x288"):
        dwpose.create_model("rtmpose-q-1x1")


def test_gau_kernel_is_squared_relu_without_softmax():
    from dwpose.models.gau import GatedAttentionUnit

    torch.manual_seed(0)
    gau = GatedAttentionUnit(dim=8, expansion_factor=2, s=4)
    x = torch.randn(1, 3, 8)
    z = torch.nn.functional.silu(gau.uv(gau.ln(x)))
    u, v, base = z[..., :16], z[..., 16:32], z[..., 32:]
    q = base * gau.gamma[0] + gau.beta[0]
    k = base * gau.gamma[1] + gau.beta[1]
    kernel = torch.relu(q @ k.transpose(1, 2) / 2.0) ** 2
    expected = x * gau.res_scale.scale + gau.o(u * (kernel @ v))
    assert torch.allclose(gau(x), expected, atol=1e-6)


def test_head_init_follows_mmpose():
    model = dwpose.create_model("rtmpose-t-256x192", eval_mode=False)
    head = model.head
    assert abs(head.final_layer.weight.std().item() - 0.001) < 2e-4
    assert abs(head.gau.uv.weight.std().item() - 0.01) < 2e-3
    assert torch.all(head.final_layer.bias == 0)
    assert model.training
    bn = model.backbone.stem[0].bn
    assert bn.eps == 1e-5 and bn.momentum == 0.1


def test_inference_and_the_loader_use_the_models_own_normalisation():
    """A network with other statistics gets them in the pose stage (not ImageNet's by default)."""
    from dwpose.inference.pose import PoseEstimator
    from dwpose.models import RTMPose
    from dwpose.models.release import Normalisation
    from dwpose.runtime import load

    class Raw(RTMPose):  # a family member that wants RGB 0..255 as it is
        normalisation = Normalisation("RGB", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

    model = Raw(dwpose.models.get_config("rtmpose-t-256x192"))
    crops = np.random.default_rng(0).integers(0, 256, (2, 256, 192, 3), dtype=np.uint8)
    batch = PoseEstimator(model, backend="torch").normalize(crops)
    np.testing.assert_array_equal(batch, crops[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32))
    assert torch.equal(model.normalize(torch.from_numpy(crops[..., ::-1].transpose(0, 3, 1, 2).copy())),
                       torch.from_numpy(batch))  # the module's own normalize() agrees
    loaded = load(dwpose.create_model("rtmpose-t-256x192"), "pose")
    assert (loaded.backend, loaded.input_size) == ("torch", (192, 256))
    assert loaded.normalisation.mean == (123.675, 116.28, 103.53) and loaded.normalisation.channels == "RGB"


def test_loader_carries_the_file_facts(pose_onnx, nobody_onnx):
    """ONNX files: the input size and signature from the file, the normalisation from its kind's families."""
    from dwpose.runtime import load

    pose = load(pose_onnx, "pose")
    assert (pose.backend, pose.input_size, pose.signature) == ("onnxruntime", (192, 256), "pose")
    assert pose.normalisation == dwpose.create_model("rtmpose-t-256x192").normalisation
    detector = load(nobody_onnx, "detector")
    assert (detector.input_size, detector.signature, detector.normalisation.channels) == ((640, 640), "detector", "BGR")
    assert detector.normalisation.mean is None  # YOLOX: letterboxed 0..255 values as they are
