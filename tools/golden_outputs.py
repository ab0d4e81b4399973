"""Fingerprint what the command line writes, so a refactor can show its outputs are byte-identical.

Runs `dwpose predict` (images and the video, several styles, JSON, both backends), `dwpose label`
and `dwpose synth` (every preset) on the bundled sample data with the reference fixture weights
(random weights: deterministic and free to ship), then prints one `sha256  size  path` line per
file written. Run it before and after a change and compare:

    python tools/golden_outputs.py --out /tmp/before.txt        # on the old checkout
    python tools/golden_outputs.py --out /tmp/after.txt         # on the new one
    diff /tmp/before.txt /tmp/after.txt

Videos are compared by their decoded frames (the container holds a random id). Files that hold a time or the run's own path (label's manifest and run marker) are listed with
those fields removed, so two runs of the same code give the same list.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REF, DATA = SHARED / "reference", SHARED / "data"
IMAGES = DATA / "coco_wholebody_val_sample"
VIDEO = DATA / "media" / "demo.mp4"
# Keys whose values change from run to run (clocks, absolute paths, durations), dropped before hashing.
VOLATILE_KEYS = {"created", "started", "finished", "updated", "time", "seconds", "elapsed", "out", "root", "path",
                 "pid", "host", "hostname", "duration_s", "images_per_second", "inputs", "written"}
VIDEO_SUFFIXES = {".webm", ".mp4", ".avi"}


def run(args: list[str], cwd: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "dwpose", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"dwpose {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def scrub(value):
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def decoded_frames(path: Path) -> bytes:
    """A video container carries a random track id, so the frames are what is compared."""
    import cv2

    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame.tobytes())
    capture.release()
    return b"".join(frames)


def fingerprint(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix in VIDEO_SUFFIXES:
        data = decoded_frames(path)
    elif path.name in {"manifest.json", ".dwpose-run.json", "done.json"}:
        data = json.dumps(scrub(json.loads(data)), sort_keys=True).encode()
    return f"{hashlib.sha256(data).hexdigest()}  {len(data):>9}"


def cases(work: Path) -> list[tuple[str, list[str]]]:
    pose_onnx, pose_pth = REF / "rtmpose_t_256x192_random.onnx", REF / "rtmpose_t_256x192_random.pth"
    rtmw_onnx, det = REF / "rtmw_t_256x192_random.onnx", REF / "yolox_tiny_416_random.onnx"
    boxes = work / "boxes.json"
    anns = json.loads((IMAGES / "test_coco_wholebody.json").read_text())
    names = {img["id"]: img["file_name"] for img in anns["images"]}
    per_file: dict[str, list] = {}
    for ann in anns["annotations"]:
        x, y, w, h = ann["bbox"]
        per_file.setdefault(names[ann["image_id"]], []).append([x, y, x + w, y + h])
    boxes.write_text(json.dumps(per_file))
    common = ["--no-progress"]
    return [(name, args + common) for name, args in [
        ("predict_onnx_boxes", ["predict", str(IMAGES), "--pose-model", str(pose_onnx), "--boxes", str(boxes)]),
        ("predict_torch_boxes_comfyui", ["predict", str(IMAGES), "--pose-model", str(pose_pth), "--boxes", str(boxes),
                                         "--style", "comfyui", "--feet"]),
        ("predict_detector", ["predict", str(IMAGES), "--pose-model", str(pose_onnx), "--det-model", str(det),
                              "--score-threshold", "0.05", "--style", "openpose134", "--overlay"]),
        ("predict_rtmw_nodet", ["predict", str(IMAGES / "000000000785.jpg"), str(DATA / "media" / "human-pose.jpeg"),
                                "--pose-model", str(rtmw_onnx), "--no-detector", "--style", "musepose"]),
        ("predict_mimicmotion", ["predict", str(IMAGES / "000000040083.jpg"), "--pose-model", str(pose_onnx),
                                 "--no-detector", "--style", "mimicmotion", "--resolution", "512"]),
        ("predict_video", ["predict", str(VIDEO), "--pose-model", str(pose_onnx), "--det-model", str(det),
                           "--score-threshold", "0.05", "--smooth", "--detect-every", "2"]),
        ("predict_video_nodet", ["predict", str(VIDEO), "--pose-model", str(pose_pth), "--no-detector", "--smooth",
                                 "--style", "xinsir"]),
        ("label_images", ["label", str(IMAGES), "--pose-model", str(pose_onnx), "--boxes", str(boxes),
                          "--save-logits", "4", "--parquet"]),
        ("synth_easy", ["synth", "--num", "12", "--seed", "3", "--size", "128x128", "--preset", "easy",
                        "--workers", "1"]),
        ("synth_medium", ["synth", "--num", "8", "--seed", "4", "--preset", "medium", "--workers", "1"]),
        ("synth_hard", ["synth", "--num", "8", "--seed", "5", "--workers", "2"]),
    ]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the list here (default: print it)")
    parser.add_argument("--only", action="append", default=[], help="run only cases whose name contains this")
    args = parser.parse_args(argv)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dwpose-golden-") as tmp:
        work = Path(tmp)
        for name, cli in cases(work):
            if args.only and not any(part in name for part in args.only):
                continue
            out = work / name
            if cli[0] == "synth":
                cli = [cli[0], str(out), *cli[1:]]
            else:
                cli = [*cli, "--out", str(out)]
            run(cli, work)
            for path in sorted(p for p in out.rglob("*") if p.is_file()):
                lines.append(f"{fingerprint(path)}  {name}/{path.relative_to(out).as_posix()}")
            print(f"{name}: {sum(1 for line in lines if f'  {name}/' in line)} files", file=sys.stderr)
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
