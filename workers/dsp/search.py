"""Choices the DSP blocks' tune() methods share: frames, FFT lengths and mel filters that fit the
data's rate, so the tuner proposes only settings the blocks (and their C twins) accept.

Categorical choices depend on the data alone (Optuna keeps a categorical's choices fixed for a
whole study); ranges that depend on another sampled value are int or float ranges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.dsp.spectrum import FFT_LENGTHS, empty_mel_filters, seconds_to_samples

if TYPE_CHECKING:
    from workers.tuner.space import DataFacts, SearchTrial

# At or above this rate frames are chosen in seconds, as for speech; below it in samples.
AUDIO_RATE_HZ = 4000.0
AUDIO_FRAME_LENGTHS_S = (0.02, 0.025, 0.032, 0.04)
AUDIO_FRAME_STRIDES_S = (0.01, 0.02, 0.032)
SENSOR_FRAME_SAMPLES = (8, 16, 32)
SENSOR_STRIDE_SAMPLES = (4, 8, 16)
# The mel filters' lowest edge for audio (as the blocks' default); slow data starts at 0 Hz.
MEL_LOW_HZ = 300.0
MOST_MEL_FILTERS = 40
FEWEST_MEL_FILTERS = 16


def frame_choices(facts: DataFacts) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(frame lengths, frame strides) in seconds for data at facts.frequency_hz."""
    if facts.frequency_hz >= AUDIO_RATE_HZ:
        return AUDIO_FRAME_LENGTHS_S, AUDIO_FRAME_STRIDES_S
    f = facts.frequency_hz
    return (
        tuple(n / f for n in SENSOR_FRAME_SAMPLES),
        tuple(n / f for n in SENSOR_STRIDE_SAMPLES),
    )


def tune_frames(
    trial: SearchTrial, prefix: str, facts: DataFacts, window_samples: int
) -> dict[str, float]:
    """Samples frame_length and frame_stride; a frame never outgrows the window."""
    lengths, strides = frame_choices(facts)
    length = trial.suggest_categorical(f"{prefix}.frame_length", lengths)
    stride = trial.suggest_categorical(f"{prefix}.frame_stride", strides)
    return {
        "frame_length": min(float(length), window_samples / facts.frequency_hz),
        "frame_stride": float(stride),
    }


def fft_choices(facts: DataFacts, divisors: tuple[int, ...]) -> tuple[int, ...]:
    """FFT lengths: the power of two holding a typical frame, divided by each divisor."""
    lengths, _ = frame_choices(facts)
    typical = seconds_to_samples(lengths[len(lengths) // 2], facts.frequency_hz)
    top = next((n for n in FFT_LENGTHS if n >= typical), FFT_LENGTHS[-1])
    allowed = {min(max(top // d, FFT_LENGTHS[0]), FFT_LENGTHS[-1]) for d in divisors}
    return tuple(sorted(allowed))


def mel_low_frequency(facts: DataFacts) -> float:
    """The mel filters' lowest edge: 300 Hz for audio, 0 Hz when that would crowd the band."""
    return MEL_LOW_HZ if facts.frequency_hz / 8 > MEL_LOW_HZ else 0.0


def most_mel_filters(fft_length: int, frequency_hz: float, low_hz: float) -> int:
    """The most filters (up to MOST_MEL_FILTERS) of which every one covers an FFT bin."""
    for count in range(MOST_MEL_FILTERS, 2, -1):
        if not empty_mel_filters(count, fft_length, frequency_hz, low_hz, 0.0):
            return count
    return 2


def tune_mel_filters(
    trial: SearchTrial, prefix: str, facts: DataFacts, fft_length: int
) -> dict[str, float | int]:
    """Samples num_filters within what the FFT resolves; fixes the band's low edge."""
    low = mel_low_frequency(facts)
    most = most_mel_filters(fft_length, facts.frequency_hz, low)
    count = trial.suggest_int(f"{prefix}.num_filters", min(FEWEST_MEL_FILTERS, most), most)
    return {"num_filters": count, "low_frequency": low}
