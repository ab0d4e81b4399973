import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import dwpose
from dwpose.cli import main
from dwpose.codec import SimCCCodec
from dwpose.data import load_annotations
from dwpose.data.dataset import read_rgb
from dwpose.data.transforms import affine_crop
from dwpose.distillation import KLDiscretLoss
from dwpose.geometry import bbox_xyxy_to_center_scale
from dwpose.models.checkpoint import read_checkpoint_file
from dwpose.training import Trainer, load_config
from dwpose.training.trainer import parameters_sha256
from tests.conftest import DATA, ROOT
from dwpose.errors import CheckpointError, ConfigError

SAMPLE = DATA / "coco_wholebody_val_sample"
GT = SAMPLE / "test_coco_wholebody.json"


def write_config(path, model="rtmpose-t-256x192", distill=None, **fields):
    values = dict(model=f'"{model}"', epochs=3, batch_size=4, workers=0, warmup_iters=1, log_every=1,
                  checkpoint_every_iters=1000, lr=0.001)
    values.update(fields)
    lines = [f"{k} = {v}" for k, v in values.items()]
    lines += ["[data]", f'coco_ann = "{GT}"', f'coco_images = "{SAMPLE}"']
    if distill:
        lines += ["[distill]"] + [f"{k} = {v}" for k, v in distill.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def fixed_batch(input_size=(192, 256)):
    """Unaugmented crops of the sample people with their SimCC labels."""
    samples = load_annotations(GT, SAMPLE)
    codec = SimCCCodec.for_input_size(input_size)
    crops, lx, ly, w = [], [], [], []
    for s in samples:
        center, scale = bbox_xyxy_to_center_scale(s.bbox[None])
        crop, _, kp = affine_crop(read_rgb(s.image_path), center[0], scale[0], 0.0, input_size, s.keypoints)
        a, b, c = codec.encode(kp[None], s.visible[None])
        crops.append(crop), lx.append(a[0]), ly.append(b[0]), w.append(c[0])
    images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)
    return images, (torch.from_numpy(np.stack(lx)), torch.from_numpy(np.stack(ly))), torch.from_numpy(np.stack(w))


def gt_loss(state_dict, batch):
    model = dwpose.create_model("rtmpose-t-256x192")
    model.load_state_dict(state_dict)
    images, labels, weights = batch
    model.train()  # batch statistics: running stats of a few iterations say little
    with torch.no_grad():
        return KLDiscretLoss()(model(model.normalize(images)), labels, weights).item()


def assert_same_weights(full: Trainer, resumed: Trainer) -> None:
    """Model and EMA weights of two trainers are bit-identical."""
    for name, value in full.module.state_dict().items():
        assert torch.equal(value, resumed.module.state_dict()[name]), name
    for name, value in full.ema.module.state_dict().items():
        assert torch.equal(value, resumed.ema.module.state_dict()[name]), name


@pytest.fixture(scope="module")
def batch():
    return fixed_batch()


def test_training_reduces_loss_and_exports_a_loadable_model(tmp_path, batch):
    # 24 steps: over fewer, the loss of these 12 people goes up and down with the batches (12 steps: +13 %).
    config = load_config(write_config(tmp_path / "t.toml", max_iters=24, epochs=10, augment="false"))
    trainer = Trainer(config, tmp_path / "work", progress=False)
    before = gt_loss(trainer.module.deploy_state_dict(), batch)
    trainer.train()
    after = gt_loss(trainer.module.deploy_state_dict(), batch)
    assert after < before * 0.97
    logged = (tmp_path / "work" / "train_log.jsonl").read_text().splitlines()
    assert len(logged) == 24
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "work" / "final_pose.pth")
    ema = trainer.ema.module.state_dict()
    assert all(torch.equal(v, ema[k]) for k, v in model.state_dict().items())
    # The full training checkpoint loads too (EMA by default, raw on request), and converts.
    dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "work" / "last.pth", weights="raw")
    assert main(["convert", str(tmp_path / "work" / "last.pth"), str(tmp_path / "plain.pth")]) == 0
    dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "plain.pth")


def test_resume_after_interruption_reaches_the_same_weights(tmp_path):
    path = write_config(tmp_path / "t.toml", max_iters=5, epochs=2)  # 3 iterations per epoch
    full = Trainer(load_config(path), tmp_path / "full", progress=False)
    full.train()

    first = Trainer(load_config(path, {"max_iters": 4}), tmp_path / "split", progress=False)
    first.train()  # "killed" after 4 iterations, mid-epoch 1
    assert (first.epoch, first.iter_in_epoch) == (1, 1)
    resumed = Trainer(load_config(path), tmp_path / "split", progress=False)
    resumed.resume(tmp_path / "split" / "last.pth")
    resumed.train()
    assert resumed.global_iter == full.global_iter == 5
    assert_same_weights(full, resumed)


def test_interrupt_signal_saves_a_checkpoint(tmp_path):
    trainer = Trainer(load_config(write_config(tmp_path / "t.toml", max_iters=6)), tmp_path / "w", progress=False)
    original = trainer._step

    def step_then_interrupt(batch):
        out = original(batch)
        if trainer.global_iter == 1:
            trainer._request_stop(None, None)  # what SIGINT/SIGTERM do
        return out

    trainer._step = step_then_interrupt
    trainer.train()
    state = read_checkpoint_file(tmp_path / "w" / "last.pth")
    assert state["global_iter"] == 2 and trainer.stop_requested
    # An interrupted run is not finished: no final_pose.pth that would pass for a trained model.
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["last.pth", "train_log.jsonl"]


def test_sigint_to_the_cli_leaves_last_pth_only_and_exits_130(tmp_path):
    import signal
    import time

    path = write_config(tmp_path / "t.toml", max_iters=10_000, epochs=10_000)
    work = tmp_path / "w"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "dwpose", "train", str(path), "--work-dir", str(work),
                                "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (work / "train_log.jsonl").is_file() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 130, err[-2000:]
    assert "interrupted: checkpoint saved" in out and "done:" not in out
    assert read_checkpoint_file(work / "last.pth")["global_iter"] >= 1
    assert not (work / "final_pose.pth").exists() and not list(work.glob(".dwpose-tmp-*"))


def test_trainer_checkpoint_round_trips_through_the_allow_listed_reader(tmp_path):
    trainer = Trainer(load_config(write_config(tmp_path / "t.toml", max_iters=1)), tmp_path / "w", progress=False)
    trainer.train()
    saved = trainer.state()
    loaded = read_checkpoint_file(tmp_path / "w" / "last.pth")  # no free unpickler involved
    numpy_state = loaded["rng"]["numpy"]
    assert numpy_state[0] == "MT19937" and np.array_equal(numpy_state[1], saved["rng"]["numpy"][1])
    assert numpy_state[2:] == saved["rng"]["numpy"][2:]
    assert loaded["rng"]["python"] == saved["rng"]["python"]
    assert torch.equal(loaded["rng"]["torch"], saved["rng"]["torch"])
    assert loaded["optimizer"]["param_groups"] == saved["optimizer"]["param_groups"]
    assert loaded["scaler"] == saved["scaler"] and loaded["config"] == saved["config"]


def test_resume_refuses_corrupt_and_plain_checkpoints_in_one_line(tmp_path, t_checkpoint, capsys):
    config = write_config(tmp_path / "t.toml", max_iters=1)
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    work = tmp_path / "w"
    assert main(["train", str(config), "--work-dir", str(work), "--resume", str(corrupt), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot read checkpoint {corrupt}" in err
    assert main(["train", str(config), "--work-dir", str(work), "--resume", str(t_checkpoint), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot resume from {t_checkpoint}: it is a plain pose checkpoint (rtmpose-t-256x192" in err
    assert "--resume needs the training checkpoint" in err
    assert not (work / "final_pose.pth").exists() and not (work / "last.pth").exists()


def test_resume_refuses_a_checkpoint_of_another_recipe(tmp_path):
    Trainer(load_config(write_config(tmp_path / "t.toml", max_iters=1)), tmp_path / "w", progress=False).train()
    other = Trainer(load_config(write_config(tmp_path / "s.toml", model="rtmpose-s-256x192", max_iters=1)),
                    tmp_path / "s", progress=False)
    with pytest.raises(CheckpointError, match="written by a run of rtmpose-t-256x192, this recipe trains rtmpose-s-256x192"):
        other.resume(tmp_path / "w" / "last.pth")


@pytest.mark.parametrize("line, message", [
    ('epochs = "two"', 'epochs = "two": expected an integer'),
    ("batch_size = 0", "batch_size = 0: must be >= 1"),
    ("lr = -0.004", "lr = -0.004: must be > 0"),
    ('amp = "int4"', 'amp = "int4": expected one of "none", "bf16", "fp16"'),
    ('scale_factor = "big"', 'scale_factor = "big": expected a list of 2 numbers'),
    ("epochs = 0", "epochs = 0: must be >= 1"),
    ("augment = 1", "augment = 1: expected true or false"),
])
def test_recipe_values_are_checked_in_one_line(tmp_path, capsys, line, message):
    key = line.split(" = ")[0]
    path = write_config(tmp_path / "r.toml")
    path.write_text("\n".join(l for l in path.read_text().splitlines() if not l.startswith(f"{key} =")).replace(
        "[data]", f"{line}\n[data]", 1))
    assert main(["train", str(path), "--work-dir", str(tmp_path / "w"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == f"dwpose train: error: {path}: {message}\n"
    assert not (tmp_path / "w").exists()


def test_overrides_and_nested_tables_are_checked_too(tmp_path):
    path = write_config(tmp_path / "r.toml", distill=dict(stage=3, teacher_model='"rtmpose-s-256x192"', teacher_checkpoint='"x.pth"'))
    with pytest.raises(ConfigError, match=r"r.toml: distill.stage = 3: expected one of 1, 2"):
        load_config(path)
    path = write_config(tmp_path / "r.toml")
    with pytest.raises(ConfigError, match=r"r.toml: val.batch_size = -2: must be >= 1"):
        load_config(path, {"val": {"ann_file": "a.json", "images": "i", "batch_size": -2}})
    with pytest.raises(ConfigError, match=r"r.toml: data.coco_ann = 5: expected a string"):
        load_config(path, {"data.coco_ann": 5})
    assert load_config(path, {"scale_factor": [1, 2]}).scale_factor == (1.0, 2.0)  # TOML ints are numbers


def test_work_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    assert main(["train", str(write_config(tmp_path / "t.toml")), "--work-dir", str(taken), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == f"dwpose train: error: work dir {taken} is a file, not a folder; pass another --work-dir\n"
    assert taken.read_text() == "mine"


@pytest.fixture(scope="module")
def teacher_s(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "teacher_s.pth"
    torch.manual_seed(1)
    torch.save({"state_dict": dwpose.create_model("rtmpose-s-256x192").state_dict()}, path)
    return path


def test_stage1_distillation(tmp_path, teacher_s, batch):
    distill = dict(stage=1, teacher_model='"rtmpose-s-256x192"', teacher_checkpoint=f'"{teacher_s}"')
    path = write_config(tmp_path / "s1.toml", distill=distill, max_iters=12, epochs=10, augment="false",
                        clip_grad=1.0, lr=0.0003)
    config = load_config(path)
    trainer = Trainer(config, tmp_path / "s1", progress=False)
    teacher_before = {k: v.clone() for k, v in trainer.module.teacher.named_parameters()}
    log = trainer.train()
    assert {"loss_kpt", "loss_fea", "loss_logit"} <= set(log)
    assert "distill_losses.loss_fea.align.weight" in trainer.module.state_dict()
    assert all(torch.equal(v, dict(trainer.module.teacher.named_parameters())[k]) for k, v in teacher_before.items())
    lines = (tmp_path / "s1" / "train_log.jsonl").read_text().splitlines()
    import json

    records = [json.loads(line) for line in lines]
    total = [r["loss"] for r in records]
    assert np.mean(total[-3:]) < 0.8 * np.mean(total[:3])
    assert records[-1]["loss_fea"] < records[0]["loss_fea"]  # the student's features move towards the teacher
    # The distiller checkpoint converts to the plain student.
    assert main(["convert", str(tmp_path / "s1" / "last.pth"), str(tmp_path / "student.pth")]) == 0
    student = dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "student.pth")
    ema_student = {k[8:]: v for k, v in trainer.ema.module.state_dict().items() if k.startswith("student.")}
    assert all(torch.equal(v, ema_student[k]) for k, v in student.state_dict().items())


def test_stage2_trains_only_a_fresh_head(tmp_path, t_checkpoint):
    distill = dict(stage=2, teacher_model='"rtmpose-t-256x192"', teacher_checkpoint=f'"{t_checkpoint}"')
    path = write_config(tmp_path / "s2.toml", distill=distill, max_iters=8, epochs=10, augment="false",
                        clip_grad=1.0, lr=0.0003)
    trainer = Trainer(load_config(path), tmp_path / "s2", progress=False)
    reference = torch.load(t_checkpoint, weights_only=True)
    assert not torch.equal(trainer.module.student.head.cls_x.weight, reference["head.cls_x.weight"])  # fresh head
    backbone_before = {k: v.clone() for k, v in trainer.module.student.backbone.named_parameters()}
    log = trainer.train()
    assert set(log) >= {"loss_logit", "gt_kpt"} and "loss_kpt" not in log
    lines = [__import__("json").loads(x) for x in (tmp_path / "s2" / "train_log.jsonl").read_text().splitlines()]
    assert np.mean([x["loss_logit"] for x in lines[-3:]]) < np.mean([x["loss_logit"] for x in lines[:3]])
    # Teacher weights frozen (its BN statistics follow the batches in the reference "train" mode).
    for name, value in trainer.module.teacher.named_parameters():
        assert torch.equal(value, reference[name]), name
    for name, value in trainer.module.student.backbone.named_parameters():
        assert torch.equal(value, backbone_before[name]), name
    final = dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "s2" / "final_pose.pth")
    ema = trainer.ema.module.state_dict()
    assert torch.equal(final.state_dict()["backbone.stem.0.conv.weight"], ema["teacher.backbone.stem.0.conv.weight"])
    assert torch.equal(final.state_dict()["head.cls_x.weight"], ema["student.head.cls_x.weight"])


def test_distill_cli_checks_recipe(tmp_path, capsys):
    plain = write_config(tmp_path / "plain.toml")
    assert main(["distill", str(plain), "--stage", "1", "--no-progress"]) == 2
    assert "no [distill] section" in capsys.readouterr().err
    missing = write_config(tmp_path / "s1.toml", distill=dict(stage=1, teacher_model='"rtmpose-s-256x192"',
                                                              teacher_checkpoint=f'"{tmp_path / "nope.pth"}"'))
    assert main(["distill", str(missing), "--stage", "1", "--no-progress"]) == 2
    assert "teacher checkpoint not found" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "absent.toml")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "rtmpose-t-256x192"\nepochz = 3\n[data]\n')
    assert main(["train", str(bad)]) == 2
    assert "unknown field(s) epochz" in capsys.readouterr().err


def test_torchrun_two_processes_on_cpu(tmp_path):
    # 12 people, 2 per batch on each of 2 processes: one epoch is 3 iterations.
    path = write_config(tmp_path / "ddp.toml", max_iters=3, batch_size=2)
    trace = tmp_path / "trace"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "DWPOSE_TRAIN_TRACE": str(trace)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "dwpose", "train", str(path), "--work-dir", str(tmp_path / "ddp"), "--no-progress"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "done: 3 iterations" in done.stdout
    state = torch.load(tmp_path / "ddp" / "last.pth", weights_only=False)
    assert state["global_iter"] == 3
    dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "ddp" / "final_pose.pth")

    ranks = [json.loads((trace / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [(r["rank"], r["world"], r["global_iter"]) for r in ranks] == [(0, 2, 3), (1, 2, 3)]
    # DDP averages the gradients: both processes end with the same weights (and EMA), bit for bit.
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    assert ranks[0]["ema_sha256"] == ranks[1]["ema_sha256"]
    # Each process trained on its own share: no sample twice, together the whole epoch once.
    first, second = ranks[0]["samples"], ranks[1]["samples"]
    assert len(first) == len(second) == 6
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(len(load_annotations(GT, SAMPLE))))
    # The weights moved (a run that did not train would also end equal).
    initial = Trainer(load_config(path), tmp_path / "unused", progress=False)
    assert parameters_sha256(initial.module) != ranks[0]["weights_sha256"]


def test_periodic_validation_writes_ap_and_best(tmp_path):
    path = write_config(tmp_path / "val.toml", epochs=1, val_interval=1)  # one epoch = 3 iterations
    text = path.read_text() + f'[val]\nann_file = "{GT}"\nimages = "{SAMPLE}"\ndet_file = "{SAMPLE / "test_coco_det_AP_H_56.json"}"\n'
    path.write_text(text)
    trainer = Trainer(load_config(path), tmp_path / "w", progress=False)
    trainer.train()
    import json

    (record,) = [json.loads(x) for x in (tmp_path / "w" / "val_log.jsonl").read_text().splitlines()]
    assert record["epoch"] == 1 and "hand/AP" in record
    best = torch.load(tmp_path / "w" / "best.pth", weights_only=False)
    assert best["meta"]["wholebody_AP"] == record["wholebody/AP"]
    # The logged AP is the evaluator's on the weights kept in best.pth (the EMA weights).
    from dwpose.evaluation.runner import evaluate_model

    v = trainer.config.val
    model = dwpose.create_model("rtmpose-t-256x192", checkpoint=tmp_path / "w" / "best.pth")
    assert all(torch.equal(value, trainer.ema.module.state_dict()[k]) for k, value in model.state_dict().items())
    stats, _ = evaluate_model(model, v.ann_file, v.images, v.det_file, flip_test=v.flip_test, use_area=v.use_area,
                              device="cpu", progress=False)
    assert stats.summary() == {k: value for k, value in record.items() if k not in ("epoch", "iter")}


def test_dataloader_workers_do_not_change_the_result(tmp_path):
    results = []
    for workers in (0, 2):
        path = write_config(tmp_path / f"w{workers}.toml", max_iters=2, workers=workers)
        trainer = Trainer(load_config(path), tmp_path / f"run{workers}", progress=False)
        trainer.train()
        results.append(trainer.module.state_dict())
    for name, value in results[0].items():
        assert torch.equal(value, results[1][name]), name


def test_bf16_autocast_trains_like_fp32(tmp_path):
    runs = {}
    for amp in ("none", "bf16"):
        config = load_config(write_config(tmp_path / f"{amp}.toml", max_iters=3, amp=f'"{amp}"', augment="false"))
        trainer = Trainer(config, tmp_path / amp, progress=False)
        initial = torch.cat([p.detach().flatten().clone() for p in trainer.module.parameters()])
        trainer.train()
        update = torch.cat([p.detach().flatten() for p in trainer.module.parameters()]) - initial
        log = [json.loads(line) for line in (tmp_path / amp / "train_log.jsonl").read_text().splitlines()]
        runs[amp] = update, log[0]["loss"]
    (update32, loss32), (update16, loss16) = runs["none"], runs["bf16"]
    # Same weights, same first batch: bf16 really ran (not bit-equal) and computed the same loss
    # to bf16's precision (measured: 0.06 % apart).
    assert loss16 != loss32 and abs(loss16 - loss32) < 0.01 * loss32
    # The bf16 steps moved the weights, the way fp32's did (cosine of the updates, measured 0.82).
    assert update16.norm() > 0
    assert torch.nn.functional.cosine_similarity(update16, update32, dim=0) > 0.5


def test_teacher_batchnorm_mode(t_checkpoint):
    from dwpose.distillation import PoseDistiller

    for mode, expected in (("train", True), ("eval", False)):
        distiller = PoseDistiller.build(1, "rtmpose-t-256x192", "rtmpose-s-256x192", None, teacher_bn_mode=mode)
        distiller.train()
        assert distiller.teacher.training is expected and distiller.student.training
        assert distiller.teacher.backbone.stem[0].bn.training is expected


def _with_val(path, ann=GT, images=SAMPLE, det=True):
    det_line = f'det_file = "{SAMPLE / "test_coco_det_AP_H_56.json"}"\n' if det else ""
    path.write_text(path.read_text() + f'[val]\nann_file = "{ann}"\nimages = "{images}"\nflip_test = false\n' + det_line)
    return path


def _bad_val_set(tmp_path, case):
    """A validation set that the first validation would fail on, and what the one line says."""
    import json

    data = json.loads(GT.read_text())
    if case == "no people":
        data["annotations"] = []
        ann = tmp_path / "val.json"
        ann.write_text(json.dumps(data))
        return ann, SAMPLE, True, "has no person with labelled keypoints"
    if case == "missing image":
        images = tmp_path / "images"
        images.mkdir()
        for image in data["images"][1:]:  # one image left out
            (images / image["file_name"]).symlink_to(SAMPLE / image["file_name"])
        return GT, images, False, f"validation image not found: {images / data['images'][0]['file_name']}"
    ann = tmp_path / "latin1.json"
    data["images"][0]["file_name"] = "caf\u00e9.jpg"
    ann.write_bytes(json.dumps(data, ensure_ascii=False).encode("latin-1"))
    return ann, SAMPLE, True, "is not UTF-8 text"


@pytest.mark.parametrize("case", ["no people", "missing image", "not UTF-8"])
def test_bad_validation_set_is_refused_before_the_first_step(tmp_path, capsys, case):
    ann, images, det, message = _bad_val_set(tmp_path, case)
    path = _with_val(write_config(tmp_path / "t.toml", epochs=1, val_interval=1), ann, images, det)
    work = tmp_path / "w"
    assert main(["train", str(path), "--work-dir", str(work), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not work.exists()  # refused before any training


def test_non_utf8_training_annotations_are_one_line(tmp_path, capsys):
    ann, _, _, message = _bad_val_set(tmp_path, "not UTF-8")
    path = write_config(tmp_path / "t.toml")
    path.write_text(path.read_text().replace(str(GT), str(ann)))
    assert main(["train", str(path), "--work-dir", str(tmp_path / "w"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(ann) in err, err


def test_validation_crash_loses_no_training_and_resume_validates(tmp_path, monkeypatch):
    import json

    import dwpose.evaluation.runner as runner

    path = _with_val(write_config(tmp_path / "t.toml", epochs=1, val_interval=1))  # one epoch = 3 iterations
    evaluate = runner.evaluate_model

    def crash(*args, **kwargs):
        raise RuntimeError("validation crashed")

    monkeypatch.setattr(runner, "evaluate_model", crash)
    trainer = Trainer(load_config(path), tmp_path / "w", progress=False)
    with pytest.raises(RuntimeError, match="validation crashed"):
        trainer.train()
    state = read_checkpoint_file(tmp_path / "w" / "last.pth")
    assert state["global_iter"] == 3 and state["val_pending"]  # saved before validating
    monkeypatch.setattr(runner, "evaluate_model", evaluate)
    resumed = Trainer(load_config(path), tmp_path / "w", progress=False)
    resumed.resume(tmp_path / "w" / "last.pth")
    resumed.train()
    (record,) = [json.loads(x) for x in (tmp_path / "w" / "val_log.jsonl").read_text().splitlines()]
    assert record["iter"] == 3 and (tmp_path / "w" / "best.pth").is_file()
    assert not read_checkpoint_file(tmp_path / "w" / "last.pth")["val_pending"]


def test_train_prints_each_validation_per_part_and_where_best_is(tmp_path, capsys):
    import json

    path = _with_val(write_config(tmp_path / "t.toml", epochs=2, val_interval=1, batch_size=8))  # 2 iterations/epoch
    work = tmp_path / "w"
    assert main(["train", str(path), "--work-dir", str(work), "--no-progress"]) == 0
    out = capsys.readouterr().out
    records = [json.loads(x) for x in (work / "val_log.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records] == [2, 4]
    for r in records:
        line = (f"val @ iter {r['iter']} (epoch {r['epoch']}): whole-body AP {r['wholebody/AP']:.3f} | "
                f"body {r['body/AP']:.3f} | foot {r['foot/AP']:.3f} | face {r['face/AP']:.3f} | hand {r['hand/AP']:.3f}")
        assert line in out.splitlines(), out
    best = max(r["wholebody/AP"] for r in records)
    assert f"best validation: whole-body AP {best:.3f} in {work / 'best.pth'}" in out
    assert f"checkpoint {work / 'last.pth'}" in out
