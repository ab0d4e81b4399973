import errno
import hashlib
import http.server
import io
import os
import re
import threading
import time
import zipfile
from pathlib import Path

import pytest

from dwpose import weights
from dwpose.cli import main
from dwpose.weights import WeightFile, resolve_weights
from dwpose.errors import WeightsError

PAYLOAD = bytes(range(256)) * 64  # 16 KiB
# What a hub, proxy or captive portal sends with status 200 instead of the file.
ERROR_PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Log in to continue</body></html>\n"


def _zip_bytes() -> bytes:
    """A zip holding PAYLOAD: the format of torch .pth files and SDK bundles, whose end shows it is whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("archive/data/0", PAYLOAD)
    return buffer.getvalue()


ZIP_PAYLOAD = _zip_bytes()
CUT = 5000  # where a lying server closes the connection


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /<owner>/<repo>/resolve/main/good.bin (ZIP_PAYLOAD at .../bundle.zip),
    honouring Range requests, unless `lie` names a way to get it wrong (see do_GET)."""

    requests: list = []
    lie: str | None = None
    release = threading.Event()  # lets a "pause" answer finish
    files: dict = {}  # other files served whole at /<name> (e.g. a backbone checkpoint)

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range")))
        if self.path.lstrip("/") in self.files:
            body = self.files[self.path.lstrip("/")]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.endswith("/page.bin"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(ERROR_PAGE)))
            self.end_headers()
            self.wfile.write(ERROR_PAGE)
            return
        files = {"good.bin": PAYLOAD, "bundle.zip": ZIP_PAYLOAD}
        data = files.get(self.path.rsplit("/", 1)[-1])
        if data is None:
            self.send_error(404)
            return
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        if self.lie == "ignore-range":
            start = 0
        if start >= len(data) or (start and self.lie == "416"):  # 416: range not satisfiable
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, content_range = data[start:], f"bytes {start}-{len(data) - 1}/{len(data)}"
        if self.lie == "bad-start":  # the whole file, labelled as such, in answer to a range
            body, content_range = data, f"bytes 0-{len(data) - 1}/{len(data)}"
        elif self.lie == "bad-total":
            content_range = f"bytes {start}-{len(data) - 1}/{len(data) + 1}"
        elif self.lie == "no-content-range":
            body, content_range = data, None
        try:
            if self.lie in ("chunked", "chunked-cut"):
                self.protocol_version = "HTTP/1.1"
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"%x\r\n" % len(body))
                if self.lie == "chunked-cut":
                    self.wfile.write(body[:CUT])
                    return
                self.wfile.write(body + b"\r\n0\r\n\r\n")
                return
            self.send_response(206 if start and self.lie != "ignore-range" else 200)
            if start and content_range:
                self.send_header("Content-Range", content_range)
            if self.lie not in ("no-length", "cut-no-length"):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.lie in ("cut", "cut-no-length"):
                self.wfile.write(body[:CUT])  # then a clean close
            elif self.lie == "drip":  # a byte every 10 ms, for 3 s at most, then a clean close
                self.wfile.write(body[:100])
                for i in range(100, min(len(body), 400)):
                    self.wfile.write(body[i:i + 1])
                    time.sleep(0.01)
            elif self.lie == "pause":  # half, then the rest once the test says so
                self.wfile.write(body[:len(body) // 2])
                type(self).release.wait(60)
                self.wfile.write(body[len(body) // 2:])
            else:
                self.wfile.write(body)
        except OSError:  # the client hung up (as it should, past its deadline)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    RangeHandler.requests = []
    RangeHandler.lie = None
    RangeHandler.release = threading.Event()
    RangeHandler.files = {}
    monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DWPOSE_DOWNLOAD_DEADLINE", raising=False)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    monkeypatch.setitem(weights.REGISTRY, "good.bin", WeightFile("good.bin", "test/repo", "x", "pose", len(PAYLOAD), sha))
    monkeypatch.setitem(weights.REGISTRY, "tampered.bin", WeightFile("good.bin", "test/repo", "x", "pose", len(PAYLOAD), "0" * 64))
    monkeypatch.setitem(weights.REGISTRY, "missing.bin", WeightFile("missing.bin", "test/repo", "x", "pose"))
    # Served the error page: one with the real file's size and hash in the registry, one unknown.
    monkeypatch.setitem(weights.REGISTRY, "page.bin", WeightFile("page.bin", "test/repo", "x", "pose", len(PAYLOAD), sha))
    monkeypatch.setitem(weights.REGISTRY, "page-unknown.bin", WeightFile("page.bin", "test/repo", "x", "pose"))
    monkeypatch.setitem(weights.REGISTRY, "unknown.bin", WeightFile("good.bin", "test/repo", "x", "pose"))
    monkeypatch.setitem(weights.REGISTRY, "bundle.zip", WeightFile("bundle.zip", "test/repo", "x", "pose"))
    yield tmp_path / "cache"
    RangeHandler.release.set()
    server.shutdown()
    server.server_close()


def test_download_verifies_and_caches(hub):
    path = resolve_weights("good.bin", progress=False)
    assert path == hub / "good.bin" and path.read_bytes() == PAYLOAD
    assert RangeHandler.requests == [("/test/repo/resolve/main/good.bin", None)]
    assert resolve_weights("good.bin", progress=False) == path  # cached: no second request
    assert len(RangeHandler.requests) == 1
    assert not list(hub.glob("*.part"))


def test_resume_from_partial_file(hub):
    hub.mkdir(parents=True)
    (hub / "good.bin.part").write_bytes(PAYLOAD[:5000])
    path = resolve_weights("good.bin", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert RangeHandler.requests[-1][1] == "bytes=5000-"


def test_checksum_mismatch_leaves_nothing(hub):
    with pytest.raises(WeightsError, match="sha256"):
        resolve_weights("tampered.bin", progress=False)
    assert not (hub / "good.bin").exists() and not list(hub.glob("*.part"))


def test_http_error_names_file_url_and_place(hub):
    with pytest.raises(WeightsError) as info:
        resolve_weights("missing.bin", progress=False)
    message = str(info.value)
    assert "missing.bin" in message and "HTTP 404" in message and str(hub / "missing.bin") in message


def test_offline_cli_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    with socket_free_port() as port:
        monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path))
    assert main(["demo", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "dw-ll_ucoco_384.onnx" in err and "/yzd-v/DWPose/resolve/main/dw-ll_ucoco_384.onnx" in err
    assert str(tmp_path / "dw-ll_ucoco_384.onnx") in err


def test_explicit_paths_and_unknown_names(tmp_path):
    local = tmp_path / "mine.onnx"
    local.write_bytes(b"x")
    assert resolve_weights(local) == local
    with pytest.raises(WeightsError, match="neither an existing path nor a known file"):
        resolve_weights(tmp_path / "nope.onnx")
    with pytest.raises(WeightsError, match="folder"):
        resolve_weights(tmp_path)


class socket_free_port:
    """A loopback port with nothing listening (bound, then released)."""

    def __enter__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


def test_default_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("DWPOSE_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert weights.cache_dir() == tmp_path / "dwpose"


def test_default_files_have_size_and_sha256():
    names = (weights.DEFAULT_POSE, weights.DEFAULT_DETECTOR, "dw-ll_ucoco_384.pth")
    for name in names:
        entry = weights.REGISTRY[name]
        assert entry.size > 1_000_000 and re.fullmatch("[0-9a-f]{64}", entry.sha256), name
    assert len({weights.REGISTRY[name].sha256 for name in names}) == 3  # no hash copied onto another file


@pytest.mark.parametrize("name", ["page.bin", "page-unknown.bin"])
def test_error_page_served_with_status_200_is_never_cached(hub, name):
    with pytest.raises(WeightsError) as info:
        resolve_weights(name, progress=False)
    message = str(info.value)
    assert "a text page, not weights (it starts '<!DOCTYPE html>'" in message
    assert "page.bin" in message and "Nothing was kept" in message
    assert list(hub.iterdir()) == []  # neither under the official name nor as a .part


def test_unknown_hash_is_accepted_and_printed_once(hub, capsys):
    path = resolve_weights("unknown.bin", progress=False)
    assert path.read_bytes() == PAYLOAD
    err = capsys.readouterr().err
    assert err.count(hashlib.sha256(PAYLOAD).hexdigest()) == 1 and "not verified" in err
    assert resolve_weights("unknown.bin", progress=False) == path
    assert capsys.readouterr().err == ""  # printed after the download only


def test_cached_file_of_the_wrong_size_is_named_and_left_alone(hub):
    hub.mkdir(parents=True)
    cached = hub / "good.bin"
    cached.write_bytes(PAYLOAD[:1000])  # e.g. copied by hand from an interrupted download
    with pytest.raises(WeightsError) as info:
        resolve_weights("good.bin", progress=False)
    message = str(info.value)
    assert str(cached) in message and "1,000 bytes, expected 16,384" in message and "delete it" in message
    assert cached.read_bytes() == PAYLOAD[:1000] and RangeHandler.requests == []
    cached.unlink()  # what the message asks for: the next run downloads it again
    assert resolve_weights("good.bin", progress=False).read_bytes() == PAYLOAD


def test_cached_error_page_of_a_file_of_unknown_size_is_refused(hub):
    hub.mkdir(parents=True)
    (hub / "good.bin").write_bytes(ERROR_PAGE)  # "unknown.bin" is cached as good.bin
    with pytest.raises(WeightsError, match="text page, not weights.*delete it"):
        resolve_weights("unknown.bin", progress=False)


def test_error_page_left_as_a_part_file_is_not_resumed(hub):
    hub.mkdir(parents=True)
    (hub / "good.bin.part").write_bytes(ERROR_PAGE)
    assert resolve_weights("good.bin", progress=False).read_bytes() == PAYLOAD
    assert RangeHandler.requests[-1][1] is None  # fetched from the start, not appended to the page


def test_unwritable_cache_says_so(hub, monkeypatch):
    hub.mkdir(parents=True)
    hub.chmod(0o500)
    if os.geteuid() == 0:  # root writes anyway: make the write fail as it would for a user
        real_open = Path.open

        def refuse(self, mode="r", *args, **kwargs):
            if self.parent == hub and "r" not in mode:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_open(self, mode, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refuse)
    try:
        with pytest.raises(WeightsError) as info:
            resolve_weights("good.bin", progress=False)
    finally:
        hub.chmod(0o700)
    message = str(info.value)
    assert f"{hub} is not writable" in message and "offline" not in message
    assert RangeHandler.requests == [] and list(hub.iterdir()) == []


def test_dwpose_home_being_a_file_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("DWPOSE_HOME", str(home))
    assert main(["demo", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{home} (DWPOSE_HOME) is a file, not a folder" in err
    assert home.read_text() == "not a folder"


class FolderHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files of a folder; remembers the paths asked for."""

    requests: list = []

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def zip_hub(monkeypatch, tmp_path):
    """A hub serving SDK-style zips (`<stem>/end2end.onnx` plus its side files) built here."""
    import functools
    import zipfile

    served = tmp_path / "served"
    folder = served / "test" / "repo" / "resolve" / "main"
    folder.mkdir(parents=True)
    onnx_bytes = bytes(range(256)) * 40  # binary, like an ONNX protobuf
    with zipfile.ZipFile(folder / "model-a.zip", "w") as bundle:
        bundle.writestr("model-a/deploy.json", '{"version": "1.0"}')
        bundle.writestr("model-a/end2end.onnx", onnx_bytes)
        bundle.writestr("model-a/pipeline.json", "{}")
    with zipfile.ZipFile(folder / "empty.zip", "w") as bundle:
        bundle.writestr("empty/deploy.json", "{}")
    (folder / "broken.zip").write_bytes(bytes(range(200)) * 10)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(FolderHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FolderHandler.requests = []
    monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path / "cache"))
    zipped = (folder / "model-a.zip").read_bytes()
    for stem, size, sha in (("model-a", len(zipped), hashlib.sha256(zipped).hexdigest()), ("empty", None, None),
                            ("broken", None, None)):
        monkeypatch.setitem(weights.REGISTRY, f"{stem}.onnx",
                            WeightFile(f"{stem}.onnx", "test/repo", "x", "pose", size, sha, archive=f"{stem}.zip"))
    yield tmp_path / "cache", onnx_bytes
    server.shutdown()


def test_zip_entry_is_verified_and_its_onnx_extracted(zip_hub):
    cache, onnx_bytes = zip_hub
    path = resolve_weights("model-a.onnx", progress=False)
    assert path == cache / "model-a.onnx" and path.read_bytes() == onnx_bytes
    assert FolderHandler.requests == ["/test/repo/resolve/main/model-a.zip"]
    # Only the ONNX stays: no zip, no part file, no temporary extraction.
    assert sorted(p.name for p in cache.iterdir()) == ["model-a.onnx"]
    assert resolve_weights("model-a.onnx", progress=False) == path and len(FolderHandler.requests) == 1


@pytest.mark.parametrize("stem, problem", [("empty", "holds 0 end2end.onnx files"), ("broken", "not a readable zip")])
def test_zip_without_one_onnx_is_refused_and_nothing_is_extracted(zip_hub, stem, problem):
    cache, _ = zip_hub
    with pytest.raises(WeightsError, match=problem) as info:
        resolve_weights(f"{stem}.onnx", progress=False)
    assert str(cache / f"{stem}.zip") in str(info.value) and "delete it" in str(info.value)
    assert sorted(p.name for p in cache.iterdir()) == [f"{stem}.zip"]  # named in the error, left for the user


def test_rtmw_and_rtmlib_entries():
    from dwpose.models.registry import get_family

    for entry in weights.REGISTRY.values():
        if entry.kind != "backbone":
            assert get_family(entry.arch).kind == entry.kind, entry.filename
    # rtmlib's Wholebody modes download these exact URLs (rtmlib/tools/solution/wholebody.py).
    sdk = "https://download.openmmlab.com/mmpose/v1/projects/{}/onnx_sdk/{}.zip"
    for project, stem in (("rtmw", "rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122"),
                          ("rtmw", "rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122"),
                          ("rtmposev1", "yolox_m_8xb8-300e_humanart-c2c7a14a"),
                          ("rtmposev1", "yolox_tiny_8xb8-300e_humanart-6f3252f9")):
        assert weights.REGISTRY[f"{stem}.onnx"].url() == sdk.format(project, stem)
    pth = weights.REGISTRY["rtmw-x_simcc-cocktail14_pt-ucoco_270e-384x288-f840f204_20231122.pth"]
    assert pth.url() == f"https://download.openmmlab.com/mmpose/v1/projects/rtmw/{pth.filename}" and pth.archive is None


def test_model_names_resolve_to_their_released_files():
    released = weights.released_weights
    assert released("rtmw-l-384x288") == "rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.onnx"
    assert released("rtmw-m-256x192", "torch") == "rtmw-dw-l-m_simcc-cocktail14_270e-256x192_20231122.onnx"
    assert released("dwpose-l-384x288") == "dw-ll_ucoco_384.onnx"
    assert released("rtmw-x-384x288", "torch") == "rtmw-x_simcc-cocktail14_pt-ucoco_270e-384x288-f840f204_20231122.pth"
    with pytest.raises(WeightsError, match="no released ONNX file for rtmw-x-384x288.*--backend torch"):
        released("rtmw-x-384x288")
    with pytest.raises(WeightsError, match="neither an existing path nor a known file"):
        released("rtmw-q-256x192")


# --- a lying mirror (issue 19): concurrent clients, clean close mid-body, bad 206, slow drip ---

def _part(hub, name="good.bin"):
    return hub / f"{name}.part"


@pytest.mark.parametrize("lie", ["cut", "cut-no-length"])
def test_cut_off_download_of_known_size_is_kept_and_resumed(hub, lie):
    RangeHandler.lie = lie
    with pytest.raises(WeightsError) as info:
        resolve_weights("good.bin", progress=False)
    message = str(info.value)
    assert "broke off" in message and f"{CUT:,} of {len(PAYLOAD):,} bytes" in message and "resume" in message
    assert str(hub / "good.bin") in message  # where to put it by hand
    assert not (hub / "good.bin").exists() and _part(hub).read_bytes() == PAYLOAD[:CUT]
    RangeHandler.lie = None  # an honest server: the rerun asks for the rest only
    assert resolve_weights("good.bin", progress=False).read_bytes() == PAYLOAD
    assert RangeHandler.requests[-1][1] == f"bytes={CUT}-"
    assert sorted(p.name for p in hub.iterdir()) == ["good.bin"]


@pytest.mark.parametrize("lie, problem", [
    ("cut", f"broke off: the connection closed after {CUT:,} of {len(PAYLOAD):,} bytes"),
    ("cut-no-length", "the server sent no length and the registry has no size for it"),
    ("chunked-cut", "broke off after"),
])
def test_cut_off_download_of_unknown_size_is_never_cached(hub, lie, problem):
    """dw-*_ucoco.pth and the RTMW files: no registry size or hash to catch a short file later."""
    RangeHandler.lie = lie
    with pytest.raises(WeightsError) as info:
        resolve_weights("unknown.bin", progress=False)
    assert problem in str(info.value) and str(hub / "good.bin") in str(info.value)
    assert list(hub.iterdir()) == []  # not under its name, and no part file (it would not be resumed)
    RangeHandler.lie = None
    assert resolve_weights("unknown.bin", progress=False).read_bytes() == PAYLOAD
    assert RangeHandler.requests[-1][1] is None


@pytest.mark.parametrize("lie, name, data", [("no-length", "bundle.zip", ZIP_PAYLOAD),
                                             ("chunked", "unknown.bin", PAYLOAD)])
def test_whole_body_of_unknown_size_is_accepted_when_its_end_shows(hub, lie, name, data):
    """Without Content-Length: chunked encoding marks the end; a zip (.pth) has its directory there."""
    RangeHandler.lie = lie
    assert resolve_weights(name, progress=False).read_bytes() == data


@pytest.mark.parametrize("lie", ["bad-start", "bad-total", "no-content-range", "416", "ignore-range"])
def test_range_answer_for_other_bytes_restarts_from_zero(hub, lie):
    hub.mkdir(parents=True)
    _part(hub).write_bytes(PAYLOAD[:CUT])
    RangeHandler.lie = lie
    assert resolve_weights("good.bin", progress=False).read_bytes() == PAYLOAD
    asked = [rng for _, rng in RangeHandler.requests]
    # A 200 holds the whole file: used as it is. A 206 of other bytes is never appended: asked again.
    assert asked == [f"bytes={CUT}-"] if lie == "ignore-range" else asked == [f"bytes={CUT}-", None]
    assert sorted(p.name for p in hub.iterdir()) == ["good.bin"]


@pytest.mark.parametrize("name, left, asked", [
    ("good.bin", PAYLOAD, [f"bytes={len(PAYLOAD)}-"]),  # complete, killed before the rename: 416, verified
    ("good.bin", PAYLOAD + b"x", [None]),               # longer than the file: no prefix of it
    ("unknown.bin", bytes(CUT), [None]),               # unknown size: maybe another version's bytes
])
def test_left_part_files_resume_only_when_a_resume_can_be_checked(hub, name, left, asked):
    hub.mkdir(parents=True)
    _part(hub).write_bytes(left)
    assert resolve_weights(name, progress=False).read_bytes() == PAYLOAD
    assert [rng for _, rng in RangeHandler.requests] == asked


def test_slow_drip_ends_at_the_deadline_with_one_clear_line(hub, monkeypatch):
    monkeypatch.setenv("DWPOSE_DOWNLOAD_DEADLINE", "0.5")
    RangeHandler.lie = "drip"
    with pytest.raises(WeightsError) as info:
        resolve_weights("good.bin", progress=False)
    message = str(info.value)
    assert "did not finish within 0.5 s" in message and "DWPOSE_DOWNLOAD_DEADLINE" in message
    assert "/test/repo/resolve/main/good.bin" in message and str(hub / "good.bin") in message
    assert "\n" not in message and "resume" in message
    assert not (hub / "good.bin").exists() and 0 < _part(hub).stat().st_size < len(PAYLOAD)


def test_bad_deadline_setting_is_one_line(hub, monkeypatch):
    monkeypatch.setenv("DWPOSE_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(WeightsError, match="DWPOSE_DOWNLOAD_DEADLINE='soon' is not a positive number"):
        resolve_weights("good.bin", progress=False)


def test_a_left_lock_file_and_part_file_resume_cleanly(hub):
    """What a killed process leaves: the lock died with it, the part file is resumed."""
    hub.mkdir(parents=True)
    (hub / "good.bin.lock").write_bytes(b"")
    _part(hub).write_bytes(PAYLOAD[:CUT])
    assert resolve_weights("good.bin", progress=False).read_bytes() == PAYLOAD
    assert RangeHandler.requests[-1][1] == f"bytes={CUT}-"
    assert sorted(p.name for p in hub.iterdir()) == ["good.bin"]


def test_waiting_for_another_download_has_a_deadline(hub, monkeypatch):
    import fcntl

    hub.mkdir(parents=True)
    monkeypatch.setenv("DWPOSE_DOWNLOAD_DEADLINE", "0.3")
    with (hub / "good.bin.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process downloading it
        # Bounds the test if the wait had no deadline: the lock goes away and the download succeeds.
        timer = threading.Timer(5, lambda: fcntl.flock(held, fcntl.LOCK_UN))
        timer.start()
        try:
            with pytest.raises(WeightsError) as info:
                resolve_weights("good.bin", progress=False)
        finally:
            timer.cancel()
    message = str(info.value)
    assert "gave up waiting for good.bin" in message and str(hub / "good.bin.lock") in message
    assert "\n" not in message and RangeHandler.requests == []


CONCURRENT_CLIENT = """
import sys, types
# dwpose.weights without the package's __init__ (which loads torch: seconds per client)
package = types.ModuleType("dwpose")
package.__path__ = [sys.argv[1]]
sys.modules["dwpose"] = package
from dwpose import weights
weights.REGISTRY["unknown.bin"] = weights.WeightFile("good.bin", "test/repo", "x", "pose")
print("ready", flush=True)
sys.stdin.readline()  # imports done (seconds): start together with the other client
print(weights.resolve_weights("unknown.bin", progress=False))
"""


def test_two_processes_downloading_one_file_share_one_download(hub):
    """A file of unknown size (nothing would catch two interleaved copies): one process downloads,
    the other waits for its lock and then uses the finished file."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    RangeHandler.lie = "pause"  # the first client gets half the file, then waits for release
    clients = [subprocess.Popen([sys.executable, "-c", CONCURRENT_CLIENT, str(root / "dwpose")], env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(2)]
    first, second = clients

    def wait_for(condition, what):
        give_up = time.monotonic() + 120
        while not condition():
            assert time.monotonic() < give_up and all(c.poll() is None for c in clients), what
            time.sleep(0.05)

    def go(client):
        client.stdin.write("go\n")
        client.stdin.flush()

    try:
        assert [c.stdout.readline() for c in clients] == ["ready\n"] * 2
        go(first)
        # Asking the server means holding the lock (taken first); the answer stops at half the file.
        wait_for(lambda: len(RangeHandler.requests) == 1, "the first client never asked for the file")
        seen: list[str] = []
        reader = threading.Thread(target=lambda: seen.extend(second.stderr), daemon=True)
        reader.start()
        go(second)
        # Released once the second client waits for the lock (or, were there no lock, asks the server).
        wait_for(lambda: any("another process is downloading" in line for line in seen)
                 or len(RangeHandler.requests) > 1, "the second client neither waited nor downloaded")
        RangeHandler.release.set()
        (out_first, err_first), (out_second, _) = (c.communicate(timeout=120) for c in clients)
        reader.join(timeout=10)
        assert [c.returncode for c in clients] == [0, 0], (err_first, seen)
    finally:
        RangeHandler.release.set()
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
    assert out_first.strip() == out_second.strip() == str(hub / "good.bin")
    assert (hub / "good.bin").read_bytes() == PAYLOAD
    assert len(RangeHandler.requests) == 1  # one download, not two
    assert any("another process is downloading" in line for line in seen)
    assert sorted(p.name for p in hub.iterdir()) == ["good.bin"]
def test_recipe_backbone_name_downloads_verifies_and_loads(hub, monkeypatch):
    """`pretrained_backbone = "<registry name>"`: fetched from the source into the cache, checked
    against its sha256, and its backbone.* tensors are what the model starts from."""
    import io

    import torch

    from dwpose.models import create_model
    from dwpose.training.trainer import Trainer

    source = create_model("rtmpose-t-128x96")
    buffer = io.BytesIO()
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in source.backbone.state_dict().items()},
                "meta": {}}, buffer)
    data = buffer.getvalue()
    RangeHandler.files["cspnext-test.pth"] = data
    url = f"{os.environ['DWPOSE_HUB_ENDPOINT']}/cspnext-test.pth"
    monkeypatch.setitem(weights.REGISTRY, "cspnext-test.pth", WeightFile(
        "cspnext-test.pth", url, "cspnext-t", "backbone", len(data), hashlib.sha256(data).hexdigest(), alias="cspnext-test"))
    model = create_model("rtmpose-t-128x96")
    Trainer._load_backbone(model, "cspnext-test")
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert (hub / "cspnext-test.pth").read_bytes() == data
    assert RangeHandler.requests == [("/cspnext-test.pth", None)]
    assert weights.resolve_backbone("cspnext-test.pth") == hub / "cspnext-test.pth"  # the file name too; cached
    assert resolve_weights("cspnext-test", progress=False) == hub / "cspnext-test.pth"  # short names anywhere
    assert len(RangeHandler.requests) == 1
    weights.REGISTRY["cspnext-test.pth"] = WeightFile("cspnext-test.pth", url, "cspnext-t", "backbone", len(data),
                                                     "0" * 64, alias="cspnext-test")
    (hub / "cspnext-test.pth").unlink()
    with pytest.raises(WeightsError, match="failed verification: sha256"):
        weights.resolve_backbone("cspnext-test")
    assert not (hub / "cspnext-test.pth").exists()


def test_missing_backbone_names_its_source_and_training_from_scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    official = "cspnext-l_udp-aic-coco_210e-256x192-273b7631_20230130.pth"
    with pytest.raises(WeightsError) as caught:
        weights.resolve_backbone(f"checkpoints/{official}")  # the recipes' old form: a path not there
    message = str(caught.value)
    assert f"pretrained backbone not found: checkpoints/{official}" in message
    assert f"https://download.openmmlab.com/mmpose/v1/projects/rtmpose/{official}" in message
    assert 'pretrained_backbone = "cspnext-l-udp"' in message and "train from scratch" in message
    with pytest.raises(WeightsError, match=r"not found: mine\.pth \(neither a file nor a registry name: "
                                           r"cspnext-t-udp, .*train from scratch"):
        weights.resolve_backbone("mine.pth")
    assert not (tmp_path / "checkpoints").exists()  # nothing created, nothing downloaded
    local = tmp_path / "local.pth"
    local.write_bytes(b"\x80weights")
    assert weights.resolve_backbone(str(local)) == local  # a path that exists is used as it is


def test_every_recipe_backbone_is_a_registry_backbone():
    """The recipes name registry backbones (so they download and verify), one per recipe line."""
    from dwpose.training import load_config

    configs = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))
    named = {}
    for config in configs:
        backbone = load_config(config).pretrained_backbone
        if backbone is not None:
            named[config.name] = backbone
            entry = weights.REGISTRY[weights.registry_name(backbone)]
            assert entry.kind == "backbone" and entry.alias == backbone, config.name
            assert "delete this line" in config.read_text(), config.name  # says how to train from scratch
    assert len(named) >= 20 and set(named.values()) <= set(weights.backbone_names())


def test_readme_model_zoo_is_the_registry_output(capsys):
    """The README's model zoo is `dwpose models --markdown` verbatim: the registry is its one home."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- model-zoo:start")
    table = readme[readme.index("\n", start) + 1:readme.index("<!-- model-zoo:end -->")]
    assert main(["models", "--markdown"]) == 0
    assert capsys.readouterr().out == table
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == len(weights.REGISTRY)
    default = next(r for r in rows if "`dw-ll_ucoco_384.onnx`" in r)
    assert weights.REGISTRY["dw-ll_ucoco_384.onnx"].sha256 in default and "| 0.665 |" in default
    assert "| unknown | unknown | 0.701 |" in next(r for r in rows if "rtmw-dw-x-l_simcc-cocktail14_270e-384x288-" in r)
