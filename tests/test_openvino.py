"""The openvino backend: the same outputs as onnxruntime in float32, the precision it really
runs reported (bf16 only where the CPU has it), the runner checks, and the pipeline end to end.
Skipped, with the reason printed (pytest -rs), where the optional `openvino` package is absent."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from dwpose.backends import OnnxRuntimeRunner, OpenVINORunner
from dwpose.inference.pipeline import WholebodyPipeline
from dwpose.errors import BackendError, ModelFileNotFound

try:
    import openvino as ov
except ImportError as exc:  # absent (or broken): the backend is optional
    pytest.skip(f"openvino cannot be imported ({exc}); pip install 'dwpose-toolkit[openvino]'", allow_module_level=True)


def cpu_has_bf16() -> bool:
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def test_openvino_matches_onnxruntime_in_float32(pose_onnx, t_input):
    runner = OpenVINORunner(pose_onnx)
    reference = OnnxRuntimeRunner(pose_onnx)
    assert runner.input_hw == reference.input_hw == (256, 192) and runner.fixed_batch is None
    assert runner.output_names == ["simcc_x", "simcc_y"] and runner.precision == "float32"
    assert runner.device_info.startswith("openvino ") and "CPU" in runner.device_info and "float32" in runner.device_info
    batch = np.concatenate([t_input, t_input[:1]])  # 3 items
    for ours, theirs in zip(runner(batch), reference(batch)):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3)


def test_openvino_bfloat16_is_an_opt_in_and_reported(pose_onnx, t_input):
    if cpu_has_bf16():
        runner = OpenVINORunner(pose_onnx, dtype="bfloat16")
        assert runner.precision == "bfloat16" and "bfloat16" in runner.device_info
    else:  # the hint cannot be honoured here: float32, said so, never silently
        with pytest.warns(UserWarning, match="runs .* in float32"):
            runner = OpenVINORunner(pose_onnx, dtype="bfloat16")
        assert runner.precision == "float32" and "float32" in runner.device_info
    ours, theirs = runner(t_input), OnnxRuntimeRunner(pose_onnx)(t_input)
    for mine, float32 in zip(ours, theirs):
        assert mine.shape == float32.shape
        if runner.precision == "bfloat16":  # really bf16 (not float32's values), the same logits to its precision
            assert not np.allclose(mine, float32, atol=1e-3)
            assert np.corrcoef(mine.ravel(), float32.ravel())[0, 1] > 0.98  # measured 0.995 (random weights)
        else:
            np.testing.assert_allclose(mine, float32, rtol=1e-3, atol=1e-3)


def test_openvino_runner_checks(pose_onnx, tmp_path, monkeypatch):
    with pytest.raises(ModelFileNotFound):  # one type for a missing model file, whichever layer sees it
        OpenVINORunner(tmp_path / "missing.onnx")
    for bad_call in (lambda: OpenVINORunner(pose_onnx, device="cuda"),
                     lambda: OpenVINORunner(pose_onnx, device="tpu"),
                     lambda: OpenVINORunner(pose_onnx, dtype="int4")):
        with pytest.raises(BackendError):
            bad_call()
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(BackendError, match="cannot load"):
        OpenVINORunner(garbage)
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(BackendError, match=r"pip install 'dwpose-toolkit\[openvino\]'"):
        OpenVINORunner(pose_onnx)


def test_openvino_pipeline_end_to_end(pose_onnx, nobody_onnx, sample_bgr):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = WholebodyPipeline.from_files(pose_onnx, nobody_onnx, backend="openvino")
    assert ours.device_info.count("openvino") == 2  # pose and detector
    assert len(ours(sample_bgr)) == 0  # the detector runs (and finds nobody)
    boxes = np.array([[10, 10, 200, 300]], np.float32)
    reference = WholebodyPipeline.from_files(pose_onnx, None)(sample_bgr, boxes)
    result = ours(sample_bgr, boxes)
    np.testing.assert_allclose(result.keypoints, reference.keypoints, atol=1.0)
    np.testing.assert_allclose(result.scores, reference.scores, rtol=1e-3, atol=1e-3)


def test_predict_cli_backend_openvino(tmp_path, pose_onnx):
    import json

    from dwpose.cli import main
    from tests.conftest import DATA

    image = DATA / "media" / "human-pose.jpeg"
    args = ["predict", str(image), "--out", str(tmp_path), "--pose-model", str(pose_onnx), "--no-detector",
            "--no-progress", "--backend", "openvino"]
    assert main(args) == 0
    people = json.loads((tmp_path / "human-pose.json").read_text())["people"]
    assert len(people) == 1 and (tmp_path / "human-pose_pose.png").is_file()


def test_openvino_checks_signatures_as_onnxruntime_does(pose_onnx, nobody_onnx, t_checkpoint):
    for runner in (OnnxRuntimeRunner, OpenVINORunner):
        with pytest.raises(BackendError, match="is not a pose model .*which looks like a YOLOX detector"):
            runner(nobody_onnx, expect="pose")
        with pytest.raises(BackendError, match="is not a YOLOX detector .*which looks like a pose model"):
            runner(pose_onnx, expect="detector")
        with pytest.raises(BackendError, match="PyTorch checkpoint"):
            runner(t_checkpoint)
    assert OpenVINORunner(nobody_onnx, expect="detector").input_hw == (640, 640)


def test_ctrl_c_after_openvino_runners_are_gone_does_not_crash(pose_onnx, nobody_onnx, sample_bgr):
    """A regression: with one OpenVINO Core per runner, SIGINT after a detector and a pose
    runner had been dropped killed the process with a segfault (so this runs in a subprocess)."""
    import subprocess

    from tests.conftest import ROOT

    script = f"""
import gc, signal
import numpy as np
from dwpose.inference.pipeline import WholebodyPipeline
pipeline = WholebodyPipeline.from_files({str(pose_onnx)!r}, {str(nobody_onnx)!r}, backend="openvino")
pipeline(np.zeros((64, 48, 3), np.uint8))
del pipeline
gc.collect()
caught = []
signal.signal(signal.SIGINT, lambda *args: caught.append(args[0]))
signal.raise_signal(signal.SIGINT)
print("caught", caught)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "caught [2]" in done.stdout
