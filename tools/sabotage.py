"""Break known behaviours on purpose and check that the tests notice (issue 18).

Each breakage is a textual patch (an exact string that must occur once in the file, replaced by
another) applied to a scratch copy of the working tree; only the tests related to it run there,
with this Python and PYTHONPATH=<copy>. A breakage is caught when one of those tests fails that
passes on the unpatched copy (the baseline run, done first). Not part of `make test`: run it
before resolving an issue about tests.

    python tools/sabotage.py              # every breakage; exit 1 if one went unnoticed
    python tools/sabotage.py --list       # the table
    python tools/sabotage.py --only d --only e-per-rank-split
    python tools/sabotage.py --no-baseline   # skip the unpatched run (see `check`)

When the code a patch targets changes, the run says "patch did not apply": update the `old`
string in BREAKAGES below (the table is the only place to edit)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Edit:
    file: str  # relative to the repository root
    old: str   # must occur exactly once
    new: str


@dataclass(frozen=True)
class Breakage:
    name: str                  # "<letter>-<slug>"; --only takes the name or its letter
    what: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]     # pytest arguments (files, -k ...)


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("a-default-drawing", "the default style (controlnet) draws comfyui's picture instead",
             (Edit("dwpose/drawing/openpose.py",
                   "def draw_controlnet(result: PoseResult, canvas_size: tuple[int, int], parts: Parts) -> np.ndarray:\n"
                   "    width, height = canvas_size\n",
                   "def draw_controlnet(result: PoseResult, canvas_size: tuple[int, int], parts: Parts) -> np.ndarray:\n"
                   "    from .comfyui import draw_comfyui_style\n"
                   "    return draw_comfyui_style(result, canvas_size, parts)\n"
                   "    width, height = canvas_size\n"),),
             ("tests/test_styles.py", "tests/test_drawing.py")),
    Breakage("b-flip-unflip", "the flip test averages the flipped logits without flipping them back",
             (Edit("dwpose/inference/pose.py",
                   "flipped_x, flipped_y = flip_simcc_back(*self.network(flip_width(batch)), FLIP_INDICES)",
                   "flipped_x, flipped_y = self.network(flip_width(batch))"),),
             ("tests/test_device_stage.py", "tests/test_pipeline.py", "tests/test_codec.py")),
    Breakage("c-face-sigmas", "the 68 face sigmas doubled",
             (Edit("dwpose/skeleton.py",
                   "_BODY_SIGMAS + _FOOT_SIGMAS + _FACE_SIGMAS + _HAND_SIGMAS + _HAND_SIGMAS",
                   "_BODY_SIGMAS + _FOOT_SIGMAS + tuple(2 * s for s in _FACE_SIGMAS) + _HAND_SIGMAS + _HAND_SIGMAS"),),
             ("tests/test_evaluation.py", "tests/test_skeleton.py")),
    Breakage("d-ddp-wrapper", "training under torchrun without the DDP wrapper (no gradient averaging)",
             (Edit("dwpose/training/trainer.py",
                   "self.net = (nn.parallel.DistributedDataParallel(self.module, device_ids=[self.device.index] "
                   "if self.device.type == \"cuda\" else None)\n                    if self.world > 1 else self.module)",
                   "self.net = self.module"),),
             ("tests/test_training.py", "-k", "torchrun")),
    Breakage("e-per-rank-split", "every torchrun process trains on the whole epoch (no per-rank share)",
             (Edit("dwpose/training/trainer.py",
                   "per_rank = order[self.rank::self.world]",
                   "per_rank = order"),),
             ("tests/test_training.py", "-k", "torchrun")),
    Breakage("f-yolox-decode", "YOLOX box centres decoded half a cell off (grid offset)",
             (Edit("dwpose/detection/yolox.py",
                   "xy = (rows[:, :2] + self._grid[index]) * self._stride[index]",
                   "xy = (rows[:, :2] + self._grid[index] + 0.5) * self._stride[index]"),),
             ("tests/test_detection.py",)),
    Breakage("g-yolox-nms-iou", "YOLOX NMS run with an IoU threshold 0.2 higher than asked",
             (Edit("dwpose/detection/yolox.py",
                   "keep = nms(boxes, scores, self.nms_threshold)",
                   "keep = nms(boxes, scores, self.nms_threshold + 0.2)"),),
             ("tests/test_detection.py",)),
    Breakage("h-atomic-write", "atomic writes go straight to the final name (a kill leaves a partial file)",
             (Edit("dwpose/fileio.py",
                   "    tmp = temporary_sibling(path)\n    try:\n        yield tmp\n",
                   "    tmp = path\n    try:\n        yield tmp\n"),),
             ("tests/test_predict_signals.py", "tests/test_output_files.py")),
    # Written against the downloads branch (Content-Length checked, issue 19); adjust after it lands.
    Breakage("i-download-length", "a download that ends before its announced Content-Length is not refused",
             (Edit("dwpose/weights.py",
                   "            if length is not None and received < length:\n",
                   "            if False:\n"),),
             ("tests/test_weights.py",)),
    # Written against the ownership branch (run markers, issue 19); adjust after it lands.
    Breakage("j-label-ownership", "dwpose label writes into a folder that holds no labelling run",
             (Edit("dwpose/labelling/run.py",
                   "    if state == \"foreign\":\n",
                   "    if False:\n"),),
             ("tests/test_label.py",)),
    Breakage("j-synth-ownership", "dwpose synth takes a folder without its run marker for its own",
             (Edit("dwpose/data/synth/writer.py",
                   "    marker = _read_marker(out) if out.is_dir() else None\n",
                   "    marker = (_read_marker(out) or {\"tool\": \"dwpose\", \"kind\": \"synth\", \"num\": 0}) "
                   "if out.is_dir() else None\n"),),
             ("tests/test_synth.py",)),
)

# What a scratch copy leaves out when git cannot list the tree.
_NOT_COPIED = (".git", ".venv", "__pycache__", ".pytest_cache", "*.egg-info", "work_dirs")


def copy_tree(destination: Path) -> None:
    """The working tree as it is (uncommitted edits included, ignored files not) into `destination`;
    the shared reference folder beside it, as the tests expect (ROOT.parent / "shared")."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode().split("\0")):
            source = ROOT / name
            if source.is_file():  # a deleted but still tracked file is not
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination / name)
    else:
        shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*_NOT_COPIED), symlinks=True)
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (destination.parent / "shared").symlink_to(shared)


def apply(breakage: Breakage, tree: Path, write: bool = True) -> str | None:
    """Patch the copy (or only check that it would patch); the reason when an edit does not
    apply (its text not found exactly once)."""
    for edit in breakage.edits:
        path = tree / edit.file
        if not path.is_file():
            return f"{edit.file} not found"
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        if count != 1:
            return f"{edit.file}: the text to replace occurs {count} times, expected once"
        if write:
            path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    return None


def run_tests(breakage: Breakage, tree: Path, python: str, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    command = [python, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *extra, *breakage.tests]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def failures(output: str) -> list[str]:
    """The node ids pytest's short summary lists as FAILED or ERROR."""
    return [line.split(" ", 1)[1].split(" - ", 1)[0] for line in output.splitlines()
            if line.startswith(("FAILED ", "ERROR ")) and "::" in line]


def first_failure(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return lines[0][:160] if lines else (output.strip().splitlines() or [""])[-1][:160]


# Baseline failures by test selection, so breakages sharing their tests run the baseline once.
_baseline: dict[tuple[str, ...], list[str]] = {}


def check(breakage: Breakage, python: str, baseline: bool) -> tuple[str, str]:
    """(verdict, detail): verdict is "caught", "NOT CAUGHT" or why the check could not be made.
    With `baseline`, tests that already fail on the unpatched copy are left out (--deselect) and
    named in the detail: a breakage counts as caught only by a test that passes without it."""
    with tempfile.TemporaryDirectory(prefix="dwpose-sabotage-") as scratch:
        tree = Path(scratch) / ROOT.name
        copy_tree(tree)
        problem = apply(breakage, tree, write=False)
        if problem:
            return "patch did not apply", problem
        already: list[str] = []
        if baseline:
            if breakage.tests not in _baseline:
                code, output = run_tests(breakage, tree, python)
                if code not in (0, 1) or (code == 1 and not failures(output)):
                    return "BASELINE ERROR", f"pytest exit {code} without the breakage: {first_failure(output)}"
                _baseline[breakage.tests] = failures(output)
            already = _baseline[breakage.tests]
        apply(breakage, tree)
        code, output = run_tests(breakage, tree, python, ("-x", *(f"--deselect={node}" for node in already)))
    note = (f" [{len(already)} test(s) left out, failing without the breakage too: {', '.join(already[:3])}"
            f"{', ...' if len(already) > 3 else ''}]") if already else ""
    if code == 1:
        return "caught", first_failure(output) + note
    if code == 0:
        return "NOT CAUGHT", "the related tests pass with the breakage" + note
    return "ERROR", f"pytest exit {code} (not a test failure): {first_failure(output)}" + note


def select(names: list[str] | None) -> list[Breakage]:
    if not names:
        return list(BREAKAGES)
    chosen = []
    for name in names:
        matches = [b for b in BREAKAGES if b.name == name or b.name.split("-", 1)[0] == name]
        if not matches:
            raise SystemExit(f"sabotage: unknown breakage {name!r}; see --list")
        chosen += [b for b in matches if b not in chosen]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME", help="a breakage (its name or letter); repeatable")
    parser.add_argument("--list", action="store_true", help="list the breakages and their tests, run nothing")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the unpatched run of each selection's tests (faster; a test failing anyway "
                             "then counts as catching the breakage)")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs pytest (default: this one)")
    args = parser.parse_args(argv)
    chosen = select(args.only)
    if args.list:
        for b in chosen:
            files = sorted({e.file for e in b.edits})
            print(f"{b.name}: {b.what}\n    patches {', '.join(files)}; runs pytest {' '.join(b.tests)}")
        return 0
    caught = 0
    for b in chosen:
        start = time.monotonic()
        verdict, detail = check(b, args.python, args.baseline)
        caught += verdict == "caught"
        print(f"{b.name}: {verdict} ({time.monotonic() - start:.0f} s) - {detail}", flush=True)
    print(f"{caught} of {len(chosen)} caught")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
