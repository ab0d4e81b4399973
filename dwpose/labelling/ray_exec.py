"""Labelling on a Ray cluster: Ray Data holds the shards to do, an actor pool runs the pipeline
(one actor per GPU, or N CPU actors, each building its pipeline once), and the results come
back to the driver in shard order, where the same `ShardWriter` as in-process writes them.

Ray retries the work of an actor that dies (Ray Data restarts pool actors and resubmits their
tasks); since only the driver writes, and only whole shards in order, a retried shard is
neither lost nor written twice."""

from __future__ import annotations

import logging
import os
import pickle
import socket
from dataclasses import replace
from typing import Iterator

from ..errors import InputError, RayClusterError
from .engine import LabellerConfig, ShardLabeller, ShardTask, UnitOutput


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (the data library is an extra of the ray package)
    except ImportError:
        raise InputError("--ray needs Ray Data: pip install 'dwpose-toolkit[ray]' (or 'ray[data]')") from None
    return ray


# A client's HTTP/2 connection preface and an empty SETTINGS frame: what a gRPC client sends first.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, with one line, unless a gRPC (HTTP/2) server answers at HOST:PORT: Ray's
    GCS and its client server both speak gRPC. Without this, ray.init retries for a minute when
    nothing listens, and hangs (printing Ray's C++ log lines) when something else does, e.g. a
    web server or a silent one. A TLS cluster (RAY_USE_TLS) gets the TCP check only."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--ray {address}: expected HOST:PORT, ray://HOST:PORT, 'auto' or no value (a local Ray)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as connection:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
                return
            connection.sendall(_HTTP2_PREFACE)
            # An HTTP/2 server's first frame is SETTINGS (9-byte header: length 3, type 1, ...).
            header = b""
            while len(header) < 9:
                chunk = connection.recv(9 - len(header))
                if not chunk:
                    break
                header += chunk
    except socket.timeout:
        raise RayClusterError(f"{address} accepts connections but does not answer as a Ray cluster "
                              f"(no gRPC reply in {timeout:g} s); check the address and port") from None
    except OSError as exc:
        raise RayClusterError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None
    if len(header) < 9 or header[3] != 0x4:
        seen = header[:16].decode("latin-1").split("\r")[0].strip() or "nothing"
        raise RayClusterError(f"{address} is not a Ray cluster (it answered {seen!r}, not gRPC); "
                              "check the address and port")


def connect(address: str | None) -> bool:
    """Join the cluster at `address` ("auto": the one running on this machine; None: start a
    local Ray). Returns whether this call connected (so the caller disconnects at the end);
    a Ray already initialised in this process is used as it is."""
    ray = _import_ray()
    if ray.is_initialized():
        return False
    logging.getLogger("ray").setLevel(logging.WARNING)
    try:
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        else:
            if address != "auto":
                check_reachable(address)
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayClusterError(f"cannot connect to the Ray cluster at {address or 'a new local instance'}: "
                              f"{reason}") from None
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # one line per dataset run otherwise
    return True


class RayShardLabeller:
    """The Ray Data actor: a `ShardLabeller` over pickled shard tasks."""

    def __init__(self, config: LabellerConfig) -> None:
        self.labeller = ShardLabeller(config)

    def __call__(self, batch: dict) -> dict:
        results = []
        for blob in batch["task"]:
            task: ShardTask = pickle.loads(blob)
            results.append(pickle.dumps((task.index, self.labeller(task), os.getpid())))
        return {"result": results}


def label_on_ray(config: LabellerConfig, tasks: list[ShardTask], actors: int | None = None
                 ) -> Iterator[tuple[int, list[UnitOutput], int]]:
    """(shard index, outputs, pid of the actor) for each task, in task order."""
    ray = _import_ray()
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the writer commits shards in order
    context.enable_progress_bars = False             # the driver shows its own
    resources = ray.cluster_resources()
    if config.pipeline_options.get("device", "cpu").startswith("cuda"):
        gpus = int(resources.get("GPU", 0))
        if gpus == 0:
            raise RayClusterError("--device cuda with --ray: the Ray cluster has no GPU")
        # Ray gives each actor its own GPU (CUDA_VISIBLE_DEVICES): it is "cuda" inside.
        config = replace(config, pipeline_options={**config.pipeline_options, "device": "cuda"})
        size, claim = actors or gpus, {"num_gpus": 1}
    else:  # each actor runs as many threads as the CPUs it claims
        threads = config.threads or 1
        config = replace(config, threads=threads)
        size, claim = actors or max(1, int(resources.get("CPU", 1)) // threads), {"num_cpus": threads}
    dataset = ray.data.from_items([{"task": pickle.dumps(task)} for task in tasks],
                                  override_num_blocks=max(1, len(tasks)))
    labelled = dataset.map_batches(RayShardLabeller, fn_constructor_kwargs={"config": config}, batch_size=1,
                                   compute=ray.data.ActorPoolStrategy(size=min(size, max(1, len(tasks)))), **claim)
    for row in labelled.iter_rows():
        yield pickle.loads(row["result"])
