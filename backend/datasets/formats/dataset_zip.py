"""Dataset zips: the export format (one sample file per entry + a manifest), read with bomb limits.

TinyStudio's export writes ``manifest.json`` at the root::

    {"format": "tinystudio-dataset", "version": 1,
     "files": [{"path": "training/idle.1.json", "name": "idle.1", "label": "idle",
                "category": "training", "enabled": true, "metadata": {"site": "lab"}}]}

Edge Impulse's exporter format is read too: ``info.labels`` files (at the root or in a folder,
paths relative to that folder) whose ``label`` is ``{"type": "label", "label": "idle"}`` or
``{"type": "unlabeled"}``. Sample entries may be JSON, CBOR, CSV or WAV. An entry no manifest
lists gets its name from the file name, its label from the name up to the first '.', and its
category from its top folder when that is ``training``, ``testing`` or ``anomaly``.

The whole central directory is checked before anything is yielded: entry count, declared sizes
(per entry and in total), compression ratio, names (no absolute paths, ``..``, backslashes,
odd characters or duplicates) and encryption. While reading, the bytes actually inflated are
counted against the same limits, so a lying header cannot get past them. macOS ``__MACOSX/``
resource folders are skipped; any other entry that is not a sample or a manifest is refused.
Errors come as UploadError; a caller that stores nothing from a refused zip consumes the
whole iterator before committing.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from backend.datasets.formats.errors import UploadError
from backend.datasets.formats.model import MiB, ParsedSample, UploadLimits
from backend.datasets.formats.names import label_from_name, normalize_label, safe_entry_path
from backend.datasets.formats.upload import EXTENSIONS, parse_upload

MANIFEST_NAME = "manifest.json"
EDGE_IMPULSE_MANIFEST = "info.labels"
MANIFEST_FORMAT = "tinystudio-dataset"
CATEGORIES = ("training", "testing", "anomaly")
_SKIPPED_FOLDERS = ("__MACOSX",)
_READ_BYTES = 1 * MiB
_COMPRESSIONS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


@dataclass
class ManifestEntry:
    """What the manifest says about one sample file of a dataset zip."""

    path: str
    name: str
    label: str | None
    category: str | None
    enabled: bool = True
    metadata: dict[str, str] = field(default_factory=dict)
    # The sample's device type as stored (None: it had none). The acquisition JSON always names
    # one, so the manifest keeps the real value; unset when the manifest does not say.
    device_type: str | None = None
    device_type_given: bool = False

    def to_json(self) -> dict[str, Any]:
        """The entry as written in ``manifest.json``."""
        document: dict[str, Any] = {
            "path": self.path,
            "name": self.name,
            "label": self.label,
            "category": self.category,
            "enabled": self.enabled,
            "metadata": dict(self.metadata),
        }
        if self.device_type_given:
            document["device_type"] = self.device_type
        return document


def build_manifest(entries: Sequence[ManifestEntry]) -> bytes:
    """``manifest.json`` for an export zip, in the layout iter_zip reads back."""
    document = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "files": [entry.to_json() for entry in entries],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def iter_zip(
    filename: str,
    data: bytes | BinaryIO,
    *,
    hmac_key: bytes | None,
    limits: UploadLimits,
) -> Iterator[tuple[str, ManifestEntry, ParsedSample]]:
    """Yield ``(entry name, manifest entry, sample)`` for every sample file of a dataset zip.

    ``data`` is the zip as bytes or a seekable binary stream. Each sample's ``original_bytes``
    is that entry's content and its ``metadata`` the manifest's.
    """
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UploadError(filename, f"not a readable zip file: {exc}", http_status=400) from None
    with archive:
        infos = _checked_infos(filename, archive, limits)
        budget = _Budget(filename, limits)
        manifests = [
            info
            for info in infos
            if info.filename.rsplit("/", 1)[-1] in (MANIFEST_NAME, EDGE_IMPULSE_MANIFEST)
        ]
        listed: dict[str, ManifestEntry] = {}
        for info in manifests:
            raw = _read_entry(filename, archive, info, budget)
            for entry in _manifest_entries(filename, info.filename, raw):
                if entry.path in listed:
                    raise UploadError(filename, "listed twice in the manifest", field=entry.path)
                listed[entry.path] = entry
        samples = [info for info in infos if info not in manifests]
        present = {info.filename for info in samples}
        for path in listed:
            if path not in present:
                raise UploadError(
                    filename, "the manifest lists a file the zip does not hold", field=path
                )
        for info in samples:
            entry = listed.get(info.filename) or _default_entry(info.filename)
            raw = _read_entry(filename, archive, info, budget)
            # Errors inside an entry name it as "<zip>:<entry>", with the entry's line/field.
            shown = f"{filename}:{info.filename}"
            sample = parse_upload(shown, None, raw, hmac_key=hmac_key, limits=limits)
            sample.label_from_name = label_from_name(info.filename)
            sample.metadata = dict(entry.metadata)
            if entry.device_type_given:
                sample.device_type = entry.device_type
            yield info.filename, entry, sample


def _checked_infos(
    filename: str, archive: zipfile.ZipFile, limits: UploadLimits
) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise UploadError(
            filename,
            f"{len(infos)} entries is more than the limit of {limits.max_zip_entries}",
            http_status=413,
        )
    kept: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if name.split("/", 1)[0] in _SKIPPED_FOLDERS:
            continue
        if info.is_dir():
            safe_entry_path(filename, name.rstrip("/"))
            continue
        parts = safe_entry_path(filename, name)
        where = name
        if name in seen:
            raise UploadError(filename, "the zip holds this name twice", field=where)
        seen.add(name)
        if info.flag_bits & 0x1:
            raise UploadError(filename, "encrypted entries are not supported", field=where)
        if info.compress_type not in _COMPRESSIONS:
            raise UploadError(
                filename,
                f"compression method {info.compress_type} is not supported "
                "(stored, deflate, bzip2 and lzma are)",
                field=where,
                http_status=415,
            )
        base = parts[-1]
        dot = base.rfind(".")
        extension = base[dot:].lower() if dot > 0 else ""
        if base not in (MANIFEST_NAME, EDGE_IMPULSE_MANIFEST) and extension not in EXTENSIONS:
            raise UploadError(
                filename,
                "not a sample file (.json, .cbor, .csv, .wav) nor a manifest",
                field=where,
                http_status=415,
            )
        if info.file_size > limits.max_zip_entry_bytes:
            raise UploadError(
                filename,
                f"entry of {info.file_size} bytes is over the limit of "
                f"{limits.max_zip_entry_bytes}",
                field=where,
                http_status=413,
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if (
            info.file_size > limits.compression_ratio_min_bytes
            and ratio > limits.max_compression_ratio
        ):
            raise UploadError(
                filename,
                f"compression ratio {ratio:.0f} is over the limit of "
                f"{limits.max_compression_ratio:.0f} (zip bomb?)",
                field=where,
                http_status=413,
            )
        total += info.file_size
        if total > limits.max_zip_total_bytes:
            raise UploadError(
                filename,
                f"uncompressed content is over the limit of {limits.max_zip_total_bytes} bytes",
                http_status=413,
            )
        kept.append(info)
    if not any(
        info.filename.rsplit("/", 1)[-1] not in (MANIFEST_NAME, EDGE_IMPULSE_MANIFEST)
        for info in kept
    ):
        raise UploadError(filename, "the zip holds no sample files")
    return kept


class _Budget:
    """Counts inflated bytes across the whole archive against the total limit."""

    def __init__(self, filename: str, limits: UploadLimits) -> None:
        self.filename = filename
        self.limits = limits
        self.total = 0

    def spend(self, count: int) -> None:
        self.total += count
        if self.total > self.limits.max_zip_total_bytes:
            raise UploadError(
                self.filename,
                f"uncompressed content is over the limit of {self.limits.max_zip_total_bytes} "
                "bytes",
                http_status=413,
            )


def _read_entry(
    filename: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget
) -> bytes:
    """An entry's bytes, inflated in bounded steps that are counted as they come."""
    where = info.filename
    limit = min(budget.limits.max_zip_entry_bytes, info.file_size)
    parts: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as entry:
            while True:
                chunk = entry.read(_READ_BYTES)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise UploadError(
                        filename,
                        "entry inflates beyond its declared size",
                        field=where,
                        http_status=413,
                    )
                budget.spend(len(chunk))
                parts.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UploadError(filename, f"cannot read entry: {exc}", field=where) from None
    except RuntimeError as exc:  # zipfile raises it for encrypted entries without a password
        raise UploadError(filename, f"cannot read entry: {exc}", field=where) from None
    return b"".join(parts)


def _manifest_entries(filename: str, manifest_path: str, raw: bytes) -> list[ManifestEntry]:
    where = f"manifest {manifest_path!r}"
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UploadError(filename, "the manifest is not UTF-8", field=where) from None
    except json.JSONDecodeError as exc:
        raise UploadError(
            filename, f"malformed manifest: {exc.msg}", line=exc.lineno, field=where
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise UploadError(filename, "the manifest needs a 'files' list", field=where)
    folder = manifest_path.rsplit("/", 1)[0] + "/" if "/" in manifest_path else ""
    entries = []
    for index, item in enumerate(document["files"]):
        entries.append(_manifest_entry(filename, f"{where} files[{index}]", folder, item))
    return entries


def _manifest_entry(filename: str, where: str, folder: str, item: Any) -> ManifestEntry:
    if not isinstance(item, dict):
        raise UploadError(filename, "must be an object", field=where)
    path = item.get("path")
    if not isinstance(path, str) or not path:
        raise UploadError(filename, "needs a 'path'", field=f"{where}.path")
    path = folder + path
    safe_entry_path(filename, path)
    name = item.get("name")
    if name is None:
        name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if not isinstance(name, str) or not name.strip():
        raise UploadError(filename, "must be a non-empty string", field=f"{where}.name")
    label = _manifest_label(filename, f"{where}.label", item.get("label"))
    category = item.get("category")
    if category is not None and category not in CATEGORIES:
        raise UploadError(
            filename, f"must be one of {', '.join(CATEGORIES)}", field=f"{where}.category"
        )
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise UploadError(filename, "must be true or false", field=f"{where}.enabled")
    metadata = _metadata(filename, f"{where}.metadata", item.get("metadata"))
    device_type = item.get("device_type")
    if device_type is not None and not isinstance(device_type, str):
        raise UploadError(filename, "must be a string or null", field=f"{where}.device_type")
    return ManifestEntry(
        path, name.strip(), label, category, enabled, metadata,
        device_type=device_type, device_type_given="device_type" in item,
    )  # fmt: skip


def _manifest_label(filename: str, where: str, label: Any) -> str | None:
    if label is None:
        return None
    if isinstance(label, dict):  # Edge Impulse's info.labels shape
        kind = label.get("type")
        if kind == "unlabeled":
            return None
        if kind != "label":
            raise UploadError(filename, f"label type {kind!r} is not supported", field=where)
        label = label.get("label")
    if not isinstance(label, str):
        raise UploadError(filename, "must be a string or null", field=where)
    try:
        return normalize_label(label, filename=filename)
    except UploadError as exc:
        raise UploadError(filename, exc.message, field=where) from None


def _metadata(filename: str, where: str, metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise UploadError(filename, "must be an object", field=where)
    result: dict[str, str] = {}
    for key, value in metadata.items():
        if isinstance(value, (dict, list)) or value is None:
            raise UploadError(filename, "values must be text or numbers", field=f"{where}.{key}")
        result[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return result


def _default_entry(path: str) -> ManifestEntry:
    top = path.split("/", 1)[0] if "/" in path else None
    base = path.rsplit("/", 1)[-1]
    return ManifestEntry(
        path=path,
        name=base.rsplit(".", 1)[0],
        label=label_from_name(base),
        category=top if top in CATEGORIES else None,
    )
