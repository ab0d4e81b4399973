"""What an ONNX file holds, read from its graph without running it: input and output shapes,
the width of the first convolution and the operator types. Families decide from this summary
whether a file is theirs and which size it is (`ModelFamily.detect_onnx`)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from ..errors import CheckpointError, ModelFileNotFound



@dataclass(frozen=True)
class OnnxSummary:
    input_dims: tuple[int | None, ...]                         # None for a symbolic axis ("batch")
    outputs: tuple[tuple[str, tuple[int | None, ...]], ...]  # (name, dims) in graph order
    first_conv_channels: int | None                            # output channels of the first Conv node
    op_counts: Mapping[str, int]                               # operator type -> number of nodes

    @property
    def input_hw(self) -> tuple[int, int] | None:
        """(height, width) of an NCHW input with static spatial axes."""
        if len(self.input_dims) != 4 or self.input_dims[2] is None or self.input_dims[3] is None:
            return None
        return int(self.input_dims[2]), int(self.input_dims[3])

    def describe(self) -> str:
        dims = ["batch" if d is None else d for d in self.input_dims]
        outputs = ", ".join(name for name, _ in self.outputs)
        return f"input {dims} -> {outputs}; first conv {self.first_conv_channels} channels"


def _dims(value_info) -> tuple[int | None, ...]:
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim)


def probe_onnx(path: str | os.PathLike) -> OnnxSummary:
    """Summarise an ONNX file; raises CheckpointError when it cannot be read."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFound(f"ONNX file not found: {path}")
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable ONNX file ({exc})") from None
    initializers = {t.name: tuple(t.dims) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if not inputs:
        raise CheckpointError(f"{path}: the ONNX graph has no input")
    first_conv = next((n for n in graph.node if n.op_type == "Conv"), None)
    weight = initializers.get(first_conv.input[1]) if first_conv is not None else None
    return OnnxSummary(
        input_dims=_dims(inputs[0]),
        outputs=tuple((o.name, _dims(o)) for o in graph.output),
        first_conv_channels=int(weight[0]) if weight else None,
        op_counts=dict(Counter(n.op_type for n in graph.node)),
    )
