"""RESULTS.md is shared by every benchmark: each owns one "## " section and rewrites only that."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dwpose.fileio import write_text_atomic  # noqa: E402


def replace_section(text: str, heading: str, section: str) -> str:
    """`text` with the section that starts at `heading` (up to the next "## ") replaced by
    `section`, or with `section` appended; every other section stays as it was."""
    section = section.strip("\n") + "\n"
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section if text.strip() else section
    end = text.find("\n## ", start + len(heading))
    rest = text[end + 1:] if end >= 0 else ""
    return text[:start] + section + ("\n" + rest if rest else "")


def write_section(path: str | os.PathLike, heading: str, section: str) -> None:
    """Replace (or append) one benchmark's section of the RESULTS.md at `path`, atomically."""
    path = Path(path)
    write_text_atomic(path, replace_section(path.read_text() if path.exists() else "", heading, section))
