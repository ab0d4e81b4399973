"""Label codecs: SimCC encode/decode."""

from .simcc import SIGMA_BY_INPUT_SIZE, SimCCCodec, flip_simcc_back

__all__ = ["SIGMA_BY_INPUT_SIZE", "SimCCCodec", "flip_simcc_back"]
