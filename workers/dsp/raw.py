"""Raw block: the window itself, optionally scaled; for networks that learn their own features."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from workers.dsp.base import DspBlock, scale_param

if TYPE_CHECKING:
    from workers.tuner.space import DataFacts, SearchTrial


class RawBlock(DspBlock):
    """Raw data, multiplied by `scale-axes`.

    Output shape: (window_samples, axes) -- the window as sampled, time-major, so that the
    flattened features are interleaved (t0 axis0, t0 axis1, ..., t1 axis0, ...) as in Edge Impulse.
    """

    name = "raw"
    title = "Raw data"
    description = (
        "Uses the data without pre-processing (only scaled); useful when a neural "
        "network should learn its own features."
    )
    params = (scale_param(),)

    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        return (window_samples, axes)

    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        return [
            f"{axis} @ {1000 * t / frequency_hz:g} ms"
            for t in range(window_samples)
            for axis in axis_names
        ]

    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        # float32 * float32 is exactly what the device computes, so no wider type here.
        return windows * np.float32(params["scale-axes"])

    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Nothing to search: the network learns from the window itself (int8 absorbs the scale)."""
        return self.defaults()
