"""Uploading, reading and editing samples through the API, as a user of the studio would."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from tests.factories import pcm_wav

DEMO = Path(__file__).resolve().parents[3] / "backend" / "datasets" / "demo_data" / "basic-motions"


def csv_bytes(rows: int = 50, axes: int = 3, interval_ms: float = 10.0, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    header = "timestamp," + ",".join(f"acc{i}" for i in range(axes))
    lines = [header] + [
        f"{r * interval_ms:g}," + ",".join(f"{v:.4f}" for v in rng.normal(size=axes))
        for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def wav_bytes(frames: int = 1600, rate: int = 16000, seed: int = 0) -> bytes:
    return pcm_wav(np.random.default_rng(seed).integers(-3000, 3000, frames), rate)


def acquisition_json(values: list[list[float]], interval_ms: float = 10.0) -> bytes:
    return json.dumps(
        {
            "protected": {"ver": "v1", "alg": "none", "iat": 1700000000},
            "signature": "0" * 64,
            "payload": {
                "device_name": "ac:87:a3:0a:2d:1b",
                "device_type": "NANO33BLE",
                "interval_ms": interval_ms,
                "sensors": [{"name": "accX", "units": "m/s2"}, {"name": "accY", "units": "m/s2"}],
                "values": values,
            },
        }
    ).encode()


def _upload(client, pid, headers, files, **form):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/projects/{pid}/samples/upload", headers=headers, files=files, data=form
    )


def test_upload_many_formats_and_read_them_back(  # type: ignore[no-untyped-def]
    blob_backend, client, make_project
) -> None:
    pid, people = make_project("viewer")
    owner = people["owner"]
    files = [
        ("files", ("wave.01.csv", csv_bytes(), "text/csv")),
        ("files", ("yes.1.wav", wav_bytes(), "audio/wav")),
        ("files", ("idle.json", acquisition_json([[1.5, 2.0], [3.0, 4.25]]), "application/json")),
    ]
    answer = _upload(client, pid, owner.headers, files, category="training")
    assert answer.status_code == 201, answer.text
    stored = {f["filename"]: f["sample"] for f in answer.json()["files"]}
    assert stored["wave.01.csv"]["label"] == "wave" and stored["wave.01.csv"]["axes"] == 3
    assert stored["wave.01.csv"]["interval_ms"] == 10.0
    assert stored["yes.1.wav"]["frequency_hz"] == 16000 and stored["yes.1.wav"]["length"] == 1600
    idle = stored["idle.json"]
    assert idle["device_type"] == "NANO33BLE" and idle["category"] == "training"
    values = client.get(
        f"/api/projects/{pid}/samples/{idle['id']}/values", headers=people["viewer"].headers
    )
    assert values.json()["values"] == [[1.5, 2.0], [3.0, 4.25]]
    audio = client.get(
        f"/api/projects/{pid}/samples/{stored['yes.1.wav']['id']}/audio", headers=owner.headers
    )
    assert audio.headers["content-type"] == "audio/wav" and audio.content[:4] == b"RIFF"
    original = client.get(
        f"/api/projects/{pid}/samples/{stored['wave.01.csv']['id']}/original", headers=owner.headers
    )
    assert original.content == csv_bytes()
    summary = client.get(f"/api/projects/{pid}/samples/summary", headers=owner.headers).json()
    assert summary["categories"]["training"]["count"] == 3
    assert set(summary["labels"]) == {"wave", "yes", "idle"}


def test_mixed_upload_names_each_refusal_and_stores_nothing_of_it(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.datasets.models import Sample

    pid, people = make_project()
    bad_csv = b"timestamp,accX\n0,1\n10,2\n20,oops\n"
    files = [
        ("files", ("good.csv", csv_bytes(), "text/csv")),
        ("files", ("bad.csv", bad_csv, "text/csv")),
        (
            "files",
            (
                "nan.json",
                acquisition_json([[1, 2], [float("nan"), 1]]).replace(b"NaN", b"NaN"),
                "application/json",
            ),
        ),
        ("files", ("empty.wav", b"", "audio/wav")),
        ("files", ("notes.txt", b"hello", "text/plain")),
    ]
    answer = _upload(client, pid, people["owner"].headers, files)
    assert answer.status_code == 207
    body = answer.json()
    assert body["stored"] == 1 and body["refused"] == 4
    refused = {f["filename"]: f for f in body["files"] if not f["stored"]}
    assert refused["bad.csv"]["line"] == 4 and "bad.csv" in refused["bad.csv"]["error"]
    assert "nan.json" in refused and "empty.wav" in refused
    assert refused["notes.txt"]["status"] == 415
    db.expire_all()
    assert db.query(Sample).filter_by(project_id=pid).count() == 1
    only_bad = _upload(
        client, pid, people["owner"].headers, [("files", ("bad.csv", bad_csv, "text/csv"))]
    )
    assert only_bad.status_code == 400
    blank = _upload(
        client,
        pid,
        people["owner"].headers,
        [("files", ("a.csv", csv_bytes(), "text/csv"))],
        label="   ",
    )
    assert blank.status_code == 400 and "label" in blank.json()["detail"]["message"]


def test_ingestion_api_speaks_edge_impulse(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.datasets.models import Sample

    pid, people = make_project()
    key = client.post(
        f"/api/projects/{pid}/api-keys", json={"name": "uploader"}, headers=people["owner"].headers
    ).json()["key"]
    headers = {"x-api-key": key, "x-label": "circle%20left", "x-disallow-duplicates": "1"}
    document = acquisition_json([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    first = client.post(
        "/api/training/files",
        headers=headers,
        files=[("data", ("c1.json", document, "application/json"))],
    )
    assert first.status_code == 200 and first.json()["success"] is True
    again = client.post(
        "/api/training/files",
        headers=headers,
        files=[("data", ("c1.json", document, "application/json"))],
    )
    assert (
        again.json()["success"] is False and "already stored" in again.json()["files"][0]["error"]
    )
    data = client.post(
        "/api/testing/data", content=acquisition_json([[1, 1], [2, 2]]),
        headers={"x-api-key": key, "x-file-name": "tap01.json", "content-type": "application/json",
                 "x-add-date-id": "1", "x-metadata": '{"site": "lab"}'},
    )  # fmt: skip
    assert data.status_code == 200 and data.text.startswith("tap01.")
    db.expire_all()
    samples = {s.name: s for s in db.query(Sample).filter_by(project_id=pid)}
    assert len(samples) == 2
    assert samples["c1"].label == "circle left"
    tap = next(s for n, s in samples.items() if n.startswith("tap01"))
    assert (
        tap.label == "tap01" and tap.category == "testing" and tap.sample_metadata["site"] == "lab"
    )
    no_key = client.post(
        "/api/training/data", content=document, headers={"content-type": "application/json"}
    )
    assert no_key.status_code == 401
    unlabeled = client.post(
        "/api/anomaly/data", content=acquisition_json([[5, 5]]),
        headers={"x-api-key": key, "x-file-name": "x.json", "x-no-label": "1",
                 "content-type": "application/json"},
    )  # fmt: skip
    assert unlabeled.status_code == 200


def test_signed_upload_verified_with_project_hmac_key(client, make_project) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import hmac

    pid, people = make_project()
    owner = people["owner"]
    hmac_key = client.get(f"/api/projects/{pid}/hmac-key", headers=owner.headers).json()["hmac_key"]
    document = json.loads(acquisition_json([[1.0, 2.0], [3.0, 4.0]]))
    document["protected"]["alg"] = "HS256"
    document["signature"] = "0" * 64
    encoded = json.dumps(document)
    signature = hmac.new(hmac_key.encode(), encoded.encode(), hashlib.sha256).hexdigest()
    document["signature"] = signature
    good = _upload(
        client,
        pid,
        owner.headers,
        [("files", ("signed.json", json.dumps(document).encode(), "application/json"))],
    )
    assert (
        good.status_code == 201 and good.json()["files"][0]["sample"]["signature_verified"] is True
    )
    document["signature"] = "1" * 64
    bad = _upload(
        client,
        pid,
        owner.headers,
        [("files", ("forged.json", json.dumps(document).encode(), "application/json"))],
    )
    assert bad.status_code == 403 and "signature" in bad.json()["files"][0]["error"]


def test_edit_crop_split_trash_restore_purge(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    sample = _upload(
        client, pid, h, [("files", ("walk.csv", csv_bytes(rows=100), "text/csv"))]
    ).json()["files"][0]["sample"]
    sid = sample["id"]
    base = f"/api/projects/{pid}/samples"
    edited = client.patch(
        f"{base}/{sid}",
        json={"label": "run", "category": "testing", "version": sample["version"]},
        headers=h,
    )
    assert edited.status_code == 200 and edited.json()["label"] == "run"
    stale = client.patch(
        f"{base}/{sid}", json={"label": "jog", "version": sample["version"]}, headers=h
    )
    assert (
        stale.status_code == 409 and "changed by someone else" in stale.json()["detail"]["message"]
    )
    blank = client.patch(f"{base}/{sid}", json={"label": "  "}, headers=h)
    assert blank.status_code == 400
    full = client.get(f"{base}/{sid}/values", headers=h).json()["values"]
    cropped = client.post(
        f"{base}/{sid}/crop", json={"start_ms": 100, "end_ms": 600}, headers=h
    ).json()
    assert cropped["length"] == 50
    assert client.get(f"{base}/{sid}/values", headers=h).json()["values"] == full[10:60]
    outside = client.post(f"{base}/{sid}/crop", json={"start_ms": 5000, "end_ms": 6000}, headers=h)
    assert outside.status_code == 400
    parts = client.post(f"{base}/{sid}/split", json={"window_ms": 200}, headers=h).json()
    assert [p["length"] for p in parts] == [20, 20]
    assert client.get(f"{base}/{sid}", headers=h).json()["deleted_at"] is not None
    first = parts[0]["id"]
    assert client.delete(f"{base}/{first}", headers=h).status_code == 200
    trash = client.get(base, params={"trashed": True}, headers=h).json()
    assert {s["id"] for s in trash["items"]} == {sid, first}
    assert client.post(f"{base}/{first}/restore", headers=h).json()["deleted_at"] is None
    purged = client.post(f"{base}/purge", json={}, headers=h).json()
    assert purged["changed"] == 1
    assert client.get(f"{base}/{sid}", headers=h).status_code == 404


def test_list_filters_bulk_rebalance_duplicates(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    h = people["owner"].headers
    base = f"/api/projects/{pid}/samples"
    files = [("files", (f"{label}.{n}.csv", csv_bytes(seed=n * 7 + len(label)), "text/csv"))
             for label in ("left", "right") for n in range(10)]  # fmt: skip
    files.append(("files", ("left.dup.csv", csv_bytes(seed=0 * 7 + 4), "text/csv")))
    assert _upload(client, pid, h, files, category="training").status_code == 201
    assert client.get(base, params={"label": "left"}, headers=h).json()["total"] == 11
    assert client.get(base, params={"search": "RIGHT.1"}, headers=h).json()["total"] == 1
    dups = client.get(f"{base}/duplicates", headers=h).json()
    assert len(dups) == 1 and len(dups[0]["samples"]) == 2
    result = client.post(f"{base}/rebalance", headers=h).json()
    assert result["samples"] == 21 and result["moved"] > 0
    summary = client.get(f"{base}/summary", headers=h).json()["categories"]
    assert summary["testing"]["labels"]["left"]["count"] == 2  # round(11 * 0.2)
    assert summary["testing"]["labels"]["right"]["count"] == 2
    again = client.post(f"{base}/rebalance", headers=h).json()
    assert again["moved"] == 0
    ids = [s["id"] for s in client.get(base, params={"label": "right"}, headers=h).json()["items"]]
    assert (
        client.post(
            f"{base}/bulk",
            json={"sample_ids": ids, "action": "relabel", "label": "east"},
            headers=h,
        ).json()["changed"]
        == 10
    )
    assert (
        client.post(
            f"{base}/bulk", json={"sample_ids": ids[:3], "action": "disable"}, headers=h
        ).json()["changed"]
        == 3
    )
    assert client.get(base, params={"enabled": False}, headers=h).json()["total"] == 3
    viewer = client.post(
        f"{base}/bulk",
        json={"sample_ids": ids, "action": "delete"},
        headers=people["viewer"].headers,
    )
    assert viewer.status_code == 403
    foreign = client.post(
        f"{base}/bulk", json={"sample_ids": [999999], "action": "delete"}, headers=h
    )
    assert foreign.status_code == 404


def test_plot_downsampling_keeps_peaks(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    rows = ["timestamp,x"] + [f"{i},{1000.0 if i == 7777 else 0.0}" for i in range(20000)]
    sample = _upload(
        client, pid, h, [("files", ("spike.csv", "\n".join(rows).encode(), "text/csv"))]
    ).json()["files"][0]["sample"]
    plot = client.get(
        f"/api/projects/{pid}/samples/{sample['id']}/plot", params={"max_points": 200}, headers=h
    ).json()
    assert plot["downsampled"] and len(plot["t_ms"]) <= 400
    assert max(plot["axes"][0]["values"]) == 1000.0 and 7777.0 in plot["t_ms"]


def test_export_import_round_trip_is_identical(  # type: ignore[no-untyped-def]
    blob_backend, client, make_project, make_person, worker
) -> None:
    import time

    pid, people = make_project()
    h = people["owner"].headers
    files = [
        ("files", (p.name, p.read_bytes(), "text/csv"))
        for p in sorted((DEMO / "training").glob("*.csv"))[:8]
    ]
    files.append(("files", ("yes.wav", wav_bytes(), "audio/wav")))
    _upload(client, pid, h, files)
    version = client.post(f"/api/projects/{pid}/dataset-versions", json={"name": "v1"}, headers=h)
    assert version.status_code == 201 and version.json()["sample_count"] == 9

    def wait(project: int, job_id: int, headers) -> dict:  # type: ignore[no-untyped-def]
        for _ in range(300):
            job = client.get(f"/api/projects/{project}/jobs/{job_id}", headers=headers).json()
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError("job did not finish")

    job = wait(pid, client.post(f"/api/projects/{pid}/dataset/export", headers=h).json()["id"], h)
    assert job["status"] == "succeeded", job
    archive = client.get(
        f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download", headers=h
    ).content
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "manifest.json" in names and len(names) == 10

    other = make_person("importer")
    new_pid = client.post("/api/projects", json={"name": "Copy"}, headers=other.headers).json()[
        "id"
    ]
    started = client.post(
        f"/api/projects/{new_pid}/dataset/import", headers=other.headers,
        files={"file": ("dataset.zip", archive, "application/zip")},
    )  # fmt: skip
    assert started.status_code == 202
    imported = wait(new_pid, started.json()["id"], other.headers)
    assert imported["status"] == "succeeded", imported["error"]

    def dataset(project: int, headers) -> dict:  # type: ignore[no-untyped-def]
        items = client.get(
            f"/api/projects/{project}/samples", params={"limit": 1000}, headers=headers
        ).json()["items"]
        out = {}
        for s in items:
            values = client.get(
                f"/api/projects/{project}/samples/{s['id']}/values", headers=headers
            ).json()
            out[s["name"]] = (
                s["label"],
                s["category"],
                s["interval_ms"],
                s["sensors"],
                s["device_type"],
                values["values"],
            )
        return out

    original = dataset(pid, h)
    # CSV and WAV uploads have no device type; the copy must not invent one.
    assert any(sample[4] is None for sample in original.values())
    assert original == dataset(new_pid, other.headers)

    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("a.json", acquisition_json([[1, 2]]))
        z.writestr("../evil.json", acquisition_json([[1, 2]]))
    bad = client.post(
        f"/api/projects/{new_pid}/dataset/import", headers=other.headers,
        files={"file": ("bad.zip", broken.getvalue(), "application/zip")},
    )  # fmt: skip
    failed = wait(new_pid, bad.json()["id"], other.headers)
    assert failed["status"] == "failed" and "nothing was imported" in failed["error"]
    assert (
        client.get(f"/api/projects/{new_pid}/samples", headers=other.headers).json()["total"] == 9
    )


def test_trash_older_than_30_days_is_purged(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from backend.core.blobs import get_blob_store
    from backend.core.db import utcnow
    from backend.datasets import service
    from backend.datasets.models import Sample

    pid, people = make_project()
    h = people["owner"].headers
    files = [("files", (f"old.{n}.csv", csv_bytes(seed=100 + n), "text/csv")) for n in range(2)]
    ids = [f["sample"]["id"] for f in _upload(client, pid, h, files).json()["files"]]
    client.post(
        f"/api/projects/{pid}/samples/bulk", json={"sample_ids": ids, "action": "delete"}, headers=h
    )
    old = db.get(Sample, ids[0])
    old.deleted_at = utcnow() - timedelta(days=31)
    keys = [old.values_key, old.original_key]
    db.commit()
    assert service.purge_expired(db=db) >= 1
    db.expire_all()
    assert db.get(Sample, ids[0]) is None and db.get(Sample, ids[1]) is not None
    # The purged sample's files go with its row, once the purge has committed.
    store = get_blob_store()
    assert [store.exists(key) for key in keys] == [False, False]


def test_bulk_crop_and_split_are_all_or_nothing(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.datasets.models import Sample

    pid, people = make_project()
    h = people["owner"].headers
    files = [
        ("files", ("long.csv", csv_bytes(rows=100, seed=31), "text/csv")),
        ("files", ("short.csv", csv_bytes(rows=30, seed=32), "text/csv")),
    ]
    ids = [f["sample"]["id"] for f in _upload(client, pid, h, files).json()["files"]]
    base = f"/api/projects/{pid}/samples/bulk"
    too_far = client.post(
        base, json={"sample_ids": ids, "action": "crop", "start_ms": 400, "end_ms": 900}, headers=h
    )
    assert too_far.status_code == 400  # the short sample has nothing after 300 ms
    db.expire_all()
    assert [db.get(Sample, i).length for i in ids] == [100, 30]  # nothing half-done
    cropped = client.post(
        base, json={"sample_ids": ids, "action": "crop", "start_ms": 0, "end_ms": 200}, headers=h
    )
    assert cropped.status_code == 200 and cropped.json()["changed"] == 2
    split = client.post(
        base, json={"sample_ids": ids, "action": "split", "window_ms": 100}, headers=h
    )
    assert split.json()["changed"] == 2
    names = sorted(
        s["name"] for s in client.get(f"/api/projects/{pid}/samples", headers=h).json()["items"]
    )
    assert names == ["long.s1", "long.s2", "short.s1", "short.s2"]
    missing = client.post(base, json={"sample_ids": ids, "action": "split"}, headers=h)
    assert missing.status_code == 400
