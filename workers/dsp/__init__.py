"""Signal processing (DSP) blocks of an impulse: numpy implementations and their registry.

Every block turns float32 windows shaped (n_windows, window_samples, axes) into float32
features shaped (n_windows, *output_shape); `workers/dsp/c/` holds the C twin for devices.
"""

from __future__ import annotations

from workers.dsp.audio import MfccBlock, MfeBlock, SpectrogramBlock
from workers.dsp.base import DspBlock, DspParamError
from workers.dsp.flatten import FlattenBlock
from workers.dsp.raw import RawBlock
from workers.dsp.spectral import SpectralAnalysisBlock

BLOCKS: dict[str, DspBlock] = {
    block.name: block
    for block in (
        RawBlock(),
        FlattenBlock(),
        SpectralAnalysisBlock(),
        MfccBlock(),
        MfeBlock(),
        SpectrogramBlock(),
    )
}


def get_block(name: str) -> DspBlock:
    """The DSP block called `name`; DspParamError (field "block") if there is none."""
    try:
        return BLOCKS[name]
    except KeyError:
        known = ", ".join(sorted(BLOCKS))
        raise DspParamError("block", f"unknown DSP block {name!r} (known: {known})") from None


__all__ = ["BLOCKS", "DspBlock", "DspParamError", "get_block"]
