import math

import numpy as np
import torch
from torch import nn

from dwpose.distillation import FeatureLoss, KLDiscretLoss, LogitKDLoss, decay_factor
from dwpose.training.optim import ExpMomentumEMA, lr_factor, param_groups


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def kl_rows(p, q):
    return (p * (np.log(p) - np.log(q))).sum(-1)


PRED_X = np.array([[[0.1, 0.4, 0.2], [0.3, 0.0, -0.1]], [[0.0, 0.2, 0.1], [0.5, 0.1, 0.0]]])  # (N=2, K=2, 3)
PRED_Y = np.array([[[0.2, 0.1, 0.0, 0.3], [0.1, 0.1, 0.4, 0.0]], [[0.3, 0.2, 0.1, 0.0], [0.0, 0.0, 0.2, 0.1]]])
LAB_X = np.array([[[0.0, 1.0, 0.5], [1.0, 0.5, 0.0]], [[0.5, 1.0, 0.5], [1.0, 0.0, 0.0]]])
LAB_Y = np.array([[[1.0, 0.5, 0.0, 0.0], [0.0, 0.5, 1.0, 0.5]], [[0.0, 1.0, 0.5, 0.0], [0.0, 0.0, 0.5, 1.0]]])
WEIGHTS = np.array([[1.0, 0.0], [1.0, 1.0]])


def t(a):
    return torch.tensor(a, dtype=torch.float32)


def test_gt_loss_bin_mean_batch_sum_over_k():
    expected = 0.0
    for pred, lab in ((PRED_X, LAB_X), (PRED_Y, LAB_Y)):
        kl = kl_rows(softmax(10 * lab), softmax(10 * pred)) / pred.shape[-1]  # mean over bins
        expected += (kl * WEIGHTS).sum()
    expected /= 2  # K
    loss = KLDiscretLoss()((t(PRED_X), t(PRED_Y)), (t(LAB_X), t(LAB_Y)), t(WEIGHTS))
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)


def test_logit_kd_bin_sum_batch_mean_over_k_all_keypoints():
    teacher_x, teacher_y = LAB_X * 0.3, LAB_Y * 0.2  # any logits
    expected = 0.0
    for s, tt in ((PRED_X, teacher_x), (PRED_Y, teacher_y)):
        kl = kl_rows(softmax(10 * tt), softmax(10 * s))  # sum over bins, (N, K)
        expected += kl.sum(1).mean()
    expected = 0.1 * expected / 2
    loss = LogitKDLoss(weight=0.1)((t(PRED_X), t(PRED_Y)), (t(teacher_x), t(teacher_y)))
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)


def test_feature_loss_chw_sum_batch_mean_with_align():
    student = torch.arange(2 * 1 * 2 * 2, dtype=torch.float32).reshape(2, 1, 2, 2)
    teacher = torch.ones(2, 2, 2, 2)
    loss_fn = FeatureLoss(1, 2, alpha=0.5)
    with torch.no_grad():
        loss_fn.align.weight.copy_(torch.tensor([1.0, 2.0]).view(2, 1, 1, 1))
        loss_fn.align.bias.zero_()
    aligned = torch.cat([student, 2 * student], dim=1)
    expected = 0.5 * ((aligned - teacher) ** 2).sum().item() / 2
    assert math.isclose(loss_fn(student, teacher).item(), expected, rel_tol=1e-6)
    assert FeatureLoss(4, 4).align is None


def test_decay_factor_matches_paper():
    assert decay_factor(0, 270) == 1.0
    assert math.isclose(decay_factor(269, 270), 1 / 270)
    for epoch in range(5):  # paper: r(t) = 1 - (t - 1) / t_max with 1-based t
        assert math.isclose(decay_factor(epoch, 5), 1 - ((epoch + 1) - 1) / 5)


def test_ema_follows_exp_momentum():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = ExpMomentumEMA(model, momentum=0.0002, gamma=2000)
    ema.update(model)  # step 0: copy
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model)  # step 1
    m = (1 - 0.0002) * math.exp(-2 / 2000) + 0.0002
    assert math.isclose(ema.module.weight.item(), 1 + m * 2, rel_tol=1e-6)


def test_lr_schedule_warmup_flat_cosine():
    args = dict(iters_per_epoch=10, warmup_iters=100, warmup_factor=1e-5, cosine_start_epoch=135,
                schedule_epochs=270, eta_min_factor=0.05)
    assert math.isclose(lr_factor(0, **args), 1e-5)
    assert math.isclose(lr_factor(50, **args), 1e-5 + (1 - 1e-5) * 0.5)
    assert lr_factor(100, **args) == 1.0 and lr_factor(1349, **args) == 1.0
    assert math.isclose(lr_factor(1350 + 675, **args), 0.05 + 0.95 * 0.5)
    assert math.isclose(lr_factor(2700, **args), 0.05)


def test_no_decay_rules():
    from dwpose.models import create_model

    model = create_model("rtmpose-t-256x192")
    decay, no_decay = param_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    decay_names = {names[id(p)] for p in decay["params"]}
    assert "head.final_layer.bias" in no_decay_names and "backbone.stem.0.bn.weight" in no_decay_names
    assert "backbone.stage1.1.attention.fc.bias" in no_decay_names
    assert {"head.gau.gamma", "head.gau.beta", "head.gau.res_scale.scale", "head.mlp.0.g"} <= decay_names
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0


def test_rtmw_gt_loss_beta_label_beta_and_face_mask():
    """The RTMW variant: raw logits (beta 1) against softmax(10 * label), the keypoints of the
    mask weighted 0.5 after the target weight, bin mean, batch sum, / K."""
    mask_weights = np.array([1.0, 0.5])  # keypoint 1 masked
    expected = 0.0
    for pred, lab in ((PRED_X, LAB_X), (PRED_Y, LAB_Y)):
        kl = kl_rows(softmax(10 * lab), softmax(1 * pred)) / pred.shape[-1]
        expected += (kl * WEIGHTS * mask_weights).sum()
    expected /= 2
    loss_fn = KLDiscretLoss(beta=1.0, label_beta=10.0, mask=[1], mask_weight=0.5)
    loss = loss_fn((t(PRED_X), t(PRED_Y)), (t(LAB_X), t(LAB_Y)), t(WEIGHTS))
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)
    # Without the mask and with beta 1 on both sides it is a different number: each setting acts.
    unmasked = KLDiscretLoss(beta=1.0, label_beta=10.0)((t(PRED_X), t(PRED_Y)), (t(LAB_X), t(LAB_Y)), t(WEIGHTS))
    same_beta = KLDiscretLoss(beta=1.0)((t(PRED_X), t(PRED_Y)), (t(LAB_X), t(LAB_Y)), t(WEIGHTS))
    assert unmasked.item() > loss.item() and not math.isclose(same_beta.item(), unmasked.item(), rel_tol=1e-3)


def test_each_family_trains_with_its_reference_loss():
    from dwpose.models import RTMW, RTMPose, RTMWConfig
    from dwpose.models.registry import get_config

    rtmw = KLDiscretLoss.for_model(RTMW(RTMWConfig("tiny", 0.167, 0.375, (192, 256))))
    assert (rtmw.beta, rtmw.label_beta, rtmw.mask_weight) == (1.0, 10.0, 0.5)
    assert rtmw.mask == tuple(range(23, 91))  # the 68 face keypoints
    rtmpose = KLDiscretLoss.for_model(RTMPose(get_config("rtmpose-t-256x192")))
    assert (rtmpose.beta, rtmpose.label_beta, rtmpose.mask) == (10.0, 10.0, None)
