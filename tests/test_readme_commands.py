"""Issue 12: every `dwpose ...` command line in README.md's code blocks parses with the real
argument parser (parse only, nothing runs), so the README and the CLI cannot drift apart."""

import json
import shlex

import cv2

from dwpose.cli import main
from dwpose.cli.main import build_parser
from tests.conftest import DATA, ROOT

SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "<"}
NOT_SHELL = {"python", "py", "toml", "json", "yaml", "text"}  # code blocks that hold no commands


def readme_commands(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, command as written, dwpose arguments) of each dwpose invocation in the
    shell code blocks of a Markdown text: `dwpose ...`, `python -m dwpose ...` or any launcher
    ending in `-m dwpose` (e.g. torchrun), with `\\` continuations joined and comments dropped.
    The README's usage notation is read too: `[--flag a|b]` is an optional part (taken) with
    alternatives (the first taken)."""
    commands = []
    language, inside, pending, first_line = "", False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            inside, language = not inside, stripped[3:].strip().lower()
            continue
        if not inside or language in NOT_SHELL:
            continue
        if not pending:
            first_line = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        command, pending = pending + stripped, ""
        arguments = dwpose_arguments(command)
        if arguments is not None:
            commands.append((first_line, command, arguments))
    return commands


def dwpose_arguments(command: str) -> list[str] | None:
    try:
        tokens = shlex.split(command, comments=True)
    except ValueError:
        return None
    for i, token in enumerate(tokens):
        if token in SHELL_OPERATORS:
            tokens = tokens[:i]
            break
    while tokens and "=" in tokens[0] and not tokens[0].startswith("-"):  # VAR=value prefixes
        tokens = tokens[1:]
    if tokens[:1] == ["dwpose"]:
        return [_from_usage_notation(token) for token in tokens[1:]]
    for i in range(len(tokens) - 1):
        if tokens[i:i + 2] == ["-m", "dwpose"]:
            return [_from_usage_notation(token) for token in tokens[i + 2:]]
    return None


def _from_usage_notation(token: str) -> str:
    if token.startswith("[") and not token.startswith("[["):
        token = token[1:]
    if token.endswith("]") and not token.endswith("]]"):
        token = token[:-1]
    return token.split("|")[0]


def unparsable(commands: list[tuple[int, str, list[str]]], capsys) -> list[str]:
    failures = []
    parser = build_parser()
    for number, command, arguments in commands:
        try:
            parser.parse_args(arguments)
        except SystemExit as exit_info:
            if exit_info.code != 0:  # --help exits with 0
                reason = capsys.readouterr().err.strip().splitlines()[-1:]
                failures.append(f"README.md:{number}: {command!r}: {' '.join(reason)}")
    return failures


def test_every_readme_command_line_parses(capsys):
    commands = readme_commands((ROOT / "README.md").read_text())
    assert len(commands) >= 15, "the README's command lines were not found"
    assert {arguments[0] for _, _, arguments in commands} >= {"predict", "demo", "train", "eval", "export"}
    failures = unparsable(commands, capsys)
    assert not failures, "README command lines the CLI rejects:\n" + "\n".join(failures)


def test_extraction_reads_continuations_launchers_and_usage_notation(capsys):
    text = "\n".join([
        "Text with `dwpose models` inline is not a command.",
        "```bash",
        "make demo",
        "dwpose models                 # a comment",
        "torchrun --nproc_per_node 8 -m dwpose train cfg.toml   # DDP",
        "dwpose eval --checkpoint a.pth --ann b.json \\",
        "            --images val --out eval.json",
        "dwpose convert a.pth b.pth [--stage 1|2] [--weights default|ema|raw]",
        "DWPOSE_HOME=/tmp python -m dwpose predict 'shots/*.jpg' --out r/ | tee log",
        "dwpose predict img.jpg --resolution -10",
        "dwpose frobnicate",
        "```",
        "```python",
        "dwpose.create_model('x')",
        "```",
    ])
    commands = readme_commands(text)
    assert [(n, a) for n, _, a in commands] == [
        (4, ["models"]),
        (5, ["train", "cfg.toml"]),
        (6, ["eval", "--checkpoint", "a.pth", "--ann", "b.json", "--images", "val", "--out", "eval.json"]),
        (8, ["convert", "a.pth", "b.pth", "--stage", "1", "--weights", "default"]),
        (9, ["predict", "shots/*.jpg", "--out", "r/"]),
        (10, ["predict", "img.jpg", "--resolution", "-10"]),
        (11, ["frobnicate"]),
    ]
    failures = unparsable(commands, capsys)
    assert len(failures) == 2  # the test fails on commands the CLI rejects, naming the line
    assert failures[0].startswith("README.md:10: ") and "--resolution" in failures[0]
    assert failures[1].startswith("README.md:11: ") and "frobnicate" in failures[1]


def test_demo_runs_on_another_image_with_torch_pose_weights(tmp_path, t_checkpoint, capsys):
    photo = DATA / "coco_wholebody_val_sample" / "000000000785.jpg"
    height, width = cv2.imread(str(photo)).shape[:2]
    code = main(["demo", "--image", str(photo), "--checkpoint", str(t_checkpoint), "--model", "rtmpose-t-256x192",
                 "--no-detector", "--out", str(tmp_path), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    data = json.loads((tmp_path / "000000000785.json").read_text())
    assert (data["canvas_width"], data["canvas_height"]) == (width, height) and len(data["people"]) == 1
    assert cv2.imread(str(tmp_path / "000000000785_pose.png")).shape == (height, width, 3)


def test_demo_model_needs_the_torch_backend(tmp_path, pose_onnx, capsys):
    code = main(["demo", "--model", "rtmpose-t-256x192", "--pose-model", str(pose_onnx), "--no-detector",
                 "--out", str(tmp_path), "--no-progress"])
    assert code == 2
    assert "--model) needs the torch backend" in capsys.readouterr().err


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    return text[start:text.index("\n## ", start + 1)]


def test_predict_in_3_lines_runs_as_written(tmp_path, monkeypatch, pose_onnx, yolox_s_onnx):
    # The README's three Python lines, executed verbatim; only the official files are swapped for
    # random-weight files of the same signatures (no download here).
    import dwpose.adapters._common as common
    from dwpose.models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE

    section = _section((ROOT / "README.md").read_text(), "Predict in 3 lines")
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 3 and "from dwpose import" in code
    asked = []
    local = {DEFAULT_POSE: pose_onnx, DEFAULT_DETECTOR: yolox_s_onnx}
    monkeypatch.setattr(common, "resolve_weights", lambda name: asked.append(name) or local[name])
    # Random detector weights find nobody: after the real detector ran, hand on one person box
    # (what the official YOLOX-l finds on this photo), so that the pose stage runs too.
    import numpy as np

    from dwpose.detection.yolox import Detections, YOLOXDetector

    real_detect = YOLOXDetector.detect_batch
    box = np.array([[180, 40, 460, 420]], np.float32)

    def one_person(self, images):
        return [Detections(box, np.ones(1, np.float32)) for _ in real_detect(self, images)]

    monkeypatch.setattr(YOLOXDetector, "detect_batch", one_person)
    cv2.imwrite(str(tmp_path / "photo.jpg"), cv2.imread(str(DATA / "coco_wholebody_val_sample" / "000000000785.jpg")))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert sorted(asked) == sorted(local)  # the defaults are the official DWPose files
    keypoints, scores = namespace["keypoints"], namespace["scores"]
    assert keypoints.shape == (1, 133, 2) and scores.shape == (1, 133)
    # keypoints in image pixels, inside (or near) the person's box
    assert (np.median(keypoints[0], axis=0) > box[0, :2]).all() and (np.median(keypoints[0], axis=0) < box[0, 2:]).all()
    # ... and the command-line line next to it parses (test_every_readme_command_line_parses runs it).
    assert "dwpose predict photo.jpg --out results/" in section


def test_table_of_contents_links_every_section():
    import re

    text = (ROOT / "README.md").read_text()
    headings, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside and line.startswith("## "):
            headings.append(line[3:].strip())
    toc = re.findall(r"^- \[(.+?)\]\(#([\w-]+)\)$", text.split("\n## ", 1)[0], re.M)
    assert [title for title, _ in toc] == headings
    for title, anchor in toc:  # GitHub's anchors: lower case, punctuation dropped, spaces to hyphens
        assert anchor == re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"), title
