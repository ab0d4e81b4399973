"""`dwpose label --ray` on a local Ray instance (2 CPUs, small object store): the same bytes as
in-process, a killed actor retried without loss or duplicates, a killed driver resumed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from dwpose.cli import main
from dwpose.labelling import LabelOptions, label
from tests.conftest import DATA
from tests.test_label import SAMPLE, config_for, tree

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module")
def ray_address():
    ray.init(num_cpus=2, object_store_memory=96 * 2**20, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(clip):
    return sorted(SAMPLE.glob("*.jpg"))[:2] + [clip]


# 5 shards: 2 images, then frames 0, 3 and 6 of the clip (its tracker goes on across shards).
OPTIONS = dict(shard_size=1, every=3, logits_top_k=4, write_frames=True, progress=False)


@pytest.fixture
def in_process_tree(tmp_path, inputs, pose_onnx):
    """The files of an in-process run into the test's own folder (then emptied again): with
    video frames in the run folder next to still images elsewhere, the file names are relative
    to a folder holding both, so they name the run folder."""
    label(inputs, tmp_path, config_for(pose_onnx, logits_top_k=4, write_frames=True), LabelOptions(**OPTIONS))
    files = tree(tmp_path)
    for path in tmp_path.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return files


def test_ray_writes_the_in_process_bytes_even_when_its_actor_is_killed(tmp_path, ray_address, inputs, pose_onnx,
                                                                        in_process_tree):
    workers: list[int] = []

    def kill_the_worker_once(index, pid):
        workers.append(pid)
        if len(workers) == 1:  # it holds the next shards: they are lost with it and must be redone
            os.kill(pid, signal.SIGKILL)

    summary = label(inputs, tmp_path, config_for(pose_onnx, logits_top_k=4, write_frames=True),
                    LabelOptions(**OPTIONS, ray=True, ray_actors=1), on_shard=kill_the_worker_once)
    assert summary.shards == 5 and summary.failed == 0 and not summary.interrupted
    # One actor: the run could only finish because Ray restarted it (a new pid) and retried the
    # shards it held (results it had finished before the kill may still arrive from the old pid).
    assert os.getpid() not in workers and len(set(workers)) == 2 and workers[-1] != workers[0]
    dataset = json.loads((tmp_path / "annotations.json").read_text())
    assert [i["id"] for i in dataset["images"]] == [1, 2, 3, 4, 5]
    assert [a["id"] for a in dataset["annotations"]] == [1, 2, 3, 4, 5]
    assert tree(tmp_path) == in_process_tree  # nothing lost, nothing written twice, same records


def test_a_killed_driver_resumes_to_the_same_bytes(tmp_path, ray_address, inputs, pose_onnx, in_process_tree):
    command = [sys.executable, "-m", "dwpose", "label", *map(str, inputs), "--out", str(tmp_path),
               "--pose-model", str(pose_onnx), "--no-detector", "--shard-size", "1", "--every", "3",
               "--save-logits", "4", "--write-frames", "--no-progress", "--ray", ray_address, "--ray-actors", "1"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "shards" / "000000.done.json"
    deadline = time.monotonic() + 240
    while not first.exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.kill()  # SIGKILL, by its pid
    driver.wait(timeout=60)
    done = sorted(p.name for p in (tmp_path / "shards").glob("*.done.json"))
    assert 1 <= len(done) < 5 and not (tmp_path / "annotations.json").exists()
    # A new driver (here in-process; the executor does not matter to the files) finishes the run
    # as an uninterrupted one would have.
    summary = label(inputs, tmp_path, config_for(pose_onnx, logits_top_k=4, write_frames=True), LabelOptions(**OPTIONS))
    assert summary.shards_before == len(done)
    assert tree(tmp_path) == in_process_tree


def test_an_unreachable_ray_address_is_one_line_and_exit_2(tmp_path, pose_onnx, capsys):
    code = main(["label", str(DATA / "media" / "human-pose.jpeg"), "--out", str(tmp_path), "--pose-model",
                 str(pose_onnx), "--no-detector", "--no-progress", "--ray", "127.0.0.1:9"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error
    assert error.startswith("dwpose label: error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert not (tmp_path / "manifest.json").exists()
