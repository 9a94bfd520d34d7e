"""Writing Edge Impulse acquisition documents (JSON and CBOR), signed the way uploaders sign them.

Values are written as the shortest text that reads back as the same float32, so a document
written here and read by ``parse_acquisition`` gives the stored values bit for bit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import cbor2
import numpy as np

from backend.datasets.formats.acquisition import (
    _CBOR_SIGNATURE,
    _JSON_SIGNATURE,
    _ZERO_SIGNATURE_BYTES,
    ZERO_SIGNATURE,
    _hmac_hex,
)

_WRITE_BLOCK_VALUES = 1 << 18


def format_float32(values: np.ndarray) -> list[str]:
    """Decimal texts for float32 values that any float64 JSON parser reads back bit for bit.

    Each value gets the fewest significant digits (6 to 9) for which parsing the text as
    float64 and rounding to float32 gives the same bits. That is checked, not assumed:
    decimal to float64 to float32 rounds twice. A value no such text fits is written as the
    float64 repr of its exact value, which always round-trips. Negative zero is written
    ``-0.0`` so parsers keep its sign.
    """
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    if not np.isfinite(flat).all():
        raise ValueError("NaN and infinite values cannot be written to an acquisition document")
    bits = flat.view(np.uint32)
    wide = flat.astype(np.float64)
    texts = np.empty(flat.shape[0], dtype=object)
    # Whole numbers below 1e6 (all 16-bit audio) print as `{:.6g}` would, but much faster.
    whole = (np.abs(wide) < 1e6) & (np.trunc(wide) == wide)
    texts[whole] = _integer_texts(wide[whole].astype(np.int64))
    todo = np.flatnonzero(~whole)
    digits = np.zeros(flat.shape[0], dtype=np.int8)
    digits[todo] = _estimated_digits(wide[todo], flat[todo])
    for count in (6, 7, 8, 9):
        chosen = todo[digits[todo] <= count]
        if chosen.size == 0:
            continue
        candidates = list(map(f"{{:.{count}g}}".format, wide[chosen].tolist()))
        parsed = np.fromiter(map(float, candidates), dtype=np.float64, count=len(candidates))
        ok = parsed.astype(np.float32).view(np.uint32) == bits[chosen]
        texts[chosen] = candidates
        texts[chosen[~ok]] = None
        todo = np.setdiff1d(todo, chosen[ok], assume_unique=True)
    for index in todo.tolist():
        texts[index] = repr(float(wide[index]))
    texts[bits == np.uint32(0x80000000)] = "-0.0"
    return texts.tolist()


@lru_cache(maxsize=1)
def _int16_texts() -> np.ndarray:
    return np.array([str(i) for i in range(-32768, 32768)], dtype=object)


def _integer_texts(ints: np.ndarray) -> np.ndarray | list[str]:
    """Decimal texts of whole numbers; 16-bit ones (all PCM audio) are looked up in a table."""
    if ints.size and ints.min() >= -32768 and ints.max() <= 32767:
        return _int16_texts()[ints + 32768]  # type: ignore[no-any-return]
    return list(map(str, ints.tolist()))


def _estimated_digits(wide: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Per value, the fewest significant digits (6..9) that seem to round-trip, by arithmetic.

    Only a guess to format each value about once; format_float32 checks the real texts.
    """
    digits = np.full(wide.shape[0], 9, dtype=np.int8)
    magnitude = np.abs(wide)
    nonzero = magnitude > 0
    exponent = np.zeros_like(wide)
    exponent[nonzero] = np.floor(np.log10(magnitude[nonzero]))
    unset = np.ones(wide.shape[0], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for count in (6, 7, 8):
            scale = 10.0 ** (exponent - count + 1)
            rounded = (np.round(wide / scale) * scale).astype(np.float32)
            fits = unset & (rounded == flat)
            digits[fits] = count
            unset &= ~fits
    digits[~nonzero] = 6
    return digits


def _header_document(
    *,
    sensors: Sequence[tuple[str, str]],
    interval_ms: float,
    device_type: str,
    device_name: str | None,
    signed: bool,
    iat: int | None,
) -> dict[str, Any]:
    if not math.isfinite(interval_ms) or interval_ms <= 0:
        raise ValueError("interval_ms must be a positive number")
    protected: dict[str, Any] = {"ver": "v1", "alg": "HS256" if signed else "none"}
    if iat is not None:
        protected["iat"] = int(iat)
    payload: dict[str, Any] = {}
    if device_name is not None:
        payload["device_name"] = device_name
    payload["device_type"] = device_type
    payload["interval_ms"] = interval_ms
    payload["sensors"] = [{"name": name, "units": units} for name, units in sensors]
    return {"protected": protected, "signature": ZERO_SIGNATURE, "payload": payload}


def json_rows(block: np.ndarray) -> str:
    """A (rows x axes) float32 block as JSON rows `[a,b],[c,d]` (no enclosing brackets)."""
    axes = block.shape[1]
    texts = format_float32(block)
    if axes > 1:
        texts = [",".join(texts[start : start + axes]) for start in range(0, len(texts), axes)]
    return "[" + "],[".join(texts) + "]" if texts else ""


def acquisition_json_chunks(
    *,
    blocks: Iterable[np.ndarray],
    sensors: Sequence[tuple[str, str]],
    interval_ms: float,
    device_type: str = "TINYSTUDIO",
    device_name: str | None = None,
    signed: bool = False,
    iat: int | None = None,
) -> Iterator[bytes]:
    """An acquisition JSON document with a zero signature, written one block of rows at a time."""
    document = _header_document(
        sensors=sensors,
        interval_ms=interval_ms,
        device_type=device_type,
        device_name=device_name,
        signed=signed,
        iat=iat,
    )
    head = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    # `payload` is the last key and its last key is `sensors`: splice values in before `}}`.
    yield f'{head[:-2]},"values":['.encode()
    first = True
    for block in blocks:
        if block.shape[1] != len(sensors):
            raise ValueError(f"values of shape {block.shape} do not match {len(sensors)} sensors")
        if block.shape[0]:
            yield (("" if first else ",") + json_rows(block)).encode()
            first = False
    yield b"]}}"


def _rows_of(values: np.ndarray, sensors: Sequence[tuple[str, str]]) -> np.ndarray:
    """`values` as a contiguous float32 (time x axes) array, checked against the sensors."""
    array = np.ascontiguousarray(values, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[1] != len(sensors):
        raise ValueError(f"values of shape {array.shape} do not match {len(sensors)} sensors")
    return array


def to_acquisition_json(
    *,
    values: np.ndarray,
    sensors: Sequence[tuple[str, str]],
    interval_ms: float,
    device_type: str = "TINYSTUDIO",
    device_name: str | None = None,
    hmac_key: bytes | None = None,
    iat: int | None = None,
) -> bytes:
    """An acquisition JSON document for a (time x axes) array; HS256-signed when a key is given.

    Values come back bit-identical as float32 through ``parse_upload`` (or any float64 JSON
    parser followed by a float32 cast). Rows are lists even for one axis.
    """
    array = _rows_of(values, sensors)
    # Rows are formatted in blocks so the per-value strings of a long sample never all exist.
    block_rows = max(1, _WRITE_BLOCK_VALUES // array.shape[1])
    blocks = (array[first : first + block_rows] for first in range(0, len(array), block_rows))
    encoded = b"".join(
        acquisition_json_chunks(
            blocks=blocks,
            sensors=sensors,
            interval_ms=interval_ms,
            device_type=device_type,
            device_name=device_name,
            signed=hmac_key is not None,
            iat=iat,
        )
    )
    if hmac_key is None:
        return encoded
    return _patch_signature(encoded, _JSON_SIGNATURE, hmac_key)


def to_acquisition_cbor(
    *,
    values: np.ndarray,
    sensors: Sequence[tuple[str, str]],
    interval_ms: float,
    device_type: str = "TINYSTUDIO",
    device_name: str | None = None,
    hmac_key: bytes | None = None,
    iat: int | None = None,
) -> bytes:
    """An acquisition CBOR document (values as float32 items); HS256-signed when a key is given."""
    array = _rows_of(values, sensors)
    if not np.isfinite(array).all():
        raise ValueError("NaN and infinite values cannot be written to an acquisition document")
    document = _header_document(
        sensors=sensors,
        interval_ms=interval_ms,
        device_type=device_type,
        device_name=device_name,
        signed=hmac_key is not None,
        iat=iat,
    )
    document["payload"]["values"] = []
    head = cbor2.dumps(document)
    if not head.endswith(b"\x80"):
        raise AssertionError("the values array must be the document's last item")
    encoded = head[:-1] + _cbor_float32_rows(array)
    if hmac_key is None:
        return encoded
    return _patch_signature(encoded, _CBOR_SIGNATURE, hmac_key)


def _cbor_float32_rows(array: np.ndarray) -> bytes:
    """A CBOR array of arrays of single-precision floats, built with numpy rather than per item."""
    rows, axes = array.shape
    if axes >= 24 or rows >= 2**32:
        return cbor2.dumps([[float(v) for v in row] for row in array.tolist()])
    # Each row is [0x80 + axes] then, per value, 0xFA and the big-endian float32 bytes.
    items = np.empty((rows, 1 + axes * 5), dtype=np.uint8)
    items[:, 0] = 0x80 + axes
    big = array.astype(">f4").view(np.uint8).reshape(rows, axes, 4)
    body = items[:, 1:].reshape(rows, axes, 5)
    body[:, :, 0] = 0xFA
    body[:, :, 1:] = big
    if rows < 24:
        header = bytes([0x80 + rows])
    elif rows < 2**8:
        header = bytes([0x98, rows])
    elif rows < 2**16:
        header = b"\x99" + rows.to_bytes(2, "big")
    else:
        header = b"\x9a" + rows.to_bytes(4, "big")
    return header + items.tobytes()


def _patch_signature(encoded: bytes, pattern: re.Pattern[bytes], key: bytes) -> bytes:
    match = pattern.search(encoded)
    if match is None or match.group(1) != _ZERO_SIGNATURE_BYTES:
        raise AssertionError("the zero signature placeholder was not found")
    digest = _hmac_hex(key, (encoded,)).encode("ascii")
    start, end = match.span(1)
    return encoded[:start] + digest + encoded[end:]
