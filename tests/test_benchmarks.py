"""Smoke run of the device script (and through it benchmarks/gpu.py --quick), on the CPU, so that
both keep working between the sessions that are lent a GPU."""

import os
import subprocess
import sys

from tests.conftest import ROOT

CPU_SECTION = "# CPU benchmark (2026-01-01)\n\n| case | ms |\n|---|---:|\n| 1 person | 100.0 |\n"
PLACEHOLDER = "\n## GPU\n\nNot measured yet: no GPU was lent to the session that wrote `benchmarks/gpu.py`.\n"


def test_device_check_quick_run_on_cpu(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(CPU_SECTION + PLACEHOLDER)
    out = tmp_path / "out"
    # Through the one-line wrapper the device session calls, with this interpreter.
    done = subprocess.run([str(ROOT / "benchmarks" / "device_check"), "--quick", "--device", "cpu",
                           "--results", str(results), "--out-dir", str(out)],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    text = results.read_text()
    # The CPU section stays, the placeholder goes, the GPU section follows it.
    assert text.startswith(CPU_SECTION) and "Not measured yet" not in text and "## GPU (" in text
    # Correctness: the device placement (forced on the CPU) equals the CPU path exactly, crops too,
    # with tqdm, PIL, albumentations and xtcocotools unimportable.
    assert "tqdm, PIL, albumentations, xtcocotools blocked" in text
    assert "| cpu float32, whole pipeline (device placement) vs CPU | 0.0000 | 100.00% |" in text
    assert "| cpu float32 + flip test (device placement) vs CPU + flip test | 0.0000 | 100.00% |" in text
    assert "byte-identical, max difference 0 grey levels" in text and "**float32 cpu vs CPU: PASS**" in text
    assert "bfloat16 vs cpu float32" in text
    # benchmarks/gpu.py --quick ran every row in its child process.
    assert "### gpu.py --quick (eager)" in text
    for needle in ("persons/s", "latency(9) / latency(1)", "frames/s", "it/s", "matmul ceiling"):
        assert needle in text, needle
    assert (out / "device_check.md").read_text().strip() in text and (out / "gpu_eager.log").exists()
