"""`dwpose train`, `dwpose distill`, `dwpose eval`, `dwpose ubody-extract`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError


def _overrides(pairs: list[str]) -> dict:
    """`--set key=value` pairs; values parsed as JSON when possible (numbers, booleans, null)."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="TOML recipe (see configs/)")
    p.add_argument("--work-dir", default=None, help="checkpoints and logs (default work_dirs/<config name>)")
    p.add_argument("--resume", nargs="?", const="auto", default=None,
                   help="continue from a checkpoint (default: <work-dir>/last.pth)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda when available)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set epochs=10 --set val.det_file=dets.json")
    p.add_argument("--no-progress", action="store_true")


def run_train(args: argparse.Namespace, stage: int | None = None, distill: bool = False) -> int:
    """`dwpose train` (`distill=False`) or `dwpose distill`: the stage is `stage`, else
    `args.stage`, else the recipe's `distill.stage`."""
    from ..training import Trainer, load_config
    from ..errors import ConfigError

    overrides = _overrides(args.set)
    distill = distill or stage is not None
    stage = stage if stage is not None else getattr(args, "stage", None)
    if distill and getattr(args, "teacher_checkpoint", None):
        overrides["distill.teacher_checkpoint"] = args.teacher_checkpoint
    config = load_config(args.config, overrides)
    if distill:
        if config.distill is None:
            raise ConfigError(f"{args.config} has no [distill] section; use `dwpose train` for plain training")
        if stage is not None and config.distill.stage != stage:
            raise ConfigError(f"{args.config} is a stage-{config.distill.stage} recipe, not stage {stage}")
        if config.distill.teacher_checkpoint and not Path(config.distill.teacher_checkpoint).is_file():
            raise ConfigError(f"teacher checkpoint not found: {config.distill.teacher_checkpoint}")
    elif config.distill is not None:
        raise ConfigError(f"{args.config} is a distillation recipe; run it with `dwpose distill` (stage {config.distill.stage})")
    work_dir = Path(args.work_dir or Path("work_dirs") / config.name)
    trainer = Trainer(config, work_dir, device=args.device, progress=not args.no_progress)
    if args.resume:
        path = work_dir / "last.pth" if args.resume == "auto" else Path(args.resume)
        if not path.is_file():
            raise ConfigError(f"nothing to resume: {path} not found")
        trainer.resume(path)
    trainer.train()
    if trainer.rank == 0 and not trainer.stop_requested:
        print(f"done: {trainer.global_iter} iterations; checkpoint {trainer.checkpoint_path}, "
              f"plain model {work_dir / 'final_pose.pth'}")
        if trainer.best_ap >= 0 and (work_dir / "best.pth").is_file():
            print(f"best validation: whole-body AP {trainer.best_ap:.3f} in {work_dir / 'best.pth'} "
                  f"(every validation in {work_dir / 'val_log.jsonl'})")
    return 130 if trainer.stop_requested else 0


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
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


def run_eval(args: argparse.Namespace) -> int:
    from ..data.coco_wholebody import UBODY_EVAL_SCENES
    from ..evaluation.runner import evaluate_model, evaluate_ubody
    from ..models import create_model
    from ..models.registry import detect_model_name

    if args.results:
        from ..data.coco_wholebody import read_json
        from ..evaluation import evaluate_coco_wholebody, load_coco, validate_results
        from ..errors import EvaluationError

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
        if args.out:
            _write_json(args.out, {"stats": stats.to_dict()})
        return 0
    if not args.checkpoint:
        raise InputError("--checkpoint (a model to run) or --results (predictions to score) is required")
    model = create_model(args.model or detect_model_name(args.checkpoint), checkpoint=args.checkpoint)
    progress = not args.no_progress
    if args.ubody_root:
        scenes = args.ubody_scenes.split(",") if args.ubody_scenes else UBODY_EVAL_SCENES
        per_scene = evaluate_ubody(model, args.ubody_root, scenes, args.ubody_split, args.ubody_annotation,
                                   flip_test=not args.no_flip_test, device=args.device, progress=progress)
        for scene, stats in per_scene.items():
            print(f"== {scene}\n{stats.table()}")
        payload = {scene: stats.to_dict() for scene, stats in per_scene.items()}
    else:
        if not args.ann or not args.images:
            raise InputError("--ann and --images are required (or --ubody-root)")
        stats, records = evaluate_model(model, args.ann, args.images, args.dets, flip_test=not args.no_flip_test,
                                        use_area=not args.no_area, device=args.device, progress=progress)
        print(stats.table())
        payload = {"stats": stats.to_dict(), "results": records}
    if args.out:
        _write_json(args.out, payload)
    return 0


def _write_json(path: str, payload: dict) -> None:
    from ..fileio import write_json_atomic

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, payload)


def run_ubody_extract(args: argparse.Namespace) -> int:
    from ..data.ubody import extract_frames

    count = extract_frames(args.videos, args.out, fps=args.fps, progress=not args.no_progress)
    print(f"extracted frames of {count} video(s) into {args.out}")
    return 0 if count else 1


