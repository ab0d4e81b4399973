"""Smoke runs of the benchmark scripts, so that they keep working between GPU sessions."""

import subprocess
import sys

from tests.conftest import ROOT


def test_gpu_benchmark_quick_run_on_cpu():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--quick", "--device", "cpu",
                           "--dtype", "float32"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for needle in ("persons/s", "latency(9) / latency(1)", "frames/s", "it/s", "matmul ceiling"):
        assert needle in done.stdout
