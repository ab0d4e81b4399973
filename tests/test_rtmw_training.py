"""RTMW training and TPD on the CPU with tiny models: the tiny RTMW of the reference fixture
(RTMPose-t widths with RTMW's neck and head) and narrower ones, built from the families' config
types at a small input (128x96), registered for this module only."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.codec import simcc
from dwpose.data.transforms import AugmentConfig, photometric_distortion, pipeline_stages
from dwpose.distillation import KLDiscretLoss, PoseDistiller
from dwpose.errors import ConfigError, InputError
from dwpose.models import RTMPoseConfig, RTMWConfig
from dwpose.models.registry import get_family
from dwpose.training import Trainer, load_config
from dwpose.training.config import COCKTAIL14
from tests.conftest import ROOT
from tests.test_training import assert_same_weights, fixed_batch, write_config

INPUT = (96, 128)  # (width, height)
TINY = RTMWConfig("rtmw-t-128x96", deepen_factor=0.167, widen_factor=0.375, input_size=INPUT)    # n5: 384
NARROW = RTMWConfig("rtmw-p-128x96", deepen_factor=0.167, widen_factor=0.25, input_size=INPUT)   # n5: 256
RTMPOSE_NARROW = RTMPoseConfig("rtmpose-p-128x96", deepen_factor=0.167, widen_factor=0.25, input_size=INPUT)  # 256
FAST = dict(epochs=10, batch_size=2, augment="false", clip_grad=1.0)
# Stage 1 runs: 100 epochs keep r(t) = 1 - epoch / 100 near 1 over the few steps, so a falling
# distillation term is the student learning, not the decay factor.
STAGE1 = dict(FAST, epochs=100, batch_size=4, max_iters=8, lr=0.001)


@pytest.fixture(scope="module", autouse=True)
def tiny_models():
    with pytest.MonkeyPatch.context() as patch:
        for config in (TINY, NARROW, RTMPOSE_NARROW):
            patch.setitem(get_family(config.name.split("-")[0] + "-l-256x192").configs, config.name, config)
        # The label widths the step counts and thresholds below were measured with (the 256x192
        # sigmas halved; main's 128x96 default is wider and slows these tiny runs down).
        patch.setitem(simcc.SIGMA_BY_INPUT_SIZE, INPUT, (2.45, 2.83))
        yield


@pytest.fixture(scope="module")
def batch():
    return fixed_batch(INPUT)


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory):
    """A random-weight tiny RTMW teacher in the mmpose container layout."""
    path = tmp_path_factory.mktemp("teacher") / "rtmw_t.pth"
    torch.manual_seed(7)
    torch.save({"state_dict": dwpose.create_model(TINY.name).state_dict()}, path)
    return path


def distill_table(stage, teacher, checkpoint):
    return dict(stage=stage, teacher_model=f'"{teacher}"', teacher_checkpoint=f'"{checkpoint}"')


def gt_loss(name, state_dict, batch):
    model = dwpose.create_model(name)
    model.load_state_dict(state_dict)
    images, labels, weights = batch
    model.train()  # batch statistics: running stats of a few iterations say little
    with torch.no_grad():
        return KLDiscretLoss.for_model(model)(model(model.normalize(images)), labels, weights).item()


def logged(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "train_log.jsonl").read_text().splitlines()]


def test_rtmw_training_reduces_its_loss_and_exports_a_loadable_model(tmp_path, batch):
    # Batch 4 and the recipe's clip 35: with batches of 2 the raw-logit (beta 1) loss of these
    # 12 people moves up and down for many more steps (8 steps of 2: -4 %; 9 steps of 4: -14 %).
    config = load_config(write_config(tmp_path / "t.toml", model=TINY.name, max_iters=9, lr=0.001,
                                      pipeline='"rtmw"', **dict(FAST, batch_size=4, clip_grad=35.0)))
    trainer = Trainer(config, tmp_path / "w", progress=False)
    assert trainer.module.gt_loss.beta == 1.0 and trainer.module.gt_loss.mask_weight == 0.5  # the RTMW loss
    before = gt_loss(TINY.name, trainer.module.deploy_state_dict(), batch)
    trainer.train()
    after = gt_loss(TINY.name, trainer.module.deploy_state_dict(), batch)
    assert after < 0.93 * before
    model = dwpose.create_model(TINY.name, checkpoint=tmp_path / "w" / "final_pose.pth")
    ema = trainer.ema.module.state_dict()
    assert any(k.startswith("neck.") for k in ema)
    assert all(torch.equal(v, ema[k]) for k, v in model.state_dict().items())


def test_stage1_rtmw_teacher_rtmw_student(tmp_path, teacher_file):
    path = write_config(tmp_path / "s1.toml", model=NARROW.name, distill=distill_table(1, TINY.name, teacher_file),
                        **STAGE1)
    trainer = Trainer(load_config(path), tmp_path / "s1", progress=False)
    distiller = trainer.module
    # Feature loss on the neck outputs n5 (student 256 -> teacher 384 channels), KD at the student's beta 1.
    assert distiller.distill_losses["loss_fea"].align.weight.shape == (384, 256, 1, 1)
    assert distiller.distill_losses["loss_logit"].beta == 1.0 and distiller.gt_loss.label_beta == 10.0
    teacher_before = {k: v.clone() for k, v in distiller.teacher.named_parameters()}
    trainer.train()
    records = logged(tmp_path / "s1")
    assert {"loss_kpt", "loss_fea", "loss_logit"} <= set(records[-1])
    # The GT term of a batch depends on which people it holds; the teacher terms fall steadily.
    fea, logit = [r["loss_fea"] for r in records], [r["loss_logit"] for r in records]
    assert np.mean(fea[-3:]) < 0.85 * np.mean(fea[:3])  # the student's n5 moves towards the teacher's
    assert np.mean(logit[-3:]) < np.mean(logit[:3])
    assert all(torch.equal(v, dict(distiller.teacher.named_parameters())[k]) for k, v in teacher_before.items())
    # The distiller checkpoint converts to the plain student, neck included.
    assert main(["convert", str(tmp_path / "s1" / "last.pth"), str(tmp_path / "student.pth")]) == 0
    student = dwpose.create_model(NARROW.name, checkpoint=tmp_path / "student.pth")
    ema = {k[8:]: v for k, v in trainer.ema.module.state_dict().items() if k.startswith("student.")}
    assert any(k.startswith("neck.") for k in ema)
    assert all(torch.equal(v, ema[k]) for k, v in student.state_dict().items())


def test_stage1_rtmw_teacher_rtmpose_student(tmp_path, teacher_file):
    path = write_config(tmp_path / "x.toml", model=RTMPOSE_NARROW.name,
                        distill=distill_table(1, TINY.name, teacher_file), **STAGE1)
    trainer = Trainer(load_config(path), tmp_path / "x", progress=False)
    distiller = trainer.module
    # The student's backbone stage 4 (256) aligned to the teacher's neck output n5 (384); the KD
    # temperature and the GT loss are the RTMPose student's (beta 10), not the teacher's.
    assert distiller.distill_losses["loss_fea"].align.weight.shape == (384, 256, 1, 1)
    assert distiller.distill_losses["loss_logit"].beta == 10.0 and distiller.gt_loss.mask is None
    trainer.train()
    # The student's stage 4 moves towards the teacher's n5 through the align conv. (The KD term at
    # beta 10 on a fresh RTMPose head swings over the first steps of so tiny a run: not asserted.)
    fea = [r["loss_fea"] for r in logged(tmp_path / "x")]
    assert np.mean(fea[-3:]) < 0.92 * np.mean(fea[:3])
    assert main(["convert", str(tmp_path / "x" / "last.pth"), str(tmp_path / "plain.pth")]) == 0
    dwpose.create_model(RTMPOSE_NARROW.name, checkpoint=tmp_path / "plain.pth")


def test_stage2_trains_a_fresh_head_on_the_teacher_backbone_and_neck(tmp_path, teacher_file):
    path = write_config(tmp_path / "s2.toml", model=TINY.name, distill=distill_table(2, TINY.name, teacher_file),
                        max_iters=6, lr=0.001, **FAST)
    trainer = Trainer(load_config(path), tmp_path / "s2", progress=False)
    reference = torch.load(teacher_file, weights_only=True)["state_dict"]
    student = trainer.module.student
    assert not torch.equal(student.head.cls_x.weight, reference["head.cls_x.weight"])  # a fresh head
    trainable = {n for n, p in trainer.module.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("student.head.") for n in trainable)
    trainer.train()
    records = logged(tmp_path / "s2")
    assert set(records[-1]) >= {"loss_logit", "gt_kpt"} and "loss_kpt" not in records[-1]
    assert np.mean([r["loss_logit"] for r in records[-2:]]) < np.mean([r["loss_logit"] for r in records[:2]])
    for name, value in trainer.module.teacher.named_parameters():
        assert torch.equal(value, reference[name]), name
    # Converted: the frozen teacher backbone AND neck with the trained student head.
    assert main(["convert", str(tmp_path / "s2" / "last.pth"), str(tmp_path / "plain.pth")]) == 0
    plain = dwpose.create_model(TINY.name, checkpoint=tmp_path / "plain.pth").state_dict()
    ema = trainer.ema.module.state_dict()
    for key in ("backbone.stem.0.conv.weight", "neck.bottom_up_blocks.1.final_conv.conv.weight"):
        assert torch.equal(plain[key], ema[f"teacher.{key}"])
    assert torch.equal(plain["head.cls_x.weight"], ema["student.head.cls_x.weight"])


def test_resume_of_an_rtmw_distillation_with_rtmw_augmentation_is_exact(tmp_path, teacher_file):
    # Mid-epoch (6 iterations per epoch); resuming across an epoch boundary is covered for plain
    # training in test_training.py, and this run costs a teacher pass per step.
    fields = dict(model=NARROW.name, distill=distill_table(1, TINY.name, teacher_file), epochs=2, batch_size=2,
                  clip_grad=1.0, pipeline='"rtmw"', scale_factor="[0.5, 1.5]", rotate_factor=90.0)
    path = write_config(tmp_path / "r.toml", max_iters=3, **fields)
    full = Trainer(load_config(path), tmp_path / "full", progress=False)
    full.train()
    first = Trainer(load_config(path, {"max_iters": 2}), tmp_path / "split", progress=False)
    first.train()  # "killed" after 2 iterations
    resumed = Trainer(load_config(path), tmp_path / "split", progress=False)
    resumed.resume(tmp_path / "split" / "last.pth")
    resumed.train()
    assert resumed.global_iter == full.global_iter == 3
    assert_same_weights(full, resumed)


def test_stage2_needs_one_architecture_and_no_gt_loss_needs_no_labels():
    with pytest.raises(InputError, match="must be the same architecture, got rtmw-t-128x96 and rtmw-p-128x96"):
        PoseDistiller.build(2, NARROW.name, TINY.name, None)
    with pytest.raises(InputError, match="same architecture"):
        PoseDistiller.build(2, RTMPOSE_NARROW.name, NARROW.name, None)
    torch.manual_seed(0)
    distiller = PoseDistiller.build(1, NARROW.name, TINY.name, None, gt_loss=False)
    images = torch.randn(2, 3, 128, 96)
    losses = distiller(images, None, None, epoch=0, max_epochs=10)  # teacher online, no labels at all
    assert set(losses) == {"loss_fea", "loss_logit"}
    sum(losses.values()).backward()
    assert distiller.student.head.cls_x.weight.grad.abs().sum() > 0
    with pytest.raises(InputError, match="needs labels"):
        PoseDistiller.build(1, NARROW.name, TINY.name, None)(images, None, None, epoch=0, max_epochs=10)


def test_stage2_recipe_with_another_teacher_is_refused(tmp_path):
    path = write_config(tmp_path / "bad.toml", model=TINY.name, distill=distill_table(2, NARROW.name, "t.pth"))
    with pytest.raises(ConfigError, match="stage 2 trains a head on the teacher's own features"):
        load_config(path)


def test_rtmw_pipeline_stages_and_photometric_distortion():
    first, second = pipeline_stages("rtmw", (0.5, 1.5), 90.0)
    assert (first.color, first.dropout_prob, first.shift_factor, first.scale_factor, first.rotate_factor) == \
        ("photometric", 0.5, 0.16, (0.5, 1.5), 90.0)
    # After the switch: no shift, no colour jitter, no dropout; blur and median blur stay.
    assert (second.color, second.dropout_prob, second.shift_factor, second.blur_prob, second.median_blur_prob,
            second.scale_factor, second.rotate_factor) == ("none", 0.0, 0.0, 0.1, 0.1, (0.5, 1.5), 90.0)
    rtmpose = pipeline_stages("rtmpose", (0.6, 1.4), 80.0)
    assert rtmpose == (AugmentConfig(), AugmentConfig().stage_b())  # unchanged for the RTMPose recipes

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)
    outputs = [photometric_distortion(image, np.random.default_rng(seed)) for seed in range(24)]
    again = [photometric_distortion(image, np.random.default_rng(seed)) for seed in range(24)]
    assert all(np.array_equal(a, b) for a, b in zip(outputs, again))  # a function of the generator
    assert all(o.shape == image.shape and o.dtype == np.uint8 for o in outputs)
    assert sum(not np.array_equal(o, image) for o in outputs) >= 12
    # Grey has no hue or saturation: it stays grey, only brightness/contrast move it.
    grey = np.full((8, 8, 3), 120, np.uint8)
    for seed in range(24):
        out = photometric_distortion(grey, np.random.default_rng(seed))
        assert (out == out[0, 0, 0]).all()


def test_rtmw_recipes():
    configs = sorted((ROOT / "configs").glob("rtmw*.toml"))
    assert len(configs) == 11
    for path in configs:
        config = load_config(path)
        family = get_family(config.model).name
        assert family == "rtmw" and config.pipeline == "rtmw", path.name
        assert (config.lr, config.scale_factor, config.rotate_factor, config.switch_epoch) == (5e-4, (0.5, 1.5), 90, 260)
        size = config.model.split("-")[1]
        assert config.weight_decay == (0.05 if size == "m" else 0.1), path.name
        assert config.clip_grad == (1.0 if config.distill else 35.0), path.name
        # What the recipe trains on plus what it lacks is the cocktail14 list.
        assert sorted(config.data.lacks + ["COCO-WholeBody", "UBody"]) == sorted(COCKTAIL14), path.name
    pairs = {}
    for path in (ROOT / "configs").glob("*.toml"):
        config = load_config(path)
        if config.distill is not None and (config.model.startswith("rtmw") or config.distill.teacher_model.startswith("rtmw")):
            pairs[path.stem] = (config.distill.stage, config.distill.teacher_model, config.model)
    assert pairs == {
        "rtmw_s1_x-l_ucoco_256x192": (1, "rtmw-x-256x192", "rtmw-l-256x192"),
        "rtmw_s2_l-l_ucoco_256x192": (2, "rtmw-l-256x192", "rtmw-l-256x192"),
        "rtmw_s1_l-m_ucoco_256x192": (1, "rtmw-l-256x192", "rtmw-m-256x192"),
        "rtmw_s2_m-m_ucoco_256x192": (2, "rtmw-m-256x192", "rtmw-m-256x192"),
        "rtmw_s1_x-l_ucoco_384x288": (1, "rtmw-x-384x288", "rtmw-l-384x288"),
        "rtmw_s2_l-l_ucoco_384x288": (2, "rtmw-l-384x288", "rtmw-l-384x288"),
        "dwpose_s1_rtmw-x-l_ucoco_384x288": (1, "rtmw-x-384x288", "rtmpose-l-384x288"),
    }


@pytest.mark.parametrize("recipe, align, beta", [
    ("rtmw_s1_x-l_ucoco_256x192", (1280, 1024, 1, 1), 1.0),
    ("rtmw_s1_l-m_ucoco_256x192", (1024, 768, 1, 1), 1.0),
    ("dwpose_s1_rtmw-x-l_ucoco_384x288", (1280, 1024, 1, 1), 10.0),
])
def test_distillation_recipes_build_the_reference_losses(recipe, align, beta):
    config = load_config(ROOT / "configs" / f"{recipe}.toml")
    with torch.device("meta"):  # shapes only
        distiller = PoseDistiller.build(1, config.model, config.distill.teacher_model, None)
    assert tuple(distiller.distill_losses["loss_fea"].align.weight.shape) == align
    assert distiller.distill_losses["loss_logit"].beta == beta
