"""RESULTS.md is shared by every benchmark: each owns one "## " section and rewrites only that.
Every line of RESULTS.md is written by a script through `write_section`; nothing is typed by hand."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dwpose.fileio import write_text_atomic  # noqa: E402


def cpu_name() -> str:
    """The processor's model name (Linux), else what platform knows, else "unknown CPU"."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The machine's 1/5/15-minute load average: every CPU section records it (a shared machine)."""
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _heading_at(text: str, heading: str) -> int:
    """Offset of the first line that starts with `heading` (at a line start: "## GPU" must not
    match inside "### GPU"), or -1."""
    if text.startswith(heading):
        return 0
    found = text.find("\n" + heading)
    return found + 1 if found >= 0 else -1


def replace_section(text: str, heading: str, section: str) -> str:
    """`text` with the section that starts at `heading` (up to the next "## ") replaced by
    `section`, or with `section` appended; every other section stays as it was."""
    section = section.strip("\n") + "\n"
    start = _heading_at(text, heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section if text.strip() else section
    end = text.find("\n## ", start + 1)
    rest = text[end + 1:] if end >= 0 else ""
    return text[:start] + section + ("\n" + rest if rest else "")


def write_section(path: str | os.PathLike, heading: str, section: str) -> None:
    """Replace (or append) one benchmark's section of the RESULTS.md at `path`, atomically."""
    path = Path(path)
    write_text_atomic(path, replace_section(path.read_text() if path.exists() else "", heading, section))


def main(argv: list[str] | None = None) -> int:
    """Bring a section a script wrote elsewhere (e.g. the device machine's device_check.md,
    returned in $OUT) into RESULTS.md unchanged: its first line is its heading."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    parser.add_argument("section", type=Path, help="a Markdown file holding one section written by a benchmark")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    args = parser.parse_args(argv)
    try:
        text = args.section.read_text()
    except OSError as error:
        print(f"results: cannot read {args.section}: {error.strerror}", file=sys.stderr)
        return 2
    heading = text.lstrip("\n").split("\n", 1)[0]
    if not heading.startswith("## "):
        print(f"results: {args.section} does not start with a '## ' heading", file=sys.stderr)
        return 2
    write_section(args.out, heading, text)
    print(f"results: section {heading!r} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
