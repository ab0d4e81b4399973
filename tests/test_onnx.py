import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.models.onnx_io import check_opset, export_onnx
from dwpose.errors import CheckpointError, ExportError


def _randomise_batchnorm(model):
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model


def test_import_reference_onnx_reproduces_reference_outputs(reference, t_input):
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=reference / "rtmpose_t_256x192_random.onnx")
    with torch.no_grad():
        simcc_x, simcc_y = model(torch.from_numpy(t_input))
    assert np.abs(simcc_x.numpy() - np.load(reference / "rtmpose_t_256x192_simcc_x.npy")).max() < 1e-3
    assert np.abs(simcc_y.numpy() - np.load(reference / "rtmpose_t_256x192_simcc_y.npy")).max() < 1e-3


def test_export_matches_pytorch_in_onnxruntime(tmp_path, t_checkpoint, t_input):
    path = tmp_path / "t.onnx"
    assert main(["export", "rtmpose-t-256x192", "--checkpoint", str(t_checkpoint), "--out", str(path)]) == 0
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["simcc_x", "simcc_y"]
    assert session.get_inputs()[0].shape[0] == "batch"
    batch = np.concatenate([t_input, t_input[:1]])  # dynamic batch of 3
    ort_x, ort_y = session.run(None, {"input": batch})
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=t_checkpoint)
    with torch.no_grad():
        simcc_x, simcc_y = model(torch.from_numpy(batch))
    assert ort_x.shape == (3, 133, 384)
    assert np.abs(ort_x - simcc_x.numpy()).max() < 1e-3
    assert np.abs(ort_y - simcc_y.numpy()).max() < 1e-3


@pytest.mark.parametrize("fold_batchnorm", [True, False])
def test_roundtrip_with_folded_and_unfolded_batchnorm(tmp_path, fold_batchnorm):
    torch.manual_seed(0)
    source = _randomise_batchnorm(dwpose.create_model("rtmpose-t-384x288"))
    path = tmp_path / "m.onnx"
    if fold_batchnorm:
        export_onnx(source, path, dynamic_batch=False)
    else:  # an unoptimised export keeps BatchNormalization nodes and Identity-wrapped weights
        torch.onnx.export(source, (torch.zeros(1, 3, 384, 288),), str(path), input_names=["input"],
                          output_names=["simcc_x", "simcc_y"], opset_version=11, dynamo=False,
                          do_constant_folding=False)
        assert any(n.op_type == "BatchNormalization" for n in onnx.load(str(path)).graph.node)
    imported = dwpose.create_model("rtmpose-t-384x288", checkpoint=path)
    x = torch.randn(2, 3, 384, 288)
    with torch.no_grad():
        for ours, theirs in zip(imported(x), source(x)):
            assert (ours - theirs).abs().max() < 1e-4


def test_onnx_of_another_input_size_is_refused(reference):
    with pytest.raises(CheckpointError, match=r"does not fit rtmpose-t-384x288.*\[batch, 3, 384, 288\]"):
        dwpose.create_model("rtmpose-t-384x288", checkpoint=reference / "rtmpose_t_256x192_random.onnx")


def test_onnx_of_another_model_size_is_refused(reference):
    with pytest.raises(CheckpointError, match="cannot import ONNX weights"):
        dwpose.create_model("rtmpose-s-256x192", checkpoint=reference / "rtmpose_t_256x192_random.onnx")


def test_manifest_signature_of_official_files_is_what_we_export(reference):
    signatures = json.loads((reference / "manifest.json").read_text())["onnx"]
    official = signatures["dw-ll_ucoco_384_random_dynbatch.onnx"]
    assert list(official["inputs"]) == ["input"]
    assert list(official["outputs"]) == ["simcc_x", "simcc_y"]


def test_constants_behind_shape_ops_are_found(tmp_path, reference, t_input):
    """Some exporters leave `gamma[None, None, :]` as Unsqueeze nodes instead of folding it."""
    from onnx import helper, numpy_helper

    graph_model = onnx.load(str(reference / "rtmpose_t_256x192_random.onnx"))
    graph = graph_model.graph
    gamma = next(t for t in graph.initializer if tuple(t.dims) == (1, 1, 2, 128))
    value = numpy_helper.to_array(gamma).reshape(2, 128)
    graph.initializer.remove(gamma)
    graph.initializer.append(numpy_helper.from_array(value, "gamma_raw"))
    graph.node.insert(0, helper.make_node("Unsqueeze", ["gamma_raw"], ["gamma_1"], axes=[0]))
    graph.node.insert(1, helper.make_node("Unsqueeze", ["gamma_1"], [gamma.name], axes=[0]))
    path = tmp_path / "unfolded.onnx"
    onnx.save(graph_model, str(path))
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=path)
    with torch.no_grad():
        simcc_x, _ = model(torch.from_numpy(t_input))
    assert np.abs(simcc_x.numpy() - np.load(reference / "rtmpose_t_256x192_simcc_x.npy")).max() < 1e-3


@pytest.mark.parametrize("opset", [99, 5, 0])
def test_unsupported_opset_is_one_line_and_writes_nothing(tmp_path, t_checkpoint, capsys, opset):
    path = tmp_path / "t.onnx"
    assert main(["export", "rtmpose-t-256x192", "--checkpoint", str(t_checkpoint), "--out", str(path),
                 "--opset", str(opset)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"opset {opset} is not supported for a pose model: use 7..23" in err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="not supported for a YOLOX detector: use 10..23"):
        check_opset(9, "detector")


def test_other_supported_opset_exports_a_file_onnxruntime_runs(tmp_path, t_checkpoint, t_input):
    path = tmp_path / "t17.onnx"
    assert main(["export", "rtmpose-t-256x192", "--checkpoint", str(t_checkpoint), "--out", str(path),
                 "--opset", "17", "--static-batch"]) == 0
    assert onnx.load(str(path)).opset_import[0].version == 17
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=t_checkpoint)
    with torch.no_grad():
        simcc_x, _ = model(torch.from_numpy(t_input[:1]))
    assert np.abs(session.run(None, {"input": t_input[:1]})[0] - simcc_x.numpy()).max() < 1e-3


def test_export_that_onnxruntime_does_not_reproduce_leaves_nothing(tmp_path, monkeypatch):
    from dwpose.models import onnx_io

    monkeypatch.setattr(onnx_io, "onnxruntime_mismatch", lambda model, path, batch=1: "simcc_x: max |diff| 3")
    previous = tmp_path / "t.onnx"
    previous.write_bytes(b"an earlier export")
    with pytest.raises(ExportError, match=r"does not reproduce the model in onnxruntime \(simcc_x: max \|diff\| 3\); nothing was written"):
        export_onnx(dwpose.create_model("rtmpose-t-256x192"), previous)
    assert previous.read_bytes() == b"an earlier export" and sorted(tmp_path.iterdir()) == [previous]

    def unloadable(model, path, batch=1):
        raise RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH : bad node\nmore")

    monkeypatch.setattr(onnx_io, "onnxruntime_mismatch", unloadable)
    with pytest.raises(ExportError, match=r"onnxruntime cannot run the opset-11 export \(\[ONNXRuntimeError\] : 10 : INVALID_GRAPH : bad node\)"):
        export_onnx(dwpose.create_model("rtmpose-t-256x192"), tmp_path / "u.onnx")
    assert sorted(tmp_path.iterdir()) == [previous]
