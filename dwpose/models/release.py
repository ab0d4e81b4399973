"""The record types of a family's release facts (timm's `default_cfgs`): the weight files it
publishes, the model+detector presets that name them and the I/O signature of its ONNX files.
Each family module fills these beside its config table; `zoo.py` gathers them."""

from __future__ import annotations

from dataclasses import dataclass

from ..weights import hub_url

MMPOSE_URL = "https://download.openmmlab.com/mmpose/v1/projects"
MMPOSE_LICENCE = "Apache-2.0 (mmpose)"
DWPOSE_LICENCE = "Apache-2.0 (DWPose repository)"


@dataclass(frozen=True)
class WeightFile:
    """One released weight file (what `dwpose.weights.fetch` downloads and verifies)."""

    filename: str
    repo: str            # "<owner>/<name>" on the hub, or a full URL for other hosts
    arch: str            # model registry name (pose), YOLOX size (detector), CSPNeXt size (backbone)
    kind: str            # "pose", "detector" or "backbone" (a `pretrained_backbone` of the recipes)
    size: int | None = None     # bytes of the downloaded file (the zip, for `archive`), where known
    sha256: str | None = None   # of the downloaded file, where known; checked after download
    archive: str | None = None  # the zip served instead of the file; `filename` is its `end2end.onnx`
    whole_ap: float | None = None  # COCO-WholeBody v1.0 val whole-body AP as the authors report it
    licence: str | None = None     # of the weights, as stated by the source; None: see the source
    alias: str | None = None       # a short registry name (backbones: `cspnext-l-udp`)

    @property
    def download_name(self) -> str:
        return self.archive or self.filename

    def url(self, endpoint: str | None = None) -> str:
        if self.repo.startswith(("http://", "https://")):
            return self.repo
        return hub_url(self.repo, self.download_name, endpoint)


def sdk_zip(project: str, stem: str, arch: str, kind: str, whole_ap: float | None = None) -> WeightFile:
    """An mmdeploy ONNX SDK zip as rtmlib downloads it (`rtmlib/tools/solution/*.py`), cached as
    `<stem>.onnx` like rtmlib does; sizes/hashes not known here."""
    return WeightFile(f"{stem}.onnx", f"{MMPOSE_URL}/{project}/onnx_sdk/{stem}.zip", arch, kind,
                      archive=f"{stem}.zip", whole_ap=whole_ap, licence=MMPOSE_LICENCE)


@dataclass(frozen=True)
class Preset:
    """A pose model and detector that go together (registry file names)."""

    pose: str
    det: str
    det_input_size: tuple[int, int] | None  # (width, height) for a detector file that leaves it free


@dataclass(frozen=True)
class OnnxSignature:
    """What an ONNX file of a family looks like: one image input N x 3 x H x W (H and W fixed
    unless `free_size`) and outputs of these ranks. Checked at load, so a detector given as the
    pose model (or the reverse) fails there with one line instead of on every image."""

    output_ranks: tuple[int, ...]
    what: str        # "a pose model"
    official: str    # its official inputs -> outputs, for the error message
    free_size: bool = False  # the caller gives the input size (a detector with NMS inside)


@dataclass(frozen=True)
class Normalisation:
    """How a network wants its image: channel order and per-channel (x - mean) / std on the
    0..255 scale; None mean/std: raw 0..255 values."""

    channels: str  # "RGB" or "BGR"
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
