"""`dwpose eval`: COCO-WholeBody (or UBody) AP of a checkpoint, or of a results file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EvaluationError, InputError


def add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="COCO-WholeBody / UBody AP of a checkpoint")
    p.add_argument("--model", default=None, help="architecture (default: detected from the checkpoint)")
    p.add_argument("--checkpoint", default=None, help=".pth (plain, training or distiller) or .onnx")
    p.add_argument("--results", default=None,
                   help="score a COCO-WholeBody results file (or annotation file, e.g. `dwpose label`'s "
                        "annotations.json, images matched by file name) against --ann instead of a model")
    p.add_argument("--ann", help="COCO-WholeBody annotation file (ground truth)")
    p.add_argument("--images", help="image folder of --ann")
    p.add_argument("--dets", default=None, help="person detection results (COCO format); default: GT boxes")
    p.add_argument("--ubody-root", default=None, help="evaluate the UBody protocol under this root instead")
    p.add_argument("--ubody-split", default=None, help="intra_scene_test_list.npy")
    p.add_argument("--ubody-annotation", default="keypoint_annotation.json", help="UBody annotation file name")
    p.add_argument("--ubody-scenes", default=None, help="comma-separated scenes (default: the 13 evaluation scenes)")
    p.add_argument("--no-flip-test", action="store_true", help="no flip test (mmpose's evaluation uses one)")
    p.add_argument("--no-area", action="store_true", help="OKS area 0.53*w*h instead of the GT 'area'")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--out", default=None, help="write stats (and results) as JSON here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    if args.results:
        payload = score_results(args)
    elif not args.checkpoint:
        raise InputError("--checkpoint (a model to run) or --results (predictions to score) is required")
    else:
        payload = evaluate_checkpoint(args)
    if args.out:
        _write_json(args.out, payload)
    return 0


def score_results(args: argparse.Namespace) -> dict:
    """`--results` (records, or a COCO-style annotation file) against `--ann`; prints the table."""
    from ..data.coco_wholebody import read_json
    from ..evaluation import evaluate_coco_wholebody, load_coco, validate_results

    if not args.ann:
        raise InputError("--results needs --ann (the ground truth)")
    records = read_json(args.results, "results file")
    if isinstance(records, dict) and "annotations" in records:  # e.g. `dwpose label`'s annotations.json
        from ..evaluation import results_from_annotations

        records = results_from_annotations(records, args.ann)
    if not isinstance(records, list):
        raise InputError(f"{args.results}: expected a list of result records or a COCO-style annotation file")
    ground_truth = load_coco(args.ann)
    try:
        validate_results(records, ground_truth.getImgIds(), ground_truth.getCatIds())
    except EvaluationError as exc:
        raise EvaluationError(f"{args.results}: {exc}") from None
    stats = evaluate_coco_wholebody(ground_truth.dataset, records, use_area=not args.no_area)
    print(stats.table())
    return {"stats": stats.to_dict()}


def evaluate_checkpoint(args: argparse.Namespace) -> dict:
    """The checkpoint run on `--ann`/`--images` (or the UBody scenes); prints the table(s)."""
    from ..data.coco_wholebody import UBODY_EVAL_SCENES
    from ..evaluation.runner import evaluate_model, evaluate_ubody
    from ..models import create_model
    from ..models.registry import detect_model_name

    model = create_model(args.model or detect_model_name(args.checkpoint), checkpoint=args.checkpoint)
    progress = not args.no_progress
    if args.ubody_root:
        scenes = args.ubody_scenes.split(",") if args.ubody_scenes else UBODY_EVAL_SCENES
        per_scene = evaluate_ubody(model, args.ubody_root, scenes, args.ubody_split, args.ubody_annotation,
                                   flip_test=not args.no_flip_test, device=args.device, progress=progress)
        for scene, stats in per_scene.items():
            print(f"== {scene}\n{stats.table()}")
        return {scene: stats.to_dict() for scene, stats in per_scene.items()}
    if not args.ann or not args.images:
        raise InputError("--ann and --images are required (or --ubody-root)")
    stats, records = evaluate_model(model, args.ann, args.images, args.dets, flip_test=not args.no_flip_test,
                                    use_area=not args.no_area, device=args.device, progress=progress)
    print(stats.table())
    return {"stats": stats.to_dict(), "results": records}


def _write_json(path: str, payload: dict) -> None:
    from ..fileio import write_json_atomic

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, payload)
