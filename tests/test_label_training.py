"""Training on `dwpose label`'s output: mixed with COCO-WholeBody under a sampling weight, and
label-free distillation (teacher logits only), with the teacher online or its stored logits."""

import json

import numpy as np
import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.data.dataset import epoch_indices
from dwpose.distillation import LogitKDLoss
from dwpose.training import Trainer, load_config
from tests.conftest import DATA, ROOT
from dwpose.errors import ConfigError

SAMPLE = DATA / "coco_wholebody_val_sample"
GT = SAMPLE / "test_coco_wholebody.json"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, pose_onnx):
    """The sample images labelled by the random RTMPose-t (whole image = one box), with logits."""
    out = tmp_path_factory.mktemp("labels")
    assert main(["label", str(SAMPLE), "--out", str(out), "--pose-model", str(pose_onnx), "--no-detector",
                 "--visibility-threshold", "0.0", "--save-logits", "8", "--no-progress"]) == 0
    return out


def recipe(path, body: str, **fields) -> str:
    values = dict(model='"rtmpose-t-256x192"', epochs=10, batch_size=4, workers=0, warmup_iters=1, log_every=1,
                  checkpoint_every_iters=1000, lr=0.001, augment="false")
    values.update(fields)
    path.write_text("\n".join(f"{k} = {v}" for k, v in values.items()) + "\n" + body)
    return str(path)


def logged(work_dir) -> list[dict]:
    return [json.loads(line) for line in (work_dir / "train_log.jsonl").read_text().splitlines()]


def test_pseudo_labels_mix_with_coco_under_their_weight_and_dwpose_train_takes_them(tmp_path, labelled):
    body = (f'[data]\ncoco_ann = "{GT}"\ncoco_images = "{SAMPLE}"\n'
            f'[[data.extra]]\nname = "pseudo"\nann = "{labelled / "annotations.json"}"\n'
            "weight = 0.5\n")
    path = recipe(tmp_path / "mix.toml", body, max_iters=2)
    trainer = Trainer(load_config(path), tmp_path / "unused", progress=False)
    assert trainer.source_groups == [(12, 1.0), (4, 0.5)]  # 12 annotated persons, 4 pseudo-labelled
    assert trainer.epoch_length == 14 and trainer.iters_per_epoch == 4
    epochs = [epoch_indices(trainer.source_groups, 21, e) for e in range(6)]
    for indices in epochs:  # every annotated person once, 2 of the 4 pseudo-labelled ones
        assert sorted(indices[:12]) == list(range(12)) and len(indices) == 14
        assert len(set(indices[12:])) == 2 and set(indices[12:]) <= set(range(12, 16))
    assert len({tuple(indices[12:]) for indices in epochs}) > 1  # a fresh half each epoch
    assert np.array_equal(epoch_indices(trainer.source_groups, 21, 3), epochs[3])  # (seed, epoch) decide
    pseudo = trainer.dataset.samples[12]
    # No `images` in the recipe: the image root the labels record, the sample's own folder.
    assert pseudo.image_path.startswith(str(SAMPLE)) and pseudo.visible.sum() > 0
    # The command line trains on it and exports a loadable model.
    assert main(["train", path, "--work-dir", str(tmp_path / "w"), "--no-progress"]) == 0
    assert len(logged(tmp_path / "w")) == 2
    dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "w" / "final_pose.pth")


def label_free_recipe(path, labelled, teacher, **distill) -> str:
    keys = dict(stage=1, teacher_model='"rtmpose-t-256x192"', teacher_checkpoint=f'"{teacher}"', gt_loss="false",
                feature_loss="false", kd_weight=1.0, decay="false", teacher_bn_mode='"eval"')
    keys.update(distill)
    logits = f'logits = "{labelled}"\n' if distill.get("teacher_logits") == '"offline"' else ""
    body = (f'[[data.extra]]\nann = "{labelled / "annotations.json"}"\nkeypoints = false\n'
            + logits + "[distill]\n" + "\n".join(f"{k} = {v}" for k, v in keys.items()) + "\n")
    return recipe(path, body, max_iters=8, clip_grad=1.0, lr=0.0003)


def test_label_free_distillation_with_the_teacher_online_reduces_its_loss(tmp_path, labelled, t_checkpoint):
    trainer = Trainer(load_config(label_free_recipe(tmp_path / "lf.toml", labelled, t_checkpoint)), tmp_path / "w",
                      progress=False)
    assert all(s.visible.sum() == 0 for s in trainer.dataset.samples)  # boxes only: nothing to supervise with
    assert set(trainer.module.distill_losses) == {"loss_logit"}
    trainer.train()
    records = logged(tmp_path / "w")
    assert all(set(r) >= {"loss_logit"} and "loss_kpt" not in r and "loss_fea" not in r for r in records)
    losses = [r["loss_logit"] for r in records]
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])  # the same 4 crops every step: it learns them
    assert records[0]["loss"] == records[0]["loss_logit"]     # the logit loss is the whole loss
    dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "w" / "final_pose.pth")


def test_label_free_distillation_from_stored_logits(tmp_path, labelled, t_checkpoint):
    path = label_free_recipe(tmp_path / "off.toml", labelled, "", teacher_logits='"offline"')
    trainer = Trainer(load_config(path), tmp_path / "w", progress=False)
    assert trainer.module.teacher is None
    # The stored logits are the teacher's on the crop the dataset gives (the labelling crop):
    # close to the teacher run online on it, far from an untrained student.
    item = trainer.dataset[0]
    teacher = dwpose.create_model("rtmpose-t-256x192", checkpoint=t_checkpoint)
    student = dwpose.create_model("rtmpose-t-256x192")
    with torch.no_grad():
        online = teacher(teacher.normalize(item["image"][None]))
        untrained = student(student.normalize(item["image"][None]))
    stored = (item["teacher_x"][None], item["teacher_y"][None])
    kd = LogitKDLoss(weight=1.0)
    assert kd(stored, online) < 0.1 * kd(untrained, online)
    trainer.train()
    losses = [r["loss_logit"] for r in logged(tmp_path / "w")]
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])


def test_recipes_that_cannot_work_are_refused(tmp_path, labelled, t_checkpoint):
    unlabelled = f'[[data.extra]]\nann = "{GT}"\nimages = "{SAMPLE}"\nkeypoints = false\n'
    with pytest.raises(ConfigError, match="needs a \\[distill\\] section"):
        load_config(recipe(tmp_path / "a.toml", unlabelled))
    with pytest.raises(ConfigError, match="data.extra.weight = 0: must be > 0"):
        load_config(recipe(tmp_path / "b.toml", unlabelled.replace("keypoints = false", "weight = 0")))
    with pytest.raises(ConfigError, match="unknown field\\(s\\) wieght"):
        load_config(recipe(tmp_path / "c.toml", unlabelled.replace("keypoints = false", "wieght = 1")))
    offline = label_free_recipe(tmp_path / "d.toml", labelled, "", teacher_logits='"offline"')
    with pytest.raises(ConfigError, match="set augment = false"):
        load_config(offline, {"augment": True})
    with pytest.raises(ConfigError, match="feature_loss = false"):
        load_config(offline, {"distill.feature_loss": True})


def test_the_example_recipes_load():
    configs = {name: load_config(ROOT / "configs" / f"{name}.toml") for name in (
        "rtmpose-l_ucoco-pseudo_256x192", "dwpose_labelfree_l-m_256x192", "dwpose_labelfree-offline_l-m_256x192")}
    assert all(config.data.extra for config in configs.values())
    assert configs["dwpose_labelfree-offline_l-m_256x192"].distill.teacher_logits == "offline"
    assert configs["rtmpose-l_ucoco-pseudo_256x192"].distill is None


def test_stored_logits_teach_only_a_student_of_their_temperature(tmp_path, labelled):
    """The top-k records keep the tail mass of softmax(beta * z) at the beta they were packed at
    (10, RTMPose's); an RTMW student distils at beta 1, so it is refused with a message, not
    taught from wrongly weighted tails."""
    from dwpose.data.teacher_logits import StoredLogits
    from dwpose.errors import DatasetError

    stored = StoredLogits(labelled)
    assert stored.beta == 10.0
    stored.check_beta(10.0)
    with pytest.raises(DatasetError, match="KD temperature"):
        stored.check_beta(1.0)
    path = label_free_recipe(tmp_path / "rtmw.toml", labelled, "", teacher_logits='"offline"')
    text = open(path).read().replace('model = "rtmpose-t-256x192"', 'model = "rtmw-m-256x192"', 1)
    open(path, "w").write(text)
    with pytest.raises(DatasetError, match=r"beta\) of 10, but the student distils at 1"):
        Trainer(load_config(path), tmp_path / "w", progress=False)
