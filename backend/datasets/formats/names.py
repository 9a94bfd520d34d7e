"""Checks on the names users give: file names, zip entry paths and labels."""

from __future__ import annotations

import unicodedata

from backend.datasets.formats.errors import UploadError

MAX_FILENAME_BYTES = 255
MAX_LABEL_CHARS = 128
# Punctuation people really put in sample file names; everything else besides letters,
# digits and spaces is refused so a name is safe in a path and in an HTTP header.
_FILENAME_PUNCTUATION = frozenset(" ._-()+,@=[]#~'&")
# Windows reserves these device names in any extension, which bites people who unpack exports.
_RESERVED_STEMS = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def safe_filename(name: str) -> str:
    """Return the file name NFC-normalised and stripped, or raise UploadError if it is unsafe.

    Refused: empty names, paths (``/`` or ``\\``), ``.`` and ``..``, names starting with a dot,
    control or unusual characters, Windows device names, names over 255 UTF-8 bytes.
    """
    shown = name if isinstance(name, str) else repr(name)
    if not isinstance(name, str):
        raise UploadError(shown, "the file name is not text", field="filename")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise UploadError(shown, "the file name is empty", field="filename")
    if "/" in cleaned or "\\" in cleaned:
        raise UploadError(shown, "the file name must not contain a path", field="filename")
    if cleaned in (".", "..") or cleaned.startswith("."):
        raise UploadError(shown, "the file name must not start with a dot", field="filename")
    if len(cleaned.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise UploadError(
            shown, f"the file name is longer than {MAX_FILENAME_BYTES} bytes", field="filename"
        )
    for char in cleaned:
        if char.isalnum() or char in _FILENAME_PUNCTUATION:
            continue
        raise UploadError(shown, f"the file name contains the character {char!r}", field="filename")
    if cleaned.split(".", 1)[0].lower() in _RESERVED_STEMS:
        raise UploadError(shown, "the file name is a reserved device name", field="filename")
    return cleaned


def safe_entry_path(archive: str, entry: str) -> tuple[str, ...]:
    """Split a zip entry path into safe components, refusing absolute and escaping paths."""
    field = entry
    if not entry or "\x00" in entry:
        raise UploadError(archive, "an entry has an empty or binary name", field=field)
    if "\\" in entry:
        raise UploadError(archive, "entry names must use '/' separators", field=field)
    if entry.startswith("/") or (len(entry) > 1 and entry[1] == ":"):
        raise UploadError(archive, "entry paths must be relative", field=field)
    parts = tuple(entry.split("/"))
    if any(part in ("", ".", "..") for part in parts):
        raise UploadError(archive, "entry paths must not contain '', '.' or '..'", field=field)
    if len(parts) > 8:
        raise UploadError(archive, "entry paths are nested too deeply", field=field)
    for part in parts:
        try:
            safe_filename(part)
        except UploadError as exc:
            raise UploadError(archive, exc.message, field=field) from None
    return parts


def normalize_label(label: str, *, filename: str = "") -> str:
    """Return the label NFC-normalised and stripped; refuse empty, whitespace-only or odd labels."""
    if not isinstance(label, str):
        raise UploadError(filename, "the label is not text", field="label")
    cleaned = unicodedata.normalize("NFC", label).strip()
    if not cleaned:
        raise UploadError(filename, "the label is empty or only whitespace", field="label")
    if len(cleaned) > MAX_LABEL_CHARS:
        raise UploadError(
            filename, f"the label is longer than {MAX_LABEL_CHARS} characters", field="label"
        )
    for char in cleaned:
        if unicodedata.category(char)[0] == "C":
            raise UploadError(
                filename, f"the label contains the control character {char!r}", field="label"
            )
    return cleaned


def label_from_name(filename: str) -> str | None:
    """The label a file name implies (its base name up to the first '.'), or None if empty.

    ``idle.01.json`` gives ``idle``; a name whose stem is empty or only spaces gives None.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = unicodedata.normalize("NFC", base.split(".", 1)[0]).strip()
    if not stem:
        return None
    try:
        return normalize_label(stem, filename=filename)
    except UploadError:
        return None
