import json

import cv2

from dwpose.cli import main


def test_demo_runs_pipeline_on_bundled_sample(tmp_path, pose_onnx, yolox_s_onnx, capsys):
    args = ["demo", "--out", str(tmp_path), "--pose-model", str(pose_onnx), "--det-model", str(yolox_s_onnx),
            "--score-threshold", "0", "--max-persons", "2", "--no-progress"]
    assert main(args) == 0
    data = json.loads((tmp_path / "human-pose.json").read_text())
    assert (data["canvas_width"], data["canvas_height"]) == (218, 346)
    assert len(data["people"]) == 2
    assert cv2.imread(str(tmp_path / "human-pose_pose.png")).shape == (346, 218, 3)
    assert "1 of 1 input(s) done" in capsys.readouterr().out


def test_models_lists_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "rtmpose-l-384x288" in out and "dwpose-l-384x288" in out


# --------------------------------------------------------------------------- issue 20: local files, help, progress

def test_export_detects_the_model_name_from_the_checkpoint(tmp_path, t_checkpoint, capsys):
    out = tmp_path / "t.onnx"
    assert main(["export", "--checkpoint", str(t_checkpoint), "--out", str(out), "--static-batch"]) == 0
    printed = capsys.readouterr().out
    assert f"{t_checkpoint}: rtmpose-t-256x192" in printed and "[1,3,256,192]" in printed
    from dwpose.models import detect_model_name

    assert detect_model_name(out) == "rtmpose-t-256x192"
    # A file that says nothing about its architecture: one line, exit 2.
    junk = tmp_path / "junk.pth"
    __import__("torch").save({"state_dict": {"foo.weight": __import__("torch").zeros(2)}}, junk)
    assert main(["export", "--checkpoint", str(junk), "--out", str(tmp_path / "j.onnx")]) == 2
    assert "cannot tell the architecture" in capsys.readouterr().err
    assert not (tmp_path / "j.onnx").exists()


def test_distill_takes_the_stage_from_the_recipe(tmp_path, capsys):
    from tests.test_training import write_config

    recipe = write_config(tmp_path / "s1.toml", distill=dict(stage=1, teacher_model='"rtmpose-s-256x192"',
                                                             teacher_checkpoint=f'"{tmp_path / "nope.pth"}"'))
    # No --stage: the recipe's stage 1 is taken, so the run gets as far as the teacher check.
    assert main(["distill", str(recipe), "--no-progress"]) == 2
    assert "teacher checkpoint not found" in capsys.readouterr().err
    assert main(["distill", str(recipe), "--stage", "2", "--no-progress"]) == 2
    assert "is a stage-1 recipe, not stage 2" in capsys.readouterr().err
    plain = write_config(tmp_path / "plain.toml")
    assert main(["distill", str(plain), "--no-progress"]) == 2  # neither says: the recipe has no [distill]
    assert "no [distill] section" in capsys.readouterr().err


def _commands():
    from dwpose.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    return parser, sub.choices


def test_help_shows_every_default_and_never_splits_a_word(capsys):
    _, commands = _commands()
    for name, command in commands.items():
        text = command.format_help()
        for action in command._actions:
            if action.help is None and action.option_strings:
                raise AssertionError(f"dwpose {name} {action.option_strings[0]} has no help")
            if action.option_strings and action.default not in (None, False, [], "==SUPPRESS=="):
                values = action.default if isinstance(action.default, list) else [action.default]
                shown = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
                help_text = command._get_formatter()._expand_help(action)
                assert "default" in help_text and str(shown) in " ".join(help_text.split()), (name, action.dest)
        # textwrap's default breaks after hyphens: "dw-" / "ll_ucoco_384.onnx", "<work-" / "dir>".
        assert not any(line.rstrip().endswith("-") for line in text.splitlines()), (name, text)
    predict = commands["predict"].format_help()
    flat = " ".join(predict.split())
    for shown in ("--score-threshold SCORE_THRESHOLD detector: keep persons scoring at least this (0 to 1) "
                  "(default: 0.3)", "(default: 0.45)", "video frames per batch (default: 8)",
                  "track in between (default: 1)"):
        assert shown in flat
    assert "dw-ll_ucoco_384.onnx" in predict  # whole, on one line


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(monkeypatch):
    import io
    import time

    from dwpose import progress as progress_module

    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL_S", 0.0)
    for _ in progress_module.progress(range(3), desc="frames", unit="frame"):
        time.sleep(0.002)
    bar = progress_module.progress(total=4, desc="short", leave=False, mininterval=3600, delay=3600)
    bar.update(4)
    bar.close()  # not kept and never shown: leaves no line
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0].startswith("frames:   0%") and lines[-1].startswith("frames: 100%")
    assert all(line.startswith("frames:") for line in lines) and len(lines) == len(set(lines))
    # A message while a bar runs is one line; the bar is not redrawn after it (a log is no screen).
    log.truncate(0), log.seek(0)
    bar = progress_module.progress(total=4, desc="quiet", mininterval=3600, delay=3600)
    bar.update(1)
    progress_module.note("a message")
    bar.set_postfix(loss="0.5")  # the trainer's: shown in the next line, not a line of its own
    bar.update(3)
    bar.close()
    assert log.getvalue().splitlines()[0] == "a message" and "\r" not in log.getvalue()
    assert len(log.getvalue().splitlines()) == 2 and log.getvalue().splitlines()[1].startswith("quiet: 100%")
    assert log.getvalue().splitlines()[1].endswith("loss=0.5]")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    bar = progress_module.progress(total=2, desc="tty")
    bar.update(2)
    bar.close()
    assert type(bar) is not progress_module.PlainProgress and "\r" in terminal.getvalue()


# --------------------------------------------------------------------------- issue 21: the CLI's layout

def _imported_modules(path, root) -> set[str]:
    """The absolute module names a source file imports (relative imports resolved)."""
    import ast

    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module.split(".") if node.level == 0 else package[:len(package) - node.level + 1] + (
                node.module.split(".") if node.module else [])
            names.add(".".join(base))
            names |= {".".join([*base, alias.name]) for alias in node.names}  # `from . import x`
    return names


def test_no_command_module_imports_another_and_the_library_never_imports_the_cli():
    """Each command's module takes shared options and helpers only from cli/options.py and
    cli/common.py (main.py assembles the commands); nothing below the CLI imports it."""
    from pathlib import Path

    import dwpose

    package = Path(dwpose.__file__).parent
    modules = {p.stem for p in (package / "cli").glob("*.py")} - {"__init__"}
    commands = modules - {"options", "common", "main"}
    assert {"predict", "label", "train", "eval", "synth", "serve"} <= commands
    for name in modules - {"main"}:
        found = {m for m in _imported_modules(package / "cli" / f"{name}.py", package.parent)
                 if m.startswith("dwpose.cli.")} - {"dwpose.cli.options", "dwpose.cli.common"}
        found = {m for m in found if m.split(".")[2] not in {"options", "common"}}
        assert not found, f"cli/{name}.py imports {found}"
    for path in package.rglob("*.py"):
        if path.relative_to(package).parts[0] not in ("cli", "__main__.py"):  # the entry point runs the CLI
            assert not any(m.startswith("dwpose.cli") for m in _imported_modules(path, package.parent)), path
