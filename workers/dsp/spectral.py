"""Spectral analysis block: filter, time-domain statistics and FFT power per axis (motion data)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from workers.dsp.base import DspBlock, DspParamError, Param, per_axis, scale_param
from workers.dsp.filters import butterworth_sections, sosfilt
from workers.dsp.spectrum import FFT_LENGTHS, power_spectrum
from workers.dsp.stats import moments

if TYPE_CHECKING:
    from workers.tuner.space import DataFacts, SearchTrial

# Powers below this are clamped before the logarithm: it keeps log10 finite, and below it the
# device's float32 FFT rounding noise would dominate anyway.
LOG_FLOOR = 1e-10
TIME_FEATURES = ("rms", "skewness", "kurtosis")
# FFT lengths the tuner chooses from (capped near the sampling rate: longer ones add nothing).
TUNED_FFT_LENGTHS = (16, 32, 64, 128)
TUNED_FILTER_ORDERS = (2, 4, 6)
# Cut-offs are sampled between one FFT bin and this fraction of the sampling rate.
TUNED_CUTOFF_TOP = 0.45
# Rows (axis x window) processed at once, so that memory stays bounded on large batches.
CHUNK_ROWS = 256


def spectral_filter(params: dict[str, Any], frequency_hz: float) -> np.ndarray | None:
    """The Butterworth sections the block applies, or None when it does not filter."""
    if params["filter-type"] == "none" or params["filter-order"] == 0:
        return None
    return butterworth_sections(
        params["filter-type"], params["filter-order"], params["filter-cutoff"], frequency_hz
    )


def spectral_bands(params: dict[str, Any], frequency_hz: float) -> list[tuple[int, int]]:
    """FFT bin ranges [start, end) whose mean power makes each spectral output.

    Without power edges every bin from 1 (DC is skipped: the mean is removed) to fft/2 is its
    own band, minus the bins a low- or high-pass filter removed (as Edge Impulse masks them).
    With power edges each band is the bins whose frequency lies in [edge_k, edge_k+1).
    """
    n = params["fft-length"]
    spacing = frequency_hz / n
    edges = params["spectral-power-edges"]
    if edges:
        bands = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            inside = [i for i in range(1, n // 2 + 1) if lo <= i * spacing < hi]
            bands.append((inside[0], inside[-1] + 1) if inside else (1, 1))
        return bands
    kind = params["filter-type"]
    cutoff = params["filter-cutoff"]
    bins = []
    for i in range(1, n // 2 + 1):
        f = i * spacing
        if kind == "low" and f - spacing / 2 > cutoff:
            break
        if kind == "high" and f + spacing / 2 < cutoff:
            continue
        bins.append((i, i + 1))
    if not bins:
        raise DspParamError(
            "filter-cutoff",
            f"the {kind}-pass cut-off at {cutoff:g} Hz masks "
            f"every FFT bin; move it or use a longer FFT",
        )
    return bins


def fft_hop(params: dict[str, Any]) -> int:
    """Samples between the starts of successive FFT frames."""
    n = params["fft-length"]
    return n // 2 if params["do-fft-overlap"] else n


class SpectralAnalysisBlock(DspBlock):
    """Per axis: scale, optional Butterworth filter, remove the mean, then RMS, skewness and
    kurtosis of the result, and its spectral power: the maximum over FFT frames (max-hold Welch,
    frames of fft-length, half-overlapping if do-fft-overlap, the last one zero-padded) of
    |FFT|^2 / fft-length, one value per kept bin (or per power-edge band: the mean over the
    band's bins), log10 of it if do-log (values clamped to 1e-10 first).

    Output shape: (axes * (3 + bands),) axis-major: [rms, skewness, kurtosis, power...] per axis;
    bands = kept FFT bins 1..fft/2, or len(spectral-power-edges) - 1 when edges are given.
    """

    name = "spectral-analysis"
    title = "Spectral analysis"
    description = (
        "Great for repetitive motion such as accelerometer data: filters each axis "
        "and extracts its frequency and power characteristics."
    )
    params = (
        scale_param(),
        Param(
            "filter-type",
            "string",
            "none",
            "Filter type",
            "Butterworth filter applied before analysis: low-pass, high-pass or none.",
            enum=("none", "low", "high"),
        ),
        Param(
            "filter-cutoff",
            "number",
            3.0,
            "Cut-off frequency",
            "Filter cut-off frequency in Hz; must be below half the sampling frequency.",
            exclusive_minimum=0.0,
            maximum=1e6,
        ),
        Param(
            "filter-order",
            "integer",
            6,
            "Filter order",
            "Number of poles (even). More gives a steeper filter at the cost of computation; "
            "0 only masks FFT bins beyond the cut-off.",
            enum=(0, 2, 4, 6, 8),
        ),
        Param(
            "fft-length",
            "integer",
            16,
            "FFT length",
            "Number of FFT points (a power of 2).",
            enum=FFT_LENGTHS,
        ),
        Param(
            "spectral-power-edges",
            "array",
            (),
            "Spectral power edges",
            "Optional band edges in Hz (increasing). When given, the spectral power is averaged "
            "over each band between two edges instead of reported per FFT bin.",
        ),
        Param(
            "do-log", "boolean", True, "Take log of spectrum", "Report log10 of the spectral power."
        ),
        Param(
            "do-fft-overlap",
            "boolean",
            True,
            "Overlap FFT frames",
            "When several FFT frames cover the window, start each one half a frame after "
            "the previous one.",
        ),
    )

    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Samples the FFT length, the filter type and, with a filter, its cut-off and order."""
        f = facts.frequency_hz
        ffts = tuple(n for n in TUNED_FFT_LENGTHS if n <= max(TUNED_FFT_LENGTHS[0], f * 1.5))
        fft = trial.suggest_categorical(f"{self.name}.fft-length", ffts)
        kind = trial.suggest_categorical(f"{self.name}.filter-type", ("none", "low", "high"))
        params: dict[str, Any] = {"fft-length": fft, "filter-type": kind}
        if kind != "none":
            # From one FFT bin up: a lower low-pass would mask every bin.
            params["filter-cutoff"] = trial.suggest_float(
                f"{self.name}.filter-cutoff", f / fft, TUNED_CUTOFF_TOP * f, log=True
            )
            params["filter-order"] = trial.suggest_categorical(
                f"{self.name}.filter-order", TUNED_FILTER_ORDERS
            )
        return self.validate_params(params)

    def _check_params(self, params: dict[str, Any]) -> None:
        edges = params["spectral-power-edges"]
        if edges and len(edges) < 2:
            raise DspParamError(
                "spectral-power-edges",
                "give at least two edges (one band), or none for per-bin power",
            )
        if any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=False)):
            raise DspParamError("spectral-power-edges", "edges must be strictly increasing")
        if len(edges) > 33:
            raise DspParamError("spectral-power-edges", "at most 33 edges (32 bands)")

    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        kind, cutoff = params["filter-type"], params["filter-cutoff"]
        if kind != "none" and cutoff >= frequency_hz / 2:
            raise DspParamError(
                "filter-cutoff",
                f"must be below half the sampling frequency "
                f"({frequency_hz / 2:g} Hz), got {cutoff:g} Hz",
            )
        spectral_filter(params, frequency_hz)  # refuses a cut-off the filter cannot realise
        return (axes * (len(TIME_FEATURES) + len(spectral_bands(params, frequency_hz))),)

    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        spacing = frequency_hz / params["fft-length"]
        unit = "log10 " if params["do-log"] else ""
        edges = params["spectral-power-edges"]
        if edges:
            ranges = list(zip(edges[:-1], edges[1:], strict=True))
        else:
            ranges = [
                ((a - 0.5) * spacing, (a + 0.5) * spacing)
                for a, _ in spectral_bands(params, frequency_hz)
            ]
        names = []
        for axis in axis_names:
            names += [f"{axis} RMS", f"{axis} Skewness", f"{axis} Kurtosis"]
            names += [f"{axis} {unit}Spectral Power {lo:.2f} - {hi:.2f} Hz" for lo, hi in ranges]
        return names

    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        n = windows.shape[0]
        signals = per_axis(windows * np.float32(params["scale-axes"]))
        sos = spectral_filter(params, frequency_hz)
        bands = spectral_bands(params, frequency_hz)
        rows = [
            _axis_features(signals[start : start + CHUNK_ROWS], sos, bands, params)
            for start in range(0, len(signals), CHUNK_ROWS)
        ]
        return np.concatenate(rows).reshape(n, -1).astype(np.float32)


def _axis_features(
    signals: np.ndarray,
    sos: np.ndarray | None,
    bands: list[tuple[int, int]],
    params: dict[str, Any],
) -> np.ndarray:
    """Features of each row (one axis of one window): time statistics then spectral powers."""
    samples = signals.shape[1]
    if sos is not None:
        signals = sosfilt(sos, signals)
    signals = signals - signals.mean(axis=-1, keepdims=True)
    stats = moments(signals)

    fft_length = params["fft-length"]
    hop = fft_hop(params)
    frame_count = -(-samples // hop)
    padded = np.zeros((signals.shape[0], (frame_count - 1) * hop + fft_length))
    padded[:, :samples] = signals
    frames = np.lib.stride_tricks.sliding_window_view(padded, fft_length, axis=-1)[:, ::hop]
    powers = power_spectrum(frames[:, :frame_count], fft_length).max(axis=1)

    spectral = np.stack(
        [powers[:, a:b].mean(axis=-1) if b > a else np.zeros(len(powers)) for a, b in bands],
        axis=-1,
    )
    if params["do-log"]:
        spectral = np.log10(np.maximum(spectral, LOG_FLOOR))
    return np.concatenate(
        [np.stack([stats[name] for name in TIME_FEATURES], axis=-1), spectral], axis=-1
    )
