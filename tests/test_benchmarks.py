"""Smoke run of the device script (and through it benchmarks/gpu.py --quick), on the CPU, so that
both keep working between the sessions that are lent a GPU."""

import os
import re
import shutil
import subprocess
import sys

from tests.conftest import DATA, ROOT

SAMPLE = "coco_wholebody_val_sample"
CPU_SECTION = "# CPU benchmark (2026-01-01)\n\n| case | ms |\n|---|---:|\n| 1 person | 100.0 |\n"
LATER_SECTION = "\n## Labelling throughput (dwpose label)\n\n| case | images/s |\n|---|---:|\n| in-process | 2.5 |\n"
OTHER_CARD = "\n## GPU: NVIDIA H200\n\n2026-01-01, an earlier run on another card.\n"


def _device_check():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import device_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return device_check


def test_device_check_prefers_a_sample_copy_at_the_repository_root(tmp_path):
    # The device machine receives the working tree only: a copy at the root comes first.
    device_check = _device_check()
    repo = tmp_path / "repo"
    (repo / "shared" / "data" / SAMPLE).mkdir(parents=True)
    assert device_check.default_data(repo) == repo / "shared" / "data" / SAMPLE
    (repo / SAMPLE).mkdir()
    assert device_check.default_data(repo) == repo / SAMPLE
    assert device_check.COPY_COMMAND == f"cp -r ../shared/data/{SAMPLE} ."
    # ... and git keeps that copy out of commits.
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{SAMPLE}/000000000785.jpg"], cwd=ROOT)
    assert ignored.returncode == 0


def test_device_check_quick_run_on_cpu(tmp_path):
    results = tmp_path / "RESULTS.md"
    own = f"\n## GPU: CPU ({os.cpu_count()} cores)\n\n2026-01-01, an earlier run of this card: replaced.\n"
    results.write_text(CPU_SECTION + OTHER_CARD + own + LATER_SECTION)
    sample = tmp_path / SAMPLE  # a copy, as `cp -r ../shared/data/coco_wholebody_val_sample .` makes
    shutil.copytree(DATA / SAMPLE, sample)
    out = tmp_path / "out"
    # Through the one-line wrapper the device session calls, with this interpreter.
    done = subprocess.run([str(ROOT / "benchmarks" / "device_check"), "--quick", "--device", "cpu",
                           "--results", str(results), "--out-dir", str(out), "--data", str(sample)],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    # The plan comes first, before any work.
    assert done.stdout.startswith("device_check plan: 480 s of work in all"), done.stdout[:500]
    text = results.read_text()
    # This card's earlier section is replaced in place; every other section (CPU, another card,
    # later benchmarks) stays as it was.
    section = f"## GPU: CPU ({os.cpu_count()} cores)\n\n"
    assert text.startswith(CPU_SECTION + OTHER_CARD) and text.endswith(LATER_SECTION)
    assert "an earlier run of this card" not in text and text.count(section) == 1
    # Which images: the first (--quick: one) of the copied sample, named with its folder.
    assert f"Images (1, COCO-WholeBody sample in `{sample.resolve()}`): 000000000785.jpg." in text
    # Correctness: the device placement (forced on the CPU) equals the CPU path exactly, crops too,
    # with every package the device machine lacks unimportable.
    assert "imports limited to what the device machine has" in text
    assert "among them albumentations, PIL, tqdm, xtcocotools" in text
    assert "| cpu float32, whole pipeline (device placement) vs CPU | 0.0000 | 100.00% |" in text
    assert "| cpu float32 + flip test (device placement) vs CPU + flip test | 0.0000 | 100.00% |" in text
    assert "byte-identical, max difference 0 grey levels" in text and "**float32 cpu vs CPU: PASS**" in text
    assert "bfloat16 vs cpu float32" in text
    # benchmarks/gpu.py --quick ran every row in its child process.
    assert "### gpu.py --quick (eager)" in text
    for needle in ("persons/s", "latency(9) / latency(1)", "frames/s", "it/s", "matmul ceiling"):
        assert needle in text, needle
    assert (out / "device_check.md").read_text().strip() in text and (out / "gpu_eager.log").exists()
    # Then synth_tpd.py (--quick: its smoke scale): the expected duration measured on the device,
    # from each run's s/iter, and the run itself left out with a line saying so.
    assert "  3. synth_tpd.py --scale smoke: its expected duration measured here" in done.stdout
    tpd = text[text.index("### synth_tpd.py --scale smoke"):]
    assert re.search(r"^expected duration of --scale smoke on .*: \d+ s \(", tpd, re.M), tpd
    for run in ("teacher (GT)", "student baseline (GT only)", "student, TPD stage 1", "student, TPD stage 1 + 2"):
        assert re.search(rf"^- {re.escape(run)}: [\d.]+ s/iter x \d+ iterations x 2 seed\(s\)", tpd, re.M), run
    assert "The run itself skipped: it is expected to take" in tpd and "--quick measures only" in tpd


def test_model_cost_quick_writes_its_row_and_keeps_other_sections(tmp_path):
    from dwpose import create_model

    results = tmp_path / "RESULTS.md"
    earlier = "\n## Model cost on the CPU (benchmarks/model_cost.py)\n\nan earlier run: replaced.\n"
    results.write_text(CPU_SECTION + earlier + LATER_SECTION)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "model_cost.py"), "--quick",
                           "--models", "rtmpose-t-256x192", "--out", str(results), "--cache", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    text = results.read_text()
    # Its own section is replaced in place; the others stay as they were.
    assert text.startswith(CPU_SECTION) and text.endswith(LATER_SECTION) and "an earlier run" not in text
    assert text.count("## Model cost on the CPU (benchmarks/model_cost.py)") == 1
    assert "`--quick`: a smoke run" in text and "Load average (1/5/15 min) before the timings: " in text
    params = sum(p.numel() for p in create_model("rtmpose-t-256x192").parameters()) / 1e6
    row = re.search(rf"^\| rtmpose-t-256x192 \| 192x256 \| {params:.2f} \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                    r"[\d]+-[\d]+ \| ([\d.]+) \| (\d+) \|$", text, re.M)
    assert row, text
    gflops, file_mib, median_ms, _, growth_mib = map(float, row.groups())
    assert 0.5 < gflops < 5 and 5 < file_mib < 100 and median_ms > 0
    # The child's own growth (session + run of a ~20 MiB model), not a peak inherited from the parent.
    assert 10 < growth_mib < 2000


def test_train_speed_quick_writes_its_section_from_the_trainers_log(tmp_path):
    results = tmp_path / "RESULTS.md"
    earlier = "\n## Training speed on the CPU (benchmarks/train_speed.py)\n\nan earlier run: replaced.\n"
    results.write_text(CPU_SECTION + earlier + LATER_SECTION)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--quick", "--out", str(results),
                           "--cache", str(tmp_path / "cache")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    text = results.read_text()
    assert text.startswith(CPU_SECTION) and text.endswith(LATER_SECTION) and "an earlier run" not in text
    assert text.count("## Training speed on the CPU (benchmarks/train_speed.py)") == 1
    assert "`benchmarks/train_speed.py --quick` (a smoke run" in text and "load average (1/5/15 min) before " in text
    rows = re.findall(r"^\| (\d) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)% \| ([\d.]+) \| ([\d.]+) \|$", text, re.M)
    assert [row[0] for row in rows] == ["0", "1", "2"], text
    for workers, per_iter, data, step, share, rate, first in rows:
        per_iter, data, step = float(per_iter), float(data), float(step)
        # One repeat: the row is that run's means, and data + step fit in the whole iteration
        # (the table rounds to 1 ms). In-process loading (0 workers) takes time; so does starting workers.
        assert step > 0 and data + step <= per_iter + 0.002 and (data > 0 if workers == "0" else data >= 0)
        assert float(first) > 0
        # Images/s is the batch (4 with --quick) over s/iter; data share is data over s/iter.
        assert abs(float(rate) - 4 / per_iter) <= 0.05 + 0.002 / per_iter ** 2
        assert abs(float(share) - 100 * data / per_iter) <= 0.05 + 0.1 / per_iter
