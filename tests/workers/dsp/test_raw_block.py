"""Raw block against a direct computation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workers.dsp import BLOCKS


def test_raw_is_the_scaled_window_in_sample_order(motion: Callable[..., np.ndarray]) -> None:
    windows = motion(4, 50, 3, 50.0, seed=1)
    features = BLOCKS["raw"].process(windows, 50.0, {"scale-axes": 0.25})
    assert features.shape == (4, 50, 3)
    np.testing.assert_array_equal(features, windows * np.float32(0.25))
    # Flattened, the features interleave the axes sample by sample.
    np.testing.assert_array_equal(features.reshape(4, -1)[0, :3], windows[0, 0] * 0.25)
