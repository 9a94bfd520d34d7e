"""parse_upload's dispatch, names and labels, errors, and the shared sample contract."""

from __future__ import annotations

import hashlib
import io
import pickle

import numpy as np
import pytest

from backend.datasets.formats import (
    ParsedSample,
    UploadError,
    UploadLimits,
    detect_format,
    label_from_name,
    normalize_label,
    parse_upload,
    safe_entry_path,
    safe_filename,
    to_acquisition_json,
)

LIMITS = UploadLimits()


def csv_bytes(rows: int = 5, axes: int = 2, step_ms: float = 10.0) -> bytes:
    header = "timestamp," + ",".join(f"ax{i}" for i in range(axes))
    lines = [header] + [
        f"{r * step_ms:g}," + ",".join(str(r * 10 + i) for i in range(axes)) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def json_bytes(rows: int = 4) -> bytes:
    values = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
    return to_acquisition_json(
        values=values,
        sensors=[("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")],
        interval_ms=10,
    )


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("idle.1.json", None, "json"),
        ("idle.1.JSON", "application/octet-stream", "json"),
        ("idle.cbor", None, "cbor"),
        ("idle.csv", "application/vnd.ms-excel", "csv"),  # what Windows browsers send
        ("idle.wav", None, "wav"),
        ("idle.wave", None, "wav"),
        ("sample", "application/json", "json"),
        ("sample", "application/cbor", "cbor"),
        ("sample", "text/csv; charset=utf-8", "csv"),
        ("sample", "audio/x-wav", "wav"),
    ],
)
def test_format_comes_from_extension_then_content_type(
    filename: str, content_type: str | None, expected: str
) -> None:
    assert detect_format(filename, content_type) == expected


@pytest.mark.parametrize(
    ("filename", "content_type", "needle", "field"),
    [
        ("photo.jpg", None, "unknown file type", "filename"),
        ("sample", "application/octet-stream", "unknown file type", "filename"),
        ("sample", None, "without an extension", "filename"),
        ("sample", "application/x-msdownload", "unknown content type", "content-type"),
        ("notes.txt", "image/png", "unknown content type", "content-type"),
    ],
)
def test_unknown_types_are_refused_with_415(
    filename: str, content_type: str | None, needle: str, field: str
) -> None:
    with pytest.raises(UploadError) as caught:
        parse_upload(filename, content_type, b"1,2,3", hmac_key=None, limits=LIMITS)
    assert caught.value.http_status == 415
    assert caught.value.field == field
    assert needle in str(caught.value)
    assert repr(filename) in str(caught.value)


def test_a_zip_is_not_one_sample() -> None:
    with pytest.raises(UploadError, match="dataset zip") as caught:
        parse_upload("export.zip", "application/zip", b"PK\x03\x04", hmac_key=None, limits=LIMITS)
    assert caught.value.http_status == 415


@pytest.mark.parametrize("filename", ["idle.csv", "idle.json", "idle.cbor", "idle.wav"])
@pytest.mark.parametrize("data", [b"", b"   \n\t "])
def test_empty_files_are_refused(filename: str, data: bytes) -> None:
    with pytest.raises(UploadError) as caught:
        parse_upload(filename, None, data, hmac_key=None, limits=LIMITS)
    assert str(caught.value).startswith(repr(filename))


def test_bytes_are_kept_without_a_copy_and_hashed() -> None:
    data = json_bytes()
    sample = parse_upload("wave.3.json", None, data, hmac_key=None, limits=LIMITS)
    assert sample.original_bytes is data
    assert sample.sha256 == hashlib.sha256(data).hexdigest()
    assert sample.size_bytes == len(data)
    assert sample.label_from_name == "wave"
    assert sample.values.flags.c_contiguous and sample.values.dtype == np.float32
    assert sample.values.shape == (4, 3)
    assert sample.length_ms == 40.0 and sample.axes == 3


def test_streams_are_hashed_but_not_kept() -> None:
    data = csv_bytes(rows=50)
    sample = parse_upload("idle.csv", "text/csv", io.BytesIO(data), hmac_key=None, limits=LIMITS)
    assert sample.original_bytes is None
    assert sample.sha256 == hashlib.sha256(data).hexdigest()
    assert sample.size_bytes == len(data)
    assert sample.values.shape == (50, 2)


@pytest.mark.parametrize("as_stream", [False, True])
def test_over_the_size_limit_is_413(as_stream: bool) -> None:
    data = csv_bytes(rows=200)
    limits = UploadLimits(max_file_bytes=1000)
    source = io.BytesIO(data) if as_stream else data
    with pytest.raises(UploadError, match="larger than the limit") as caught:
        parse_upload("idle.csv", None, source, hmac_key=None, limits=limits)
    assert caught.value.http_status == 413


def test_json_over_the_document_limit_is_413() -> None:
    with pytest.raises(UploadError) as caught:
        parse_upload(
            "idle.json",
            None,
            io.BytesIO(json_bytes(rows=100)),
            hmac_key=None,
            limits=UploadLimits(max_document_bytes=500),
        )
    assert caught.value.http_status == 413


def test_too_many_values_is_413() -> None:
    with pytest.raises(UploadError, match="more than") as caught:
        parse_upload(
            "idle.csv", None, csv_bytes(rows=100), hmac_key=None, limits=UploadLimits(max_values=50)
        )
    assert caught.value.http_status == 413


def test_upload_error_names_file_line_and_field() -> None:
    error = UploadError("idle.csv", "'x' is not a number", line=7, field="accX")
    assert str(error) == "'idle.csv', line 7, field 'accX': 'x' is not a number"
    assert error.to_dict()["line"] == 7
    copy = pickle.loads(pickle.dumps(UploadError("a.wav", "too big", http_status=413)))
    assert copy.http_status == 413 and str(copy) == "'a.wav': too big"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("idle.01.json", "idle.01.json"),
        ("  Wave 3 (left).csv ", "Wave 3 (left).csv"),
        ("Café.wav", "Café.wav"),
        ("a+b,c@d=e#f~g.cbor", "a+b,c@d=e#f~g.cbor"),
    ],
)
def test_safe_filenames_pass(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "../etc/passwd",
        "..",
        "a/b.csv",
        "C:\\Users\\me\\idle.csv",
        ".hidden.csv",
        "idle\x00.csv",
        "idle\n.csv",
        "idle<1>.csv",
        'id"le.csv',
        "idle|cat.csv",
        "idle*.csv",
        "idle$.csv",
        "CON.csv",
        "x" * 300 + ".csv",
    ],
)
def test_unsafe_filenames_are_refused(name: str) -> None:
    with pytest.raises(UploadError) as caught:
        safe_filename(name)
    assert caught.value.field == "filename"


@pytest.mark.parametrize(
    "entry", ["/etc/passwd", "../up.json", "a/../../b.json", "C:/x.json", "a\\b.json", "a//b.json"]
)
def test_unsafe_entry_paths_are_refused(entry: str) -> None:
    with pytest.raises(UploadError) as caught:
        safe_entry_path("export.zip", entry)
    assert caught.value.filename == "export.zip"
    assert caught.value.field == entry
    assert "export.zip" in str(caught.value)


def test_labels() -> None:
    assert normalize_label("  idle ") == "idle"
    assert normalize_label("café") == "caf\u00e9"
    assert label_from_name("idle.01.json") == "idle"
    assert label_from_name("training/up.x.wav") == "up"
    assert label_from_name(".json") is None
    assert label_from_name("   .json") is None
    for bad in ("", "   ", "\t\n", "a\x07b", "x" * 200):
        with pytest.raises(UploadError) as caught:
            normalize_label(bad, filename="idle.csv")
        assert caught.value.field == "label"
        assert "idle.csv" in str(caught.value)


def test_parsed_sample_defaults_are_independent() -> None:
    one = ParsedSample(values=np.zeros((1, 1), np.float32), sensors=[], interval_ms=1, format="csv")
    two = ParsedSample(values=np.zeros((1, 1), np.float32), sensors=[], interval_ms=1, format="csv")
    one.metadata["k"] = "v"
    assert two.metadata == {}
