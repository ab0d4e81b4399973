"""Official weight files: a registry, a local cache and a verified, resumable download.

Resolution order: an explicit path -> the cache (`$DWPOSE_HOME`, else `$XDG_CACHE_HOME/dwpose`,
else `~/.cache/dwpose`) -> download from the hub (`$DWPOSE_HUB_ENDPOINT` overrides the host, for
mirrors and tests).

What is guaranteed: a download goes to `<name>.part` and is renamed to its official name only
after its size and sha256 match the registry; a file whose hash the registry does not know is
accepted when it does not look like a text/HTML page, and its sha256 is printed once (stderr).
A cached file is checked on every use for its size (cheap; the hash is checked once, at
download). A bad cached file is never deleted or replaced behind the user's back: the
WeightsError names it, says what was expected and asks to delete it, so that the next run
downloads it again. Every failure is one WeightsError naming the file, its URL and where to put
it by hand.

A download holds `<name>.lock` in the cache: a second process wanting the same file waits for
it, then checks and uses the finished file. Every byte the server announces (Content-Length, or
Content-Range on a resume, whose start and total must be the ones asked for) must arrive; a file
of known size cut off keeps its `.part` and resumes on the next run, others start over. A whole
download (and a wait for another process's) must end within `$DWPOSE_DOWNLOAD_DEADLINE`
seconds (default one hour), each read within 30 s.

Some files are served inside a zip (the mmdeploy SDK builds rtmlib downloads: `<name>/end2end.onnx`
in `<name>.zip`): the zip is downloaded as above (its size/sha256 are the registry's), its ONNX
is extracted atomically to the registry name, and the zip is then removed."""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import DWPoseError, WeightsError
from .fileio import atomic_open

DEFAULT_ENDPOINT = "https://huggingface.co"
_CHUNK = 1 << 20
_SNIFF = 4096  # bytes read to tell a text page from binary weights
DEADLINE_ENV = "DWPOSE_DOWNLOAD_DEADLINE"
DEFAULT_DEADLINE_S = 3600.0  # generous: a known-size file cut off by it resumes on the next run
_LOCK_POLL_S = 0.2
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class WeightFile:
    filename: str
    repo: str            # "<owner>/<name>" on the hub, or a full URL for other hosts
    arch: str            # model registry name (pose), YOLOX size (detector), CSPNeXt size (backbone)
    kind: str            # "pose", "detector" or "backbone" (a `pretrained_backbone` of the recipes)
    size: int | None = None     # bytes of the downloaded file (the zip, for `archive`), where known
    sha256: str | None = None   # of the downloaded file, where known; checked after download
    archive: str | None = None  # the zip served instead of the file; `filename` is its `end2end.onnx`
    whole_ap: float | None = None  # COCO-WholeBody v1.0 val whole-body AP as the authors report it
    licence: str | None = None     # of the weights, as stated by the source; None: see the source
    alias: str | None = None       # a short registry name (backbones: `cspnext-l-udp`)

    @property
    def download_name(self) -> str:
        return self.archive or self.filename

    def url(self, endpoint: str | None = None) -> str:
        if self.repo.startswith(("http://", "https://")):
            return self.repo
        endpoint = (endpoint or os.environ.get("DWPOSE_HUB_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        return f"{endpoint}/{self.repo}/resolve/main/{self.download_name}"


_MMPOSE = "https://download.openmmlab.com/mmpose/v1/projects"
_MMDET_RSB = "https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain"
_DWPOSE_LICENCE = "Apache-2.0 (DWPose repository)"
_MMPOSE_LICENCE = "Apache-2.0 (mmpose)"


def _mmpose_pth(filename: str, arch: str, whole_ap: float | None = None) -> WeightFile:
    """A released mmpose RTMW checkpoint (architecture_rtmw.md §9); sizes/hashes not known here."""
    return WeightFile(filename, f"{_MMPOSE}/rtmw/{filename}", arch, "pose", whole_ap=whole_ap,
                      licence=_MMPOSE_LICENCE)


def _sdk_zip(project: str, stem: str, arch: str, kind: str, whole_ap: float | None = None) -> WeightFile:
    """An mmdeploy ONNX SDK zip as rtmlib downloads it (`rtmlib/tools/solution/*.py`), cached as
    `<stem>.onnx` like rtmlib does; sizes/hashes not known here."""
    return WeightFile(f"{stem}.onnx", f"{_MMPOSE}/{project}/onnx_sdk/{stem}.zip", arch, kind, archive=f"{stem}.zip",
                      whole_ap=whole_ap, licence=_MMPOSE_LICENCE)


def _backbone(alias: str, url: str, arch: str) -> WeightFile:
    """A CSPNeXt checkpoint whose `backbone.*` tensors start a recipe's training (mmpose's
    `init_cfg=dict(type='Pretrained', prefix='backbone.')`); sizes/hashes not known here."""
    return WeightFile(url.rsplit("/", 1)[1], url, arch, "backbone", licence=_MMPOSE_LICENCE, alias=alias)


# Sizes and sha256 of the released files, from the hub's LFS pointers; where unknown, the
# sha256 is printed after the first download. `whole_ap`: the authors' COCO-WholeBody v1.0 val
# whole-body AP (AP_H 56 person boxes, flip test) of the weights in the file: DWPose README /
# mmpose model zoo for DWPose, mmpose `rtmw_cocktail14.yml` for RTMW (an ONNX build carries the
# AP of the checkpoint it was exported from). This registry is the one home of these facts: the
# README's model zoo table is its output (`dwpose models --markdown`).
REGISTRY: dict[str, WeightFile] = {w.filename: w for w in (
    WeightFile("dw-ll_ucoco_384.onnx", "yzd-v/DWPose", "rtmpose-l-384x288", "pose", 134_399_116,
               "724f4ff2439ed61afb86fb8a1951ec39c6220682803b4a8bd4f598cd913b1843", whole_ap=0.665,
               licence=_DWPOSE_LICENCE),
    WeightFile("yolox_l.onnx", "yzd-v/DWPose", "yolox-l", "detector", 216_746_733,
               "7860ae79de6c89a3c1eb72ae9a2756c0ccfbe04b7791bb5880afabd97855a411", licence=_DWPOSE_LICENCE),
    WeightFile("dw-ll_ucoco_384.pth", "yzd-v/DWPose", "rtmpose-l-384x288", "pose", 406_878_486,
               "0d9408b13cd863c4e95a149dd31232f88f2a12aa6cf8964ed74d7d97748c7a07", whole_ap=0.665,
               licence=_DWPOSE_LICENCE),
    WeightFile("dw-ll_ucoco.pth", "yzd-v/DWPose", "rtmpose-l-256x192", "pose", whole_ap=0.631, licence=_DWPOSE_LICENCE),
    WeightFile("dw-mm_ucoco.pth", "yzd-v/DWPose", "rtmpose-m-256x192", "pose", whole_ap=0.606, licence=_DWPOSE_LICENCE),
    WeightFile("dw-ss_ucoco.pth", "yzd-v/DWPose", "rtmpose-s-256x192", "pose", whole_ap=0.538, licence=_DWPOSE_LICENCE),
    WeightFile("dw-tt_ucoco.pth", "yzd-v/DWPose", "rtmpose-t-256x192", "pose", whole_ap=0.485, licence=_DWPOSE_LICENCE),
    # RTMW (mmpose cocktail14): "dw" = distilled with TPD from the next size up.
    _mmpose_pth("rtmw-dw-l-m_simcc-cocktail14_270e-256x192-20231122.pth", "rtmw-m-256x192", 0.582),
    _mmpose_pth("rtmw-dw-x-l_simcc-cocktail14_270e-256x192-20231122.pth", "rtmw-l-256x192", 0.660),
    _mmpose_pth("rtmw-x_simcc-cocktail14_pt-ucoco_270e-256x192-13a2546d_20231208.pth", "rtmw-x-256x192", 0.672),
    _mmpose_pth("rtmw-dw-x-l_simcc-cocktail14_270e-384x288-20231122.pth", "rtmw-l-384x288", 0.701),
    _mmpose_pth("rtmw-x_simcc-cocktail14_pt-ucoco_270e-384x288-f840f204_20231122.pth", "rtmw-x-384x288", 0.702),
    # The ONNX builds of rtmlib's Wholebody modes, and their detectors (YOLOX trained on Human-Art).
    _sdk_zip("rtmw", "rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122", "rtmw-l-384x288", "pose", 0.701),
    _sdk_zip("rtmw", "rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122", "rtmw-l-256x192", "pose", 0.660),
    _sdk_zip("rtmw", "rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122", "rtmw-m-256x192", "pose", 0.582),
    _sdk_zip("rtmposev1", "yolox_m_8xb8-300e_humanart-c2c7a14a", "yolox-m", "detector"),
    _sdk_zip("rtmposev1", "yolox_tiny_8xb8-300e_humanart-6f3252f9", "yolox-tiny", "detector"),
    # Backbones of the training recipes (`pretrained_backbone = "<alias>"`), as mmpose's configs
    # use them (architecture.md §1, architecture_rtmw.md §2; URLs from mmpose's
    # projects/rtmpose/README.md and the RTMW configs): CSPNeXt pose models pretrained with UDP
    # heatmaps on AIC+COCO (t/s/m/l) or Body7 (x) for the RTMPose recipes ...
    _backbone("cspnext-t-udp", f"{_MMPOSE}/rtmpose/cspnext-tiny_udp-aic-coco_210e-256x192-cbed682d_20230130.pth",
              "cspnext-t"),
    _backbone("cspnext-s-udp", f"{_MMPOSE}/rtmpose/cspnext-s_udp-aic-coco_210e-256x192-92f5a029_20230130.pth",
              "cspnext-s"),
    _backbone("cspnext-m-udp", f"{_MMPOSE}/rtmpose/cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth",
              "cspnext-m"),
    _backbone("cspnext-l-udp", f"{_MMPOSE}/rtmpose/cspnext-l_udp-aic-coco_210e-256x192-273b7631_20230130.pth",
              "cspnext-l"),
    _backbone("cspnext-x-udp", f"{_MMPOSE}/rtmposev1/cspnext-x_udp-body7_210e-384x288-d28b58e6_20230529.pth",
              "cspnext-x"),
    # ... the whole-body RTMPose/DWPose checkpoints the RTMW recipes start from ...
    _backbone("rtmw-m-init", f"{_MMPOSE}/rtmposev1/rtmpose-m_simcc-ucoco_dw-ucoco_270e-256x192-c8b76419_20230728.pth",
              "cspnext-m"),
    _backbone("rtmw-l-init", f"{_MMPOSE}/rtmposev1/rtmpose-l_simcc-ucoco_dw-ucoco_270e-256x192-4d6dfc62_20230728.pth",
              "cspnext-l"),
    _backbone("rtmw-x-256-init", "https://download.openmmlab.com/mmpose/v1/wholebody_2d_keypoint/rtmpose/ubody/"
              "rtmpose-x_simcc-ucoco_pt-aic-coco_270e-256x192-05f5bcb7_20230822.pth", "cspnext-x"),
    _backbone("rtmw-x-384-init", "https://download.openmmlab.com/mmpose/v1/wholebody_2d_keypoint/rtmpose/ubody/"
              "rtmpose-x_simcc-ucoco_pt-aic-coco_270e-384x288-f5b50679_20230822.pth", "cspnext-x"),
    # ... and the ImageNet classification CSPNeXt (mmdet's RSB pretraining), from which mmpose's
    # UDP pretraining starts: an alternative start for a recipe of your own.
    _backbone("cspnext-t-imagenet", f"{_MMDET_RSB}/cspnext-tiny_imagenet_600e-3a2dd350.pth", "cspnext-t"),
    _backbone("cspnext-s-imagenet", f"{_MMDET_RSB}/cspnext-s_imagenet_600e-ea671761.pth", "cspnext-s"),
    _backbone("cspnext-m-imagenet", f"{_MMDET_RSB}/cspnext-m_8xb256-rsb-a1-600e_in1k-ecb3bbd9.pth", "cspnext-m"),
    _backbone("cspnext-l-imagenet", f"{_MMDET_RSB}/cspnext-l_8xb256-rsb-a1-600e_in1k-6a760974.pth", "cspnext-l"),
    _backbone("cspnext-x-imagenet", f"{_MMDET_RSB}/cspnext-x_8xb256-rsb-a1-600e_in1k-b3f78edd.pth", "cspnext-x"),
)}
DEFAULT_POSE = "dw-ll_ucoco_384.onnx"
DEFAULT_DETECTOR = "yolox_l.onnx"


@dataclass(frozen=True)
class Preset:
    """A pose model and detector that go together (registry file names)."""

    pose: str
    det: str
    det_input_size: tuple[int, int] | None  # (width, height) for a detector file that leaves it free


DWPOSE_PRESET = Preset(DEFAULT_POSE, DEFAULT_DETECTOR, None)
# rtmlib's `Wholebody.MODE` (rtmlib/tools/solution/wholebody.py): the same ONNX SDK builds and
# detector input sizes (the pose input size is the file's own: 384x288 or 256x192).
RTMLIB_MODES: dict[str, Preset] = {
    "performance": Preset("rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.onnx",
                          "yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", (640, 640)),
    "lightweight": Preset("rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122.onnx",
                          "yolox_tiny_8xb8-300e_humanart-6f3252f9.onnx", (416, 416)),
    "balanced": Preset("rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122.onnx",
                       "yolox_m_8xb8-300e_humanart-c2c7a14a.onnx", (640, 640)),
}


def registry_name(download_name: str) -> str | None:
    """The registry file served under `download_name` (a file name, the zip holding it, or its
    short alias)."""
    if download_name in REGISTRY:
        return download_name
    return next((w.filename for w in REGISTRY.values() if download_name in (w.archive, w.alias)), None)


def backbone_names() -> list[str]:
    """The short registry names of the pretrained backbones (`pretrained_backbone = "..."`)."""
    return [w.alias for w in REGISTRY.values() if w.kind == "backbone" and w.alias]


def released_weights(model: str, backend: str = "onnxruntime") -> str:
    """The registry file of a model name (`rtmw-l-384x288`, `dwpose-l-384x288`, ...): its ONNX
    build for onnxruntime (preferred for torch too), else its PyTorch checkpoint for torch."""
    from .models.registry import canonical_name

    try:
        arch = canonical_name(model)
    except DWPoseError:
        raise WeightsError(f"weight file not found: {model} (neither an existing path nor a known file: "
                           f"{', '.join(sorted(REGISTRY))}; nor a model name with released weights)") from None
    files = [w.filename for w in REGISTRY.values() if w.arch == arch]
    onnx = [f for f in files if f.endswith(".onnx")]
    usable = onnx + [f for f in files if f not in onnx] if backend == "torch" else onnx
    if not usable:
        have = f" (released: {', '.join(files)}; use --backend torch)" if files else ""
        raise WeightsError(f"no released {'weights' if backend == 'torch' else 'ONNX file'} for {arch}{have}")
    return usable[0]


def cache_dir() -> Path:
    if os.environ.get("DWPOSE_HOME"):
        return Path(os.environ["DWPOSE_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "dwpose"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(entry: WeightFile, target: Path) -> str:
    return f"download it by hand and put it at {target} (or pass the file's path)"


def _text_page_start(head: bytes) -> str | None:
    """The first line of `head` when it reads as text (an HTML error page, a JSON error, a
    login wall) rather than binary weights, else None. ONNX (protobuf), zip and pickle files
    start with control bytes that text never has."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    text = text.lstrip("\ufeff")
    if not text.strip() or not all(c.isprintable() or c in "\t\n\r\f" for c in text):
        return None
    return text.strip().splitlines()[0][:80]


def _file_problem(path: Path, expected_size: int | None) -> str | None:
    """What makes `path` unusable as a weight file, judging by its size and first bytes (cheap)."""
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        problem = f"{size:,} bytes, expected {expected_size:,}"
    elif size == 0:
        problem = "empty (0 bytes)"
    else:
        problem = None
    if problem is None and expected_size is not None:
        return None  # the size of the official file: trusted without reading it
    with path.open("rb") as handle:
        page = _text_page_start(handle.read(_SNIFF))
    if page is not None:
        page_note = f"a text page, not weights (it starts {page!r}: an error page?)"
        return f"{problem}; {page_note}" if problem else page_note
    return problem


def _prepare_cache_folder(folder: Path) -> None:
    """Create the cache folder, or say in one line why it cannot be used."""
    source = " (DWPOSE_HOME)" if os.environ.get("DWPOSE_HOME") else ""
    if folder.exists() and not folder.is_dir():
        raise WeightsError(f"the weights cache {folder}{source} is a file, not a folder; "
                           "point DWPOSE_HOME at a folder (or pass the weight file's path)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"cannot create the weights cache folder {folder}{source}: {exc.strerror}; "
                           "point DWPOSE_HOME at a writable folder (or pass the weight file's path)") from None


def _not_writable(folder: Path, exc: OSError) -> WeightsError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return WeightsError(f"the weights cache folder {folder} is not writable ({reason}); "
                            "point DWPOSE_HOME at a writable folder (or pass the weight file's path)")
    return WeightsError(f"cannot write into the weights cache folder {folder}: {reason}")


def _deadline_s(deadline: float | None) -> float:
    """Seconds allowed for one download (and for waiting on another process's): `deadline`, else
    `$DWPOSE_DOWNLOAD_DEADLINE`, else one hour."""
    if deadline is not None:
        return deadline
    raw = os.environ.get(DEADLINE_ENV, "").strip()
    if not raw:
        return DEFAULT_DEADLINE_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise WeightsError(f"{DEADLINE_ENV}={raw!r} is not a positive number of seconds")
    return value


def _rerun_hint(entry: WeightFile) -> str:
    # Only files of known size resume (see _download_unlocked); the others start over.
    return "run again to resume it" if entry.size is not None else "run again to download it anew"


def _try_lock(fd: int) -> bool:
    """An exclusive lock on `fd` without waiting; False while another process holds it. The
    kernel drops it when its process ends, however it ends (kill -9 too)."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            return True  # a file system without locks: go on unlocked rather than refuse the cache
        raise
    return True


@contextlib.contextmanager
def _download_lock(target: Path, wait_s: float, hint: str) -> Iterator[None]:
    """Hold `<target>.lock` so that one process at a time downloads `target`; the others wait (at
    most `wait_s`) and then find the file finished. The lock file is removed on release; a waiter
    that was granted the lock of a removed file takes the one now at that path instead, or two
    processes could each hold "the" lock."""
    lock_path = target.with_name(target.name + ".lock")
    give_up = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _not_writable(target.parent, exc) from None
        try:
            while not _try_lock(fd):
                if time.monotonic() >= give_up:
                    raise WeightsError(f"gave up waiting for {target.name}: another process has held {lock_path} "
                                       f"for {wait_s:g} s ({DEADLINE_ENV}) without finishing its download; let it "
                                       f"finish or stop it and run again, or {hint}")
                if not told:
                    print(f"{target.name}: another process is downloading it (it holds {lock_path}); "
                          f"waiting up to {wait_s:g} s", file=sys.stderr, flush=True)
                    told = True
                time.sleep(_LOCK_POLL_S)
            held = os.fstat(fd)
            try:
                now = os.stat(lock_path)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)


def download(entry: WeightFile, target: Path, progress: bool = True, timeout: float = 30.0,
             deadline: float | None = None) -> Path:
    """Fetch `entry` to `target` under a per-file lock: resumes a `.part` file (known sizes only),
    checks every announced byte arrived, then size and sha256 (or, for a file the registry has no
    size for, that it is not a text page) and only then renames it. `timeout` bounds each read,
    `deadline` (seconds; default `_deadline_s`) the whole download and the wait for another
    process downloading the same file, whose finished file is then checked and used."""
    limit = _deadline_s(deadline)
    _prepare_cache_folder(target.parent)
    with _download_lock(target, limit, _manual_hint(entry, target)):
        if target.is_file():  # another process finished it while this one waited
            _check_cached(target, entry, entry.size)
            return target
        return _download_unlocked(entry, target, progress, timeout, limit)


def _download_unlocked(entry: WeightFile, target: Path, progress: bool, timeout: float, limit: float) -> Path:
    part = target.with_name(target.name + ".part")
    # Only a file whose registry size and sha256 will check the result is resumed: without them a
    # part file from another version of the file, completed from the new one, would be accepted.
    resumable = entry.size is not None
    if part.is_file() and part.stat().st_size and (
            not resumable or part.stat().st_size > entry.size or _file_problem(part, None)):
        part.unlink()  # an error page from an earlier try, or nothing a resume may append to
    offset = part.stat().st_size if part.is_file() else 0
    try:
        out = part.open("ab")  # before any network traffic: an unwritable cache says so
    except OSError as exc:
        raise _not_writable(target.parent, exc) from None
    try:
        with out:
            announced = _fetch(entry, out, offset, target, progress, timeout, limit)
    except BaseException:
        with contextlib.suppress(OSError):
            if not resumable or part.stat().st_size == 0:  # nothing a rerun could resume from
                part.unlink()
        raise
    _verify_download(entry, part, target, announced)
    os.replace(part, target)
    return target


def _range_matches(content_range: str | None, offset: int, size: int | None, length: int | None) -> bool:
    """Whether a 206 answer holds exactly the bytes from `offset` to the end of a file of `size`."""
    match = _CONTENT_RANGE.fullmatch((content_range or "").strip())
    if match is None:
        return False
    first, last, total = map(int, match.groups())
    return (first == offset and total == size and last == total - 1
            and (length is None or length == last - first + 1))


def _fetch(entry: WeightFile, out: BinaryIO, offset: int, target: Path, progress: bool, timeout: float,
           limit: float) -> bool:
    """Append the body of `entry`'s URL from byte `offset` to `out` (from 0 when the server ignores
    the range request or answers it with other bytes), within `limit` seconds. Raises when fewer
    bytes came than announced. True when the body's end was announced (Content-Length, chunked
    encoding, or a 416 for a part file already of the registry size), False when only the
    connection closing ended it."""
    from .progress import progress as progress_bar

    url = entry.url()
    hint = _manual_hint(entry, target)
    # Checked after every read, and no read (nor the connection and headers) waits longer than
    # min(timeout, limit): the deadline is overrun by one read timeout at most.
    give_up = time.monotonic() + limit
    while True:  # twice at most: a range request answered wrongly is made again from byte 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
        try:
            response = urllib.request.urlopen(request, timeout=min(timeout, limit))
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and offset:  # range past the end
                if offset == entry.size:
                    return True  # the part file is complete: verified next
                out.truncate(0)
                offset = 0
                continue
            raise WeightsError(f"cannot download {entry.filename} from {url}: HTTP {exc.code}; {hint}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise WeightsError(f"cannot download {entry.filename} from {url} ({reason}); offline? {hint}") from None
        with response:
            chunked = bool(getattr(response, "chunked", False))
            length_header = response.headers.get("Content-Length", "").strip()
            length = int(length_header) if length_header.isdigit() and not chunked else None
            if offset and not (response.status == 206 and _range_matches(
                    response.headers.get("Content-Range"), offset, entry.size, length)):
                # A 200 is the whole file (ranges ignored): take it from byte 0. A 206 of other
                # bytes than asked (another start, another total) cannot be appended: ask again.
                out.truncate(0)
                offset = 0
                if response.status != 200:
                    continue
            elif not offset and response.status != 200:
                raise WeightsError(f"cannot download {entry.filename} from {url}: HTTP {response.status} to a "
                                   f"request for the whole file; {hint}")
            received = 0
            total = offset + length if length is not None else entry.size
            with progress_bar(total=total, initial=offset, unit="B", unit_scale=True, disable=not progress,
                      desc=entry.filename, leave=False) as bar:
                while True:
                    try:
                        # read1: whatever has arrived, so that a trickle cannot outlast the deadline
                        chunk = response.read1(_CHUNK)
                    except (OSError, http.client.HTTPException) as exc:
                        raise WeightsError(f"the download of {entry.filename} from {url} broke off after "
                                           f"{offset + received:,} bytes ({exc!r}); {_rerun_hint(entry)}, "
                                           f"or {hint}") from None
                    if not chunk:
                        break
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise _not_writable(target.parent, exc) from None
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > give_up and received != length:
                        of = f" of {total:,}" if total is not None else ""
                        raise WeightsError(f"the download of {entry.filename} from {url} did not finish within "
                                           f"{limit:g} s ({offset + received:,}{of} bytes came; {DEADLINE_ENV} "
                                           f"sets the limit in seconds); {_rerun_hint(entry)}, or {hint}")
            if length is not None and received < length:
                raise WeightsError(f"the download of {entry.filename} from {url} broke off: the connection closed "
                                   f"after {offset + received:,} of {offset + length:,} bytes; "
                                   f"{_rerun_hint(entry)}, or {hint}")
            return length is not None or chunked


def _verify_download(entry: WeightFile, part: Path, target: Path, announced: bool) -> None:
    """Size and sha256 against the registry (or, without them, not a text page) of a part file
    whose every announced byte arrived. One shorter than the registry size whose end nobody
    announced was cut off: kept for a resume. Any other that fails is removed, so nothing bad is
    ever kept, let alone under the official name."""
    size = part.stat().st_size
    problem = _file_problem(part, entry.size)
    if problem is not None and not announced and entry.size is not None and 0 < size < entry.size \
            and "text page" not in problem:
        raise WeightsError(f"the download of {entry.filename} from {entry.url()} broke off: the connection closed "
                           f"after {size:,} of {entry.size:,} bytes; run again to resume it, or "
                           f"{_manual_hint(entry, target)}")
    if problem is None and entry.size is None and not announced and not zipfile.is_zipfile(part):
        # Neither the server nor the registry says how long the file is: only a whole zip (the
        # format of torch checkpoints and SDK bundles: its directory is at the very end) shows
        # that nothing is missing. Anything else is refused rather than risk caching a cut file.
        problem = ("the server sent no length and the registry has no size for it, and it is not a complete "
                   "zip (torch .pth or SDK bundle), so a cut-off download cannot be told from a whole one")
    actual = None
    if problem is None:
        actual = _sha256(part)
        if entry.sha256 is not None and actual != entry.sha256:
            problem = f"sha256 {actual} does not match {entry.sha256}"
    if problem is not None:
        part.unlink(missing_ok=True)
        raise WeightsError(f"{entry.filename} from {entry.url()} failed verification: {problem}. Nothing was kept; "
                           f"{_manual_hint(entry, target)}")
    if entry.sha256 is None:
        print(f"{entry.filename}: sha256 {actual} ({size:,} bytes; not in the registry, "
              "so not verified)", file=sys.stderr)


def resolve_weights(name_or_path: str | os.PathLike, progress: bool = True, backend: str = "onnxruntime",
                    registry_only: bool = False) -> Path:
    """A local path for an explicit path, a registry file name, or a model name with released
    weights (`released_weights`; `backend` picks ONNX or checkpoint); downloaded when needed.
    `registry_only`: names only, never a file of that name in the working directory (ComfyUI)."""
    path = Path(name_or_path).expanduser()
    if not registry_only and path.exists():
        if path.is_dir():
            raise WeightsError(f"{path} is a folder, not a weight file")
        return path
    name = str(name_or_path)
    if name not in REGISTRY:
        name = registry_name(name) or released_weights(name, backend)
    entry = REGISTRY[name]
    target = cache_dir() / entry.filename
    if target.is_file():
        _check_cached(target, entry, None if entry.archive else entry.size)
        return target
    if entry.archive is None:
        return download(entry, target, progress=progress)
    _prepare_cache_folder(target.parent)
    # The lock on the ONNX's name covers the zip's download, the extraction and the zip's removal:
    # a process that waited finds the ONNX, never a zip being removed under it.
    with _download_lock(target, _deadline_s(None), _manual_hint(entry, target)):
        if target.is_file():
            _check_cached(target, entry, None)
            return target
        archive = cache_dir() / entry.archive
        if archive.is_file():  # downloaded and verified before, not yet extracted
            _check_cached(archive, entry, entry.size)
        else:
            download(entry, archive, progress=progress)
        _extract_onnx(entry, archive, target)
        archive.unlink()
    return target


def resolve_backbone(name_or_path: str | os.PathLike, progress: bool = True) -> Path:
    """The file of a recipe's `pretrained_backbone`: an existing path, or a registry name (a
    backbone's short name such as `cspnext-l-udp`, or its official file name), downloaded and
    verified into the cache. A missing path says where the file comes from, and that the line
    can be left out (training from scratch)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return resolve_weights(path)
    name = registry_name(str(name_or_path)) or registry_name(path.name)
    if name is not None and str(name_or_path) in (name, REGISTRY[name].alias):
        return resolve_weights(name, progress=progress)
    scratch = "or leave pretrained_backbone out to train from scratch (slower to converge)"
    if name is not None:  # a path to an official file that is not there (yet)
        entry = REGISTRY[name]
        raise WeightsError(f"pretrained backbone not found: {path}; it is {entry.url()} — write "
                           f'pretrained_backbone = "{entry.alias or name}" to download it into the cache, '
                           f"put the file at that path, {scratch}")
    raise WeightsError(f"pretrained backbone not found: {path} (neither a file nor a registry name: "
                       f"{', '.join(backbone_names())}); give an existing checkpoint, {scratch}")


def _check_cached(path: Path, entry: WeightFile, size: int | None) -> None:
    problem = _file_problem(path, size)
    if problem is not None:
        raise WeightsError(f"the cached {path} is not the official {entry.download_name}: it is {problem}; "
                           "delete it and run again to download it anew")


def _extract_onnx(entry: WeightFile, archive: Path, target: Path) -> None:
    """Copy the zip's one `end2end.onnx` to `target`, atomically (a partial copy never has the name)."""
    problem = None
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.namelist() if m.rsplit("/", 1)[-1] == "end2end.onnx"]
            if len(members) == 1:
                with bundle.open(members[0]) as source, atomic_open(target, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        out.write(chunk)
                return
            problem = f"it holds {len(members)} end2end.onnx files, expected 1 (it has: {', '.join(bundle.namelist()[:8])})"
    except zipfile.BadZipFile as exc:
        problem = f"not a readable zip ({exc})"
    except OSError as exc:
        raise _not_writable(target.parent, exc) from None
    raise WeightsError(f"{archive} (from {entry.url()}) cannot give {entry.filename}: {problem}; delete it and run "
                       "again to download it anew, or extract the ONNX by hand to that name")


def _source_link(entry: WeightFile) -> str:
    if entry.repo.startswith(("http://", "https://")):
        return f"[{entry.repo.split('/')[2]}]({entry.repo})"
    return f"[{entry.repo}]({DEFAULT_ENDPOINT}/{entry.repo})"


def zoo_rows(kind: str | None = None) -> list[dict[str, str]]:
    """One row per registry file (optionally of one kind): the model zoo, as printed by
    `dwpose models --markdown` and shown in the README."""
    from .models.registry import get_config, get_family

    rows = []
    for entry in REGISTRY.values():
        if kind is not None and entry.kind != kind:
            continue
        if entry.kind == "backbone":
            model, family, size = f"`{entry.alias}`", "cspnext (backbone)", "—"
        else:
            width, height = get_config(entry.arch).input_size
            model, family, size = f"`{entry.arch}`", get_family(entry.arch).name, f"{height}x{width}"
        served = f"`{entry.filename}`" + (f" (in `{entry.archive}`)" if entry.archive else "")
        rows.append({
            "model": model, "family": family, "input (HxW)": size, "file": served, "source": _source_link(entry),
            "size": f"{entry.size:,} B" if entry.size is not None else "unknown",
            "sha256": f"`{entry.sha256}`" if entry.sha256 else "unknown",
            "whole-body AP": f"{entry.whole_ap:.3f}" if entry.whole_ap is not None else "—",
            "licence": entry.licence or "see source",
        })
    return rows


def zoo_markdown(kind: str | None = None) -> str:
    """The model zoo as a Markdown table (the README's is this output, checked by a test)."""
    rows = zoo_rows(kind)
    header = list(rows[0]) if rows else ["model"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[column] for column in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"
