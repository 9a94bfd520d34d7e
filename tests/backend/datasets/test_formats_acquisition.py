"""Edge Impulse acquisition JSON/CBOR: signatures as EI's tools make them, bad documents, writer."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import cbor2
import numpy as np
import pytest

from backend.datasets.formats import (
    ZERO_SIGNATURE,
    UploadError,
    UploadLimits,
    acquisition_writer,
    format_float32,
    parse_upload,
    to_acquisition_cbor,
    to_acquisition_json,
)

LIMITS = UploadLimits()
# Edge Impulse tools pass the project's HMAC key text to HMAC as its UTF-8 bytes.
HMAC_KEY_TEXT = "5f3c1d2e9a8b7c6d5e4f3a2b1c0d9e8f"
KEY = HMAC_KEY_TEXT.encode()


def document(values: list[Any] | None = None, alg: str = "HS256") -> dict[str, Any]:
    """The example from Edge Impulse's data acquisition format page."""
    return {
        "protected": {"ver": "v1", "alg": alg, "iat": 1564128599},
        "signature": ZERO_SIGNATURE,
        "payload": {
            "device_name": "ac:87:a3:0a:2d:1b",
            "device_type": "DISCO-L475VG-IOT01A",
            "interval_ms": 10,
            "sensors": [
                {"name": "accX", "units": "m/s2"},
                {"name": "accY", "units": "m/s2"},
                {"name": "accZ", "units": "m/s2"},
            ],
            "values": values
            if values is not None
            else [
                [-9.81, 0.03, 1.21],
                [-9.83, 0.04, 1.27],
                [-9.12, 0.03, 1.23],
                [-9.14, 0.01, 1.25],
            ],
        },
    }


def sign_like_node_forwarder(doc: dict[str, Any], key_text: str) -> bytes:
    """What edge-impulse-data-forwarder does: JSON.stringify, HMAC, set signature, stringify."""
    encoded = json.dumps(doc, separators=(",", ":"))
    doc = dict(
        doc, signature=hmac.new(key_text.encode(), encoded.encode(), hashlib.sha256).hexdigest()
    )
    return json.dumps(doc, separators=(",", ":")).encode()


def sign_like_python_example(doc: dict[str, Any], key_text: str) -> bytes:
    """What EI's Python ingestion example does: json.dumps (default separators), sign, dump."""
    encoded = json.dumps(doc)
    signature = hmac.new(
        key_text.encode("utf-8"), msg=encoded.encode("utf-8"), digestmod=hashlib.sha256
    )
    doc = dict(doc, signature=signature.hexdigest())
    return json.dumps(doc).encode("utf-8")


def cbor_like_c_sdk(doc: dict[str, Any], key: bytes) -> bytes:
    """What the C ingestion SDK streams: values as an indefinite array appended row by row,
    the HMAC over all bytes with 64 '0's as signature, then the digest patched in place."""
    values = doc["payload"]["values"]
    head_doc = copy.deepcopy(doc)
    head_doc["payload"]["values"] = []
    head = cbor2.dumps(head_doc)
    assert head.endswith(b"\x80")
    body = head[:-1] + b"\x9f" + b"".join(cbor2.dumps(row) for row in values) + b"\xff"
    digest = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    at = body.index(ZERO_SIGNATURE.encode())
    return body[:at] + digest + body[at + 64 :]


@pytest.mark.parametrize("signer", [sign_like_node_forwarder, sign_like_python_example])
def test_json_signed_like_edge_impulse_tools_verifies(signer: Any) -> None:
    data = signer(document(), HMAC_KEY_TEXT)
    sample = parse_upload("idle.1.json", "application/json", data, hmac_key=KEY, limits=LIMITS)
    assert sample.signature_verified
    assert sample.format == "json"
    assert sample.sensors == [("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")]
    assert sample.interval_ms == 10.0
    assert sample.device_name == "ac:87:a3:0a:2d:1b"
    assert sample.device_type == "DISCO-L475VG-IOT01A"
    assert sample.created_at_s == 1564128599
    assert sample.values.shape == (4, 3)
    assert sample.values[1, 2] == np.float32(1.27)


def test_json_signed_compact_but_sent_pretty_verifies() -> None:
    compact = json.loads(sign_like_node_forwarder(document(), HMAC_KEY_TEXT))
    pretty = json.dumps(compact, indent=4).encode()
    sample = parse_upload("idle.json", None, pretty, hmac_key=KEY, limits=LIMITS)
    assert sample.signature_verified


def test_cbor_streamed_like_the_c_sdk_verifies() -> None:
    data = cbor_like_c_sdk(document(), KEY)
    sample = parse_upload("idle.cbor", "application/cbor", data, hmac_key=KEY, limits=LIMITS)
    assert sample.signature_verified and sample.format == "cbor"
    np.testing.assert_array_equal(
        sample.values, np.array(document()["payload"]["values"], dtype=np.float32)
    )


@pytest.mark.parametrize("fmt", ["json", "cbor"])
def test_wrong_key_and_tampering_are_refused(fmt: str) -> None:
    data = (
        sign_like_node_forwarder(document(), HMAC_KEY_TEXT)
        if fmt == "json"
        else cbor_like_c_sdk(document(), KEY)
    )
    name = f"idle.{fmt}"
    with pytest.raises(UploadError, match="does not match") as caught:
        parse_upload(name, None, data, hmac_key=b"another key", limits=LIMITS)
    assert caught.value.field == "signature" and caught.value.http_status == 403
    tampered = data.replace(b"DISCO", b"DISCA")
    with pytest.raises(UploadError, match="does not match"):
        parse_upload(name, None, tampered, hmac_key=KEY, limits=LIMITS)


def test_hs256_without_a_project_key_is_refused() -> None:
    data = sign_like_node_forwarder(document(), HMAC_KEY_TEXT)
    with pytest.raises(UploadError, match="no HMAC key") as caught:
        parse_upload("idle.json", None, data, hmac_key=None, limits=LIMITS)
    assert caught.value.field == "protected.alg"


def test_alg_none_needs_no_key_and_ignores_signature() -> None:
    doc = document(alg="none")
    for data in (json.dumps(doc).encode(), cbor2.dumps(doc)):
        fmt = "json" if data.startswith(b"{") else "cbor"
        sample = parse_upload(f"idle.{fmt}", None, data, hmac_key=KEY, limits=LIMITS)
        assert not sample.signature_verified
        assert sample.values.shape == (4, 3)


def test_flat_values_are_one_axis() -> None:
    doc = document(values=[1, 2.5, -3], alg="none")
    doc["payload"]["sensors"] = [{"name": "audio", "units": "wav"}]
    sample = parse_upload("yes.json", None, json.dumps(doc).encode(), hmac_key=None, limits=LIMITS)
    assert sample.values.shape == (3, 1)
    np.testing.assert_array_equal(sample.values[:, 0], [1, 2.5, -3])


def mutate(path: str, value: Any) -> dict[str, Any]:
    doc = document(alg="none")
    target: Any = doc
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


BAD_DOCUMENTS = [
    ("protected", KeyError, "protected"),
    ("protected.ver", "v2", "protected.ver"),
    ("protected.alg", "RS256", "protected.alg"),
    ("protected.iat", "yesterday", "protected.iat"),
    ("payload", [], "payload"),
    ("payload.device_type", KeyError, "payload.device_type"),
    ("payload.device_name", 12, "payload.device_name"),
    ("payload.interval_ms", 0, "payload.interval_ms"),
    ("payload.interval_ms", "10", "payload.interval_ms"),
    ("payload.interval_ms", 10**400, "payload.interval_ms"),
    ("payload.interval_ms", float("inf"), "payload.interval_ms"),
    ("protected.iat", float("nan"), "protected.iat"),
    ("payload.sensors", [], "payload.sensors"),
    ("payload.sensors.1", "accY", "payload.sensors[1]"),
    ("payload.sensors.1.name", "accX", "payload.sensors[1].name"),
    ("payload.sensors.2.units", None, "payload.sensors[2].units"),
    ("payload.values", [], "payload.values"),
    ("payload.values.2", [1.0, 2.0], "payload.values[2]"),  # ragged
    ("payload.values.3", [1.0, 2.0, 3.0, 4.0], "payload.values[3]"),
    ("payload.values.1", [1.0, "2", 3.0], "payload.values[1][1]"),
    ("payload.values.1", [1.0, None, 3.0], "payload.values[1][1]"),
    ("payload.values.0", [1.0, [2.0], 3.0], "payload.values[0][1]"),
    ("payload.values.2", 5.0, "payload.values[2]"),
    ("payload.values.1", [1.0, 1e39, 3.0], "payload.values[1][1]"),
    ("payload.values.1", [1.0, 10**400, 3.0], "payload.values[1][1]"),
]


# JSON has no NaN/Infinity values (their literals are refused while decoding, tested below).
BAD_CASES = [
    (fmt, path, value, field)
    for fmt in ("json", "cbor")
    for path, value, field in BAD_DOCUMENTS
    if fmt == "cbor" or not (isinstance(value, float) and not np.isfinite(value))
]


@pytest.mark.parametrize(("fmt", "path", "value", "field"), BAD_CASES)
def test_bad_documents_name_the_field(fmt: str, path: str, value: Any, field: str) -> None:
    doc = mutate(path, value)
    data = json.dumps(doc).encode() if fmt == "json" else cbor2.dumps(doc)
    with pytest.raises(UploadError) as caught:
        parse_upload(f"idle.{fmt}", None, data, hmac_key=None, limits=LIMITS)
    assert caught.value.field == field, str(caught.value)
    assert str(caught.value).startswith(f"'idle.{fmt}', field '{field}'")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_literals_are_refused(literal: str) -> None:
    data = json.dumps(document(alg="none")).replace("-9.12", literal).encode()
    with pytest.raises(UploadError, match="not a number") as caught:
        parse_upload("idle.json", None, data, hmac_key=None, limits=LIMITS)
    assert caught.value.field == "payload.values"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_cbor_nan_and_infinity_are_refused_with_their_position(value: float) -> None:
    doc = document(alg="none", values=[[1.0, 2.0, 3.0], [4.0, 5.0, value]])
    with pytest.raises(UploadError, match="not finite") as caught:
        parse_upload("idle.cbor", None, cbor2.dumps(doc), hmac_key=None, limits=LIMITS)
    assert caught.value.field == "payload.values[1][2]"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'{"protected": {"ver": "v1",\n "alg": "none"},\n "payload": {', 3),
        (b"{\n\n  'single': 'quotes'}", 3),
        (b"[1, 2,]", 1),
        (b"\xff\xfe{}", 1),
    ],
)
def test_malformed_json_names_the_line(data: bytes, line: int) -> None:
    with pytest.raises(UploadError) as caught:
        parse_upload("idle.json", None, data, hmac_key=None, limits=LIMITS)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"'idle.json', line {line}")


@pytest.mark.parametrize("data", [cbor2.dumps(document())[:-7], b"\xff\x00\x01", b"\x1c"])
def test_malformed_cbor_is_refused(data: bytes) -> None:
    with pytest.raises(UploadError, match="CBOR") as caught:
        parse_upload("idle.cbor", None, data, hmac_key=None, limits=LIMITS)
    assert caught.value.filename == "idle.cbor"


def test_not_an_object_is_refused() -> None:
    with pytest.raises(UploadError, match="not an object"):
        parse_upload("idle.json", None, b"[1, 2, 3]", hmac_key=None, limits=LIMITS)


def test_more_axes_than_the_limit_is_413() -> None:
    doc = document(alg="none", values=[[0.0] * 5])
    doc["payload"]["sensors"] = [{"name": f"s{i}", "units": "N/A"} for i in range(5)]
    with pytest.raises(UploadError, match="limit of 4") as caught:
        parse_upload(
            "idle.json",
            None,
            json.dumps(doc).encode(),
            hmac_key=None,
            limits=UploadLimits(max_axes=4),
        )
    assert caught.value.http_status == 413 and caught.value.field == "payload.sensors"


# --- writer -----------------------------------------------------------------------------------


def awkward_float32() -> np.ndarray:
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)]
    specials = np.array(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-45,
            -1e-45,
            1.17549435e-38,
            3.4028235e38,
            -3.4028235e38,
            16777217.0,
            0.3,
            2.0 / 3.0,
            123456.789,
        ],
        dtype=np.float32,
    )
    values = np.concatenate([values, specials, rng.standard_normal(5000).astype(np.float32)])
    return values[: (values.size // 3) * 3].reshape(-1, 3)


@pytest.mark.parametrize("block_values", [1 << 18, 30])
def test_json_writer_round_trips_float32_bit_for_bit(
    block_values: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tiny block size runs the writer's block joins many times on the same data.
    monkeypatch.setattr(acquisition_writer, "_WRITE_BLOCK_VALUES", block_values)
    values = awkward_float32()
    sensors = [("a", "N/A"), ("b", "N/A"), ("c", "N/A")]
    data = to_acquisition_json(values=values, sensors=sensors, interval_ms=1000 / 3)
    sample = parse_upload("x.json", None, data, hmac_key=None, limits=LIMITS)
    np.testing.assert_array_equal(sample.values.view(np.uint32), values.view(np.uint32))
    assert sample.interval_ms == 1000 / 3
    # Any float64 JSON reader (Python's here, JavaScript's in a browser) gets the same bits.
    plain = np.array(json.loads(data)["payload"]["values"], dtype=np.float64).astype(np.float32)
    assert np.array_equal(plain.view(np.uint32)[values != 0], values.view(np.uint32)[values != 0])


def test_float_texts_are_short_when_they_can_be() -> None:
    texts = format_float32(np.array([0.1, 1.5, -2.0, 0.0, -0.0, 123.456], dtype=np.float32))
    assert texts == ["0.1", "1.5", "-2", "0", "-0.0", "123.456"]


def test_writer_refuses_nan_and_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        to_acquisition_json(values=np.array([[np.nan]]), sensors=[("a", "")], interval_ms=1)
    with pytest.raises(ValueError):
        to_acquisition_json(values=np.zeros((2, 2)), sensors=[("a", "")], interval_ms=1)


@pytest.mark.parametrize("writer", [to_acquisition_json, to_acquisition_cbor])
def test_signed_writer_output_verifies_and_round_trips(writer: Any) -> None:
    values = awkward_float32()[:500]
    sensors = [("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")]
    data = writer(
        values=values,
        sensors=sensors,
        interval_ms=16.0,
        device_name="board-1",
        device_type="NANO33BLE",
        hmac_key=KEY,
        iat=1700000000,
    )
    fmt = "json" if writer is to_acquisition_json else "cbor"
    sample = parse_upload(f"w.{fmt}", None, data, hmac_key=KEY, limits=LIMITS)
    assert sample.signature_verified
    np.testing.assert_array_equal(sample.values.view(np.uint32), values.view(np.uint32))
    assert (sample.device_name, sample.device_type, sample.created_at_s) == (
        "board-1",
        "NANO33BLE",
        1700000000,
    )
    with pytest.raises(UploadError, match="does not match"):
        parse_upload(f"w.{fmt}", None, data, hmac_key=b"wrong", limits=LIMITS)


def test_writer_output_is_what_edge_impulse_signs() -> None:
    """Our signed JSON equals what the data forwarder's algorithm gives for the same document."""
    values = np.array([[1.5, -2.0], [0.25, 3.0]], dtype=np.float32)
    ours = to_acquisition_json(
        values=values, sensors=[("a", "N/A"), ("b", "N/A")], interval_ms=10, hmac_key=KEY
    )
    doc = json.loads(ours)
    doc["signature"] = ZERO_SIGNATURE
    assert sign_like_node_forwarder(doc, HMAC_KEY_TEXT).replace(b"10.0", b"10") == ours.replace(
        b"10.0", b"10"
    )
