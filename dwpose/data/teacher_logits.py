"""Teacher logits stored by `dwpose label --save-logits`, for offline logit distillation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..codec.topk import KD_BETA, unpack_persons
from ..formats import LABEL_LOGITS_SUFFIX, LABEL_MANIFEST, LABEL_SHARD_FOLDER
from ..errors import DatasetError


class StoredLogits:
    """The top-k logits of a label run folder, by annotation id (shards memory-mapped)."""

    def __init__(self, run_folder: str | os.PathLike) -> None:
        run = Path(run_folder)
        manifest_path = run / LABEL_MANIFEST
        if not manifest_path.is_file():
            raise DatasetError(f"{run}: not a `dwpose label` run folder (no {LABEL_MANIFEST})")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not manifest.get("logits"):
            raise DatasetError(f"{run}: the run stored no logits (label it with --save-logits)")
        self.folder = run
        self.bins = tuple(int(b) for b in manifest["logits"]["bins"])
        self.input_size = tuple(int(v) for v in manifest["pose_model"]["input_size"])
        # The tail mass of the top-k records is exact only at the temperature they were packed at.
        self.beta = float(manifest["logits"].get("beta", KD_BETA))
        self.shards = [np.load(path, mmap_mode="r") for path in
                       sorted((run / LABEL_SHARD_FOLDER).glob(f"*{LABEL_LOGITS_SUFFIX}"))]
        self.index = {int(aid): (n, row) for n, shard in enumerate(self.shards)
                      for row, aid in enumerate(shard["annotation_id"])}

    def check_input_size(self, input_size: tuple[int, int]) -> None:
        if tuple(input_size) != self.input_size:
            raise DatasetError(f"{self.folder}: logits of a {self.input_size[0]}x{self.input_size[1]} (w x h) teacher "
                               f"cannot teach a {input_size[0]}x{input_size[1]} student")

    def check_beta(self, beta: float) -> None:
        if abs(float(beta) - self.beta) > 1e-6:
            raise DatasetError(f"{self.folder}: these logits were packed for a KD temperature (beta) of {self.beta:g}, "
                               f"but the student distils at {float(beta):g} (an RTMW student uses 1, RTMPose 10): "
                               "distil this student with the teacher online (teacher_logits = \"online\")")

    def __contains__(self, annotation_id: object) -> bool:
        return annotation_id in self.index

    def get(self, annotation_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate teacher logits (K, Bx), (K, By) of one person (see dwpose.codec.topk)."""
        shard, row = self.index[int(annotation_id)]
        x, y = unpack_persons(self.shards[shard][row:row + 1], self.bins)
        return x[0], y[0]
