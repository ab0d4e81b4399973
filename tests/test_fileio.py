import os

import pytest

from dwpose.errors import DWPoseError, InputError
from dwpose.fileio import atomic_open, atomic_path, is_temporary, save_torch_atomic, write_text_atomic


def test_complete_write_appears_under_final_name_only(tmp_path):
    target = tmp_path / "out.json"
    with atomic_open(target, "w") as handle:
        handle.write("{}")
        assert not target.exists()  # nothing under the final name while writing
        leftovers = [p for p in tmp_path.iterdir() if is_temporary(p)]
        assert len(leftovers) == 1 and leftovers[0].suffix == ".json"
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_failed_rename_removes_temporary(tmp_path):
    target = tmp_path / "taken"
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_text("data")
            # made while writing (a folder there before is refused up front): a non-empty folder
            # cannot be replaced by a file
            target.mkdir()
            (target / "child").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_save_torch_atomic_cleans_up_when_rename_fails(tmp_path, monkeypatch):
    import torch

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        save_torch_atomic({"w": torch.zeros(2)}, tmp_path / "model.pth")
    assert list(tmp_path.iterdir()) == []


def test_user_errors_share_one_base():
    from dwpose.errors import BackendError
    from dwpose.errors import DatasetError
    from dwpose.errors import EvaluationError
    from dwpose.errors import ImageReadError
    from dwpose.errors import VideoReadError
    from dwpose.errors import CheckpointError
    from dwpose.errors import ConfigError
    from dwpose.errors import WeightsError

    for cls in (BackendError, DatasetError, EvaluationError, ImageReadError, VideoReadError, CheckpointError,
                ConfigError, WeightsError, InputError):
        assert issubclass(cls, DWPoseError), cls
    assert issubclass(InputError, ValueError)  # API callers catching ValueError keep working


def test_cli_turns_user_errors_into_one_line_and_lets_bugs_through(capsys, monkeypatch):
    import importlib

    cli = importlib.import_module("dwpose.cli.main")

    def user_error(args):
        raise InputError("bad value\nsecond line")

    def bug(args):
        raise ZeroDivisionError("a bug")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["models"].set_defaults(func=user_error)
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err
    assert err == "dwpose models: error: bad value | second line\n"
    parser._subparsers._group_actions[0].choices["models"].set_defaults(func=bug)
    with pytest.raises(ZeroDivisionError):
        cli.main(["models"])
