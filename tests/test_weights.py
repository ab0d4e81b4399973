import hashlib
import http.server
import threading

import pytest

from dwpose import weights
from dwpose.cli import main
from dwpose.weights import WeightFile, WeightsError, resolve_weights

PAYLOAD = bytes(range(256)) * 64  # 16 KiB


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /<owner>/<repo>/resolve/main/<file>, honouring Range requests."""

    requests: list = []

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range")))
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
