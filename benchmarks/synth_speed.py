"""Speed of `dwpose synth` (images/s): the generator with 1 worker and with one per core (the
command's own figure, from its first image to its last), and the command end to end (Python's
start-up and the annotation file included). Writes its own section of RESULTS.md.

    python benchmarks/synth_speed.py [--num 200] [--out benchmarks/RESULTS.md]

A few hundred images at the command's default settings (256x256, 1-3 people, seed 0): seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results import load_average, write_section  # noqa: E402
from dwpose.data.synth import SynthSpec, generate_dataset  # noqa: E402

HEADING = "## Synthetic data: generation speed (dwpose synth)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=200, help="images per run (default 200)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--no-results", action="store_true", help="print the section only")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    spec = SynthSpec(num=args.num, seed=0)  # the command's defaults
    load_before = load_average()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dwpose-synth-speed-") as tmp:
        for workers in sorted({1, cores}):
            summary = generate_dataset(Path(tmp) / f"w{workers}", spec, workers=workers, progress=False)
            rows.append((f"generator, {workers} worker(s)", summary["images_per_second"], summary["seconds"],
                         summary["people"]))
        # The command as a user runs it: a fresh interpreter, default workers (one per core).
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dwpose", "synth", str(Path(tmp) / "cli"), "--num", str(args.num),
                        "--seed", "0", "--no-progress"], check=True, cwd=ROOT, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - start
        rows.append((f"`dwpose synth` end to end ({cores} workers, Python start-up included)", args.num / seconds,
                     seconds, rows[-1][3]))
    lines = [HEADING, "",
             f"{date.today().isoformat()}, `benchmarks/synth_speed.py`: {platform.machine()}, {cores} cores, Python "
             f"{platform.python_version()}; load average (1/5/15 min) before {load_before}, after {load_average()} "
             "(a shared machine: other work lowers the rates).",
             f"`dwpose synth OUT --num {args.num} --seed 0` at its defaults ({spec.width}x{spec.height}, "
             f"{spec.min_persons}-{spec.max_persons} people per image); one run per row.", "",
             "| run | images | people | s | images/s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {label} | {args.num} | {people} | {seconds:.1f} | {rate:.0f} |" for label, rate, seconds, people in rows]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_results:
        write_section(args.out, HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
