"""Audio blocks: MFCC (voice), MFE (mel energies, non-voice audio) and the spectrogram."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from workers.dsp.base import DspBlock, DspParamError, Param, per_axis
from workers.dsp.search import fft_choices, tune_frames, tune_mel_filters
from workers.dsp.spectrum import (
    FFT_LENGTHS,
    ZERO_ENERGY,
    empty_mel_filters,
    frame_layout,
    frames_of,
    mel_bins,
    mel_filterbank,
    power_spectrum,
    preemphasis,
    sliding_normalisation,
)

if TYPE_CHECKING:
    from workers.tuner.space import DataFacts, SearchTrial

# Audio arrives as 16-bit PCM values (as Edge Impulse stores WAV samples); MFE and the
# spectrogram rescale them to [-1, 1] so that the noise floor is in dB of full scale.
PCM_FULL_SCALE = 32768.0
MFE_PREEMPHASIS = 0.98
# Powers are clamped here before conversion to dB (-300 dB, far below any noise floor).
DB_FLOOR = 1e-30
MAX_FILTERS = 128
# Rows (axis x window) are processed in chunks so that memory stays bounded on large batches.
CHUNK_ROWS = 128
# FFT lengths the tuner offers, as divisors of the power of two holding a typical frame: the mel
# blocks crop frames to half of it or keep them whole; the spectrogram's columns stay few.
MEL_FFT_DIVISORS = (2, 1)
SPECTROGRAM_FFT_DIVISORS = (8, 4, 2)
TUNED_CEPSTRA = (8, 10, 13)


def _frame_params(stride_default: float) -> tuple[Param, Param]:
    return (
        Param(
            "frame_length",
            "number",
            0.02,
            "Frame length",
            "Length of each frame in seconds.",
            exclusive_minimum=0.0,
            maximum=10.0,
        ),
        Param(
            "frame_stride",
            "number",
            stride_default,
            "Frame stride",
            "Step between the starts of successive frames in seconds.",
            exclusive_minimum=0.0,
            maximum=10.0,
        ),
    )


def _fft_param(default: int, description: str) -> Param:
    return Param("fft_length", "integer", default, "FFT length", description, enum=FFT_LENGTHS)


def _band_params() -> tuple[Param, Param]:
    return (
        Param(
            "low_frequency",
            "number",
            300.0,
            "Low frequency",
            "Lowest band edge of the mel filters in Hz.",
            minimum=0.0,
            maximum=1e6,
        ),
        Param(
            "high_frequency",
            "number",
            0.0,
            "High frequency",
            "Highest band edge of the mel filters in Hz; 0 means half the sampling frequency.",
            minimum=0.0,
            maximum=1e6,
        ),
    )


def _noise_floor_param() -> Param:
    return Param(
        "noise_floor_db",
        "number",
        -52.0,
        "Noise floor (dB)",
        "Everything quieter than this (dB of full scale) becomes 0 after rescaling.",
        minimum=-200.0,
        maximum=0.0,
    )


def _normalise_db(powers: np.ndarray, noise_floor_db: float) -> np.ndarray:
    """Power -> dB, then mapped so the noise floor is 0 and +12 dB full scale is 1, clipped."""
    db = 10.0 * np.log10(np.maximum(powers, DB_FLOOR))
    return np.clip((db - noise_floor_db) / (12.0 - noise_floor_db), 0.0, 1.0)


def _mel_energies(
    signals: np.ndarray, frequency_hz: float, params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Mel filterbank energies (rows, frames, filters) and frame energies (rows, frames)."""
    frame_samples, stride, count = frame_layout(
        signals.shape[1], frequency_hz, params["frame_length"], params["frame_stride"]
    )
    bins = mel_bins(
        params["num_filters"],
        params["fft_length"],
        frequency_hz,
        params["low_frequency"],
        params["high_frequency"],
    )
    bank = mel_filterbank(bins, params["fft_length"])
    powers = power_spectrum(frames_of(signals, frame_samples, stride, count), params["fft_length"])
    return powers @ bank.T, powers.sum(axis=-1)


def _check_mel_input(window_samples: int, frequency_hz: float, params: dict[str, Any]) -> int:
    _, _, count = frame_layout(
        window_samples, frequency_hz, params["frame_length"], params["frame_stride"]
    )
    empty = empty_mel_filters(
        params["num_filters"],
        params["fft_length"],
        frequency_hz,
        params["low_frequency"],
        params["high_frequency"],
    )
    if empty:
        raise DspParamError(
            "num_filters",
            f"{empty} of {params['num_filters']} mel filters would cover no FFT bin with "
            f"{params['fft_length']} FFT points between {params['low_frequency']:g} and "
            f"{params['high_frequency'] or frequency_hz / 2:g} Hz; use fewer filters, a longer "
            f"FFT or a wider band",
        )
    return count


class MfccBlock(DspBlock):
    """Mel-frequency cepstral coefficients per frame, then local mean/variance normalisation.

    Per axis: pre-emphasis y[t] = x[t] - pre_cof * x[t-1] (x[-1] = 0); frames of frame_length
    every frame_stride (none past the window's end); each frame cropped or zero-padded to
    fft_length; power |FFT|^2 / fft_length; triangular mel filterbank (HTK mel scale, corners
    at FFT bins); natural log (zero energies -> float64 epsilon); orthonormal DCT-II, first
    num_cepstral coefficients, coefficient 0 replaced by the log of the frame's total power;
    then, if win_size > 0, sliding-window cepstral mean and variance normalisation over
    win_size frames (symmetric padding at the ends, divide by std + 1e-10).

    Output shape: (axes * frames, num_cepstral), frames = (samples - frame) // stride + 1.
    """

    name = "mfcc"
    title = "Audio (MFCC)"
    description = (
        "Extracts features from audio using Mel Frequency Cepstral Coefficients; "
        "great for human voice."
    )
    params = (
        Param(
            "num_cepstral",
            "integer",
            13,
            "Number of coefficients",
            "Number of cepstral coefficients per frame.",
            minimum=1,
            maximum=MAX_FILTERS,
        ),
        *_frame_params(0.01),
        Param(
            "num_filters",
            "integer",
            32,
            "Filter number",
            "Number of filters in the mel filterbank.",
            minimum=2,
            maximum=MAX_FILTERS,
        ),
        _fft_param(
            256, "Number of FFT points (a power of 2); frames longer than this are cropped."
        ),
        Param(
            "win_size",
            "integer",
            101,
            "Normalization window size",
            "Frames in the sliding window for local normalization (odd); 0 disables it.",
            minimum=0,
            maximum=1001,
        ),
        *_band_params(),
        Param(
            "pre_cof",
            "number",
            0.98,
            "Pre-emphasis coefficient",
            "Pre-emphasis filter coefficient; 0 disables it.",
            minimum=0.0,
            maximum=1.0,
        ),
    )

    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Samples frames, FFT length, mel filters and coefficients (at most one per filter)."""
        params: dict[str, Any] = tune_frames(trial, self.name, facts, window_samples)
        params["fft_length"] = trial.suggest_categorical(
            f"{self.name}.fft_length", fft_choices(facts, MEL_FFT_DIVISORS)
        )
        params |= tune_mel_filters(trial, self.name, facts, params["fft_length"])
        cepstra = trial.suggest_categorical(f"{self.name}.num_cepstral", TUNED_CEPSTRA)
        params["num_cepstral"] = min(cepstra, params["num_filters"])
        return self.validate_params(params)

    def _check_params(self, params: dict[str, Any]) -> None:
        if params["win_size"] and params["win_size"] % 2 == 0:
            raise DspParamError(
                "win_size", f"must be odd (or 0 to disable normalisation), got {params['win_size']}"
            )
        if params["num_cepstral"] > params["num_filters"]:
            raise DspParamError(
                "num_cepstral",
                f"must not exceed num_filters "
                f"({params['num_filters']}), got "
                f"{params['num_cepstral']}",
            )

    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        count = _check_mel_input(window_samples, frequency_hz, params)
        return (axes * count, params["num_cepstral"])

    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        _, _, count = frame_layout(
            window_samples, frequency_hz, params["frame_length"], params["frame_stride"]
        )
        return [
            f"{axis} frame {f} cepstral {k}"
            for axis in axis_names
            for f in range(count)
            for k in range(params["num_cepstral"])
        ]

    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        n = windows.shape[0]
        signals = preemphasis(per_axis(windows), params["pre_cof"])
        outputs = []
        for start in range(0, len(signals), CHUNK_ROWS):
            energies, frame_power = _mel_energies(
                signals[start : start + CHUNK_ROWS], frequency_hz, params
            )
            logs = np.log(np.where(energies == 0, ZERO_ENERGY, energies))
            m = logs.shape[-1]
            k = np.arange(params["num_cepstral"])[:, None]
            basis = np.cos(np.pi * k * (2 * np.arange(m)[None, :] + 1) / (2 * m))
            basis *= np.where(k == 0, np.sqrt(1.0 / m), np.sqrt(2.0 / m))
            cepstra = logs @ basis.T
            cepstra[..., 0] = np.log(np.where(frame_power == 0, ZERO_ENERGY, frame_power))
            if params["win_size"]:
                cepstra = sliding_normalisation(cepstra, params["win_size"])
            outputs.append(cepstra)
        return np.concatenate(outputs).reshape(n, -1).astype(np.float32)


class MfeBlock(DspBlock):
    """Mel-filterbank energies in normalised dB: a mel spectrogram for non-voice audio.

    Per axis: samples / 32768 (16-bit PCM full scale); pre-emphasis 0.98 (x[-1] = 0); frames as
    for MFCC; power |FFT|^2 / fft_length; triangular mel filterbank; 10 log10 (clamped at
    1e-30); (dB - noise_floor_db) / (12 - noise_floor_db) clipped to [0, 1].

    Output shape: (axes * frames, num_filters).
    """

    name = "mfe"
    title = "Audio (MFE)"
    description = (
        "Extracts a spectrogram from audio using mel-filterbank energies; great for "
        "non-voice audio."
    )
    params = (
        *_frame_params(0.01),
        Param(
            "num_filters",
            "integer",
            40,
            "Filter number",
            "Number of filters in the mel filterbank.",
            minimum=2,
            maximum=MAX_FILTERS,
        ),
        _fft_param(
            256, "Number of FFT points (a power of 2); frames longer than this are cropped."
        ),
        *_band_params(),
        _noise_floor_param(),
    )

    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Samples frames, FFT length and the number of mel filters."""
        params: dict[str, Any] = tune_frames(trial, self.name, facts, window_samples)
        params["fft_length"] = trial.suggest_categorical(
            f"{self.name}.fft_length", fft_choices(facts, MEL_FFT_DIVISORS)
        )
        params |= tune_mel_filters(trial, self.name, facts, params["fft_length"])
        return self.validate_params(params)

    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        count = _check_mel_input(window_samples, frequency_hz, params)
        return (axes * count, params["num_filters"])

    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        _, _, count = frame_layout(
            window_samples, frequency_hz, params["frame_length"], params["frame_stride"]
        )
        return [
            f"{axis} frame {f} mel filter {k}"
            for axis in axis_names
            for f in range(count)
            for k in range(params["num_filters"])
        ]

    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        n = windows.shape[0]
        signals = preemphasis(per_axis(windows) / PCM_FULL_SCALE, MFE_PREEMPHASIS)
        outputs = []
        for start in range(0, len(signals), CHUNK_ROWS):
            energies, _ = _mel_energies(signals[start : start + CHUNK_ROWS], frequency_hz, params)
            outputs.append(_normalise_db(energies, params["noise_floor_db"]))
        return np.concatenate(outputs).reshape(n, -1).astype(np.float32)


class SpectrogramBlock(DspBlock):
    """Power spectrogram in normalised dB, for audio or sensor data with continuous frequencies.

    Per axis: samples / 32768 (16-bit PCM full scale); frames of frame_length every frame_stride
    (none past the window's end), cropped or zero-padded to fft_length; power |FFT|^2 /
    fft_length; 10 log10 (clamped at 1e-30); (dB - noise_floor_db) / (12 - noise_floor_db)
    clipped to [0, 1].

    Output shape: (axes * frames, fft_length // 2 + 1).
    """

    name = "spectrogram"
    title = "Spectrogram"
    description = (
        "Extracts a spectrogram from audio or sensor data; great for non-voice audio "
        "or data with continuous frequencies."
    )
    params = (
        *_frame_params(0.01),
        _fft_param(
            128, "Number of FFT points (a power of 2); gives fft_length / 2 + 1 frequency bands."
        ),
        _noise_floor_param(),
    )

    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Samples frames and the FFT length (fft_length / 2 + 1 frequency columns)."""
        params: dict[str, Any] = tune_frames(trial, self.name, facts, window_samples)
        params["fft_length"] = trial.suggest_categorical(
            f"{self.name}.fft_length", fft_choices(facts, SPECTROGRAM_FFT_DIVISORS)
        )
        return self.validate_params(params)

    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        _, _, count = frame_layout(
            window_samples, frequency_hz, params["frame_length"], params["frame_stride"]
        )
        return (axes * count, params["fft_length"] // 2 + 1)

    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        _, _, count = frame_layout(
            window_samples, frequency_hz, params["frame_length"], params["frame_stride"]
        )
        return [
            f"{axis} frame {f} {k * frequency_hz / params['fft_length']:g} Hz"
            for axis in axis_names
            for f in range(count)
            for k in range(params["fft_length"] // 2 + 1)
        ]

    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        n, samples, _ = windows.shape
        frame_samples, stride, count = frame_layout(
            samples, frequency_hz, params["frame_length"], params["frame_stride"]
        )
        signals = per_axis(windows) / PCM_FULL_SCALE
        outputs = []
        for start in range(0, len(signals), CHUNK_ROWS):
            frames = frames_of(signals[start : start + CHUNK_ROWS], frame_samples, stride, count)
            powers = power_spectrum(frames, params["fft_length"])
            outputs.append(_normalise_db(powers, params["noise_floor_db"]))
        return np.concatenate(outputs).reshape(n, -1).astype(np.float32)
