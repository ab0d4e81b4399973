"""Runtime adapters that run a network on a float32 NCHW batch and return NumPy outputs:
ONNX Runtime (CPU or CUDA), OpenVINO (CPU by default; optional bf16 inference precision) and
PyTorch (CPU or CUDA, optional fp16/bf16).

All report what they really run on (`device_info`), and asking for CUDA where it is not
available fails loudly instead of silently falling back to the CPU."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .errors import DWPoseError


class BackendError(DWPoseError, RuntimeError):
    """The requested backend/device cannot be used; the message says what to install or change."""


_TORCH_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
                 "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
# OpenVINO's inference precision hints, by the dtype names used everywhere here.
_OPENVINO_PRECISIONS = {"float32": "f32", "fp32": "f32", "bfloat16": "bf16", "bf16": "bf16",
                        "float16": "f16", "fp16": "f16"}
_OPENVINO_DTYPE_NAMES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}

# Backends that run an ONNX file (official signature) as it is; "torch" builds the PyTorch model.
FILE_BACKENDS = ("onnxruntime", "openvino")
BACKENDS = FILE_BACKENDS + ("torch",)


def _onnx_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"ONNX file not found: {path}")
    return path


def _check_nchw(path: Path, shape: Sequence[object]) -> None:
    """The networks here take one NCHW image batch with a fixed height and width."""
    if len(shape) != 4 or not all(isinstance(v, int) and v > 0 for v in shape[2:]):
        raise BackendError(f"{path}: expected an NCHW image input with a fixed height and width, got shape "
                           f"{list(shape)}")


class _FileRunner:
    """What every ONNX-file runner shares: the input's (H, W), and files exported with a fixed
    batch of 1 (like the official ones) are run one item at a time."""

    input_shape: list
    fixed_batch: int | None
    output_names: list[str]

    @property
    def input_hw(self) -> tuple[int, int]:
        return int(self.input_shape[2]), int(self.input_shape[3])

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.fixed_batch is None or batch.shape[0] == self.fixed_batch:
            return self._run(batch)
        parts = [self._run(batch[i:i + 1]) for i in range(batch.shape[0])]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(self.output_names))]


def file_runner(backend: str, path: str | os.PathLike, device: str = "cpu", dtype: str = "float32") -> _FileRunner:
    """The runner of a file backend ("onnxruntime" or "openvino") for an ONNX file. `dtype`
    is OpenVINO's inference precision; onnxruntime always runs the file's float32."""
    if backend == "onnxruntime":
        return OnnxRuntimeRunner(path, device)
    if backend == "openvino":
        return OpenVINORunner(path, device, dtype=dtype)
    raise BackendError(f"unknown file backend {backend!r}; use one of {', '.join(FILE_BACKENDS)}")


class OnnxRuntimeRunner(_FileRunner):
    """An onnxruntime session. `device` is "cpu", "cuda" or "cuda:N"."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None) -> None:
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
            raise BackendError(f"onnxruntime cannot load {path}: {exc}") from None
        self.provider = self.session.get_providers()[0]
        if device.startswith("cuda") and self.provider != "CUDAExecutionProvider":
            raise BackendError(f"onnxruntime fell back to {self.provider} although CUDA was asked for")
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        self.input_shape = list(inputs[0].shape)
        _check_nchw(path, self.input_shape)
        batch = self.input_shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.device_info = f"onnxruntime {ort.__version__} ({self.provider})"

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: batch})


class OpenVINORunner(_FileRunner):
    """An OpenVINO compiled model of an ONNX file. `device` is "cpu" (default) or another
    OpenVINO device ("gpu", "npu", "gpu.1"). `dtype` "float32" (default) or, opt-in,
    "bfloat16" (or "float16"), passed as OpenVINO's inference precision hint: the plugin runs
    it where the hardware supports it (bf16 on CPUs with AVX512-BF16 or AMX) and float32
    elsewhere. `precision` and `device_info` say what the compiled model really uses."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None,
                 dtype: str = "float32") -> None:
        try:
            import openvino as ov
        except ImportError:
            raise BackendError("backend 'openvino' needs the openvino package: pip install 'dwpose[openvino]' "
                               "(or use backend='onnxruntime')") from None
        path = _onnx_file(path)
        if dtype not in _OPENVINO_PRECISIONS:
            raise BackendError(f"unknown dtype {dtype!r} for openvino; choose float32 or bfloat16")
        core = ov.Core()
        device_name = self._device_name(device, core.available_devices)
        try:
            model = core.read_model(str(path))
        except Exception as exc:
            raise BackendError(f"openvino cannot load {path}: {exc}") from None
        shape = [d.get_length() if d.is_static else "?" for d in model.inputs[0].get_partial_shape()]
        _check_nchw(path, shape)
        config: dict = {"INFERENCE_PRECISION_HINT": _OPENVINO_PRECISIONS[dtype], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            self.compiled = core.compile_model(model, device_name, config)
        except Exception as exc:
            raise BackendError(f"openvino cannot compile {path} for {device_name}: {exc}") from None
        self.input_name = model.inputs[0].get_any_name()
        self.input_shape = shape
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
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


class TorchRunner:
    """A PyTorch module on a device, optionally in half precision (autocast)."""

    def __init__(self, module: nn.Module, device: str = "cpu", dtype: str = "float32") -> None:
        if dtype not in _TORCH_DTYPES:
            raise BackendError(f"unknown dtype {dtype!r}; choose float32, float16 or bfloat16")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError("device 'cuda' asked for, but PyTorch sees no CUDA device")
        self.device = torch.device(device)
        self.dtype = _TORCH_DTYPES[dtype]
        if self.dtype == torch.float16 and self.device.type == "cpu":
            raise BackendError("float16 is not supported on the CPU; use bfloat16 or float32")
        self.module = module.eval().to(self.device)
        if self.device.type == "cuda":
            self.module = self.module.to(memory_format=torch.channels_last)
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        self.device_info = f"torch {torch.__version__} ({name}, {str(self.dtype).removeprefix('torch.')})"
        self.fixed_batch = None

    @torch.inference_mode()
    def run_tensor(self, batch: torch.Tensor) -> Sequence[torch.Tensor]:
        batch = batch.to(self.device, non_blocking=True)
        if self.device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        if self.dtype == torch.float32:
            out = self.module(batch)
        else:
            with torch.autocast(self.device.type, dtype=self.dtype):
                out = self.module(batch)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.float() for o in outs]

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return [o.cpu().numpy() for o in self.run_tensor(torch.from_numpy(np.ascontiguousarray(batch, np.float32)))]
