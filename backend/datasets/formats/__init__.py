"""Parsing of uploads into samples (no database, no HTTP): JSON/CBOR acquisition, CSV, WAV, zips."""

from backend.datasets.formats.acquisition import ZERO_SIGNATURE
from backend.datasets.formats.acquisition_writer import (
    format_float32,
    to_acquisition_cbor,
    to_acquisition_json,
)
from backend.datasets.formats.csv_format import split_name_units
from backend.datasets.formats.dataset_zip import (
    CATEGORIES,
    MANIFEST_NAME,
    ManifestEntry,
    build_manifest,
    iter_zip,
)
from backend.datasets.formats.errors import UploadError
from backend.datasets.formats.model import ParsedSample, UploadFormat, UploadLimits
from backend.datasets.formats.names import (
    label_from_name,
    normalize_label,
    safe_entry_path,
    safe_filename,
)
from backend.datasets.formats.upload import detect_format, parse_upload

__all__ = [
    "CATEGORIES",
    "MANIFEST_NAME",
    "ZERO_SIGNATURE",
    "ManifestEntry",
    "ParsedSample",
    "UploadError",
    "UploadFormat",
    "UploadLimits",
    "build_manifest",
    "detect_format",
    "format_float32",
    "iter_zip",
    "label_from_name",
    "normalize_label",
    "parse_upload",
    "safe_entry_path",
    "safe_filename",
    "split_name_units",
    "to_acquisition_cbor",
    "to_acquisition_json",
]
