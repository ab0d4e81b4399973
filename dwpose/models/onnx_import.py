"""Importing the weights of an ONNX file with a family's official signature (e.g. DWPose's
`dw-ll_ucoco_384.onnx`, rtmlib's RTMW files, Megvii's `yolox_l.onnx`) into the PyTorch model.

Initialiser names in exported graphs are often anonymous (`onnx::Conv_441`) and batch norms
are folded into the convolutions, so the importer maps weights by graph structure: a
depth-first walk from the outputs, visiting every node's inputs in order (through Concat,
Resize, DepthToSpace and the rest alike), lists the Conv and MatMul nodes in the same order in
which the PyTorch modules run: the forward passes evaluate operands in concatenation order.
Each pair is checked by shape. Parameters that are not convolution or linear weights
(ScaleNorm gains, the GAU's gamma/beta and residual scale) are found by their neighbourhood.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .gau import GatedAttentionUnit
from .layers import ScaleNorm
from ..errors import CheckpointError, ModelFileNotFound


class _Graph:
    def __init__(self, onnx_model: Any) -> None:
        from onnx import numpy_helper

        graph = onnx_model.graph
        self.constants: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in graph.initializer
        }
        for node in graph.node:
            if node.op_type == "Constant":
                for attr in node.attribute:
                    if attr.name == "value":
                        self.constants[node.output[0]] = numpy_helper.to_array(attr.t)
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = [o.name for o in graph.output]
        self.order = self._post_order()

    def _post_order(self) -> list[Any]:
        seen: set[int] = set()
        order: list[Any] = []
        # Iterative DFS (graphs are deep): a node is emitted once all its inputs are.
        for out in self.outputs:
            if out not in self.producer:
                continue
            stack = [(self.producer[out], 0)]
            while stack:
                node, i = stack.pop()
                if id(node) in seen:
                    continue
                if i < len(node.input):
                    stack.append((node, i + 1))
                    parent = self.producer.get(node.input[i])
                    if parent is not None and id(parent) not in seen:
                        stack.append((parent, 0))
                else:
                    seen.add(id(node))
                    order.append(node)
        return order

    def const(self, name: str) -> np.ndarray | None:
        """The value of `name` when it is an initialiser/Constant, or one passed through shape-only
        ops (Identity, Cast, Unsqueeze, Squeeze, Reshape): exporters differ in what they fold."""
        if name in self.constants:
            return self.constants[name]
        node = self.producer.get(name)
        if node is None or node.op_type not in ("Identity", "Cast", "Unsqueeze", "Squeeze", "Reshape"):
            return None
        value = self.const(node.input[0])
        if value is None:
            return None
        attrs = {a.name: a for a in node.attribute}
        if node.op_type in ("Unsqueeze", "Squeeze"):
            axes = list(attrs["axes"].ints) if "axes" in attrs else (
                self.const(node.input[1]).tolist() if len(node.input) > 1 and self.const(node.input[1]) is not None else None)
            if node.op_type == "Unsqueeze":
                if axes is None:
                    return None
                for axis in sorted(a % (value.ndim + len(axes)) for a in axes):
                    value = np.expand_dims(value, axis)
            else:
                value = np.squeeze(value, axis=tuple(axes) if axes is not None else None)
        elif node.op_type == "Reshape":
            shape = self.const(node.input[1])
            if shape is None:
                return None
            value = value.reshape([d if d != 0 else value.shape[i] for i, d in enumerate(shape.tolist())])
        return value

    def linear_weight(self, node: Any) -> np.ndarray | None:
        """Weight (out, in) of a MatMul/Gemm with a constant right operand, else None."""
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            return None
        operand = node.input[1]
        weight = self.const(operand)
        transposed_in_graph = False
        if weight is None and operand in self.producer and self.producer[operand].op_type == "Transpose":
            weight = self.const(self.producer[operand].input[0])
            transposed_in_graph = True
        if weight is None or weight.ndim != 2:
            return None
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        if node.op_type == "Gemm" and trans_b:
            return weight.T if transposed_in_graph else weight
        return weight if transposed_in_graph else weight.T

    def const_operand(self, node: Any) -> tuple[np.ndarray | None, str | None]:
        """The constant operand of a binary node and the name of its other operand."""
        a, b = node.input[0], node.input[1]
        if self.const(b) is not None:
            return self.const(b), a
        if self.const(a) is not None:
            return self.const(a), b
        return None, None


def _forward_trace(model: nn.Module) -> tuple[list[nn.Module], int]:
    """Conv2d / Linear / ScaleNorm modules in the order one forward pass calls them, and the
    number of outputs the model returns."""
    called: list[nn.Module] = []
    hooks = [
        m.register_forward_hook(lambda mod, _inp, _out: called.append(mod))
        for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, ScaleNorm))
    ]
    was_training = model.training
    try:
        width, height = model.input_size
        with torch.no_grad():
            outputs = model.eval()(torch.zeros(1, 3, height, width))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return called, len(outputs) if isinstance(outputs, (tuple, list)) else 1


def _fail(path: Path, message: str) -> CheckpointError:
    return CheckpointError(f"cannot import ONNX weights from {path}: {message}")


def _model_name(model: nn.Module) -> str:
    return getattr(getattr(model, "config", None), "name", type(model).__name__)


def _assign(param: torch.Tensor, value: np.ndarray) -> None:
    param.data.copy_(torch.from_numpy(np.array(value, dtype=np.float32, copy=True)).reshape(param.shape).to(param.dtype))


def _load_graph(path: Path) -> tuple[Any, _Graph]:
    import onnx

    if not path.is_file():
        raise ModelFileNotFound(f"ONNX file not found: {path}")
    try:
        onnx_model = onnx.load(str(path))
    except Exception as exc:
        raise _fail(path, f"not a readable ONNX file ({exc})") from None
    return onnx_model, _Graph(onnx_model)


def _copy_layers(model: nn.Module, called: list[nn.Module], graph: _Graph, path: Path) -> None:
    """Pair the graph's Conv and MatMul/Gemm nodes with the model's Conv2d and Linear modules
    (both in canonical order) and copy weights; folded batch norms are unfolded."""
    name = _model_name(model)
    parent_of = {child: parent for parent in model.modules() for child in parent.children()}
    convs = [n for n in graph.order if n.op_type == "Conv"]
    our_convs = [m for m in called if isinstance(m, nn.Conv2d)]
    if len(convs) != len(our_convs):
        raise _fail(path, f"{len(convs)} convolutions in the graph, {len(our_convs)} in {name}")
    for node, conv in zip(convs, our_convs):
        weight = graph.const(node.input[1])
        bias = graph.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if weight is None or tuple(weight.shape) != tuple(conv.weight.shape):
            got = None if weight is None else tuple(weight.shape)
            raise _fail(path, f"conv weight {got} where {name} expects {tuple(conv.weight.shape)}")
        _assign(conv.weight, weight)
        batchnorm = getattr(parent_of.get(conv), "bn", None)
        if isinstance(batchnorm, nn.BatchNorm2d):
            _load_batchnorm(graph, node, bias, batchnorm)
        elif conv.bias is not None:
            _assign(conv.bias, bias if bias is not None else np.zeros(conv.out_channels, np.float32))

    matmuls = [(n, w) for n in graph.order if (w := graph.linear_weight(n)) is not None]
    our_linears = [m for m in called if isinstance(m, nn.Linear)]
    if len(matmuls) != len(our_linears):
        raise _fail(path, f"{len(matmuls)} linear layers in the graph, {len(our_linears)} in {name}")
    # Two heads read the same tokens (cls_x, cls_y): their relative order is free, shapes decide.
    remaining = list(matmuls)
    for linear in our_linears:
        match = next((m for m in remaining if tuple(m[1].shape) == tuple(linear.weight.shape)), None)
        if match is None:
            raise _fail(path, f"no linear weight of shape {tuple(linear.weight.shape)} left in the graph")
        remaining.remove(match)
        _assign(linear.weight, match[1])


def import_onnx_weights(model: nn.Module, path: str | os.PathLike, verify: bool = True) -> None:
    """Copy the weights of an official-signature ONNX file into `model` (any family).

    With `verify`, the imported model is run against onnxruntime on a random input and a
    mismatch raises; this guards against graphs whose structure we did not anticipate.
    """
    path = Path(path)
    onnx_model, graph = _load_graph(path)
    _check_input(model, onnx_model, path)
    called, num_outputs = _forward_trace(model)
    if len(onnx_model.graph.output) != num_outputs:
        raise _fail(path, f"{len(onnx_model.graph.output)} outputs in the graph, {num_outputs} in {_model_name(model)}")
    _copy_layers(model, called, graph, path)
    _load_norm_and_attention_parameters(model, [m for m in called if isinstance(m, ScaleNorm)], graph, path)
    if verify:
        _verify_against_onnxruntime(model, path)


def _load_batchnorm(graph: _Graph, conv_node: Any, conv_bias: np.ndarray | None, bn: nn.BatchNorm2d) -> None:
    out_channels = bn.num_features
    consumers = graph.consumers.get(conv_node.output[0], [])
    bn_node = consumers[0] if len(consumers) == 1 and consumers[0].op_type == "BatchNormalization" else None
    bias = conv_bias if conv_bias is not None else np.zeros(out_channels, np.float32)
    if bn_node is not None:  # unfolded export: BN(conv(x) + b) == BN'(conv(x)) with mean - b
        scale, shift, mean, var = (graph.const(name) for name in bn_node.input[1:5])
        _assign(bn.weight, scale)
        _assign(bn.bias, shift)
        _assign(bn.running_mean, mean - bias)
        _assign(bn.running_var, var)
        eps = next((a.f for a in bn_node.attribute if a.name == "epsilon"), 1e-5)
        bn.eps = float(eps)
        return
    # Folded export: make BN an identity plus the folded bias.
    _assign(bn.weight, np.ones(out_channels, np.float32))
    _assign(bn.bias, bias)
    _assign(bn.running_mean, np.zeros(out_channels, np.float32))
    _assign(bn.running_var, np.full(out_channels, 1.0 - bn.eps, np.float32))


def _load_norm_and_attention_parameters(model: nn.Module, scale_norms: list[ScaleNorm], graph: _Graph,
                                        path: Path) -> None:
    """ScaleNorm gains (`x / clamp(norm) * g`: a Mul by a 1-element constant after a Div), the
    GAU's gamma/beta (`base * gamma + beta`) and its residual scale, found by their neighbourhood.
    `scale_norms` in call order, which is also their graph order."""
    gaus = [m for m in model.modules() if isinstance(m, GatedAttentionUnit)]
    if not scale_norms and not gaus:
        return
    if len(gaus) > 1:
        raise _fail(path, f"{len(gaus)} attention units: the importer handles one")
    gains, gamma, beta, res_scales = [], None, None, []
    for node in graph.order:
        if node.op_type != "Mul":
            continue
        value, other = graph.const_operand(node)
        if value is None:
            continue
        other_producer = graph.producer.get(other)
        consumers = graph.consumers.get(node.output[0], [])
        if value.size == 1 and other_producer is not None and other_producer.op_type == "Div":
            gains.append(value)
        elif gaus and value.size == gaus[0].gamma.numel() and len(consumers) == 1 \
                and consumers[0].op_type == "Add" and graph.const_operand(consumers[0])[0] is not None:
            gamma, beta = value, graph.const_operand(consumers[0])[0]
        elif gaus and value.size == gaus[0].res_scale.scale.numel():
            res_scales.append(value)
    if len(gains) != len(scale_norms):
        raise _fail(path, f"found {len(gains)} ScaleNorm gains, expected {len(scale_norms)}")
    for norm, gain in zip(scale_norms, gains):
        _assign(norm.g, gain)
    if not gaus:
        return
    gau = gaus[0]
    if gamma is None or beta is None or beta.size != gau.beta.numel():
        raise _fail(path, "GAU gamma/beta not found")
    if len(res_scales) != 1:
        raise _fail(path, f"found {len(res_scales)} candidates for the GAU residual scale, expected 1")
    _assign(gau.gamma, gamma)
    _assign(gau.beta, beta)
    _assign(gau.res_scale.scale, res_scales[0])


def _check_input(model: nn.Module, onnx_model: Any, path: Path) -> None:
    initializers = {t.name for t in onnx_model.graph.initializer}
    inputs = [i for i in onnx_model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise _fail(path, f"expected 1 input, got {len(inputs)}")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    width, height = model.input_size
    name = _model_name(model)
    if len(dims) != 4 or dims[1:] != [3, height, width]:
        raise _fail(path, f"input shape {dims} does not fit {name} (expects [batch, 3, {height}, {width}])")


def onnxruntime_mismatch(model: nn.Module, path: str | os.PathLike, batch: int = 1) -> str | None:
    """Where onnxruntime running `path` and `model` disagree beyond float32 noise on a random
    input ("<output>: max |diff| ..."), or None when every output agrees. Shared by the import
    check here and the export check of `onnx_io`."""
    import onnxruntime as ort

    width, height = model.input_size
    x = np.random.default_rng(0).standard_normal((batch, 3, height, width)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: x})
    was_training = model.training
    with torch.no_grad():
        ours = model.eval()(torch.from_numpy(x))
    model.train(was_training)
    ours = ours if isinstance(ours, (tuple, list)) else (ours,)
    for name, ref, out in zip([o.name for o in session.get_outputs()], reference, ours):
        if ref.shape != tuple(out.shape):
            return f"{name}: shape {ref.shape} vs {tuple(out.shape)}"
        diff = float(np.abs(ref - out.numpy()).max())
        if diff > 1e-3 * max(1.0, float(np.abs(ref).max())):
            return f"{name}: max |diff| {diff:.3g}"
    return None


def _verify_against_onnxruntime(model: nn.Module, path: Path) -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return
    mismatch = onnxruntime_mismatch(model, path)
    if mismatch is not None:
        raise _fail(path, f"imported model differs from onnxruntime on {mismatch}")
