"""`dwpose synth`: write a synthetic COCO-WholeBody dataset (images + one annotation JSON).

Layout of OUT: `images/000001.jpg ...`, `annotations.json` (COCO-WholeBody: images,
annotations with the five keypoint fields, boxes, validity flags, area, segmentation) and
`boxes.json` (the person boxes per image, in the format of `dwpose predict --boxes`).

Image i depends only on (seed, i): the files are byte-identical for a seed whatever the number
of worker processes. Every file is written atomically and the annotation file last, so an
interrupted run leaves no partial file under a final name (and no annotation file at all)."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...fileio import atomic_path, is_temporary, write_json_atomic
from ...skeleton import KEYPOINT_NAMES, SKELETON_LINKS
from .parts import MAX_PERSONS
from .scene import SceneConfig, render_scene

GENERATOR_VERSION = 1               # bump when the same seed would draw different pictures
ANNOTATION_FILE = "annotations.json"
BOXES_FILE = "boxes.json"
IMAGE_DIR = "images"
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_IMAGES = 10_000_000
JPEG_QUALITY = (75, 96)
_IMAGE_NAME = re.compile(r"^\d{6,}\.jpg$")


@dataclass(frozen=True)
class SynthSpec:
    """What to generate (validated)."""

    num: int
    seed: int
    width: int = 256
    height: int = 256
    min_persons: int = 1
    max_persons: int = 3
    preset: str = "hard"           # scene.PRESETS: how hard the pictures are

    @property
    def scene(self) -> SceneConfig:
        return SceneConfig(self.width, self.height, self.min_persons, self.max_persons, preset=self.preset)


# --------------------------------------------------------------------------- argument parsing

def parse_count(text: str | int, what: str = "--num", low: int = 1, high: int = MAX_IMAGES) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(f"{what} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise InputError(f"{what} must be between {low} and {high}, got {value}")
    return value


def parse_seed(text: str | int) -> int:
    return parse_count(text, "--seed", 0, 2**63 - 1)


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (width, height), each side in [MIN_SIDE, MAX_SIDE]."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise InputError(f"--size must look like 256x256 (width x height), got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIDE <= value <= MAX_SIDE:
            raise InputError(f"--size {name} must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {value}")
    return width, height


def parse_persons(text: str) -> tuple[int, int]:
    """'K' (1 to K people per image) or 'A..B'; at most MAX_PERSONS."""
    match = re.fullmatch(r"\s*(?:(\d+)\s*\.\.\s*)?(\d+)\s*", str(text))
    if not match:
        raise InputError(f"--persons must be K or A..B (people per image), got {text!r}")
    low, high = int(match.group(1) or 1), int(match.group(2))
    if not 1 <= low <= high <= MAX_PERSONS:
        raise InputError(f"--persons must satisfy 1 <= A <= B <= {MAX_PERSONS}, got {text!r}")
    return low, high


# --------------------------------------------------------------------------- one image

def image_file_name(image_id: int) -> str:
    return f"{image_id:06d}.jpg"


def render_image(spec: SynthSpec, index: int):
    """The scene and JPEG bytes of image `index` (0-based) of a dataset."""
    rng = np.random.default_rng([spec.seed, index, GENERATOR_VERSION])
    scene = render_scene(rng, spec.scene)
    quality = int(rng.integers(*JPEG_QUALITY))
    ok, encoded = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("JPEG encoding failed")
    return scene, encoded.tobytes()


def _write_one(job: tuple[SynthSpec, int, str]) -> tuple[int, list[dict]]:
    spec, index, image_dir = job
    scene, data = render_image(spec, index)
    # Atomic (temporary name, then rename) but not fsync'ed: an interrupted run never leaves a
    # partial image, and a sync per image would cost more than drawing it. The JSON is synced.
    with atomic_path(Path(image_dir) / image_file_name(index + 1)) as temporary:
        temporary.write_bytes(data)
    return index, scene.annotations


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of unmapping it: every image allocates and frees
    the same few large arrays, and mapping them afresh costs ~900 page faults (a fifth of the
    time) per image. No effect where there is no glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 << 20)   # M_MMAP_THRESHOLD
        libc.mallopt(-1, 512 << 20)   # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    cv2.setNumThreads(1)
    _keep_freed_memory()


# --------------------------------------------------------------------------- the dataset

def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError(f"output folder {out} is not empty; pass --overwrite to replace the dataset in it")
        # Replace only what a previous run wrote (and leftovers of an interrupted one).
        for name in (ANNOTATION_FILE, BOXES_FILE):
            (out / name).unlink(missing_ok=True)
        for folder in (out, out / IMAGE_DIR):
            if folder.is_dir():
                for path in folder.iterdir():
                    if is_temporary(path) or (folder.name == IMAGE_DIR and _IMAGE_NAME.match(path.name)):
                        path.unlink()
    (out / IMAGE_DIR).mkdir(parents=True, exist_ok=True)


def _categories() -> list[dict]:
    return [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(KEYPOINT_NAMES[:17]),
             "skeleton": [[a + 1, b + 1] for a, b in SKELETON_LINKS[:19]]}]


def generate_dataset(out: str | os.PathLike, spec: SynthSpec, overwrite: bool = False, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Write the dataset; returns a summary (images, people, seconds, images_per_second)."""
    from ...progress import progress as progress_bar

    out = Path(out)
    _prepare(out, overwrite)
    image_dir = out / IMAGE_DIR
    workers = max(1, min(workers or os.cpu_count() or 1, spec.num))
    jobs = ((spec, i, str(image_dir)) for i in range(spec.num))
    per_image: list[list[dict]] = [[] for _ in range(spec.num)]
    start = time.perf_counter()
    bar = progress_bar(total=spec.num, unit="img", desc="synth", disable=not progress)
    pool = None
    try:
        if workers == 1:
            results = map(_write_one, jobs)
        else:
            # Not a plain fork of this process: a fork of a process with other threads (e.g. after
            # ray.init in the same interpreter) can deadlock its children (seen in the full test
            # suite). A forkserver forks clean workers from a server that imported this module once.
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
            else:
                context = multiprocessing.get_context("spawn")
            pool = context.Pool(workers, initializer=_worker_init)
            results = pool.imap_unordered(_write_one, jobs, chunksize=max(1, min(8, spec.num // (4 * workers))))
        for index, annotations in results:
            per_image[index] = annotations
            bar.update(1)
        if pool is not None:
            pool.close()
            pool.join()
    except BaseException:
        if pool is not None:
            pool.terminate()
            pool.join()
        for path in image_dir.iterdir():  # a worker stopped mid-write leaves only a temporary name
            if is_temporary(path):
                path.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    seconds = time.perf_counter() - start

    images, annotations, boxes = [], [], {}
    for index, records in enumerate(per_image):
        image_id = index + 1
        name = image_file_name(image_id)
        images.append({"id": image_id, "file_name": name, "width": spec.width, "height": spec.height})
        boxes[name] = []
        for record in records:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **record})
            x, y, w, h = record["bbox"]
            boxes[name].append([x, y, round(x + w, 2), round(y + h, 2)])
    dataset = {
        "info": {"description": "dwpose synthetic whole-body people", "generator": "dwpose synth",
                 "version": GENERATOR_VERSION, "seed": spec.seed, "num_images": spec.num,
                 "size": [spec.width, spec.height], "persons": [spec.min_persons, spec.max_persons],
                 "preset": spec.preset},
        "licenses": [], "images": images, "annotations": annotations, "categories": _categories(),
    }
    write_json_atomic(out / BOXES_FILE, boxes)
    write_json_atomic(out / ANNOTATION_FILE, dataset)   # last: its presence means the set is complete
    return {"images": spec.num, "people": len(annotations), "seconds": seconds,
            "images_per_second": spec.num / max(seconds, 1e-9), "workers": workers,
            "annotation_file": str(out / ANNOTATION_FILE), "image_dir": str(image_dir)}
