"""Flatten block: a few statistics per axis; good for slow signals such as temperature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from workers.dsp.base import DspBlock, DspParamError, Param, per_axis, scale_param
from workers.dsp.stats import moments

if TYPE_CHECKING:
    from workers.tuner.space import DataFacts, SearchTrial

# Order of the statistics in the output, per axis (the same order as Edge Impulse).
STATISTICS: tuple[tuple[str, str, str], ...] = (
    ("average", "Average", "Mean value of the window."),
    ("minimum", "Minimum", "Smallest value in the window."),
    ("maximum", "Maximum", "Largest value in the window."),
    ("rms", "Root-mean square", "Square root of the mean of the squared values."),
    ("stdev", "Standard deviation", "Population standard deviation (divides by N)."),
    ("skewness", "Skewness", "Third standardised moment (biased estimator; 0 if constant)."),
    (
        "kurtosis",
        "Kurtosis",
        "Fisher kurtosis, fourth standardised moment minus 3 (biased estimator; 0 if constant).",
    ),
)


# The statistic sets the tuner chooses from: all, without the shape moments, spread only.
STATISTIC_SETS: dict[str, tuple[str, ...]] = {
    "all": tuple(name for name, _, _ in STATISTICS),
    "no-skewness-kurtosis": ("average", "minimum", "maximum", "rms", "stdev"),
    "min-max-rms-stdev": ("minimum", "maximum", "rms", "stdev"),
}


def enabled_statistics(params: dict[str, Any]) -> list[str]:
    """Names of the statistics switched on, in output order."""
    return [name for name, _, _ in STATISTICS if params[name]]


class FlattenBlock(DspBlock):
    """Statistics of each axis over the window, after multiplying by `scale-axes`.

    Output shape: (axes * k,) where k is the number of statistics switched on; axis-major, and
    within an axis in the order average, minimum, maximum, rms, stdev, skewness, kurtosis.
    """

    name = "flatten"
    title = "Flatten"
    description = (
        "Reduces each axis to a few statistics over the window; useful for "
        "slow-moving signals such as temperature, often next to other blocks."
    )
    params = (scale_param(),) + tuple(
        Param(name, "boolean", True, title, description) for name, title, description in STATISTICS
    )

    def _check_params(self, params: dict[str, Any]) -> None:
        if not enabled_statistics(params):
            raise DspParamError(
                "average",
                "switch on at least one statistic "
                "(average, minimum, maximum, rms, stdev, skewness, "
                "kurtosis)",
            )

    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        return (axes * len(enabled_statistics(params)),)

    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        titles = {name: title for name, title, _ in STATISTICS}
        return [
            f"{axis} {titles[name]}" for axis in axis_names for name in enabled_statistics(params)
        ]

    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        n, _, axes = windows.shape
        scaled = windows * np.float32(params["scale-axes"])
        stats = moments(per_axis(scaled))
        columns = [stats[name] for name in enabled_statistics(params)]
        return np.stack(columns, axis=-1).reshape(n, -1).astype(np.float32)

    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Samples which statistics are computed ("flatten.statistics", a named set)."""
        chosen = STATISTIC_SETS[
            trial.suggest_categorical(f"{self.name}.statistics", tuple(STATISTIC_SETS))
        ]
        return self.validate_params({name: name in chosen for name, _, _ in STATISTICS})
