"""SavedModel uploads: a zip of the folder `tf.saved_model.save` writes (saved_model.pb beside
variables/), checked before it is stored and unpacked safely in the worker."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

MARKER = "saved_model.pb"


class SavedModelError(ValueError):
    """The zip is not one SavedModel that can be unpacked safely, in words."""


def _root(archive: zipfile.ZipFile) -> PurePosixPath:
    """The folder in the zip that holds saved_model.pb (the zip's root or one folder in it)."""
    markers = [PurePosixPath(n) for n in archive.namelist() if PurePosixPath(n).name == MARKER]
    if not markers:
        raise SavedModelError(
            "the zip holds no saved_model.pb: zip the folder tf.saved_model.save wrote"
        )
    if len(markers) > 1:
        raise SavedModelError(f"the zip holds {len(markers)} SavedModels; upload one at a time")
    return markers[0].parent


def _outside(info: zipfile.ZipInfo) -> bool:
    """Whether the entry would land outside the folder the zip unpacks to."""
    path = PurePosixPath(info.filename)
    return path.is_absolute() or ".." in path.parts or "\\" in info.filename


def check_zip(data: bytes, max_bytes: int) -> None:
    """Refuses what is not a zip of one SavedModel, entries that would land outside the folder
    they unpack to, and a zip that unpacks to more than `max_bytes`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise SavedModelError("not a zip archive") from None
    with archive:
        for info in archive.infolist():
            if _outside(info):
                raise SavedModelError(f"the entry {info.filename!r} lands outside its folder")
        total = sum(info.file_size for info in archive.infolist())
        if total > max_bytes:
            mb = 1024 * 1024
            raise SavedModelError(f"it unpacks to {total // mb} MB, more than {max_bytes // mb} MB")
        _root(archive)


def unpack(data: bytes, into: Path) -> Path:
    """Unpacks a checked SavedModel zip under `into`; the folder holding saved_model.pb."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = _root(archive)
        for info in archive.infolist():
            if _outside(info) or info.is_dir():
                continue  # refused at upload: nothing of the kind is stored
            target = into.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
    return into.joinpath(*root.parts)
