"""The Edge Impulse data acquisition format (JSON and CBOR): reading and signature checks.

A document is ``{"protected": {"ver": "v1", "alg": "HS256" | "none", "iat": ...},
"signature": "<64 hex>", "payload": {"device_name", "device_type", "interval_ms",
"sensors": [{"name", "units"}], "values": [[...], ...]}}``.

Signatures, as Edge Impulse's own uploaders produce them: the document is serialised with
``signature`` set to 64 ASCII zeros, HMAC-SHA256 (key = the project's HMAC key as UTF-8 bytes)
is taken over exactly those bytes, and the hex digest is then written in place of the zeros.
The data forwarder and the Node/Python examples do this with ``JSON.stringify``/``json.dumps``
and send the re-serialised document; the C ingestion SDK streams CBOR with the zeros in place
and patches the digest into the file afterwards. Both leave the sent bytes equal to the signed
bytes except for those 64 characters, so TinyStudio verifies by putting the zeros back into
the bytes as received and recomputing the HMAC. For JSON sent in a different layout than it
was signed in (say, signed compact and sent pretty-printed), a ``JSON.stringify``-equivalent
re-serialisation is tried as well.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import cbor2
import numpy as np

from backend.datasets.formats.errors import UploadError
from backend.datasets.formats.model import (
    ParsedSample,
    UploadFormat,
    UploadLimits,
    check_values,
)

ZERO_SIGNATURE = "0" * 64
_ZERO_SIGNATURE_BYTES = ZERO_SIGNATURE.encode("ascii")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# `"signature" : "<64 hex>"` in a JSON text; the group is the hex digest.
_JSON_SIGNATURE = re.compile(rb'"signature"\s*:\s*"([0-9a-fA-F]{64})"')
# CBOR text key "signature" (0x69 + 9 bytes) then a 64-byte text string (0x78 0x40).
_CBOR_SIGNATURE = re.compile(rb"\x69signature\x78\x40([0-9a-fA-F]{64})")
# Re-serialising to check a signature made over another layout costs seconds on huge documents;
# uploaders that do that send small ones, so bigger documents are only checked as sent.
_RESERIALIZE_MAX_BYTES = 16 * 1024 * 1024


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number TinyStudio accepts")


def parse_acquisition(
    filename: str,
    raw: bytes,
    fmt: UploadFormat,
    *,
    hmac_key: bytes | None,
    limits: UploadLimits,
) -> ParsedSample:
    """Decode, verify and validate one acquisition document (JSON or CBOR) held in ``raw``."""
    if not raw or raw.isspace():  # isspace() scans without copying a large document
        raise UploadError(filename, "the file is empty")
    document = _decode_json(filename, raw) if fmt == "json" else _decode_cbor(filename, raw)
    if not isinstance(document, dict):
        raise UploadError(filename, "the document is not an object", field="(root)")

    protected = document.get("protected")
    if not isinstance(protected, dict):
        raise UploadError(filename, "missing or not an object", field="protected")
    if protected.get("ver") != "v1":
        raise UploadError(filename, "only version 'v1' is supported", field="protected.ver")
    alg = protected.get("alg")
    if alg not in ("HS256", "none"):
        raise UploadError(filename, "must be 'HS256' or 'none'", field="protected.alg")
    iat = protected.get("iat")
    iat_s = _finite(iat)
    if iat is not None and iat_s is None:
        raise UploadError(filename, "must be seconds since the epoch", field="protected.iat")

    signature = document.get("signature")
    verified = False
    if alg == "HS256":
        if hmac_key is None:
            raise UploadError(
                filename,
                "the document is signed with HS256 but the project has no HMAC key",
                field="protected.alg",
                http_status=403,
            )
        if not isinstance(signature, str) or not _HEX64.fullmatch(signature):
            raise UploadError(filename, "must be 64 hexadecimal characters", field="signature")
        if not _signature_matches(raw, fmt, document, signature, hmac_key):
            raise UploadError(
                filename,
                "the HS256 signature does not match the project's HMAC key",
                field="signature",
                http_status=403,
            )
        verified = True
    elif signature is not None and not isinstance(signature, str):
        raise UploadError(filename, "must be a string", field="signature")

    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise UploadError(filename, "missing or not an object", field="payload")
    device_type = payload.get("device_type")
    if not isinstance(device_type, str) or not device_type.strip():
        raise UploadError(filename, "missing or not a string", field="payload.device_type")
    device_name = payload.get("device_name")
    if device_name is not None and not isinstance(device_name, str):
        raise UploadError(filename, "must be a string", field="payload.device_name")
    interval_ms = _finite(payload.get("interval_ms"))
    if interval_ms is None or interval_ms <= 0:
        raise UploadError(filename, "must be a positive number", field="payload.interval_ms")

    sensors = _sensors(filename, payload.get("sensors"), limits)
    values = _values(filename, payload.get("values"), len(sensors))
    values = check_values(filename, values, limits, field_name="payload.values")
    return ParsedSample(
        values=values,
        sensors=sensors,
        interval_ms=interval_ms,
        format=fmt,
        device_name=device_name,
        device_type=device_type,
        signature_verified=verified,
        created_at_s=int(iat_s) if iat_s is not None else None,
    )


def _finite(value: Any) -> float | None:
    """The value as a finite float, or None when it is not a finite number (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _decode_json(filename: str, raw: bytes) -> Any:
    # json.loads would also accept UTF-16/32; acquisition documents are UTF-8 only.
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4]:
        raise UploadError(filename, "the file is not UTF-8 text", line=1)
    try:
        # Bytes straight to json.loads: no decoded copy of a large document is kept.
        return json.loads(raw, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UploadError(filename, "the file is not UTF-8 text", line=line) from None
    except json.JSONDecodeError as exc:
        raise UploadError(
            filename, f"malformed JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from None
    except ValueError as exc:  # NaN / Infinity literals, refused by _refuse_constant
        raise UploadError(filename, str(exc), field="payload.values") from None
    except RecursionError:
        raise UploadError(filename, "malformed JSON: nested too deeply") from None


def _decode_cbor(filename: str, raw: bytes) -> Any:
    try:
        return cbor2.loads(raw)
    except cbor2.CBORDecodeEOF:
        raise UploadError(filename, "malformed CBOR: the document is truncated") from None
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise UploadError(filename, f"malformed CBOR: {exc}") from None
    except RecursionError:
        raise UploadError(filename, "malformed CBOR: nested too deeply") from None


def _sensors(filename: str, sensors: Any, limits: UploadLimits) -> list[tuple[str, str]]:
    if not isinstance(sensors, list) or not sensors:
        raise UploadError(filename, "must be a non-empty list", field="payload.sensors")
    if len(sensors) > limits.max_axes:
        raise UploadError(
            filename,
            f"{len(sensors)} axes is more than the limit of {limits.max_axes}",
            field="payload.sensors",
            http_status=413,
        )
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, sensor in enumerate(sensors):
        where = f"payload.sensors[{index}]"
        if not isinstance(sensor, dict):
            raise UploadError(filename, "must be an object with name and units", field=where)
        name, units = sensor.get("name"), sensor.get("units")
        if not isinstance(name, str) or not name.strip():
            raise UploadError(filename, "must be a non-empty string", field=f"{where}.name")
        if not isinstance(units, str):
            raise UploadError(filename, "must be a string", field=f"{where}.units")
        if name in seen:
            raise UploadError(filename, f"duplicate sensor name {name!r}", field=f"{where}.name")
        seen.add(name)
        result.append((name, units))
    return result


def _values(filename: str, values: Any, axes: int) -> np.ndarray:
    """Turn ``payload.values`` into a float64 (time x axes) array, naming the first bad item."""
    if not isinstance(values, list) or not values:
        raise UploadError(filename, "must be a non-empty list", field="payload.values")
    array: np.ndarray | None = None
    try:
        # One C-level pass when the data is clean; anything odd falls to the precise scan.
        candidate = np.array(values)
        if candidate.dtype.kind in "iuf":
            array = candidate.astype(np.float64, copy=False)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or not _shape_ok(array, axes):
        _locate_bad_value(filename, values, axes)
        array = np.array(values, dtype=np.float64)  # all items checked just above
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    with np.errstate(over="ignore"):
        as32 = array.astype(np.float32)
    finite = np.isfinite(as32)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        where = (
            f"payload.values[{row}]"
            if axes == 1 and np.ndim(values[0]) == 0
            else (f"payload.values[{row}][{col}]")
        )
        reason = "is not finite" if not np.isfinite(array[row, col]) else "is outside float32"
        raise UploadError(filename, f"value {array[row, col]!r} {reason}", field=where)
    return as32


def _shape_ok(array: np.ndarray, axes: int) -> bool:
    if array.ndim == 1:
        return axes == 1
    return array.ndim == 2 and array.shape[1] == axes


def _is_number(item: Any) -> bool:
    return isinstance(item, (int, float)) and not isinstance(item, bool)


def _locate_bad_value(filename: str, values: list[Any], axes: int) -> None:
    """Raise UploadError naming the first row or item that is not a number or not ``axes`` long."""
    if all(_is_number(v) for v in values):
        if axes != 1:
            raise UploadError(
                filename,
                f"a flat list of values needs exactly 1 sensor, not {axes}",
                field="payload.values",
            )
        for row, value in enumerate(values):
            _check_number(filename, value, f"payload.values[{row}]")
        return
    for row, item in enumerate(values):
        where = f"payload.values[{row}]"
        if not isinstance(item, list):
            raise UploadError(filename, "must be a list of numbers", field=where)
        if len(item) != axes:
            raise UploadError(
                filename, f"has {len(item)} values, the sensors list has {axes}", field=where
            )
        for col, value in enumerate(item):
            _check_number(filename, value, f"{where}[{col}]")


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_number(filename: str, value: Any, where: str) -> None:
    if not _is_number(value):
        raise UploadError(filename, f"{value!r} is not a number", field=where)
    # Integers beyond float64 would overflow the conversion itself; name them here.
    if isinstance(value, int) and abs(value) > _FLOAT32_MAX:
        raise UploadError(filename, f"value {value} is outside float32", field=where)


# --- signatures -------------------------------------------------------------------------------


def _hmac_hex(key: bytes, parts: Sequence[bytes | memoryview]) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.hexdigest()


def _signature_matches(
    raw: bytes, fmt: UploadFormat, document: dict[str, Any], signature: str, key: bytes
) -> bool:
    wanted = signature.lower()
    pattern = _JSON_SIGNATURE if fmt == "json" else _CBOR_SIGNATURE
    view = memoryview(raw)
    for match in pattern.finditer(raw):
        if match.group(1).decode("ascii").lower() != wanted:
            continue
        start, end = match.span(1)
        # Hash the bytes as received with the zeros put back, without copying the document.
        digest = _hmac_hex(key, (view[:start], _ZERO_SIGNATURE_BYTES, view[end:]))
        if hmac.compare_digest(digest, wanted):
            return True
    if fmt == "json" and len(raw) <= _RESERIALIZE_MAX_BYTES:
        zeroed = dict(document, signature=ZERO_SIGNATURE)
        for text in (_js_stringify(zeroed), json.dumps(zeroed)):
            if hmac.compare_digest(_hmac_hex(key, (text.encode("utf-8"),)), wanted):
                return True
    return False


def _js_number(value: float) -> str:
    """A float written the way JavaScript's ``JSON.stringify`` writes it."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def _js_stringify(value: Any) -> str:
    return "".join(_js_parts(value))


def _js_parts(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if index:
                yield ","
            yield json.dumps(str(key), ensure_ascii=False)
            yield ":"
            yield from _js_parts(item)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _js_parts(item)
        yield "]"
    elif isinstance(value, float):
        yield _js_number(value)
    else:
        yield json.dumps(value, ensure_ascii=False)


# --- writing ----------------------------------------------------------------------------------
