"""The training loop: one GPU/CPU or many through torchrun (DDP, SyncBN), AMP, gradient
clipping, EMA, periodic validation, atomic checkpoints that resume to the same result.

A checkpoint holds model, EMA, optimiser, scaler, position (epoch, iteration) and RNG states.
The data order and every sample's augmentation derive from (seed, epoch, index), so resuming
mid-epoch replays exactly the remaining batches."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import signal
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Subset

from ..data import AugmentConfig, Sample, TopDownTrainDataset, load_annotations, load_boxes, load_ubody
from ..data.coco_wholebody import recorded_image_root
from ..data.transforms import pipeline_stages
from ..data.coco_wholebody import UBODY_SCENES, load_detections, read_json
from ..data.dataset import epoch_indices
from ..data.teacher_logits import StoredLogits
from ..backends import torch_dtype
from ..distillation import PoseDistiller
from ..distillation.losses import KLDiscretLoss
from ..errors import CheckpointError, DatasetError, InputError
from ..fileio import save_torch_atomic
from ..models import TopdownPoseModel, create_model
from ..models.checkpoint import extract_state_dict, read_checkpoint_file
from ..models.registry import describe_state_dict, load_state_dict_strict
from .clock import IterationClock
from .config import TrainConfig, ValConfig
from .optim import ExpMomentumEMA, lr_factor, param_groups


class SupervisedPoseLoss(nn.Module):
    """The loss of plain (supervised) pose training: a pose model with its ground-truth SimCC
    loss (the model family's reference loss); `forward` returns the loss terms, as the
    distillation counterpart `PoseDistiller` does. Holds the model's children (backbone, neck
    where there is one, head) under their own names, so its state dict is a plain pose state
    dict; the model's forward runs on those same modules."""

    def __init__(self, model: TopdownPoseModel) -> None:
        super().__init__()
        for name, child in model.named_children():
            self.add_module(name, child)
        # A bound method, not a submodule: registering the model would duplicate every key.
        self.network = model.forward
        self.input_size = model.input_size
        self.gt_loss = KLDiscretLoss.for_model(model)

    def forward(self, images, labels, weights, epoch, max_epochs):
        return {"loss_kpt": self.gt_loss(self.network(images), labels, weights)}

    def deploy_state_dict(self, state_dict=None):
        return dict(state_dict if state_dict is not None else self.state_dict())


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world


def build_samples(config: TrainConfig, input_size: tuple[int, int] | None = None, kd_beta: float | None = None
                  ) -> tuple[list[Sample], list[tuple[int, float]]]:
    """The training samples, source after source, and (samples, sampling weight) of each
    source: COCO-WholeBody + UBody together (weight 1), then each `data.extra` source. With
    offline teacher logits each sample carries its source's stored logits."""
    data = config.data
    samples: list[Sample] = []
    if data.coco_ann:
        if not data.coco_images:
            raise DatasetError("data.coco_images is required with data.coco_ann")
        if not Path(data.coco_images).is_dir():
            raise DatasetError(f"COCO image folder not found: {data.coco_images}")
        samples += load_annotations(data.coco_ann, data.coco_images, train=True)
    if data.ubody_root:
        samples += load_ubody(data.ubody_root, data.ubody_scenes or UBODY_SCENES, train=True, split_list=data.ubody_split)
    if not data.coco_ann and not data.ubody_root and not data.extra:
        raise DatasetError("no training data: set data.coco_ann/coco_images, data.ubody_root or [[data.extra]] sources")
    groups = [(len(samples), 1.0)] if samples else []
    offline = config.distill is not None and config.distill.teacher_logits == "offline"
    for number, source in enumerate(data.extra):
        name = source.name or f"data.extra[{number}]"
        images = source.images or recorded_image_root(source.ann)
        if images is None:
            raise DatasetError(f"{name}: no `images` folder given and {source.ann} records no image_root")
        if not Path(images).is_dir():
            raise DatasetError(f"{name}: image folder not found: {images}")
        part = (load_annotations(source.ann, images, train=True) if source.keypoints
                else load_boxes(source.ann, images))
        if offline:
            stored = StoredLogits(source.logits)
            if input_size is not None:
                stored.check_input_size(input_size)
            if kd_beta is not None:
                stored.check_beta(kd_beta)
            for sample in part:
                if sample.meta["annotation_id"] not in stored:
                    raise DatasetError(f"{name}: annotation id {sample.meta['annotation_id']} has no stored logits in "
                                       f"{source.logits} (not the run that wrote {source.ann}?)")
                sample.meta["teacher_logits"] = stored
        samples += part
        groups.append((len(part), float(source.weight)))
    return samples, groups


class Trainer:
    def __init__(self, config: TrainConfig, work_dir: str | os.PathLike, device: str | None = None,
                 progress: bool = True) -> None:
        self.config = config
        self.work_dir = Path(work_dir)
        if self.work_dir.exists() and not self.work_dir.is_dir():
            raise InputError(f"work dir {self.work_dir} is a file, not a folder; pass another --work-dir")
        self.rank, self.local_rank, self.world = _distributed()
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if device is None:
            device = f"cuda:{self.local_rank}" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.progress = progress and self.rank == 0
        self.stop_requested = False
        if config.val is not None:  # before any step: a bad set would otherwise fail only at the first validation
            check_validation_set(config.val)
        # Test hook: with DWPOSE_TRAIN_TRACE=<folder> each process writes rank<r>.json (the sample
        # indices it trained on, a hash of its final weights) so a test can check the DDP split/sync.
        self.trace_dir = os.environ.get("DWPOSE_TRAIN_TRACE") or None
        self.seen: list[int] = []

        torch.manual_seed(config.seed)
        self.module = self._build_module().to(self.device)
        if self.world > 1 and self.device.type == "cuda":  # SyncBN is CUDA-only; CPU (gloo) keeps local BN
            self.module = nn.SyncBatchNorm.convert_sync_batchnorm(self.module)
        self.ema = ExpMomentumEMA(self.module, config.ema_momentum, config.ema_gamma)
        self.optimizer = torch.optim.AdamW(param_groups(self.module, config.weight_decay), lr=config.lr,
                                           betas=(0.9, 0.999), eps=1e-8)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.amp == "fp16")
        self.net = (nn.parallel.DistributedDataParallel(self.module, device_ids=[self.device.index] if self.device.type == "cuda" else None)
                    if self.world > 1 else self.module)

        samples, self.source_groups = build_samples(config, self.module.input_size,
                                                    getattr(self.module, "kd_beta", None))
        first, second = (pipeline_stages(config.pipeline, tuple(config.scale_factor), config.rotate_factor)
                         if config.augment else (AugmentConfig.none(), AugmentConfig.none()))
        self.dataset = TopDownTrainDataset(samples, self.module.input_size, first, seed=config.seed,
                                           switch_epoch=config.effective_switch_epoch, stage_b=second)
        # Every epoch draws the same number of samples (the sources' weights fix it).
        self.epoch_length = len(epoch_indices(self.source_groups, config.seed, 0))
        self.iters_per_epoch = max(1, -(-self.epoch_length // (config.batch_size * self.world)))
        self.epoch, self.iter_in_epoch, self.global_iter = 0, 0, 0
        self.best_ap = -1.0
        self.val_pending = False  # saved just before a validation that has not finished yet
        # The trained model's own normalisation (its non-persistent buffers; SupervisedPoseLoss does not
        # register the model itself, so they are moved here).
        self.mean, self.std = self.pose_model.mean.to(self.device), self.pose_model.std.to(self.device)

    # ------------------------------------------------------------------ building
    def _build_module(self) -> nn.Module:
        c = self.config
        if c.distill is None:
            model = self.pose_model = create_model(c.model, eval_mode=False)
            if c.pretrained_backbone:
                self._load_backbone(model, c.pretrained_backbone)
            return SupervisedPoseLoss(model)
        d = c.distill
        offline = d.teacher_logits == "offline"  # no teacher model: its logits come with the batches
        distiller = PoseDistiller.build(d.stage, c.model, None if offline else d.teacher_model, d.teacher_checkpoint,
                                        alpha_fea=d.alpha_fea, kd_weight=d.kd_weight, teacher_bn_mode=d.teacher_bn_mode,
                                        gt_loss=d.gt_loss, feature_loss=d.feature_loss, decay=d.decay)
        self.pose_model = distiller.student
        if c.pretrained_backbone and d.stage == 1:
            self._load_backbone(distiller.student, c.pretrained_backbone)
        return distiller

    @staticmethod
    def _load_backbone(model: TopdownPoseModel, name_or_path: str) -> None:
        from ..models.zoo import resolve_backbone

        path = str(resolve_backbone(name_or_path))  # a path, or a registry name (download, cache)
        content = read_checkpoint_file(path)
        state = content.get("state_dict", content) if isinstance(content, dict) else content
        backbone = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
        load_state_dict_strict(model.backbone, backbone, source=path)

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.work_dir / "last.pth"

    def state(self) -> dict:
        stage = self.config.distill.stage if self.config.distill else None
        ema_state = self.ema.module.state_dict()
        return {
            "model": self.module.state_dict(), "ema": ema_state, "ema_steps": self.ema.steps,
            "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "iter_in_epoch": self.iter_in_epoch, "global_iter": self.global_iter,
            "best_ap": self.best_ap, "val_pending": self.val_pending,
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
            "config": dataclasses.asdict(self.config),
            "meta": {"distill_stage": stage, "model": self.config.model, "kind": "distiller" if stage else "pose"},
        }

    def save(self, path: Path | None = None) -> None:
        if self.rank != 0:
            return
        self.work_dir.mkdir(parents=True, exist_ok=True)
        save_torch_atomic(self.state(), path or self.checkpoint_path)

    def resume(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint written by `save` (read with the package's allow-listed
        reader, never a free unpickler); anything else is one CheckpointError saying what the
        file is and what resuming needs."""
        state = read_checkpoint_file(path)
        missing = [key for key in RESUME_KEYS if not isinstance(state, Mapping) or key not in state]
        if missing:
            raise CheckpointError(f"cannot resume from {path}: it is {_what_checkpoint(state)}; --resume needs the "
                                  "training checkpoint that `dwpose train` writes (work_dirs/<name>/last.pth, with "
                                  "the optimiser, EMA, RNG states and position)")
        meta = state.get("meta") if isinstance(state.get("meta"), Mapping) else {}
        stage = self.config.distill.stage if self.config.distill else None
        if meta.get("model", self.config.model) != self.config.model or meta.get("distill_stage", stage) != stage:
            written = f"{meta.get('model')}" + (f" (distillation stage {meta['distill_stage']})" if meta.get("distill_stage") else "")
            wanted = self.config.model + (f" (distillation stage {stage})" if stage else "")
            raise CheckpointError(f"cannot resume from {path}: it was written by a run of {written}, this recipe trains {wanted}")
        load_state_dict_strict(self.module, state["model"], source=str(path))
        load_state_dict_strict(self.ema.module, state["ema"], source=str(path))
        self.ema.steps = state["ema_steps"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.iter_in_epoch, self.global_iter = state["epoch"], state["iter_in_epoch"], state["global_iter"]
        self.best_ap = state.get("best_ap", -1.0)
        self.val_pending = bool(state.get("val_pending", False))
        torch.set_rng_state(state["rng"]["torch"].cpu())
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])

    # ------------------------------------------------------------------ loop
    def _loader(self, epoch: int, start_iter: int) -> DataLoader:
        self.dataset.set_epoch(epoch)
        indices = epoch_indices(self.source_groups, self.config.seed, epoch)  # all samples once, unless weighted
        permutation = torch.randperm(len(indices), generator=torch.Generator().manual_seed(self.config.seed + epoch))
        order = indices[permutation.numpy()].tolist()
        # Every process must run the same number of steps (DDP would hang): pad like DistributedSampler.
        padded = -(-len(order) // self.world) * self.world
        order += order[: padded - len(order)]
        per_rank = order[self.rank::self.world]
        per_rank = per_rank[start_iter * self.config.batch_size:]
        return DataLoader(Subset(self.dataset, per_rank), batch_size=self.config.batch_size, shuffle=False,
                          num_workers=self.config.workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=False)

    def _set_lr(self) -> float:
        c = self.config
        factor = lr_factor(self.global_iter, self.iters_per_epoch, c.warmup_iters, c.warmup_factor,
                           c.effective_cosine_start, c.effective_schedule_epochs, c.eta_min_factor)
        for group in self.optimizer.param_groups:
            group["lr"] = c.lr * factor
        return c.lr * factor

    def _step(self, batch: dict) -> dict[str, float]:
        c = self.config
        images = (batch["image"].to(self.device, non_blocking=True).float() - self.mean) / self.std
        labels = (batch["labels_x"].to(self.device), batch["labels_y"].to(self.device))
        weights = batch["weights"].to(self.device)
        lr = self._set_lr()
        amp_dtype = torch_dtype(c.amp) if c.amp != "none" else None
        extra = {}
        if "teacher_x" in batch:  # offline distillation: the teacher's stored logits
            extra["teacher_logits"] = (batch["teacher_x"].to(self.device), batch["teacher_y"].to(self.device))
        with torch.autocast(self.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            losses = self.net(images, labels, weights, self.epoch, c.epochs, **extra)
        total = sum(v for k, v in losses.items() if k.startswith("loss"))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if c.clip_grad:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], c.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.ema.update(self.module)
        return {"loss": float(total.detach()), **{k: float(v.detach()) for k, v in losses.items()}, "lr": lr}

    def _request_stop(self, signum, frame) -> None:
        self.stop_requested = True

    def train(self) -> dict:
        """Run until `epochs` (or `max_iters`); returns the last logged values."""
        from ..progress import progress as progress_bar

        c = self.config
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.work_dir / "train_log.jsonl"
        handlers = {s: signal.signal(s, self._request_stop) for s in (signal.SIGINT, signal.SIGTERM)} \
            if self.rank == 0 and _main_thread() else {}
        last: dict = {}
        total_iters = c.epochs * self.iters_per_epoch if c.max_iters is None else min(c.max_iters, c.epochs * self.iters_per_epoch)
        bar = progress_bar(total=total_iters, initial=self.global_iter, unit="it", disable=not self.progress, desc=c.name)
        try:
            if self.val_pending:  # resumed from the save before a validation that did not finish
                self._validate_saved()
            clock = IterationClock(self.device)
            while self.epoch < c.epochs and not self._done():
                self.module.train()
                loader = self._loader(self.epoch, self.iter_in_epoch)
                for number, batch in enumerate(clock.batches(loader)):
                    last = self._step(batch)
                    clock.step_done()
                    if self.trace_dir:
                        self.seen += loader.dataset.indices[number * c.batch_size:(number + 1) * c.batch_size]
                    self.iter_in_epoch += 1
                    self.global_iter += 1
                    bar.update(1)
                    if self.global_iter % c.log_every == 0 or self._done():
                        bar.set_postfix(loss=f"{last['loss']:.4f}", lr=f"{last['lr']:.2e}")
                        if self.rank == 0:
                            with log_path.open("a") as log:
                                log.write(json.dumps({"epoch": self.epoch, "iter": self.global_iter, **last, **clock.record()}) + "\n")
                    if self.global_iter % c.checkpoint_every_iters == 0:
                        self.save()
                    if self.stop_requested or self._done():
                        break
                if self.stop_requested or self._done():
                    break
                self.epoch += 1
                self.iter_in_epoch = 0
                if c.val is not None and self.epoch % c.val_interval == 0:
                    self.val_pending = True
                    self.save()  # first: a validation that crashes loses no training
                    self._validate_saved()
                else:
                    self.save()
            self.save()
            if self.stop_requested and self.rank == 0:
                print(f"interrupted: checkpoint saved at iteration {self.global_iter} in {self.checkpoint_path} "
                      "(continue with --resume; final_pose.pth is written when a run completes)")
        finally:
            bar.close()
            for s, h in handlers.items():
                signal.signal(s, h)
        if self.rank == 0 and not self.stop_requested:  # an interrupted run leaves only last.pth
            self.export_final()
        if self.trace_dir:
            self._write_trace(Path(self.trace_dir))
        return last

    def _validate_saved(self) -> None:
        """Validate, then save again (best AP, validation done). Validation draws no random
        numbers of the run (create_model initialises weights), so the checkpoint saved before it
        and the one after resume to the same training."""
        with _rng_kept():
            self.validate()
        self.val_pending = False
        self.save()
    def _write_trace(self, folder: Path) -> None:
        """The test hook's record (see `trace_dir`)."""
        folder.mkdir(parents=True, exist_ok=True)
        record = {"rank": self.rank, "world": self.world, "global_iter": self.global_iter, "samples": self.seen,
                  "weights_sha256": parameters_sha256(self.module), "ema_sha256": parameters_sha256(self.ema.module)}
        (folder / f"rank{self.rank}.json").write_text(json.dumps(record))

    def _done(self) -> bool:
        return self.config.max_iters is not None and self.global_iter >= self.config.max_iters

    def validate(self) -> float | None:
        """COCO-WholeBody AP of the EMA weights (rank 0); keeps best.pth."""
        if self.config.val is None:
            return None
        ap = None
        if self.rank == 0:
            from ..evaluation.runner import evaluate_model

            v = self.config.val
            model = create_model(self.config.model)
            model.load_state_dict(self.module.deploy_state_dict(self.ema.module.state_dict()))
            stats, _ = evaluate_model(model, v.ann_file, v.images, v.det_file, flip_test=v.flip_test,
                                      use_area=v.use_area, device=str(self.device), progress=self.progress)
            ap = stats.parts["wholebody"][0]
            summary = stats.summary()
            with (self.work_dir / "val_log.jsonl").open("a") as log:
                log.write(json.dumps({"epoch": self.epoch, "iter": self.global_iter, **summary}) + "\n")
            _print_line(f"val @ iter {self.global_iter} (epoch {self.epoch}): {format_part_aps(summary)}")
            if ap > self.best_ap:
                self.best_ap = ap
                save_torch_atomic({"state_dict": self.module.deploy_state_dict(self.ema.module.state_dict()),
                              "meta": {"epoch": self.epoch, "wholebody_AP": ap, "model": self.config.model}},
                             self.work_dir / "best.pth")
        if self.world > 1:
            dist.barrier()
        return ap

    def export_final(self) -> Path:
        """Plain pose checkpoint (EMA weights) that `create_model` loads."""
        path = self.work_dir / "final_pose.pth"
        save_torch_atomic({"state_dict": self.module.deploy_state_dict(self.ema.module.state_dict()),
                      "meta": {"model": self.config.model, "iterations": self.global_iter}}, path)
        return path


def format_part_aps(summary: Mapping[str, float]) -> str:
    """One line of a validation's APs per part, from `WholebodyStats.summary()` (what
    val_log.jsonl records): whole-body first, then body, foot, face and hand (mean of both)."""
    parts = " | ".join(f"{part} {summary[f'{part}/AP']:.3f}" for part in ("body", "foot", "face", "hand"))
    return f"whole-body AP {summary['wholebody/AP']:.3f} | {parts}"


def _print_line(text: str) -> None:
    import sys

    from ..progress import note

    note(text, file=sys.stdout)  # above a running progress bar, not through it


class _rng_kept:
    """Restores the torch, numpy and Python random states on exit."""

    def __enter__(self) -> None:
        self.states = torch.get_rng_state(), np.random.get_state(), random.getstate()

    def __exit__(self, *exc) -> None:
        torch.set_rng_state(self.states[0])
        np.random.set_state(self.states[1])
        random.setstate(self.states[2])


def check_validation_set(val: ValConfig) -> None:
    """Refuse a validation set that the first validation would fail on, before any training:
    an unreadable annotation (or detection) file, no person to score against, no box to run on,
    or an image file that is not there. One DatasetError naming the file."""
    data = read_json(val.ann_file, "validation annotation file")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations")):
        raise DatasetError(f"validation annotation file {val.ann_file}: not a COCO-style file "
                           "(needs 'images' and 'annotations' lists)")
    # COCO keypoint evaluation ignores crowd regions and people without labelled body points.
    people = [a for a in data["annotations"] if isinstance(a, dict) and not a.get("iscrowd", 0)
              and a.get("num_keypoints", 1) != 0]
    if not people:
        raise DatasetError(f"validation annotation file {val.ann_file} has no person with labelled keypoints "
                           "to score against (val.ann_file)")
    if not Path(val.images).is_dir():
        raise DatasetError(f"validation image folder not found: {val.images} (val.images)")
    samples = (load_detections(val.det_file, val.ann_file, val.images) if val.det_file is not None
               else load_annotations(val.ann_file, val.images, train=False))
    if not samples:
        raise DatasetError(f"no person boxes to validate on in {val.det_file or val.ann_file}")
    missing = sorted({s.image_path for s in samples if not Path(s.image_path).is_file()})
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DatasetError(f"validation image not found: {missing[0]}{more} (val.images = {val.images})")


# What a checkpoint written by `Trainer.save` holds (and `resume` needs).
RESUME_KEYS = ("model", "ema", "ema_steps", "optimizer", "scaler", "epoch", "iter_in_epoch", "global_iter", "rng")


def _what_checkpoint(content: object) -> str:
    """A short description of a checkpoint that is not a trainer checkpoint."""
    try:
        state = extract_state_dict(content)
    except CheckpointError:
        keys = list(content)[:6] if isinstance(content, Mapping) else []
        return f"not a dwpose training checkpoint (it holds {', '.join(map(str, keys)) or type(content).__name__})"
    return f"a plain pose checkpoint ({describe_state_dict(state)}: weights only)"


def parameters_sha256(module: nn.Module) -> str:
    """sha256 of a module's parameters (names and values). Parameters only: on CPU (gloo)
    BatchNorm's running statistics stay per process (SyncBN is CUDA-only); the weights must not."""
    digest = hashlib.sha256()
    for name, value in sorted(module.named_parameters(), key=lambda item: item[0]):
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
