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
    RangeHandler.files = {}
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
