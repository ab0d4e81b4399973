"""The weights hub: a local cache and a verified, resumable download. It knows no model: which
files exist, and their sizes and hashes, are the model families' release facts
(`dwpose.models.zoo` maps a name to a file and calls `fetch`).

The cache is `$DWPOSE_HOME`, else `$XDG_CACHE_HOME/dwpose`, else `~/.cache/dwpose`; files come
from the hub (`$DWPOSE_HUB_ENDPOINT` overrides the host, for mirrors and tests).

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
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from .errors import WeightsError
from .fileio import atomic_open

DEFAULT_ENDPOINT = "https://huggingface.co"
_CHUNK = 1 << 20
_SNIFF = 4096  # bytes read to tell a text page from binary weights
DEADLINE_ENV = "DWPOSE_DOWNLOAD_DEADLINE"
DEFAULT_DEADLINE_S = 3600.0  # generous: a known-size file cut off by it resumes on the next run
_LOCK_POLL_S = 0.2
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class Downloadable(Protocol):
    """What the download needs to know of a file (`dwpose.models.release.WeightFile` is one)."""

    @property
    def filename(self) -> str: ...        # its name in the cache
    @property
    def size(self) -> int | None: ...     # bytes of the downloaded file, where known
    @property
    def sha256(self) -> str | None: ...   # of the downloaded file, where known
    @property
    def archive(self) -> str | None: ...  # the zip served instead, holding one `end2end.onnx`
    @property
    def download_name(self) -> str: ...
    def url(self) -> str: ...


def hub_url(repo: str, filename: str, endpoint: str | None = None) -> str:
    """The download address of `filename` in a hub repository `<owner>/<name>`."""
    endpoint = (endpoint or os.environ.get("DWPOSE_HUB_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    return f"{endpoint}/{repo}/resolve/main/{filename}"


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


def _manual_hint(entry: Downloadable, target: Path) -> str:
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


def _rerun_hint(entry: Downloadable) -> str:
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


def download(entry: Downloadable, target: Path, progress: bool = True, timeout: float = 30.0,
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


def _download_unlocked(entry: Downloadable, target: Path, progress: bool, timeout: float, limit: float) -> Path:
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


def _fetch(entry: Downloadable, out: BinaryIO, offset: int, target: Path, progress: bool, timeout: float,
           limit: float) -> bool:
    """Append the body of `entry`'s URL from byte `offset` to `out` (from 0 when the server ignores
    the range request or answers it with other bytes), within `limit` seconds. Raises when fewer
    bytes came than announced. True when the body's end was announced (Content-Length, chunked
    encoding, or a 416 for a part file already of the registry size), False when only the
    connection closing ended it."""
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
            total = offset + length if length is not None else entry.size
            received = _stream_body(response, out, entry, target, offset, total, length, give_up, limit, progress)
            if length is not None and received < length:
                raise WeightsError(f"the download of {entry.filename} from {url} broke off: the connection closed "
                                   f"after {offset + received:,} of {offset + length:,} bytes; "
                                   f"{_rerun_hint(entry)}, or {hint}")
            return length is not None or chunked



def _stream_body(response, out: BinaryIO, entry: Downloadable, target: Path, offset: int, total: int | None,
                 length: int | None, give_up: float, limit: float, progress: bool) -> int:
    """Copy the response body to `out` until it ends or the deadline `give_up` passes; returns the
    bytes received. A broken read, a full disk and the deadline each raise one WeightsError."""
    from .progress import progress as progress_bar

    url, hint = entry.url(), _manual_hint(entry, target)
    received = 0
    with progress_bar(total=total, initial=offset, unit="B", unit_scale=True, disable=not progress,
                      desc=entry.filename, leave=False) as bar:
        while True:
            try:
                chunk = response.read1(_CHUNK)  # whatever has arrived, so that a trickle cannot outlast the deadline
            except (OSError, http.client.HTTPException) as exc:
                raise WeightsError(f"the download of {entry.filename} from {url} broke off after "
                                   f"{offset + received:,} bytes ({exc!r}); {_rerun_hint(entry)}, or {hint}") from None
            if not chunk:
                return received
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

def _verify_download(entry: Downloadable, part: Path, target: Path, announced: bool) -> None:
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


def fetch(entry: Downloadable, progress: bool = True) -> Path:
    """The cached file of `entry`, downloaded and verified (and, for a zipped file, extracted)
    when it is not there yet."""
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


def _check_cached(path: Path, entry: Downloadable, size: int | None) -> None:
    problem = _file_problem(path, size)
    if problem is not None:
        raise WeightsError(f"the cached {path} is not the official {entry.download_name}: it is {problem}; "
                           "delete it and run again to download it anew")


def _extract_onnx(entry: Downloadable, archive: Path, target: Path) -> None:
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
