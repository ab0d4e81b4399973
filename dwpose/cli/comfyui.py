"""`dwpose comfyui-install`: the dwpose nodes into a ComfyUI checkout's custom_nodes folder."""

from __future__ import annotations

import argparse


def add_comfyui_parser(sub) -> None:
    from ..integrations.comfyui.install import DEFAULT_NODE_FOLDER

    p = sub.add_parser("comfyui-install",
                       help=f"add the dwpose nodes to a ComfyUI checkout (custom_nodes/{DEFAULT_NODE_FOLDER})")
    p.add_argument("comfyui", help="the ComfyUI folder (or its custom_nodes folder)")
    p.add_argument("--name", default=DEFAULT_NODE_FOLDER,
                   help=f"folder name under custom_nodes (default: {DEFAULT_NODE_FOLDER}; not 'dwpose', which would "
                        "hide the installed package from ComfyUI)")
    p.add_argument("--force", action="store_true", help="overwrite a folder of that name not written by this command")
    p.set_defaults(func=run_comfyui_install)


def run_comfyui_install(args: argparse.Namespace) -> int:
    from ..integrations.comfyui.install import install

    installed = install(args.comfyui, name=args.name, force=args.force)
    if installed.removed is not None:
        print(f"removed {installed.removed}, written by an earlier comfyui-install: under that name ComfyUI "
              "cannot import the dwpose package")
    models = installed.loader.parents[2] / "models" / "dwpose"
    print(f"wrote {installed.loader}; restart ComfyUI to load the dwpose nodes (dwpose-toolkit must be installed "
          f"in ComfyUI's Python); local model files go into {models}")
    return 0
