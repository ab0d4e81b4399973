"""`dwpose synth`: a synthetic COCO-WholeBody dataset (`dwpose.data.synth`). The command parses
and checks its values here (one clear line and exit 2 for a bad one, naming the option) and
hands the data layer a checked `SynthSpec`."""

from __future__ import annotations

import argparse
import re
import sys

from ..errors import InputError


def add_synth_parser(sub) -> None:
    # Values are validated by the command (one clear line and exit 2 for a bad one), not argparse.
    p = sub.add_parser("synth", help="generate a synthetic COCO-WholeBody dataset (rendered people, exact labels)")
    p.add_argument("out", help="output folder: images/, annotations.json, boxes.json (a new or empty folder, or an "
                               "interrupted run of the same values, which resumes)")
    p.add_argument("--num", required=True, help="number of images")
    p.add_argument("--seed", default="0", help="random seed; the same seed gives the same files (default 0)")
    p.add_argument("--size", default="256x256", help="image size WxH (default 256x256)")
    p.add_argument("--persons", default=None,
                   help="people per image: K (1..K) or A..B (default: the preset's, 1 / 1..2 / 1..3)")
    p.add_argument("--preset", default=None,
                   help="difficulty: easy (one large person, front to 3/4 view, plain background, no occluders), "
                        "medium, hard (default: people of any size and view, cut by the border, occluders, clutter)")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset dwpose synth wrote there (only its files are removed)")
    p.add_argument("--workers", default=None, help="processes (default: one per CPU core)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_synth)


# --------------------------------------------------------------------------- values

def parse_count(text: str | int, what: str, low: int, high: int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(f"{what} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise InputError(f"{what} must be between {low} and {high}, got {value}")
    return value


def parse_size(text: str, low: int, high: int) -> tuple[int, int]:
    """'WxH' -> (width, height), each side in [low, high]."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise InputError(f"--size must look like 256x256 (width x height), got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    for name, value in (("width", width), ("height", height)):
        if not low <= value <= high:
            raise InputError(f"--size {name} must be between {low} and {high} pixels, got {value}")
    return width, height


def parse_persons(text: str, most: int) -> tuple[int, int]:
    """'K' (1 to K people per image) or 'A..B'; at most `most`."""
    match = re.fullmatch(r"\s*(?:(\d+)\s*\.\.\s*)?(\d+)\s*", str(text))
    if not match:
        raise InputError(f"--persons must be K or A..B (people per image), got {text!r}")
    low, high = int(match.group(1) or 1), int(match.group(2))
    if not 1 <= low <= high <= most:
        raise InputError(f"--persons must satisfy 1 <= A <= B <= {most}, got {text!r}")
    return low, high


def parse_preset(text: str | None, names: tuple[str, ...], default: str) -> str:
    """A preset name (None: `default`)."""
    name = default if text is None else str(text).strip().lower()
    if name not in names:
        raise InputError(f"--preset must be one of {', '.join(names)}, got {text!r}")
    return name


def synth_spec(args: argparse.Namespace):
    """The checked `SynthSpec` of the options (people per image: the preset's unless given)."""
    from ..data.synth.parts import MAX_PERSONS
    from ..data.synth.scene import DEFAULT_PRESET, PRESET_NAMES, PRESETS
    from ..data.synth.writer import MAX_IMAGES, MAX_SIDE, MIN_SIDE, SynthSpec

    width, height = parse_size(args.size, MIN_SIDE, MAX_SIDE)
    preset = parse_preset(args.preset, PRESET_NAMES, DEFAULT_PRESET)
    low, high = parse_persons(args.persons, MAX_PERSONS) if args.persons is not None else PRESETS[preset].persons
    num, seed = parse_count(args.num, "--num", 1, MAX_IMAGES), parse_count(args.seed, "--seed", 0, 2**63 - 1)
    return SynthSpec(num=num, seed=seed, width=width, height=height, min_persons=low, max_persons=high, preset=preset)


# --------------------------------------------------------------------------- the run

def run_synth(args: argparse.Namespace) -> int:
    from ..data.synth import generate_dataset

    spec = synth_spec(args)
    workers = parse_count(args.workers, "--workers", 1, 256) if args.workers is not None else None
    try:
        summary = generate_dataset(args.out, spec, overwrite=args.overwrite, workers=workers,
                                   progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"dwpose synth: interrupted; run the same command again to resume in {args.out}", file=sys.stderr)
        return 130
    resumed = f" ({summary['resumed']} done by an earlier run)" if summary["resumed"] else ""
    print(f"wrote {summary['images']} images{resumed} with {summary['people']} annotated people to {args.out} "
          f"({summary['images_per_second']:.0f} images/s, {summary['workers']} worker(s)); "
          f"annotations: {summary['annotation_file']}, images: {summary['image_dir']}")
    return 0
