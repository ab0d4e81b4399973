"""`dwpose synth`: write a synthetic COCO-WholeBody dataset (images + one annotation JSON).

Layout of OUT: `images/000001.jpg ...`, `annotations.json` (COCO-WholeBody: images,
annotations with the five keypoint fields, boxes, validity flags, area, segmentation) and
`boxes.json` (the person boxes per image, in the format of `dwpose predict --boxes`).

Image i depends only on (seed, i): the files are byte-identical for a seed whatever the number
of worker processes. Every file is written atomically. The annotation records go to part files
(`.parts/NNNNNN.json`, 256 images each) as their images are done, so memory does not grow with
--num and an interrupted run resumes where it stopped when rerun with the same values (a part
whose file exists is done; the images of the others are drawn again, to the same bytes). The
boxes and annotation files are streamed from the parts at the end, the annotation file last:
its presence means the set is complete. `.dwpose-run.json` marks the folder as a synth run:
without it a non-empty folder is refused, and --overwrite removes only the files a run wrote."""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ...errors import InputError
from ...fileio import RUN_MARKER, atomic_open, atomic_path, is_temporary, read_run_marker, write_text_atomic
from ...formats.coco_wholebody import COCO_WHOLEBODY_CATEGORY, coco_wholebody_image
from .scene import SceneConfig, render_scene

GENERATOR_VERSION = 1               # bump when the same seed would draw different pictures
ANNOTATION_FILE = "annotations.json"
BOXES_FILE = "boxes.json"
IMAGE_DIR = "images"
PART_DIR = ".parts"                 # per-part annotation records of a run under way
PART_SIZE = 256                     # images per part file
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_IMAGES = 10_000_000
JPEG_QUALITY = (75, 96)
_PART_NAME = re.compile(r"^\d{6}\.json$")


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

def _marker(spec: SynthSpec) -> dict:
    """The run file: which tool wrote the folder and what it generates (a rerun with the same
    values resumes; --overwrite removes only what a run of this kind wrote)."""
    return {"tool": "dwpose", "kind": "synth", "version": GENERATOR_VERSION, "num": spec.num, "seed": spec.seed,
            "size": [spec.width, spec.height], "persons": [spec.min_persons, spec.max_persons],
            "preset": spec.preset, "part_size": PART_SIZE}


def _read_marker(out: Path) -> dict | None:
    """The folder's synth run file; None when there is none. A folder from before run files
    that holds a dataset `dwpose synth` wrote (its annotation file says so) counts as a finished
    synth run of `num_images` images, so --overwrite may replace it."""
    path = out / RUN_MARKER
    marker = read_run_marker(out, "synth")
    if marker is not None:
        if not isinstance(marker.get("num"), int):
            raise InputError(f"{path} is not a synth run file; delete the folder {out} or choose another output")
        return marker
    try:
        info = json.loads((out / ANNOTATION_FILE).read_text(encoding="utf-8")).get("info", {})
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(info, dict) and info.get("generator") == "dwpose synth" and isinstance(info.get("num_images"), int):
        return {"tool": "dwpose", "kind": "synth", "num": info["num_images"], "legacy": True}
    return None


def _remove_run(out: Path, marker: dict) -> None:
    """--overwrite: remove the files a synth run of `marker` wrote (and its leftovers), nothing else."""
    for name in (ANNOTATION_FILE, BOXES_FILE):
        (out / name).unlink(missing_ok=True)
    image_dir = out / IMAGE_DIR
    if image_dir.is_dir():
        for index in range(marker["num"]):
            (image_dir / image_file_name(index + 1)).unlink(missing_ok=True)
    _remove_parts(out)
    for folder in (out, image_dir):
        if folder.is_dir():
            for path in folder.iterdir():
                if is_temporary(path):
                    path.unlink()
    (out / RUN_MARKER).unlink(missing_ok=True)


def _remove_parts(out: Path) -> None:
    parts = out / PART_DIR
    if parts.is_dir():
        for path in parts.iterdir():
            if _PART_NAME.match(path.name) or is_temporary(path):
                path.unlink()
        with contextlib.suppress(OSError):  # not empty: something that is not ours stays
            parts.rmdir()


def _prepare(out: Path, spec: SynthSpec, overwrite: bool) -> bool:
    """Make `out` ready; True when it holds an unfinished run of the same spec (resume)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    marker = _read_marker(out) if out.is_dir() else None
    resume = False
    if out.is_dir() and any(out.iterdir()):
        if marker is None:
            raise InputError(f"output folder {out} is not empty and was not written by dwpose synth "
                             f"(no {RUN_MARKER}); choose a new or empty folder")
        same = {k: v for k, v in marker.items() if k != "legacy"} == _marker(spec)
        finished = (out / ANNOTATION_FILE).is_file()
        if overwrite:
            _remove_run(out, marker)
        elif same and not finished:
            resume = True
        elif same:
            raise InputError(f"{out} already holds this dataset; pass --overwrite to generate it again")
        else:
            raise InputError(f"output folder {out} holds another synth dataset; pass --overwrite to replace it "
                             "(only the files dwpose synth wrote are removed)")
    (out / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    if not resume:
        write_text_atomic(out / RUN_MARKER, json.dumps(_marker(spec)))
    return resume


def _part_path(out: Path, part: int) -> Path:
    return out / PART_DIR / f"{part:06d}.json"


def _part_range(spec: SynthSpec, part: int) -> range:
    return range(part * PART_SIZE, min(spec.num, (part + 1) * PART_SIZE))


def _parts(out: Path, spec: SynthSpec) -> Iterator[list[list[dict]]]:
    """The per-image annotation records of every part, in order (one part in memory at a time)."""
    for part in range((spec.num + PART_SIZE - 1) // PART_SIZE):
        path = _part_path(out, part)
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable ({exc}); pass --overwrite to generate the dataset again") from None
        if not isinstance(records, list) or len(records) != len(_part_range(spec, part)):
            raise InputError(f"{path}: not the part this run wrote; pass --overwrite to generate the dataset again")
        yield records


def _write_final(out: Path, spec: SynthSpec) -> int:
    """boxes.json, then annotations.json, streamed from the parts: the same bytes as
    `json.dumps` of the whole dataset (default separators), without holding it. Returns the
    number of people."""
    with atomic_open(out / BOXES_FILE, "w", encoding="utf-8") as handle:
        index = 0
        for records in _parts(out, spec):
            for persons in records:
                index += 1
                boxes = [[x, y, round(x + w, 2), round(y + h, 2)] for x, y, w, h in (r["bbox"] for r in persons)]
                handle.write(("{" if index == 1 else ", ") + f"{json.dumps(image_file_name(index))}: {json.dumps(boxes)}")
        handle.write("}")
    info = {"description": "dwpose synthetic whole-body people", "generator": "dwpose synth",
            "version": GENERATOR_VERSION, "seed": spec.seed, "num_images": spec.num,
            "size": [spec.width, spec.height], "persons": [spec.min_persons, spec.max_persons],
            "preset": spec.preset}
    people = 0
    with atomic_open(out / ANNOTATION_FILE, "w", encoding="utf-8") as handle:  # last: the set is complete
        handle.write(f'{{"info": {json.dumps(info)}, "licenses": [], "images": [')
        for index in range(spec.num):
            image = coco_wholebody_image(index + 1, image_file_name(index + 1), spec.width, spec.height)
            handle.write((", " if index else "") + json.dumps(image))
        handle.write('], "annotations": [')
        image_id = 0
        for records in _parts(out, spec):
            for persons in records:
                image_id += 1
                for record in persons:
                    people += 1
                    handle.write((", " if people > 1 else "") + json.dumps({"id": people, "image_id": image_id,
                                                                            **record}))
        handle.write(f'], "categories": {json.dumps([COCO_WHOLEBODY_CATEGORY])}}}')
    return people


def generate_dataset(out: str | os.PathLike, spec: SynthSpec, overwrite: bool = False, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Write the dataset; returns a summary (images, people, seconds, images_per_second,
    resumed: images already done by an interrupted run of the same spec)."""
    from ...progress import progress as progress_bar

    out = Path(out)
    _prepare(out, spec, overwrite)
    image_dir = out / IMAGE_DIR
    (out / PART_DIR).mkdir(exist_ok=True)
    num_parts = (spec.num + PART_SIZE - 1) // PART_SIZE
    # A part file is written once all of its images are: its presence means the part is done.
    todo = [part for part in range(num_parts) if not _part_path(out, part).is_file()]
    done = spec.num - sum(len(_part_range(spec, part)) for part in todo)
    workers = max(1, min(workers or os.cpu_count() or 1, spec.num - done or 1))
    jobs = ((spec, i, str(image_dir)) for part in todo for i in _part_range(spec, part))
    start = time.perf_counter()
    bar = progress_bar(total=spec.num, initial=done, unit="img", desc="synth", disable=not progress)
    pool = None
    try:
        if workers == 1:
            results = map(_write_one, jobs)
        else:
            pool = _start_pool(workers)
            chunk = max(1, min(8, (spec.num - done) // (4 * workers)))
            results = pool.imap_unordered(_write_one, jobs, chunksize=chunk)
        _write_parts(out, spec, results, bar)
        if pool is not None:
            pool.close()
            pool.join()
    except BaseException:
        _abandon(pool, [image_dir, out / PART_DIR])
        raise
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    people = _write_final(out, spec)
    _remove_parts(out)
    return {"images": spec.num, "people": people, "seconds": seconds, "resumed": done,
            "images_per_second": (spec.num - done) / max(seconds, 1e-9), "workers": workers,
            "annotation_file": str(out / ANNOTATION_FILE), "image_dir": str(image_dir)}


def _start_pool(workers: int) -> multiprocessing.pool.Pool:
    # Not a plain fork of this process: a fork of a process with other threads (e.g. after
    # ray.init in the same interpreter) can deadlock its children (seen in the full test
    # suite). A forkserver forks clean workers from a server that imported this module once.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
    else:
        context = multiprocessing.get_context("spawn")
    return context.Pool(workers, initializer=_worker_init)


def _write_parts(out: Path, spec: SynthSpec, results: Iterator[tuple[int, list[dict]]], bar) -> None:
    """Collect the images' records as they arrive and write each part file once all of its
    images are done."""
    # Only the parts still arriving are held (results come nearly in order).
    pending: dict[int, dict[int, list[dict]]] = {}
    for index, records in results:
        part = index // PART_SIZE
        pending.setdefault(part, {})[index] = records
        if len(pending[part]) == len(_part_range(spec, part)):
            records = pending.pop(part)
            write_text_atomic(_part_path(out, part), json.dumps([records[i] for i in _part_range(spec, part)]))
        bar.update(1)


def _abandon(pool: multiprocessing.pool.Pool | None, folders: list[Path]) -> None:
    """A failed or stopped run: stop the workers and remove the temporary files of the writes
    they were in the middle of (finished images and parts stay, for a resume)."""
    if pool is not None:
        pool.terminate()
        pool.join()
    for folder in folders:  # a write stopped midway leaves only a temporary name
        for path in folder.iterdir():
            if is_temporary(path):
                path.unlink(missing_ok=True)
