"""The upload limits of the settings (files per upload, bytes, axes) hold on every route that
takes uploads, refuse with a status and a message naming the limit, and store nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.factories import zip_bytes


def _csv(rows: int, axes: int) -> bytes:
    names = ",".join(f"a{i}" for i in range(axes))
    lines = [f"timestamp,{names}"] + [
        f"{r * 10}," + ",".join(str(r + i) for i in range(axes)) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _document(axes: int, rows: int = 3) -> bytes:
    return json.dumps(
        {
            "protected": {"ver": "v1", "alg": "none"},
            "signature": "0" * 64,
            "payload": {
                "device_type": "TEST",
                "interval_ms": 10,
                "sensors": [{"name": f"s{i}", "units": "g"} for i in range(axes)],
                "values": [[float(r)] * axes for r in range(rows)],
            },
        }
    ).encode()


@pytest.fixture()
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Sets TINYSTUDIO_* limits for one test; the settings are read again before and after."""
    from backend.core.config import get_settings

    def apply(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"TINYSTUDIO_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture()
def studio(client, make_project):  # type: ignore[no-untyped-def]
    """(project id, owner headers, API key headers, count of stored samples)."""
    pid, people = make_project()
    owner = people["owner"].headers
    key = client.post(
        f"/api/projects/{pid}/api-keys", json={"name": "limits"}, headers=owner
    ).json()["key"]

    def stored() -> int:
        listing = client.get(f"/api/projects/{pid}/samples", headers=owner).json()
        return listing["total"]  # type: ignore[no-any-return]

    return pid, owner, {"x-api-key": key}, stored


def _upload(client, pid: int, headers, files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/projects/{pid}/samples/upload", headers=headers,
        files=[("files", (name, data, "text/csv")) for name, data in files.items()],
    )  # fmt: skip


def _ingest_files(client, headers, files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/training/files", headers=headers,
        files=[("data", (name, data, "text/csv")) for name, data in files.items()],
    )  # fmt: skip


def test_more_files_than_the_limit_is_refused_whole(client, studio, limits) -> None:  # type: ignore[no-untyped-def]
    pid, owner, device, stored = studio
    limits(max_files_per_upload=2)
    three = {f"f{i}.csv": _csv(4, 1) for i in range(3)}

    refused = _upload(client, pid, owner, three)
    assert refused.status_code == 413
    detail = refused.json()["detail"]
    assert detail["code"] == "too_many_files" and detail["field"] == "files"
    assert "limit of 2 files" in detail["message"]
    assert "TINYSTUDIO_MAX_FILES_PER_UPLOAD" in detail["message"]

    ingested = _ingest_files(client, device, three)
    assert ingested.status_code == 413 and ingested.json()["success"] is False
    assert "limit of 2 files" in ingested.json()["error"]
    assert stored() == 0

    two = dict(list(three.items())[:2])
    assert _upload(client, pid, owner, two).status_code == 201
    assert stored() == 2

    # Above multipart parsing's own default of 1000 files, the setting still decides.
    limits(max_files_per_upload=1100)
    many = _upload(client, pid, owner, {f"m{i}.csv": b"t,x\n0,1\n" for i in range(1200)})
    assert many.status_code == 413 and "limit of 1100 files" in many.json()["detail"]["message"]
    assert stored() == 2


def test_files_over_the_byte_limit_are_refused(blob_backend, client, studio, limits) -> None:  # type: ignore[no-untyped-def]
    from backend.core.blobs import get_blob_store

    pid, owner, device, stored = studio
    limits(max_upload_bytes=2000)
    big, small = _csv(300, 1), _csv(5, 1)
    assert len(big) > 2000 > len(small)

    answer = _upload(client, pid, owner, {"big.csv": big})
    assert answer.status_code == 413 and "limit of 2000 bytes" in answer.json()["files"][0]["error"]
    ingested = _ingest_files(client, device, {"big.csv": big})
    assert ingested.status_code == 413 and "limit of 2000 bytes" in ingested.json()["error"]
    body = client.post(
        "/api/training/data", content=big,
        headers={**device, "content-type": "text/csv", "x-file-name": "big.csv"},
    )  # fmt: skip
    assert body.status_code == 413 and "limit of 2000 bytes" in body.text

    archive = zip_bytes({f"s{i}.json": _document(1, 40) for i in range(4)})
    assert len(archive) > 2000
    imported = client.post(
        f"/api/projects/{pid}/dataset/import", headers=owner,
        files={"file": ("dataset.zip", archive, "application/zip")},
    )  # fmt: skip
    assert imported.status_code == 413
    detail = imported.json()["detail"]
    assert detail["code"] == "upload_too_large"
    assert "TINYSTUDIO_MAX_UPLOAD_BYTES" in detail["message"]
    assert client.get(f"/api/projects/{pid}/jobs", headers=owner).json()["total"] == 0
    assert not any(get_blob_store().iterate(f"projects/{pid}/imports"))
    assert stored() == 0

    assert _upload(client, pid, owner, {"small.csv": small}).status_code == 201
    assert stored() == 1


def test_samples_with_more_axes_than_the_limit_are_refused(  # type: ignore[no-untyped-def]
    client, studio, limits, worker, wait_job
) -> None:
    pid, owner, device, stored = studio
    limits(max_axes=2)

    answer = _upload(client, pid, owner, {"wide.csv": _csv(4, 3)})
    assert answer.status_code == 413
    assert "3 axes is more than the limit of 2" in answer.json()["files"][0]["error"]
    ingested = _ingest_files(client, device, {"wide.csv": _csv(4, 3)})
    assert ingested.status_code == 413 and "limit of 2" in ingested.json()["error"]
    body = client.post(
        "/api/training/data", content=_document(3),
        headers={**device, "content-type": "application/json", "x-file-name": "wide.json"},
    )  # fmt: skip
    assert body.status_code == 413 and "limit of 2" in body.text

    archive = zip_bytes({"narrow.json": _document(2), "wide.json": _document(3)})
    job = client.post(
        f"/api/projects/{pid}/dataset/import", headers=owner,
        files={"file": ("dataset.zip", archive, "application/zip")},
    )  # fmt: skip
    assert job.status_code == 202
    failed = wait_job(client, pid, job.json()["id"], owner)
    assert failed["status"] == "failed" and "nothing was imported" in failed["error"]
    assert "limit of 2" in failed["error"]
    assert stored() == 0

    assert _upload(client, pid, owner, {"narrow.csv": _csv(4, 2)}).status_code == 201
    assert stored() == 1
