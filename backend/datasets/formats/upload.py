"""parse_upload: one uploaded file (JSON, CBOR, CSV or WAV) to a ParsedSample, or an UploadError.

The format comes from the file name's extension when it has a known one; otherwise from the
content type (what ``POST /api/{category}/data`` bodies carry); a generic or missing content
type with an unknown extension is refused, as is any unknown content type. A content type that
disagrees with a known extension is ignored, because browsers send odd ones (Excel's
``application/vnd.ms-excel`` for ``.csv``, ``application/octet-stream`` for anything).
"""

from __future__ import annotations

from typing import BinaryIO, Literal

from backend.datasets.formats.acquisition import parse_acquisition
from backend.datasets.formats.csv_format import parse_csv
from backend.datasets.formats.errors import UploadError
from backend.datasets.formats.model import HashingReader, ParsedSample, UploadFormat, UploadLimits
from backend.datasets.formats.names import label_from_name
from backend.datasets.formats.wav import parse_wav

EXTENSIONS: dict[str, UploadFormat] = {
    ".json": "json",
    ".cbor": "cbor",
    ".csv": "csv",
    ".wav": "wav",
    ".wave": "wav",
}
CONTENT_TYPES: dict[str, UploadFormat] = {
    "application/json": "json",
    "text/json": "json",
    "application/cbor": "cbor",
    "text/csv": "csv",
    "application/csv": "csv",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
}
# Types that say nothing about the content: fall back on the extension alone.
GENERIC_CONTENT_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "text/plain"})
ZIP_EXTENSION = ".zip"


def detect_format(filename: str, content_type: str | None) -> UploadFormat:
    """The upload format from the file name's extension, else the content type."""
    lowered = filename.lower()
    dot = lowered.rfind(".")
    extension = lowered[dot:] if dot > 0 else ""
    if extension in EXTENSIONS:
        return EXTENSIONS[extension]
    if extension == ZIP_EXTENSION:
        raise UploadError(
            filename, "a dataset zip is imported as a dataset, not as one sample", http_status=415
        )
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in CONTENT_TYPES:
        return CONTENT_TYPES[media_type]
    if media_type and media_type not in GENERIC_CONTENT_TYPES:
        raise UploadError(
            filename,
            f"unknown content type {media_type!r} (JSON, CBOR, CSV and WAV are accepted)",
            field="content-type",
            http_status=415,
        )
    what = f"extension {extension!r}" if extension else "a file name without an extension"
    raise UploadError(
        filename,
        f"unknown file type: {what} (use .json, .cbor, .csv or .wav)",
        field="filename",
        http_status=415,
    )


def parse_upload(
    filename: str,
    content_type: str | None,
    data: bytes | BinaryIO,
    *,
    hmac_key: bytes | None,
    limits: UploadLimits,
    csv_irregular: Literal["reject", "resample"] = "reject",
) -> ParsedSample:
    """Parse one uploaded file into a sample, or raise UploadError naming file and line/field.

    ``data`` is the whole upload as ``bytes`` (kept as ``original_bytes`` without copying) or a
    binary stream positioned at its start, e.g. a spooled temporary file; CSV and WAV streams
    are read in blocks, JSON and CBOR are read whole (up to ``limits.max_document_bytes``).
    A stream is read to its end (so ``sha256`` covers it all); seek back to store it.
    ``hmac_key`` is the project's HMAC key as bytes (Edge Impulse tools use the key text's
    UTF-8 bytes); HS256 documents are refused without it.
    """
    fmt = detect_format(filename, content_type)
    reader = HashingReader(filename, data, limits.max_file_bytes)
    if fmt in ("json", "cbor"):
        raw = reader.read_all(limits.max_document_bytes)
        if not raw:
            raise UploadError(filename, "the file is empty")
        sample = parse_acquisition(filename, raw, fmt, hmac_key=hmac_key, limits=limits)
        sample = reader.finish(sample)
    elif fmt == "csv":
        sample = parse_csv(filename, reader, limits=limits, irregular=csv_irregular)
    else:
        sample = parse_wav(filename, reader, limits=limits)
    sample.label_from_name = label_from_name(filename)
    return sample
