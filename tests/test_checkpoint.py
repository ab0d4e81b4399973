import sys
import types

import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.models.checkpoint import extract_state_dict, read_checkpoint_file
from dwpose.errors import CheckpointError


@pytest.fixture(scope="module")
def plain_state(t_checkpoint):
    return torch.load(t_checkpoint, map_location="cpu", weights_only=True)


def _same_weights(model, state):
    ours = model.state_dict()
    return all(torch.equal(ours[k], v) for k, v in state.items())


def _perturbed(state, delta=1.0):
    return {k: v + delta if v.is_floating_point() else v for k, v in state.items()}


def _save_with_foreign_class(obj, path):
    """Pickle an object whose class lives in a module named like mmengine's (not installed)."""
    module = types.ModuleType("mmengine")

    class HistoryBuffer:
        def __init__(self):
            self.log = [1.0, 2.0]

    HistoryBuffer.__module__ = module.__name__
    HistoryBuffer.__qualname__ = "HistoryBuffer"
    module.HistoryBuffer = HistoryBuffer
    sys.modules[module.__name__] = module
    try:
        obj["message_hub"] = {"log_scalars": {"train/loss": HistoryBuffer()}}
        torch.save(obj, path)
    finally:
        del sys.modules[module.__name__]


def test_bare_and_wrapped_state_dicts_load(tmp_path, plain_state):
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": plain_state, "meta": {"epoch": 270}}, wrapped)
    ddp = tmp_path / "ddp.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in plain_state.items()}}, ddp)
    for path in (wrapped, ddp):
        assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=path), plain_state)


def test_mmengine_container_with_ema_and_foreign_objects(tmp_path, plain_state):
    raw = _perturbed(plain_state)
    path = tmp_path / "mmengine.pth"
    _save_with_foreign_class({
        "meta": {"epoch": 270, "cfg": "model = dict(type='TopdownPoseEstimator')"},
        "state_dict": plain_state,  # mmengine swaps the EMA weights in here when saving
        "ema_state_dict": {"module." + k: v for k, v in raw.items()} | {"steps": torch.tensor(5)},
        "optimizer": {"state": {}, "param_groups": []},
    }, path)
    ema = dwpose.create_model("rtmpose-t-256x192", checkpoint=path)
    assert _same_weights(ema, plain_state)
    assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=path, weights="ema"), plain_state)
    assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=path, weights="raw"), raw)


def test_dwpose_trainer_container_prefers_ema(plain_state):
    raw = _perturbed(plain_state)
    checkpoint = {"model": raw, "ema": plain_state, "optimizer": {}}
    assert extract_state_dict(checkpoint)["head.cls_x.weight"].equal(plain_state["head.cls_x.weight"])
    assert extract_state_dict(checkpoint, "raw")["head.cls_x.weight"].equal(raw["head.cls_x.weight"])
    with pytest.raises(CheckpointError, match="one set of weights"):
        extract_state_dict(plain_state, "ema")
    with pytest.raises(CheckpointError, match="no EMA"):
        extract_state_dict({"state_dict": plain_state}, "ema")


def test_stage1_distiller_takes_student(tmp_path, plain_state):
    teacher = dwpose.create_model("rtmpose-s-256x192").state_dict()
    state = {"teacher." + k: v for k, v in teacher.items()}
    state |= {"student." + k: v for k, v in plain_state.items()}
    state["distill_losses.loss_fea.align.weight"] = torch.zeros(512, 384, 1, 1)
    state["distill_losses.loss_fea.align.bias"] = torch.zeros(512)
    path = tmp_path / "stage1.pth"
    torch.save({"state_dict": state, "meta": {}}, path)
    assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=path), plain_state)


def test_stage2_distiller_takes_teacher_backbone_and_student_head(tmp_path, plain_state):
    other = _perturbed(plain_state)
    state = {"teacher." + k: v for k, v in plain_state.items()}
    state |= {"student." + k: v for k, v in other.items()}
    expected = {k: (other[k] if k.startswith("head.") else v) for k, v in plain_state.items()}

    ambiguous = tmp_path / "ambiguous.pth"
    torch.save({"state_dict": state}, ambiguous)
    with pytest.raises(CheckpointError, match="--stage"):
        dwpose.create_model("rtmpose-t-256x192", checkpoint=ambiguous)

    from_cfg = tmp_path / "fork_stage2.pth"
    torch.save({"state_dict": state, "meta": {"cfg": "model = dict(\n    two_dis=True,\n)"}}, from_cfg)
    assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=from_cfg), expected)

    # The CLI converter, with an explicit stage, writes a plain checkpoint that loads.
    out = tmp_path / "plain.pth"
    assert main(["convert", str(ambiguous), str(out), "--stage", "2"]) == 0
    assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=out), expected)
    assert set(torch.load(out, weights_only=True)) == {"state_dict", "meta"}


def test_mismatch_is_one_readable_error(t_checkpoint):
    with pytest.raises(CheckpointError) as info:
        dwpose.create_model("rtmpose-l-384x288", checkpoint=t_checkpoint)
    message = str(info.value)
    assert "looks like rtmpose-t-256x192" in message
    assert "missing keys: backbone.stage1.1.blocks.1" in message
    assert "shape mismatch" in message and "(12, 3, 3, 3) vs (32, 3, 3, 3)" in message
    assert len(message) < 1500


def test_unexpected_keys_are_named(tmp_path, plain_state):
    path = tmp_path / "extra.pth"
    torch.save(plain_state | {"neck.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="unexpected keys: neck.weight"):
        dwpose.create_model("rtmpose-t-256x192", checkpoint=path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", None])
def test_unreadable_files(tmp_path, content):
    path = tmp_path / "bad.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pth"):
        dwpose.create_model("rtmpose-t-256x192", checkpoint=path)


def test_cli_reports_errors_in_one_line(tmp_path, capsys, t_checkpoint):
    code = main(["export", "rtmpose-m-256x192", "--checkpoint", str(t_checkpoint), "--out", str(tmp_path / "x.onnx")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dwpose export: error:") and "rtmpose-t-256x192" in err
    assert main(["convert", str(tmp_path / "missing.pth"), str(tmp_path / "o.pth")]) == 2
    assert "not found" in capsys.readouterr().err


class _Exploit:
    marker = None  # set by the test: the file the payload would create

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_foreign_callables_in_a_pickle_are_refused(tmp_path, plain_state):
    path = tmp_path / "evil.pth"
    exploit = _Exploit()
    exploit.marker = tmp_path / "pwned"
    torch.save({"state_dict": plain_state, "meta": {"x": exploit}}, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        dwpose.create_model("rtmpose-t-256x192", checkpoint=path)
    assert not exploit.marker.exists()  # the payload never ran


def test_numpy_values_in_meta_are_fine(tmp_path, plain_state):
    import numpy as np

    path = tmp_path / "np.pth"
    torch.save({"state_dict": plain_state, "meta": {"mean": np.arange(3.0), "epoch": np.int64(5)}}, path)
    assert _same_weights(dwpose.create_model("rtmpose-t-256x192", checkpoint=path), plain_state)
    meta = read_checkpoint_file(path)["meta"]
    assert np.array_equal(meta["mean"], np.arange(3.0)) and meta["epoch"] == 5


def test_convert_refuses_what_is_not_a_complete_pose_model(tmp_path, capsys, plain_state):
    cases = {
        "yolox.pth": ({"state_dict": dwpose.create_model("yolox-s").state_dict()}, "it looks like yolox-s"),
        "headless.pth": ({k: v for k, v in plain_state.items() if not k.startswith("head.")},
                         "a CSPNeXt-t backbone without the RTMPose head"),
        "partial.pth": ({k: v for k, v in plain_state.items() if k != "head.gau.o.weight"},
                        "is not a complete rtmpose-t-256x192: missing keys: head.gau.o.weight"),
    }
    for name, (content, message) in cases.items():
        src, dst = tmp_path / name, tmp_path / f"converted_{name}"
        torch.save(content, src)
        assert main(["convert", str(src), str(dst)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and str(src) in err, err
        assert not dst.exists() and list(tmp_path.glob(".dwpose-tmp-*")) == []
    src = tmp_path / "plain.pth"
    torch.save({"state_dict": plain_state}, src)
    assert main(["convert", str(src), str(tmp_path / "ok.pth")]) == 0
    assert "rtmpose-t-256x192" in capsys.readouterr().out
    assert torch.load(tmp_path / "ok.pth", weights_only=True)["meta"]["model"] == "rtmpose-t-256x192"


def test_convert_and_export_to_a_folder_are_one_line(tmp_path, capsys, t_checkpoint, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "mine.txt").write_text("mine")
    calls = [["convert", str(t_checkpoint), "."], ["convert", str(t_checkpoint), "existing"],
             ["export", "rtmpose-t-256x192", "--checkpoint", str(t_checkpoint), "--out", "."],
             ["export", "rtmpose-t-256x192", "--checkpoint", str(t_checkpoint), "--out", "existing/"]]
    for call in calls:
        assert main(call) == 2, call
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is a folder; give the path of the file to write" in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["existing", "mine.txt"]  # nothing written, nothing left
    from dwpose.fileio import write_text_atomic
    from dwpose.errors import OutputPathError

    with pytest.raises(OutputPathError):  # every atomic write refuses a folder, not only the CLI's
        write_text_atomic(tmp_path / "existing", "x")
