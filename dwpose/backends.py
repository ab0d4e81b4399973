"""Runtime adapters that run a network on a float32 NCHW batch and return NumPy outputs:
ONNX Runtime (CPU or CUDA) and PyTorch (CPU or CUDA, optional fp16/bf16, optional
torch.compile).

Both report what they really run on (`device_info`), and asking for CUDA where it is not
available fails loudly instead of silently falling back to the CPU."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .errors import DWPoseError, InputError


class BackendError(DWPoseError, RuntimeError):
    """The requested backend/device cannot be used; the message says what to install or change."""


# The one precision vocabulary of every torch path (pose stage, detector, CLI, benchmarks).
TORCH_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32, "fp32": torch.float32,
    "float16": torch.float16, "fp16": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a precision name from `TORCH_DTYPES`."""
    try:
        return TORCH_DTYPES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown dtype {name!r}; choose one of {', '.join(TORCH_DTYPES)}") from None


def bucket_size(n: int, limit: int | None = None) -> int:
    """Smallest power of two >= n, capped at `limit` (never below n): batches padded to these
    sizes reuse a few compiled graphs instead of compiling one per person count."""
    bucket = 1 << (max(n, 1) - 1).bit_length()
    return max(n, min(bucket, limit)) if limit else bucket


# What the ONNX file of each model kind looks like: one image input N x 3 x H x W (H and W
# fixed) and this many outputs of rank 3. Checked at load, so a detector given as the pose model
# (or the reverse) fails there with one line instead of on every image.
ONNX_SIGNATURES = {  # kind: (number of outputs, what it is, its official inputs -> outputs)
    "pose": (2, "a pose model", "input Nx3xHxW -> simcc_x, simcc_y"),
    "detector": (1, "a YOLOX detector", "images Nx3xHxW -> output"),
}
_TORCH_SUFFIXES = {".pth", ".pt", ".ckpt", ".tar"}


class OnnxRuntimeRunner:
    """An onnxruntime session. `device` is "cpu", "cuda" or "cuda:N"; `expect` ("pose" or
    "detector") checks the file's inputs and outputs at load (see ONNX_SIGNATURES)."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None,
                 expect: str | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise BackendError(f"ONNX file not found: {path}")
        if _is_torch_file(path):
            raise BackendError(f"{path} is a PyTorch checkpoint, not an ONNX file: use the torch backend "
                               "(--backend torch), or turn it into ONNX with `dwpose export`")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendError(
                    "device 'cuda' asked for, but this onnxruntime has no CUDAExecutionProvider "
                    f"(available: {', '.join(ort.get_available_providers())}); install onnxruntime-gpu "
                    "or use backend='torch'")
            device_id = int(device.split(":")[1]) if ":" in device else 0
            providers: list = [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
        elif device == "cpu":
            providers = ["CPUExecutionProvider"]
        else:
            raise BackendError(f"unknown device {device!r} for onnxruntime (use 'cpu' or 'cuda[:N]')")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:
            hint = "; for PyTorch weights use --backend torch" if path.suffix.lower() in _TORCH_SUFFIXES else ""
            raise BackendError(f"onnxruntime cannot load {path}: {exc}{hint}") from None
        if expect is not None:
            self._check_signature(path, expect)
        self.provider = self.session.get_providers()[0]
        if device.startswith("cuda") and self.provider != "CUDAExecutionProvider":
            raise BackendError(f"onnxruntime fell back to {self.provider} although CUDA was asked for")
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        self.input_shape = list(inputs[0].shape)
        batch = self.input_shape[0]
        self.fixed_batch: int | None = batch if isinstance(batch, int) and batch > 0 else None
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.device_info = f"onnxruntime {ort.__version__} ({self.provider})"

    def _fits(self, kind: str) -> bool:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            return False
        channels, height, width = inputs[0].shape[1:]
        if isinstance(channels, int) and channels != 3:
            return False
        fixed_size = all(isinstance(d, int) and d > 0 for d in (height, width))
        return fixed_size and len(outputs) == ONNX_SIGNATURES[kind][0] and all(len(o.shape) == 3 for o in outputs)

    def _check_signature(self, path: Path, expect: str) -> None:
        if self._fits(expect):
            return
        seen = f"{_describe(self.session.get_inputs())} -> {_describe(self.session.get_outputs())}"
        guess = next((f", which looks like {ONNX_SIGNATURES[kind][1]}" for kind in ONNX_SIGNATURES
                      if kind != expect and self._fits(kind)), "")
        _, what, official = ONNX_SIGNATURES[expect]
        raise BackendError(f"{path} is not {what} ({official}): it has {seen}{guess}")

    @property
    def input_hw(self) -> tuple[int, int]:
        return int(self.input_shape[2]), int(self.input_shape[3])

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.fixed_batch is None or batch.shape[0] == self.fixed_batch:
            return self.session.run(self.output_names, {self.input_name: batch})
        # A file exported with a fixed batch of 1 (like the official ones): one call per item.
        parts = [self.session.run(self.output_names, {self.input_name: batch[i:i + 1]})
                 for i in range(batch.shape[0])]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(self.output_names))]


def _describe(nodes: list) -> str:
    """ONNX inputs or outputs as `name[1x3x256x192], ...` (symbolic dimensions by name)."""
    return ", ".join(f"{node.name}[{'x'.join(str(d) for d in node.shape)}]" for node in nodes)


def _is_torch_file(path: Path) -> bool:
    """torch.save writes a zip archive (or, before PyTorch 1.6, a pickle); ONNX is protobuf."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return head == b"PK\x03\x04" or head[:1] == b"\x80"


class TorchRunner:
    """A PyTorch module on a device. Precision has one mechanism: the module keeps its float32
    weights and runs under autocast for float16/bfloat16 (norms and softmax stay in float32),
    so a module shared with other runners is never cast in place. Outputs are float32.

    `compile=True` wraps the module in `torch.compile` ("reduce-overhead", i.e. CUDA graphs, on
    GPUs) and pads every batch to a power-of-two bucket (at most `max_batch`), so that a few
    graphs serve every batch size."""

    def __init__(self, module: nn.Module, device: str = "cpu", dtype: str = "float32", compile: bool = False,
                 max_batch: int | None = None) -> None:
        self.dtype = torch_dtype(dtype)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError("device 'cuda' asked for, but PyTorch sees no CUDA device")
        try:
            self.device = torch.device(device)
        except RuntimeError:
            raise BackendError(f"unknown device {device!r} for torch (use 'cpu' or 'cuda[:N]')") from None
        if self.dtype == torch.float16 and self.device.type == "cpu":
            raise BackendError("float16 is not supported on the CPU; use bfloat16 or float32")
        self.module = module.eval().to(self.device)
        on_gpu = self.device.type == "cuda"
        # The network's preferred layout: channels_last on GPUs (tensor cores), plain NCHW on the CPU.
        self.memory_format = torch.channels_last if on_gpu else torch.contiguous_format
        if on_gpu:
            self.module = self.module.to(memory_format=torch.channels_last)
        self.compiled = compile
        self.max_batch = max_batch
        self.network: nn.Module = self.module
        if compile:
            _allow_recompiles(2 * (bucket_size(max_batch or 256).bit_length() + 1))
            self.network = torch.compile(self.module, mode="reduce-overhead" if on_gpu else "default", dynamic=False)
        name = torch.cuda.get_device_name(self.device) if on_gpu else "cpu"
        extra = ", compiled" if compile else ""
        self.device_info = f"torch {torch.__version__} ({name}, {str(self.dtype).removeprefix('torch.')}{extra})"
        self.fixed_batch = None

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @torch.inference_mode()
    def run_tensor(self, batch: torch.Tensor) -> Sequence[torch.Tensor]:
        """Float32 outputs (on the device) for a float32 NCHW batch (any device, any layout)."""
        batch = batch.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        n = batch.shape[0]
        if self.compiled:
            size = bucket_size(n, self.max_batch)
            if size > n:
                batch = torch.cat([batch, batch.new_zeros((size - n, *batch.shape[1:]))])
                batch = batch.contiguous(memory_format=self.memory_format)
            if self.device.type == "cuda":
                torch.compiler.cudagraph_mark_step_begin()
        with self.autocast():
            out = self.network(batch)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        # Copies when compiled: a CUDA-graph replay reuses its output buffers for the next call.
        return [o[:n].to(torch.float32, copy=self.compiled) for o in outs]

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return [o.cpu().numpy() for o in self.run_tensor(torch.from_numpy(np.ascontiguousarray(batch, np.float32)))]


def _allow_recompiles(count: int) -> None:
    """torch.compile(dynamic=False) compiles one graph per batch bucket; dynamo's default limit
    (8 per function) would silently fall back to eager after the eighth."""
    import torch._dynamo.config as dynamo_config

    for name in ("recompile_limit", "cache_size_limit"):  # the second is the pre-2.6 name
        if hasattr(dynamo_config, name):
            setattr(dynamo_config, name, max(getattr(dynamo_config, name), count))
