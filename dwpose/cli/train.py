"""`dwpose train` and `dwpose distill` (TPD training): a TOML recipe, overridden by `--set`, run by
`training.Trainer`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError


def add_train_parsers(sub) -> None:
    p = sub.add_parser("train", help="train an RTMPose model from a TOML recipe")
    add_train_arguments(p)
    p.set_defaults(func=lambda args: run_train(TrainOptions.from_args(args, distill=False)))

    p = sub.add_parser("distill", help="two-stage pose distillation (TPD) from a TOML recipe")
    add_train_arguments(p)
    p.add_argument("--stage", type=int, choices=(1, 2), default=None,
                   help="the recipe's TPD stage, checked against it (default: the recipe's distill.stage)")
    p.add_argument("--teacher-checkpoint", default=None, help="override the recipe's teacher weights")
    p.set_defaults(func=lambda args: run_train(TrainOptions.from_args(args, distill=True)))


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="TOML recipe (see configs/)")
    p.add_argument("--work-dir", default=None, help="checkpoints and logs (default work_dirs/<config name>)")
    p.add_argument("--resume", nargs="?", const="auto", default=None,
                   help="continue from a checkpoint (default: <work-dir>/last.pth)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda when available)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set epochs=10 --set val.det_file=dets.json")
    p.add_argument("--no-progress", action="store_true")


@dataclass(frozen=True)
class TrainOptions:
    config: str
    overrides: dict = field(default_factory=dict)   # `--set` (and `--teacher-checkpoint`)
    work_dir: str | None = None
    resume: str | None = None                       # a checkpoint, or "auto": <work-dir>/last.pth
    device: str | None = None
    progress: bool = True
    distill: bool = False                           # `dwpose distill`: the recipe must be a TPD one
    stage: int | None = None                        # checked against the recipe's distill.stage

    @classmethod
    def from_args(cls, args: argparse.Namespace, distill: bool) -> TrainOptions:
        from ..training.config import parse_overrides  # the training package loads torch: only when it runs

        overrides = parse_overrides(args.set)
        stage = args.stage if distill else None
        if distill and args.teacher_checkpoint:
            overrides["distill.teacher_checkpoint"] = args.teacher_checkpoint
        return cls(args.config, overrides, args.work_dir, args.resume, args.device, not args.no_progress, distill,
                   stage)


def run_train(options: TrainOptions) -> int:
    """`dwpose train` or `dwpose distill` (`options.distill`)."""
    from ..training import Trainer, load_config

    config = load_config(options.config, options.overrides)
    _check_recipe(options, config)
    work_dir = Path(options.work_dir or Path("work_dirs") / config.name)
    trainer = Trainer(config, work_dir, device=options.device, progress=options.progress)
    if options.resume:
        path = work_dir / "last.pth" if options.resume == "auto" else Path(options.resume)
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


def _check_recipe(options: TrainOptions, config) -> None:
    """A distillation recipe runs with `distill` (of the stage asked, its teacher present), any
    other with `train`."""
    name, distill = options.config, config.distill
    if not options.distill:
        if distill is not None:
            raise ConfigError(f"{name} is a distillation recipe; run it with `dwpose distill` (stage {distill.stage})")
        return
    if distill is None:
        raise ConfigError(f"{name} has no [distill] section; use `dwpose train` for plain training")
    if options.stage is not None and distill.stage != options.stage:
        raise ConfigError(f"{name} is a stage-{distill.stage} recipe, not stage {options.stage}")
    if distill.teacher_checkpoint and not Path(distill.teacher_checkpoint).is_file():
        raise ConfigError(f"teacher checkpoint not found: {distill.teacher_checkpoint}")
