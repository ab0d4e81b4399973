"""Runtime adapters that run a network on a float32 NCHW batch and return NumPy outputs:
ONNX Runtime (CPU or CUDA), OpenVINO (CPU by default; optional bf16 inference precision) and
PyTorch (CPU or CUDA, optional fp16/bf16, optional torch.compile).

All report what they really run on (`device_info`), and asking for CUDA where it is not
available fails loudly instead of silently falling back to the CPU."""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .errors import BackendError, InputError, ModelFileNotFound


# The one precision vocabulary of every torch path (pose stage, detector, CLI, benchmarks).
TORCH_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32, "fp32": torch.float32,
    "float16": torch.float16, "fp16": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}
# OpenVINO's inference precision hints, by the dtype names used everywhere here.
_OPENVINO_PRECISIONS = {"float32": "f32", "fp32": "f32", "bfloat16": "bf16", "bf16": "bf16",
                        "float16": "f16", "fp16": "f16"}
_OPENVINO_DTYPE_NAMES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


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


# Backends that run an ONNX file (official signature) as it is; "torch" builds the PyTorch model.
FILE_BACKENDS = ("onnxruntime", "openvino")
BACKENDS = FILE_BACKENDS + ("torch",)

# What the ONNX file of each model kind looks like: one image input N x 3 x H x W (H and W
# fixed, except for a detector with NMS, whose size the caller gives) and outputs of these ranks.
# Checked at load, so a detector given as the pose model (or the reverse) fails there with one
# line instead of on every image.
ONNX_SIGNATURES = {  # kind: (output ranks, what it is, its official inputs -> outputs)
    "pose": ((3, 3), "a pose model", "input Nx3xHxW -> simcc_x, simcc_y"),
    "detector": ((3,), "a YOLOX detector", "images Nx3xHxW -> output"),
    # mmdeploy's end2end export (the SDK zips of rtmlib's modes): boxes after NMS.
    "detector-nms": ((3, 2), "a YOLOX detector with NMS", "input Nx3xHxW -> dets (N, k, 5), labels (N, k)"),
}
_ACCEPTED = {"pose": ("pose",), "detector": ("detector", "detector-nms")}
_TORCH_SUFFIXES = {".pth", ".pt", ".ckpt", ".tar"}


def backend_for_files(*paths: str | os.PathLike | None, backend: str | None = None) -> str:
    """The backend asked for, else the one that reads every given weight file: torch when one is
    a PyTorch checkpoint (by suffix: .pth, .pt, .ckpt, .tar; torch reads ONNX files too), else
    onnxruntime. The one rule of the CLI and the adapters; None paths (no detector) are skipped."""
    if backend is not None:
        return backend
    torch_files = any(Path(p).suffix.lower() in _TORCH_SUFFIXES for p in paths if p is not None)
    return "torch" if torch_files else "onnxruntime"


def file_runner(backend: str, path: str | os.PathLike, device: str = "cpu", dtype: str = "float32",
                expect: str | None = None, threads: int | None = None) -> "FileRunner":
    """The runner of a file backend ("onnxruntime" or "openvino") for an ONNX file; `expect`
    ("pose" or "detector") checks its signature at load. `dtype` is OpenVINO's inference
    precision; onnxruntime always runs the file's float32. `threads` caps the intra-op threads
    (None: the runtime's default)."""
    if backend == "onnxruntime":
        return OnnxRuntimeRunner(path, device, threads, expect=expect)
    if backend == "openvino":
        return OpenVINORunner(path, device, threads, dtype=dtype, expect=expect)
    raise BackendError(f"unknown file backend {backend!r}; use one of {', '.join(FILE_BACKENDS)}")


class FileRunner:
    """What every ONNX-file runner shares: the signature check, the input's (H, W), and files
    exported with a fixed batch of 1 (like the official ones) run one item at a time. A runner
    describes its inputs and outputs as (name, shape) pairs, symbolic dimensions not as ints."""

    input_shape: list
    fixed_batch: int | None
    output_names: list[str]
    signature: str | None = None  # which ONNX_SIGNATURES kind the file is (when checked)

    def _io(self) -> tuple[list[tuple[str, list]], list[tuple[str, list]]]:
        raise NotImplementedError

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def _fits(self, kind: str) -> bool:
        inputs, outputs = self._io()
        if len(inputs) != 1 or len(inputs[0][1]) != 4:
            return False
        channels, height, width = inputs[0][1][1:]
        if isinstance(channels, int) and channels != 3:
            return False
        fixed_size = all(isinstance(d, int) and d > 0 for d in (height, width))
        ranks = tuple(len(shape) for _, shape in outputs)
        return (fixed_size or kind == "detector-nms") and ranks == ONNX_SIGNATURES[kind][0]

    def _check_signature(self, path: Path, expect: str) -> None:
        accepted = _ACCEPTED.get(expect, (expect,))
        self.signature = next((kind for kind in accepted if self._fits(kind)), None)
        if self.signature is not None:
            return
        inputs, outputs = self._io()
        seen = f"{_describe(inputs)} -> {_describe(outputs)}"
        guess = next((f", which looks like {ONNX_SIGNATURES[kind][1]}" for kind in ONNX_SIGNATURES
                      if kind not in accepted and self._fits(kind)), "")
        _, what, official = ONNX_SIGNATURES[expect]
        raise BackendError(f"{path} is not {what} ({official}): it has {seen}{guess}")

    @property
    def input_hw(self) -> tuple[int, int] | None:
        """(H, W) of the input, None where the file leaves them free."""
        height, width = self.input_shape[2:4]
        return (height, width) if isinstance(height, int) and isinstance(width, int) else None

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.fixed_batch is None or batch.shape[0] == self.fixed_batch:
            return self._run(batch)
        parts = [self._run(batch[i:i + 1]) for i in range(batch.shape[0])]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(self.output_names))]


class OnnxRuntimeRunner(FileRunner):
    """An onnxruntime session. `device` is "cpu", "cuda" or "cuda:N"; `expect` ("pose" or
    "detector") checks the file's inputs and outputs at load (see ONNX_SIGNATURES)."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None,
                 expect: str | None = None) -> None:
        import onnxruntime as ort

        path = _onnx_file(path)
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
            raise BackendError(f"onnxruntime cannot load {path}: {exc}{_torch_hint(path)}") from None
        if expect is not None:
            self._check_signature(path, expect)
        self.provider = self.session.get_providers()[0]
        if device.startswith("cuda") and self.provider != "CUDAExecutionProvider":
            raise BackendError(f"onnxruntime fell back to {self.provider} although CUDA was asked for")
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        self.input_shape = list(inputs[0].shape)
        batch = self.input_shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.device_info = f"onnxruntime {ort.__version__} ({self.provider})"

    def _io(self) -> tuple[list[tuple[str, list]], list[tuple[str, list]]]:
        return ([(i.name, list(i.shape)) for i in self.session.get_inputs()],
                [(o.name, list(o.shape)) for o in self.session.get_outputs()])

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: batch})


class OpenVINORunner(FileRunner):
    """An OpenVINO compiled model of an ONNX file. `device` is "cpu" (default) or another
    OpenVINO device ("gpu", "npu", "gpu.1"). `dtype` "float32" (default) or, opt-in,
    "bfloat16" (or "float16"), passed as OpenVINO's inference precision hint: the plugin runs
    it where the hardware supports it (bf16 on CPUs with AVX512-BF16 or AMX) and float32
    elsewhere. `precision` and `device_info` say what the compiled model really uses; `expect`
    checks the signature as for onnxruntime."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None,
                 dtype: str = "float32", expect: str | None = None) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise BackendError("backend 'openvino' needs the openvino package: pip install 'dwpose-toolkit[openvino]' "
                               "(or use backend='onnxruntime')") from None
        path = _onnx_file(path)
        if dtype not in _OPENVINO_PRECISIONS:
            raise BackendError(f"unknown dtype {dtype!r} for openvino; choose float32 or bfloat16")
        core = _openvino_core()
        device_name = self._device_name(device, core.available_devices)
        try:
            self.model = core.read_model(str(path))
        except Exception as exc:
            raise BackendError(f"openvino cannot load {path}: {exc}{_torch_hint(path)}") from None
        if expect is not None:
            self._check_signature(path, expect)
        config: dict = {"INFERENCE_PRECISION_HINT": _OPENVINO_PRECISIONS[dtype], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            self.compiled = core.compile_model(self.model, device_name, config)
        except Exception as exc:
            raise BackendError(f"openvino cannot compile {path} for {device_name}: {exc}") from None
        inputs, _ = self._io()
        self.input_name, self.input_shape = inputs[0]
        self.fixed_batch = self.input_shape[0] if isinstance(self.input_shape[0], int) else None
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]
        self.device = device_name
        actual = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        # Type prints as e.g. "<Type: 'float32'>" or "bf16" depending on the version.
        self.precision = next((name for hint, name in _OPENVINO_DTYPE_NAMES.items()
                               if hint in actual or name in actual), actual)
        wanted = _OPENVINO_DTYPE_NAMES[_OPENVINO_PRECISIONS[dtype]]
        if self.precision != wanted:
            warnings.warn(f"openvino runs {path.name} in {self.precision} on {device_name}: {wanted} is not "
                          f"supported there (bf16 needs a CPU with AVX512-BF16 or AMX)", stacklevel=2)
        full_name = core.get_property(device_name, "FULL_DEVICE_NAME")
        self.device_info = f"openvino {ov.__version__.split('-')[0]} ({device_name}: {full_name}, {self.precision})"

    def _io(self) -> tuple[list[tuple[str, list]], list[tuple[str, list]]]:
        def described(nodes: list) -> list[tuple[str, list]]:
            return [(node.get_any_name(), [d.get_length() if d.is_static else "?" for d in node.get_partial_shape()])
                    for node in nodes]
        return described(self.model.inputs), described(self.model.outputs)

    @staticmethod
    def _device_name(device: str, available: Sequence[str]) -> str:
        if not isinstance(device, str) or device.startswith("cuda"):
            raise BackendError(f"device {device!r} is not an OpenVINO device (use 'cpu', 'gpu' or 'npu'; for CUDA "
                               "use backend 'torch' or 'onnxruntime')")
        name = device.upper().replace(":", ".")
        if name not in available and name.split(".")[0] not in {d.split(".")[0] for d in available}:
            raise BackendError(f"openvino has no device {device!r} here (available: {', '.join(available) or 'none'})")
        return name

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        outputs = self.compiled(batch)
        return [np.asarray(outputs[o]) for o in self.compiled.outputs]


@functools.lru_cache(maxsize=1)
def _openvino_core() -> object:
    """One OpenVINO Core for the process, as OpenVINO advises. With a Core per runner, Ctrl-C
    (SIGINT) after a detector's and a pose runner's Cores were gone crashed the process
    (segfault, OpenVINO 2026.4); with one Core kept for the process it does not."""
    import openvino as ov

    return ov.Core()


def _onnx_file(path: str | os.PathLike) -> Path:
    """An existing file that is not a PyTorch checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFound(f"ONNX file not found: {path}")
    if _is_torch_file(path):
        raise BackendError(f"{path} is a PyTorch checkpoint, not an ONNX file: use the torch backend "
                           "(--backend torch), or turn it into ONNX with `dwpose export`")
    return path


def _torch_hint(path: Path) -> str:
    return "; for PyTorch weights use --backend torch" if path.suffix.lower() in _TORCH_SUFFIXES else ""


def _describe(nodes: list[tuple[str, list]]) -> str:
    """ONNX inputs or outputs as `name[1x3x256x192], ...` (symbolic dimensions by name)."""
    return ", ".join(f"{name}[{'x'.join(str(d) for d in shape)}]" for name, shape in nodes)


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
