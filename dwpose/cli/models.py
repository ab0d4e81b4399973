"""`dwpose models`: the model names with their family, input size and released files (or the
model zoo as a Markdown table)."""

from __future__ import annotations

import argparse


def add_models_parser(sub) -> None:
    p = sub.add_parser("models", help="list model names with their family, input size and released files")
    p.add_argument("--family", default=None, help="only this family (rtmpose, rtmw, yolox)")
    p.add_argument("--kind", choices=("pose", "detector", "backbone"), default=None,
                   help="only pose models, detectors or the recipes' pretrained backbones")
    p.add_argument("--markdown", action="store_true",
                   help="print the model zoo instead: every released file with its source, size, sha256, the "
                        "authors' whole-body AP and licence, as a Markdown table (the README's)")
    p.set_defaults(func=run_models)


def run_models(args: argparse.Namespace) -> int:
    from ..models.registry import canonical_name, get_config, get_family, list_models
    from ..models.zoo import REGISTRY, zoo_markdown

    if args.markdown:
        print(zoo_markdown(args.kind), end="")
        return 0
    if args.kind == "backbone":  # not models of their own: registry names for `pretrained_backbone`
        print(f"{'name':20s} file")
        for entry in REGISTRY.values():
            if entry.kind == "backbone":
                print(f"{entry.alias:20s} {entry.filename}")
        return 0
    names = list_models(family=args.family, kind=args.kind)  # checks --family
    released = {}
    for entry in REGISTRY.values():
        released[entry.arch] = released.get(entry.arch, 0) + 1
    print(f"{'name':20s} {'family':8s} {'kind':8s} {'input (HxW)':11s} released")
    for name in names:
        family, config = get_family(name), get_config(name)
        width, height = config.input_size
        alias = canonical_name(name)
        note = f"  (alias of {alias})" if alias != name else ""
        files = released.get(alias, 0)  # registry files: `dwpose models --markdown` lists them
        mark = f"{files} file{'s' if files > 1 else ''}" if files else "-"
        print(f"{name:20s} {family.name:8s} {family.kind:8s} {f'{height}x{width}':11s} {mark:8s}{note}".rstrip())
    return 0
