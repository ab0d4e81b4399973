"""Official weight files: a registry, a local cache and a verified, resumable download.

Resolution order: an explicit path -> the cache (`$DWPOSE_HOME`, else `$XDG_CACHE_HOME/dwpose`,
else `~/.cache/dwpose`) -> download from the hub (`$DWPOSE_HUB_ENDPOINT` overrides the host, for
mirrors and tests). A failed download or checksum raises WeightsError naming the file, its URL
and where to put it by hand."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import DWPoseError

DEFAULT_ENDPOINT = "https://huggingface.co"
_CHUNK = 1 << 20


class WeightsError(DWPoseError, RuntimeError):
    """Weights that cannot be found, fetched or verified."""


@dataclass(frozen=True)
class WeightFile:
    filename: str
    repo: str            # "<owner>/<name>" on the hub, or a full URL for other hosts
    arch: str            # model registry name (pose) or YOLOX size (detector)
    kind: str            # "pose" or "detector"
    size: int | None = None     # bytes, where known
    sha256: str | None = None   # where known; checked after download

    def url(self, endpoint: str | None = None) -> str:
        if self.repo.startswith(("http://", "https://")):
            return self.repo
        endpoint = (endpoint or os.environ.get("DWPOSE_HUB_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        return f"{endpoint}/{self.repo}/resolve/main/{self.filename}"


# Sizes and checksums of the released files could not be read on the build machines; they are
# filled in where known and otherwise reported (sha256) after the first download.
REGISTRY: dict[str, WeightFile] = {w.filename: w for w in (
    WeightFile("dw-ll_ucoco_384.onnx", "yzd-v/DWPose", "rtmpose-l-384x288", "pose"),
    WeightFile("yolox_l.onnx", "yzd-v/DWPose", "yolox-l", "detector"),
    WeightFile("dw-ll_ucoco_384.pth", "yzd-v/DWPose", "rtmpose-l-384x288", "pose"),
    WeightFile("dw-ll_ucoco.pth", "yzd-v/DWPose", "rtmpose-l-256x192", "pose"),
    WeightFile("dw-mm_ucoco.pth", "yzd-v/DWPose", "rtmpose-m-256x192", "pose"),
    WeightFile("dw-ss_ucoco.pth", "yzd-v/DWPose", "rtmpose-s-256x192", "pose"),
    WeightFile("dw-tt_ucoco.pth", "yzd-v/DWPose", "rtmpose-t-256x192", "pose"),
)}
DEFAULT_POSE = "dw-ll_ucoco_384.onnx"
DEFAULT_DETECTOR = "yolox_l.onnx"


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


def download(entry: WeightFile, target: Path, progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch `entry` to `target`: resumes a `.part` file, checks size and sha256, renames atomically."""
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    url = entry.url()
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if offset and response.status != 206:  # server ignored the range: start over
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else entry.size
            with part.open("ab" if offset else "wb") as out, tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, disable=not progress,
                desc=entry.filename, leave=False,
            ) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # range past the end: the part file may be complete
            pass
        else:
            raise WeightsError(f"cannot download {entry.filename} from {url}: HTTP {exc.code}; {_manual_hint(entry, target)}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(f"cannot download {entry.filename} from {url} ({reason}); offline? {_manual_hint(entry, target)}") from None
    size = part.stat().st_size
    if entry.size is not None and size != entry.size:
        part.unlink(missing_ok=True)
        raise WeightsError(f"{entry.filename}: downloaded {size} bytes, expected {entry.size}; {_manual_hint(entry, target)}")
    if entry.sha256 is not None:
        actual = _sha256(part)
        if actual != entry.sha256:
            part.unlink(missing_ok=True)
            raise WeightsError(f"{entry.filename}: sha256 {actual} does not match {entry.sha256}; {_manual_hint(entry, target)}")
    os.replace(part, target)
    return target


def resolve_weights(name_or_path: str | os.PathLike, progress: bool = True) -> Path:
    """A local path for a registry file name or an explicit path (downloaded when needed)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        if path.is_dir():
            raise WeightsError(f"{path} is a folder, not a weight file")
        return path
    name = str(name_or_path)
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise WeightsError(f"weight file not found: {name} (neither an existing path nor a known file: {known})")
    entry = REGISTRY[name]
    target = cache_dir() / entry.filename
    if target.is_file():
        return target
    return download(entry, target, progress=progress)
