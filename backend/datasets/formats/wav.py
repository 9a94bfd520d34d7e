"""WAV uploads: a RIFF reader for PCM 8/16/24/32-bit and float 32/64-bit, any rate and channels.

Python's ``wave`` module reads integer PCM only, so the RIFF chunks are walked here: ``fmt ``
(plain, or WAVE_FORMAT_EXTENSIBLE with its sub-format GUID), then ``data`` streamed in blocks
straight into the preallocated float32 result; other chunks (LIST, fact, cue ...) are skipped.

Scale: Edge Impulse stores audio on the 16-bit integer scale (values between -32768 and 32767,
as its 16-bit WAV ingestion and firmware produce), and its audio DSP blocks expect that scale.
TinyStudio maps every encoding onto it, so a 16-bit file keeps its integers exactly:
8-bit unsigned ``(x - 128) * 256``, 16-bit as is, 24-bit ``x / 256``, 32-bit ``x / 65536``,
float ``x * 32768`` (no clipping: a float file's overs stay visible). Higher bit depths keep
their extra resolution as fractions. One channel is the sensor ``audio``; several are
``audio0``, ``audio1``, ...; units are ``wav``. ``interval_ms`` is ``1000 / sample rate``.
"""

from __future__ import annotations

import struct

import numpy as np

from backend.datasets.formats.errors import UploadError
from backend.datasets.formats.model import HashingReader, MiB, ParsedSample, UploadLimits

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# The 14 bytes after the format tag in every KSDATAFORMAT_SUBTYPE_* GUID.
_KSDATAFORMAT_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_SUPPORTED = {
    (WAVE_FORMAT_PCM, 8),
    (WAVE_FORMAT_PCM, 16),
    (WAVE_FORMAT_PCM, 24),
    (WAVE_FORMAT_PCM, 32),
    (WAVE_FORMAT_IEEE_FLOAT, 32),
    (WAVE_FORMAT_IEEE_FLOAT, 64),
}
_READ_FRAMES_BYTES = 4 * MiB
_SCALE = {8: 256.0, 16: 1.0, 24: 1.0 / 256.0, 32: 1.0 / 65536.0}
FLOAT_SCALE = 32768.0


def parse_wav(filename: str, reader: HashingReader, *, limits: UploadLimits) -> ParsedSample:
    """Parse a WAV upload from ``reader`` into a sample on the 16-bit integer scale."""
    riff = reader.read_exact(12)
    if not riff:
        raise UploadError(filename, "the file is empty")
    if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RIFX", b"RF64") or riff[8:12] != b"WAVE":
        raise UploadError(filename, "not a RIFF/WAVE file", field="RIFF header")
    if riff[:4] != b"RIFF":
        raise UploadError(
            filename, f"{riff[:4].decode()} WAV files are not supported", field="RIFF header"
        )
    fmt: tuple[int, int, int, int] | None = None  # (format tag, channels, rate, bits)
    values: np.ndarray | None = None
    while True:
        head = reader.read_exact(8)
        if not head:
            break
        if len(head) < 8:
            if values is not None:
                break  # a few stray bytes after the audio are harmless; the audio is whole
            raise UploadError(filename, "truncated chunk header", field="RIFF chunks")
        chunk_id, size = head[:4], struct.unpack("<I", head[4:])[0]
        name = chunk_id.decode("latin-1")
        if chunk_id == b"fmt ":
            if fmt is not None:
                raise UploadError(filename, "two format chunks", field="fmt")
            if size > 4096:
                raise UploadError(filename, "format chunk is too large", field="fmt")
            body = reader.read_exact(size)
            if len(body) < size:
                raise UploadError(filename, "truncated format chunk", field="fmt")
            fmt = _format(filename, body, limits)
        elif chunk_id == b"data":
            if fmt is None:
                raise UploadError(
                    filename, "the data chunk comes before the format chunk", field="data"
                )
            if values is not None:
                raise UploadError(filename, "two data chunks", field="data")
            values = _data(filename, reader, size, fmt, limits)
        elif not _skip(reader, size) and values is None:
            raise UploadError(filename, f"truncated {name!r} chunk", field=name.strip())
        if size % 2:
            # Chunks are word-aligned; writers that omit the pad byte at the very end are common.
            reader.read_exact(1)
    if fmt is None:
        raise UploadError(filename, "no format chunk", field="fmt")
    if values is None:
        raise UploadError(filename, "no data chunk", field="data")
    _, channels, rate, _ = fmt
    sensors = (
        [("audio", "wav")] if channels == 1 else [(f"audio{i}", "wav") for i in range(channels)]
    )
    sample = ParsedSample(values=values, sensors=sensors, interval_ms=1000.0 / rate, format="wav")
    return reader.finish(sample)


def _format(filename: str, body: bytes, limits: UploadLimits) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise UploadError(filename, "format chunk is shorter than 16 bytes", field="fmt")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise UploadError(filename, "extensible format chunk is too short", field="fmt")
        valid_bits = struct.unpack("<H", body[18:20])[0]
        subformat = body[24:40]
        if subformat[2:] != _KSDATAFORMAT_TAIL:
            raise UploadError(filename, "unknown extensible sub-format", field="fmt.SubFormat")
        tag = struct.unpack("<H", subformat[:2])[0]
        if valid_bits and valid_bits > bits:
            raise UploadError(
                filename, "valid bits exceed the container size", field="fmt.wValidBitsPerSample"
            )
    if (tag, bits) not in _SUPPORTED:
        kind = {WAVE_FORMAT_PCM: "PCM", WAVE_FORMAT_IEEE_FLOAT: "float"}.get(
            tag, f"format {tag:#x}"
        )
        raise UploadError(
            filename,
            f"{kind} with {bits} bits per sample is not supported "
            "(PCM 8/16/24/32-bit and float 32/64-bit are)",
            field="fmt",
            http_status=415,
        )
    if channels == 0:
        raise UploadError(filename, "zero channels", field="fmt.nChannels")
    if channels > limits.max_axes:
        raise UploadError(
            filename,
            f"{channels} channels is more than the limit of {limits.max_axes}",
            field="fmt.nChannels",
            http_status=413,
        )
    if rate == 0:
        raise UploadError(filename, "the sample rate is zero", field="fmt.nSamplesPerSec")
    if block_align != channels * bits // 8:
        raise UploadError(
            filename,
            f"block align {block_align} does not match {channels} x {bits}-bit samples",
            field="fmt.nBlockAlign",
        )
    return tag, channels, rate, bits


def _data(
    filename: str,
    reader: HashingReader,
    size: int,
    fmt: tuple[int, int, int, int],
    limits: UploadLimits,
) -> np.ndarray:
    tag, channels, _, bits = fmt
    frame_bytes = channels * bits // 8
    if size == 0:
        raise UploadError(filename, "the data chunk is empty", field="data")
    if size % frame_bytes:
        raise UploadError(
            filename,
            f"data size {size} is not a whole number of {frame_bytes}-byte frames",
            field="data",
        )
    frames = size // frame_bytes
    if frames * channels > limits.max_values:
        raise UploadError(
            filename,
            f"{frames * channels} values is more than the limit of {limits.max_values}",
            field="data",
            http_status=413,
        )
    if size > reader.max_bytes:
        # Refuse before allocating for a header that promises more than any upload may hold.
        raise UploadError(
            filename,
            f"data chunk of {size} bytes is over the upload limit",
            field="data",
            http_status=413,
        )
    out = np.empty((frames, channels), dtype=np.float32)
    step = max(1, _READ_FRAMES_BYTES // frame_bytes)
    done = 0
    while done < frames:
        want = min(step, frames - done)
        raw = reader.read_exact(want * frame_bytes)
        if len(raw) < want * frame_bytes:
            got = done * frame_bytes + len(raw)
            raise UploadError(
                filename, f"truncated data chunk: {got} of {size} bytes present", field="data"
            )
        out[done : done + want] = _decode(raw, tag, bits).reshape(want, channels)
        done += want
    if tag == WAVE_FORMAT_IEEE_FLOAT and not np.isfinite(out).all():
        frame = int(np.argwhere(~np.isfinite(out))[0][0])
        raise UploadError(filename, f"frame {frame} is not a finite number", field="data")
    return out


def _decode(raw: bytes, tag: int, bits: int) -> np.ndarray:
    """Samples of one block as float32 on the 16-bit scale."""
    if tag == WAVE_FORMAT_IEEE_FLOAT:
        floats = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8")
        with np.errstate(over="ignore"):
            return (floats * FLOAT_SCALE).astype(np.float32)
    if bits == 8:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * _SCALE[8]
    if bits == 16:
        return np.frombuffer(raw, dtype="<i2").astype(np.float32)
    if bits == 24:
        triplets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        joined = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        # Sign-extend the 24-bit value held in the low bits of an int32.
        signed = (joined << 8) >> 8
        return signed.astype(np.float32) * np.float32(_SCALE[24])
    ints = np.frombuffer(raw, dtype="<i4")
    # float64 first: int32 -> float32 directly would round before the exact division.
    return (ints.astype(np.float64) * _SCALE[32]).astype(np.float32)


def _skip(reader: HashingReader, size: int) -> bool:
    """Read past a chunk TinyStudio does not use; False when the upload ends inside it."""
    left = size
    while left > 0:
        chunk = reader.read(min(left, _READ_FRAMES_BYTES))
        if not chunk:
            return False
        left -= len(chunk)
    return True
