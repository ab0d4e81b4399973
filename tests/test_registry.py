"""One registry for every model family: names, builds, architecture detection from state
dicts and ONNX files, and the `dwpose models` listing."""

import numpy as np
import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.codec import SimCCCodec
from dwpose.models import RTMWConfig, detect_architecture, get_config, get_family
from dwpose.models.checkpoint import convert_distiller_state_dict, describe_state_dict
from dwpose.models.registry import detect_state_dict
from dwpose.errors import CheckpointError


def _meta_model(name):
    with torch.device("meta"):  # shapes only: cheap even for the x sizes
        return dwpose.create_model(name)


@pytest.mark.parametrize("name", dwpose.list_models(aliases=False))
def test_every_registered_name_builds_runs_and_is_recognised(name):
    model = _meta_model(name)
    family, config = get_family(name), get_config(name)
    assert model.config is config and model.input_size == config.input_size
    width, height = config.input_size
    with torch.device("meta"):
        outputs = model(torch.zeros(2, 3, height, width))
    if family.kind == "pose":
        assert [tuple(o.shape) for o in outputs] == [(2, 133, 2 * width), (2, 133, 2 * height)]
    else:  # YOLOX: one row per anchor of the three strides
        anchors = sum((width // s) * (height // s) for s in (8, 16, 32))
        assert tuple(outputs.shape) == (2, anchors, 85)
    architecture = detect_state_dict(model.state_dict())
    assert (architecture.family, architecture.name) == (family.name, name)


def test_names_families_and_filters():
    assert dwpose.list_models(family="rtmw") == [
        "rtmw-m-256x192", "rtmw-m-384x288", "rtmw-l-256x192", "rtmw-l-384x288", "rtmw-x-256x192", "rtmw-x-384x288"]
    assert dwpose.list_models(kind="detector") == ["yolox-nano", "yolox-tiny", "yolox-s", "yolox-m", "yolox-l", "yolox-x"]
    pose = dwpose.list_models(kind="pose")
    assert "dwpose-l-384x288" in pose and "rtmpose-t-256x192" in pose and "yolox-s" not in pose
    assert "dwpose-l-384x288" not in dwpose.list_models(aliases=False)
    assert get_config("dwpose-l-384x288") is get_config("rtmpose-l-384x288")
    assert get_config("yolox-tiny").input_size == (416, 416)
    with pytest.raises(ValueError, match="unknown model family 'hrnet'"):
        dwpose.list_models(family="hrnet")
    with pytest.raises(ValueError, match="unknown model 'rtmw-t-256x192'"):
        dwpose.create_model("rtmw-t-256x192")


def test_yolox_light_sizes_match_megvii_parameter_counts():
    # Megvii's model zoo: YOLOX-Nano 0.91 M, YOLOX-Tiny 5.06 M parameters.
    for name, millions in (("yolox-nano", 0.91), ("yolox-tiny", 5.06)):
        assert round(sum(p.numel() for p in _meta_model(name).parameters()) / 1e6, 2) == millions
    assert "backbone.backbone.dark2.0.dconv.conv.weight" in _meta_model("yolox-nano").state_dict()


def test_detection_from_files_of_each_family(reference, yolox_s_onnx, t_checkpoint):
    for path in (t_checkpoint, reference / "rtmpose_t_256x192_random.onnx"):
        architecture = detect_architecture(path)
        assert (architecture.family, architecture.name) == ("rtmpose", "rtmpose-t-256x192")
        assert architecture.input_size == (192, 256)
    assert dwpose.models.detect_model_name(yolox_s_onnx) == "yolox-s"
    # The tiny RTMW fixture is an RTMW of t widths, a size with no registered name.
    for path in (reference / "rtmw_t_256x192_random.pth", reference / "rtmw_t_256x192_random.onnx"):
        architecture = detect_architecture(path)
        assert (architecture.family, architecture.name) == ("rtmw", None)
        assert architecture.description.startswith("rtmw-t-256x192")
        with pytest.raises(CheckpointError, match=r"rtmw-t-256x192.*no registered rtmw model"):
            dwpose.models.detect_model_name(path)


def test_detection_of_distillers_and_unknown_weights():
    student = _meta_model("rtmw-m-256x192").state_dict()
    teacher = _meta_model("rtmw-l-256x192").state_dict()
    stage1 = {"teacher." + k: v for k, v in teacher.items()} | {"student." + k: v for k, v in student.items()}
    assert detect_state_dict(stage1) is None  # a distiller is converted first
    assert describe_state_dict(stage1) == "a distiller (teacher/student) checkpoint"
    assert detect_state_dict(convert_distiller_state_dict(stage1, 1)).name == "rtmw-m-256x192"
    assert describe_state_dict({"fc.weight": torch.zeros(2, 2)}).startswith("no model this package knows")


def test_stage2_conversion_keeps_the_teacher_neck():
    model = _meta_model("rtmw-m-256x192").state_dict()
    state = {"teacher." + k: v for k, v in model.items()} | {"student." + k: v for k, v in model.items()}
    converted = convert_distiller_state_dict(state, 2)
    assert list(converted) == list(model)  # backbone, neck, head: the full model
    assert all(converted[k] is state[("student." if k.startswith("head.") else "teacher.") + k] for k in model)


def test_unregistered_config_of_a_family_loads_and_detects(reference):
    config = RTMWConfig("my-rtmw", 0.167, 0.375, (192, 256))
    model = dwpose.models.RTMW(config)
    dwpose.models.load_weights(model, reference / "rtmw_t_256x192_random.pth")
    assert detect_state_dict(model.state_dict()).family == "rtmw"


def test_cli_models_lists_family_kind_and_input(capsys):
    assert main(["models"]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["rtmw-l-384x288"][1:4] == ["rtmw", "pose", "384x288"]
    assert lines["yolox-tiny"][1:4] == ["yolox", "detector", "416x416"]
    assert lines["dwpose-m-256x192"][-1] == "rtmpose-m-256x192)"
    # the released-files column marks the model zoo (`dwpose models --markdown`)
    assert lines["rtmpose-l-384x288"][4:] == ["2", "files"] and lines["rtmpose-x-384x288"][4:] == ["-"]
    assert lines["rtmw-x-384x288"][4:] == ["1", "file"] and lines["dwpose-l-384x288"][4:6] == ["2", "files"]
    assert main(["models", "--family", "rtmw"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == dwpose.list_models(family="rtmw")
    assert main(["models", "--kind", "backbone"]) == 0
    backbones = dict(line.split() for line in capsys.readouterr().out.splitlines()[1:])
    assert backbones["cspnext-l-udp"] == "cspnext-l_udp-aic-coco_210e-256x192-273b7631_20230130.pth"
    assert main(["models", "--family", "nope"]) == 2
    assert "unknown model family" in capsys.readouterr().err


def test_visibility_decoding_of_the_384x288_configs():
    codec = SimCCCodec.for_input_size((288, 384))
    simcc_x, simcc_y = np.zeros((1, 2, 576), np.float32), np.zeros((1, 2, 768), np.float32)
    simcc_x[0, 0, 10] = simcc_y[0, 0, 20] = 1.0  # keypoint 0: one clear peak; keypoint 1: flat
    visibility = codec.decode_visibility(simcc_x, simcc_y)
    # softmax(logits * 150 * sigma): a peak of 1 dominates 767 zeros completely.
    expected_peak = min(1 / (1 + 575 * np.exp(-150 * 6.0)), 1 / (1 + 767 * np.exp(-150 * 6.93)))
    np.testing.assert_allclose(visibility, [[expected_peak, 1 / 768]], rtol=1e-5)
    torch_visibility = codec.decode_visibility(torch.from_numpy(simcc_x), torch.from_numpy(simcc_y))
    np.testing.assert_allclose(torch_visibility.numpy(), visibility, rtol=1e-5)
