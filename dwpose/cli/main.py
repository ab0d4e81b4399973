"""`dwpose` command line: the parser assembled from the command modules, and the dispatch. Every
command reports a user error (a `DWPoseError` or an `OSError`) as one line on stderr and exit
code 2; any other exception is a bug and shows its traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from ..errors import DWPoseError, one_line

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .comfyui import add_comfyui_parser
    from .convert import add_convert_parser
    from .eval import add_eval_parser
    from .export import add_export_parser
    from .label import add_label_parser
    from .models import add_models_parser
    from .options import HelpFormatter, shared_help
    from .predict import add_demo_parser, add_predict_parser
    from .serve import add_serve_parser
    from .synth import add_synth_parser
    from .train import add_train_parsers
    from .ubody import add_ubody_parser

    parser = argparse.ArgumentParser(prog="dwpose", description="DWPose whole-body pose estimation")
    # the distribution's name beside the version: `pip install dwpose` is another project
    parser.add_argument("--version", action="version", version=f"dwpose-toolkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    # in the order `dwpose --help` lists them
    for add in (add_models_parser, add_convert_parser, add_export_parser, add_predict_parser, add_label_parser,
                add_train_parsers, add_eval_parser, add_ubody_parser, add_demo_parser, add_serve_parser,
                add_comfyui_parser, add_synth_parser):
        add(sub)
    helps = shared_help()
    for command in (parser, *sub.choices.values()):
        command.formatter_class = HelpFormatter
        for action in command._actions:
            if action.help is None and action.dest in helps:
                action.help = helps[action.dest]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except (DWPoseError, OSError) as exc:
        # User errors only: anything else is a bug and keeps its traceback.
        print(f"dwpose {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"dwpose {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
