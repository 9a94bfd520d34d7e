"""WAV uploads: every PCM width and float, extensible headers, the 16-bit scale, bad files."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from backend.datasets.formats import UploadError, UploadLimits, parse_upload
from tests.factories import pcm_wav

LIMITS = UploadLimits()
PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def fmt_chunk(tag: int, channels: int, rate: int, bits: int, extensible: bool = False) -> bytes:
    align = channels * bits // 8
    head = struct.pack(
        "<HHIIHH", EXTENSIBLE if extensible else tag, channels, rate, rate * align, align, bits
    )
    if extensible:
        head += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + GUID_TAIL
    return b"fmt " + struct.pack("<I", len(head)) + head


def chunk(name: bytes, body: bytes) -> bytes:
    return name + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def encode(samples: np.ndarray, tag: int, bits: int) -> bytes:
    """Frames x channels samples in the file's own encoding, interleaved little-endian."""
    if tag == FLOAT:
        return samples.astype("<f4" if bits == 32 else "<f8").tobytes()
    if bits == 8:
        return samples.astype(np.uint8).tobytes()
    if bits == 24:
        ints = samples.astype("<i4").reshape(-1)
        return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return samples.astype("<i2" if bits == 16 else "<i4").tobytes()


def make_wav(
    samples: np.ndarray,
    tag: int,
    bits: int,
    rate: int = 16000,
    *,
    extensible: bool = False,
    extra: bytes = b"",
) -> bytes:
    channels = samples.shape[1]
    return riff(
        chunk(b"LIST", b"INFOISFT\x06\x00\x00\x00tests\x00"),
        fmt_chunk(tag, channels, rate, bits, extensible),
        extra,
        chunk(b"data", encode(samples, tag, bits)),
    )


def parse(data: bytes, name: str = "yes.1.wav", **limits: int) -> object:
    return parse_upload(name, None, data, hmac_key=None, limits=UploadLimits(**limits))


CASES = [
    # (tag, bits, stored samples, expected values on the 16-bit scale)
    (PCM, 8, np.array([[0], [128], [255]]), np.array([[-32768.0], [0.0], [32512.0]])),
    (PCM, 16, np.array([[-32768], [0], [32767]]), np.array([[-32768.0], [0.0], [32767.0]])),
    (
        PCM,
        24,
        np.array([[-(2**23)], [-1], [2**23 - 1]]),
        np.array([[-32768.0], [-1 / 256], [(2**23 - 1) / 256]]),
    ),
    (
        PCM,
        32,
        np.array([[-(2**31)], [65536], [2**31 - 1]]),
        np.array([[-32768.0], [1.0], [(2**31 - 1) / 65536]]),
    ),
    (FLOAT, 32, np.array([[-1.0], [0.5], [1.25]]), np.array([[-32768.0], [16384.0], [40960.0]])),
    (FLOAT, 64, np.array([[-0.25], [0.0], [1.0]]), np.array([[-8192.0], [0.0], [32768.0]])),
]


@pytest.mark.parametrize("extensible", [False, True])
@pytest.mark.parametrize(("tag", "bits", "stored", "expected"), CASES)
def test_every_encoding_lands_on_the_16_bit_scale(
    tag: int, bits: int, stored: np.ndarray, expected: np.ndarray, extensible: bool
) -> None:
    data = make_wav(stored, tag, bits, rate=8000, extensible=extensible)
    sample = parse(data)
    assert sample.format == "wav"
    assert sample.sensors == [("audio", "wav")]
    assert sample.interval_ms == 0.125
    assert sample.values.dtype == np.float32 and sample.values.flags.c_contiguous
    np.testing.assert_array_equal(sample.values, expected.astype(np.float32))
    assert sample.label_from_name == "yes"


def test_channels_rates_and_agreement_with_the_wave_module() -> None:
    rng = np.random.default_rng(3)
    frames = rng.integers(-32768, 32767, size=(441, 3), dtype=np.int16)
    data = pcm_wav(frames, 44100)
    sample = parse_upload("noise.wav", "audio/wav", io.BytesIO(data), hmac_key=None, limits=LIMITS)
    assert sample.sensors == [("audio0", "wav"), ("audio1", "wav"), ("audio2", "wav")]
    assert sample.interval_ms == pytest.approx(1000 / 44100)
    with wave.open(io.BytesIO(data)) as reference:
        expected = np.frombuffer(reference.readframes(441), dtype="<i2").reshape(441, 3)
    np.testing.assert_array_equal(sample.values, expected.astype(np.float32))
    assert sample.size_bytes == len(data) and sample.original_bytes is None


def test_odd_sized_chunks_and_trailing_chunks_are_handled() -> None:
    stored = np.array([[1, -1], [2, -2], [3, -3]])
    data = riff(
        fmt_chunk(PCM, 2, 1000, 8),
        chunk(b"junk", b"abc"),  # odd size, padded
        chunk(b"data", encode(stored + 128, PCM, 8)[:5]),  # 5 bytes: not whole frames
    )
    with pytest.raises(UploadError, match="whole number"):
        parse(data)
    mono = riff(
        fmt_chunk(PCM, 1, 1000, 8),
        chunk(b"data", bytes([129, 130, 131])),  # odd data size + pad byte
        chunk(b"LIST", b"INFOtest"),
    )
    sample = parse(mono)
    np.testing.assert_array_equal(sample.values[:, 0], [256, 512, 768])
    assert sample.interval_ms == 1.0


BAD = [
    (b"RIFX" + b"\x00" * 4 + b"WAVE", "RIFX", "RIFF header"),
    (b"OggS" + b"\x00" * 40, "not a RIFF/WAVE", "RIFF header"),
    (b"RIFF\x00\x00", "not a RIFF/WAVE", "RIFF header"),
    (riff(chunk(b"data", b"\x00\x00")), "before the format chunk", "data"),
    (riff(fmt_chunk(PCM, 1, 8000, 16)), "no data chunk", "data"),
    (riff(chunk(b"data", b"")), "before the format", "data"),
    (riff(fmt_chunk(PCM, 1, 8000, 16), chunk(b"data", b"")), "empty", "data"),
    (riff(fmt_chunk(PCM, 1, 8000, 12), chunk(b"data", b"\x00\x00")), "12 bits", "fmt"),
    (riff(fmt_chunk(FLOAT, 1, 8000, 16), chunk(b"data", b"\x00\x00")), "float with 16", "fmt"),
    (riff(fmt_chunk(6, 1, 8000, 8), chunk(b"data", b"\x00")), "format 0x6", "fmt"),
    (
        riff(fmt_chunk(PCM, 0, 8000, 16), chunk(b"data", b"\x00\x00")),
        "zero channels",
        "fmt.nChannels",
    ),
    (
        riff(fmt_chunk(PCM, 1, 0, 16), chunk(b"data", b"\x00\x00")),
        "sample rate is zero",
        "fmt.nSamplesPerSec",
    ),
    (riff(chunk(b"fmt ", b"\x01\x00\x01\x00"), chunk(b"data", b"\x00")), "shorter than 16", "fmt"),
    (
        riff(fmt_chunk(PCM, 1, 8000, 16), chunk(b"data", b"\x00\x00" * 4))[:-3],
        "truncated data chunk",
        "data",
    ),
    (
        riff(fmt_chunk(PCM, 1, 8000, 16), chunk(b"data", b"\x00\x00"), chunk(b"data", b"\x00\x00")),
        "two data chunks",
        "data",
    ),
    (
        riff(
            fmt_chunk(FLOAT, 1, 8000, 32), chunk(b"data", np.array([1.0, np.nan], "<f4").tobytes())
        ),
        "not a finite number",
        "data",
    ),
]


@pytest.mark.parametrize(("data", "needle", "field"), BAD)
def test_bad_wav_files_name_the_chunk(data: bytes, needle: str, field: str) -> None:
    with pytest.raises(UploadError) as caught:
        parse(data, name="bad.wav")
    assert needle in caught.value.message, str(caught.value)
    assert caught.value.field == field, str(caught.value)
    assert str(caught.value).startswith(f"'bad.wav', field '{field}'")


def test_block_align_must_match() -> None:
    good = fmt_chunk(PCM, 2, 8000, 16)
    bad = good[:20] + struct.pack("<H", 3) + good[22:]  # nBlockAlign sits at offset 8 + 12
    with pytest.raises(UploadError, match="block align") as caught:
        parse(riff(bad, chunk(b"data", b"\x00" * 4)))
    assert caught.value.field == "fmt.nBlockAlign"


def test_unknown_extensible_subformat_is_refused() -> None:
    good = fmt_chunk(PCM, 1, 8000, 16, extensible=True)
    bad = good[:-14] + b"\x11" * 14
    with pytest.raises(UploadError, match="sub-format"):
        parse(riff(bad, chunk(b"data", b"\x00\x00")))


def test_limits_on_channels_and_values() -> None:
    data = make_wav(np.zeros((10, 5)), PCM, 16)
    with pytest.raises(UploadError, match="5 channels") as caught:
        parse(data, max_axes=4)
    assert caught.value.http_status == 413
    with pytest.raises(UploadError, match="more than the limit") as caught:
        parse(make_wav(np.zeros((100, 1)), PCM, 16), max_values=99)
    assert caught.value.http_status == 413


def test_a_header_promising_more_than_the_upload_limit_is_refused_before_reading() -> None:
    lying = riff(fmt_chunk(PCM, 1, 8000, 16)) + b"data" + struct.pack("<I", 2**31)
    with pytest.raises(UploadError) as caught:
        parse(lying, max_file_bytes=1 << 20)
    assert caught.value.http_status == 413
