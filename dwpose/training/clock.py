"""Where a training iteration's time goes, as mmengine logs it: waiting for the batch, the step,
and the whole iteration."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import torch


class IterationClock:
    """Per iteration: `data_time` (waiting for the next batch from the loader, its workers'
    start included), `step_time` (forward, backward, optimiser, EMA; on CUDA the device is
    synchronised before the clock is read, so queued kernels are not passed on to the next wait)
    and `time` (since the previous iteration ended: both of those plus the bookkeeping between
    them). `record()` gives their means over the iterations since the last record."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.ended = time.perf_counter()
        self._reset()

    def _reset(self) -> None:
        self.sums = {"data_time": 0.0, "step_time": 0.0, "time": 0.0}
        self.count = 0

    def batches(self, loader: Iterable) -> Iterator:
        """The loader's batches, timing each wait (from the request to the batch in hand)."""
        start = time.perf_counter()
        iterator = iter(loader)  # with workers, this starts them: part of the first wait
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            self.step_started = time.perf_counter()
            self.sums["data_time"] += self.step_started - start
            yield batch
            start = time.perf_counter()  # resumed: the next batch is asked for

    def step_done(self) -> None:
        """Call right after the step on the batch last yielded by `batches`."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.sums["step_time"] += now - self.step_started
        self.sums["time"] += now - self.ended
        self.ended = now
        self.count += 1

    def record(self) -> dict[str, float]:
        """Mean seconds per iteration since the last record (or the start)."""
        means = {key: value / max(1, self.count) for key, value in self.sums.items()}
        self._reset()
        return means
