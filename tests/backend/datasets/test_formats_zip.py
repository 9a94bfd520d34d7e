"""Dataset zips: export/import round trip, Edge Impulse's info.labels, bombs and bad names."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from backend.datasets.formats import (
    ManifestEntry,
    UploadError,
    UploadLimits,
    build_manifest,
    iter_zip,
    to_acquisition_json,
)

LIMITS = UploadLimits()


def sample_json(seed: int, rows: int = 20, axes: int = 3) -> tuple[np.ndarray, bytes]:
    values = np.random.default_rng(seed).standard_normal((rows, axes)).astype(np.float32)
    sensors = [(f"ax{i}", "m/s2") for i in range(axes)]
    return values, to_acquisition_json(values=values, sensors=sensors, interval_ms=10)


def make_zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def read_all(data: bytes | io.BytesIO, limits: UploadLimits = LIMITS) -> list[tuple]:
    return list(iter_zip("export.zip", data, hmac_key=None, limits=limits))


def test_export_layout_round_trips_values_labels_categories_metadata() -> None:
    entries, files, originals = [], {}, {}
    for index, (label, category) in enumerate(
        [("idle", "training"), ("wave", "training"), ("idle", "testing"), (None, "anomaly")]
    ):
        values, data = sample_json(index)
        path = f"{category}/{label or 'unlabelled'}.{index}.json"
        files[path] = data
        originals[path] = values
        entries.append(
            ManifestEntry(
                path=path,
                name=f"sample {index}",
                label=label,
                category=category,
                enabled=index != 1,
                metadata={"site": "lab", "n": str(index)},
            )
        )
    files["manifest.json"] = build_manifest(entries)
    result = read_all(make_zip(files))
    assert [name for name, _, _ in result] == [e.path for e in entries]
    for (name, entry, sample), expected in zip(result, entries, strict=True):
        assert entry == expected
        assert sample.metadata == expected.metadata
        np.testing.assert_array_equal(
            sample.values.view(np.uint32), originals[name].view(np.uint32)
        )
        assert sample.original_bytes == files[name]
        assert "export.zip" not in (sample.label_from_name or "")


def test_unlisted_entries_get_defaults_from_their_path() -> None:
    _, data = sample_json(1)
    result = read_all(make_zip({"testing/wave.7.json": data, "misc/up.json": data}))
    entries = {name: entry for name, entry, _ in result}
    assert entries["testing/wave.7.json"] == ManifestEntry(
        "testing/wave.7.json", "wave.7", "wave", "testing"
    )
    assert entries["misc/up.json"].category is None
    assert entries["misc/up.json"].label == "up"


def test_edge_impulse_info_labels_are_read() -> None:
    _, data = sample_json(2)
    labels = {
        "version": 1,
        "files": [
            {
                "path": "a.json",
                "name": "a",
                "category": "training",
                "label": {"type": "label", "label": "0.01"},
                "metadata": {"speed": 3},
            },
            {"path": "b.json", "category": "training", "label": {"type": "unlabeled"}},
        ],
    }
    files = {
        "training/a.json": data,
        "training/b.json": data,
        "training/info.labels": json.dumps(labels).encode(),
        "__MACOSX/training/._a.json": b"\x00\x05\x16\x07",
    }
    result = {name: entry for name, entry, _ in read_all(make_zip(files))}
    assert set(result) == {"training/a.json", "training/b.json"}
    assert result["training/a.json"].label == "0.01"
    assert result["training/a.json"].metadata == {"speed": "3"}
    assert result["training/b.json"].label is None
    assert result["training/b.json"].name == "b"


def test_csv_and_wav_entries_are_samples_too() -> None:
    csv = b"timestamp,x\n0,1\n10,2\n"
    wav = (
        b"RIFF"
        + struct.pack("<I", 40)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data"
        + struct.pack("<I", 4)
        + b"\x01\x00\x02\x00"
    )
    result = read_all(make_zip({"training/up.1.csv": csv, "training/up.2.wav": wav}))
    formats = {name: sample.format for name, _, sample in result}
    assert formats == {"training/up.1.csv": "csv", "training/up.2.wav": "wav"}


def test_a_bad_entry_names_the_zip_the_entry_and_the_field() -> None:
    _, good = sample_json(3)
    bad = json.loads(good)
    bad["payload"]["values"][4] = [1.0, 2.0]
    archive = make_zip({"training/a.json": good, "training/b.json": json.dumps(bad).encode()})
    with pytest.raises(UploadError) as caught:
        read_all(archive)
    assert caught.value.filename == "export.zip:training/b.json"
    assert caught.value.field == "payload.values[4]"
    csv_archive = make_zip({"c.csv": b"timestamp,x\n0,1\n10,zz\n"})
    with pytest.raises(UploadError) as caught:
        read_all(csv_archive)
    assert (caught.value.filename, caught.value.line, caught.value.field) == (
        "export.zip:c.csv",
        3,
        "x",
    )


@pytest.mark.parametrize(
    "name",
    ["../evil.json", "/abs.json", "a/../../b.json", "a\\b.json", "ok/.hidden.json", "we<ird>.json"],
)
def test_traversal_and_odd_entry_names_are_refused(name: str) -> None:
    _, data = sample_json(4)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.json", data)
        # ZipInfo keeps the raw name; writestr(str) would normalise some of these away.
        info = zipfile.ZipInfo("placeholder.json")
        info.filename = name
        archive.writestr(info, data)
    with pytest.raises(UploadError) as caught:
        read_all(buffer.getvalue())
    assert caught.value.filename == "export.zip"
    assert caught.value.field == name


def test_non_sample_entries_and_missing_listed_files_are_refused() -> None:
    _, data = sample_json(5)
    with pytest.raises(UploadError, match="not a sample file") as caught:
        read_all(make_zip({"a.json": data, "notes.txt": b"hello"}))
    assert caught.value.field == "notes.txt" and caught.value.http_status == 415
    manifest = build_manifest([ManifestEntry("gone.json", "gone", "idle", "training")])
    with pytest.raises(UploadError, match="does not hold") as caught:
        read_all(make_zip({"a.json": data, "manifest.json": manifest}))
    assert caught.value.field == "gone.json"


@pytest.mark.parametrize(
    ("manifest", "field", "needle"),
    [
        (b"{not json", "manifest 'manifest.json'", "malformed manifest"),
        (b'{"files": 3}', "manifest 'manifest.json'", "'files' list"),
        (
            b'{"files": [{"path": "a.json", "label": "   "}]}',
            "manifest 'manifest.json' files[0].label",
            "whitespace",
        ),
        (
            b'{"files": [{"path": "a.json", "category": "validation"}]}',
            "manifest 'manifest.json' files[0].category",
            "one of",
        ),
        (
            b'{"files": [{"path": "a.json", "enabled": "yes"}]}',
            "manifest 'manifest.json' files[0].enabled",
            "true or false",
        ),
        (
            b'{"files": [{"path": "a.json", "metadata": {"k": [1]}}]}',
            "manifest 'manifest.json' files[0].metadata.k",
            "text or numbers",
        ),
        (b'{"files": [{"path": "../a.json"}]}', "../a.json", "'..'"),
    ],
)
def test_bad_manifests_name_the_field(manifest: bytes, field: str, needle: str) -> None:
    _, data = sample_json(6)
    with pytest.raises(UploadError) as caught:
        read_all(make_zip({"a.json": data, "manifest.json": manifest}))
    assert caught.value.field == field, str(caught.value)
    assert needle in caught.value.message, str(caught.value)


def test_compression_ratio_bomb_is_refused_before_inflating() -> None:
    bomb = make_zip({"bomb.csv": b"timestamp,x\n" + b"0" * (4 << 20)})
    with pytest.raises(UploadError, match="compression ratio") as caught:
        read_all(bomb)
    assert caught.value.http_status == 413 and caught.value.field == "bomb.csv"


def test_size_and_count_limits() -> None:
    _, data = sample_json(7, rows=200)
    archive = make_zip({f"training/s{i}.json": data for i in range(5)})
    with pytest.raises(UploadError, match="entries is more than"):
        read_all(archive, UploadLimits(max_zip_entries=4))
    with pytest.raises(UploadError, match="over the limit") as caught:
        read_all(archive, UploadLimits(max_zip_entry_bytes=len(data) - 1))
    assert caught.value.field == "training/s0.json"
    with pytest.raises(UploadError, match="uncompressed content") as caught:
        read_all(archive, UploadLimits(max_zip_total_bytes=len(data) * 4))
    assert caught.value.http_status == 413


def test_a_lying_size_header_cannot_inflate_past_it() -> None:
    _, data = sample_json(8, rows=300)
    archive = bytearray(make_zip({"a.json": data}, method=zipfile.ZIP_DEFLATED))
    # Shrink the declared uncompressed size in the central directory and the local header.
    small = struct.pack("<I", 1000)
    central = archive.rindex(b"PK\x01\x02")
    archive[central + 24 : central + 28] = small
    archive[22:26] = small
    with pytest.raises(UploadError) as caught:
        read_all(bytes(archive))
    assert caught.value.filename == "export.zip" and caught.value.field == "a.json"


def test_not_a_zip_and_encrypted_entries_are_refused() -> None:
    with pytest.raises(UploadError, match="not a readable zip"):
        read_all(b"PK\x03\x04 definitely not a zip")
    _, data = sample_json(9)
    archive = bytearray(make_zip({"a.json": data}))
    central = archive.rindex(b"PK\x01\x02")
    archive[central + 8] |= 0x1  # general purpose flag: encrypted
    with pytest.raises(UploadError, match="encrypted"):
        read_all(bytes(archive))


def test_unsupported_compression_is_refused() -> None:
    _, data = sample_json(11)
    archive = bytearray(make_zip({"a.json": data}, method=zipfile.ZIP_STORED))
    central = archive.rindex(b"PK\x01\x02")
    archive[central + 10 : central + 12] = struct.pack("<H", 99)  # AES / unknown method
    with pytest.raises(UploadError, match="compression method 99") as caught:
        read_all(bytes(archive))
    assert caught.value.field == "a.json" and caught.value.http_status == 415


def test_a_zip_with_no_samples_is_refused() -> None:
    with pytest.raises(UploadError, match="no sample files"):
        read_all(make_zip({"manifest.json": build_manifest([])}))


def test_streams_work_like_bytes() -> None:
    _, data = sample_json(10)
    result = read_all(io.BytesIO(make_zip({"training/a.json": data})))
    assert len(result) == 1 and result[0][2].original_bytes == data
