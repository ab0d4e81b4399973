import errno
import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from dwpose import weights
from dwpose.cli import main
from dwpose.weights import WeightFile, WeightsError, resolve_weights

PAYLOAD = bytes(range(256)) * 64  # 16 KiB
# What a hub, proxy or captive portal sends with status 200 instead of the file.
ERROR_PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Log in to continue</body></html>\n"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /<owner>/<repo>/resolve/main/<file>, honouring Range requests."""

    requests: list = []

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range")))
        if self.path.endswith("/page.bin"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(ERROR_PAGE)))
            self.end_headers()
            self.wfile.write(ERROR_PAGE)
            return
        if not self.path.endswith("/good.bin"):
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RangeHandler.requests = []
    monkeypatch.setenv("DWPOSE_HUB_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("DWPOSE_HOME", str(tmp_path / "cache"))
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    monkeypatch.setitem(weights.REGISTRY, "good.bin", WeightFile("good.bin", "test/repo", "x", "pose", len(PAYLOAD), sha))
    monkeypatch.setitem(weights.REGISTRY, "tampered.bin", WeightFile("good.bin", "test/repo", "x", "pose", len(PAYLOAD), "0" * 64))
    monkeypatch.setitem(weights.REGISTRY, "missing.bin", WeightFile("missing.bin", "test/repo", "x", "pose"))
    # Served the error page: one with the real file's size and hash in the registry, one unknown.
    monkeypatch.setitem(weights.REGISTRY, "page.bin", WeightFile("page.bin", "test/repo", "x", "pose", len(PAYLOAD), sha))
    monkeypatch.setitem(weights.REGISTRY, "page-unknown.bin", WeightFile("page.bin", "test/repo", "x", "pose"))
    monkeypatch.setitem(weights.REGISTRY, "unknown.bin", WeightFile("good.bin", "test/repo", "x", "pose"))
    yield tmp_path / "cache"
    server.shutdown()


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
    for name in (weights.DEFAULT_POSE, weights.DEFAULT_DETECTOR, "dw-ll_ucoco_384.pth"):
        entry = weights.REGISTRY[name]
        assert entry.size > 1_000_000 and len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0, name


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
