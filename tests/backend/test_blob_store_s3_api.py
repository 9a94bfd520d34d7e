"""The studio on an S3 blob store, through its real routes and worker: a missing bucket, refused
credentials and a stopped server answer 503 naming the problem; presigned downloads redirect;
jobs read sample values and features through the workers' cache."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.s3server import S3Server, start_s3_server, studio_blobs, unique_url

SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 2, "seed": 3}}],
}


def _csv(rows: int = 50) -> bytes:
    lines = ["timestamp,acc0,acc1"] + [f"{r * 10},{r % 7}.5,{r % 3}.25" for r in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _upload(client, pid: int, headers, name: str = "wave.1.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/projects/{pid}/samples/upload", headers=headers,
        files=[("files", (name, _csv(), "text/csv"))], data={"category": "training"},
    )  # fmt: skip


def _refusal(answer: Any) -> str:
    assert answer.status_code == 503, answer.text
    detail = answer.json()["detail"]
    assert detail["code"] == "blob_store_unavailable"
    return str(detail["message"])


def test_the_s3_store_is_the_one_in_use(client, make_project, s3_blobs: S3Server) -> None:  # type: ignore[no-untyped-def]
    from backend.core.blobs import get_blob_store
    from backend.core.blobs.s3 import S3BlobStore

    pid, people = make_project()
    sample = _upload(client, pid, people["owner"].headers).json()["files"][0]["sample"]
    store = get_blob_store()
    assert isinstance(store, S3BlobStore)
    keys = {blob.key for blob in store.iterate(f"projects/{pid}")}
    assert len(keys) == 2 and any(k.startswith(f"projects/{pid}/originals/") for k in keys)
    raw = s3_blobs.client().list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    assert {item["Key"][len(store.prefix) :] for item in raw["Contents"]} == keys
    original = client.get(
        f"/api/projects/{pid}/samples/{sample['id']}/original", headers=people["owner"].headers
    )
    assert original.content == _csv()
    assert original.headers["content-disposition"] == 'attachment; filename="wave.1.csv"'


def test_missing_bucket_answers_503(
    client, make_project, s3_server: S3Server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    with studio_blobs(s3_server.settings("s3://no-such-bucket/studio"), tmp_path):
        message = _refusal(_upload(client, pid, people["owner"].headers))
    assert message == (
        "the blob store at s3://no-such-bucket/studio/ cannot be used: the bucket "
        f"'no-such-bucket' does not exist at {s3_server.url}"
    )
    listed = client.get(f"/api/projects/{pid}/samples", headers=people["owner"].headers)
    assert listed.json()["total"] == 0


def test_refused_credentials_answer_503(
    client, make_project, s3_server: S3Server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    url = unique_url()
    with studio_blobs(s3_server.settings(url), tmp_path):
        sample = _upload(client, pid, h).json()["files"][0]["sample"]
    wrong = {"TINYSTUDIO_BLOB_S3_SECRET_ACCESS_KEY": "not-the-secret"}
    with studio_blobs(s3_server.settings(url, **wrong), tmp_path), s3_server.credentials_checked():
        for answer in (
            _upload(client, pid, h, "other.2.csv"),
            client.get(f"/api/projects/{pid}/samples/{sample['id']}/original", headers=h),
            client.get(f"/api/projects/{pid}/samples/{sample['id']}/values", headers=h),
        ):
            message = _refusal(answer)
            assert message.startswith(f"the blob store at {url}/ refused our credentials (")
            assert "TINYSTUDIO_BLOB_S3_SECRET_ACCESS_KEY" in message
    assert client.get(f"/api/projects/{pid}/samples", headers=h).json()["total"] == 1


def test_stopped_server_answers_503(client, make_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    server = start_s3_server()
    try:
        with studio_blobs(server.settings(unique_url()), tmp_path):
            sample = _upload(client, pid, h).json()["files"][0]["sample"]
            server.stop()
            for answer in (
                client.get(f"/api/projects/{pid}/samples/{sample['id']}/original", headers=h),
                client.get(f"/api/projects/{pid}/samples/{sample['id']}/plot", headers=h),
                _upload(client, pid, h, "other.2.csv"),
            ):
                assert f"cannot be reached at {server.url}" in _refusal(answer)
    finally:
        server.stop()
    assert client.get(f"/api/projects/{pid}/samples", headers=h).json()["total"] == 1


def test_presigned_downloads_redirect_to_the_bucket(  # type: ignore[no-untyped-def]
    client, make_project, s3_server: S3Server, worker, wait_job, tmp_path: Path
) -> None:
    pid, people = make_project(name="Presigned")
    h = people["owner"].headers
    presigned = {
        "TINYSTUDIO_BLOB_PRESIGNED_DOWNLOADS": "true",
        "TINYSTUDIO_BLOB_PRESIGNED_MIN_BYTES": "100",
        "TINYSTUDIO_BLOB_PRESIGNED_SECONDS": "60",
    }
    with studio_blobs(s3_server.settings(unique_url(), **presigned), tmp_path):
        job = wait_job(
            client, pid, client.post(f"/api/projects/{pid}/export", headers=h).json()["id"], h
        )
        assert job["status"] == "succeeded", job["error"]
        download = f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download"
        answer = client.get(download, headers=h, follow_redirects=False)
        assert answer.status_code == 307
        location = answer.headers["location"]
        assert location.startswith(f"{s3_server.url}/") and "X-Amz-Expires=60" in location
        fetched = httpx.get(location)
        assert fetched.status_code == 200
        assert fetched.headers["content-disposition"] == f'attachment; filename="project-{pid}.zip"'
        archive = zipfile.ZipFile(io.BytesIO(fetched.content))
        assert "project.json" in archive.namelist()
        # The browser may fetch the redirect: the app's pages allow the bucket's origin.
        page = client.get("/api/health")
        assert f"connect-src 'self' {s3_server.url}" in page.headers["content-security-policy"]
    with studio_blobs(
        s3_server.settings(
            unique_url(), **{**presigned, "TINYSTUDIO_BLOB_PRESIGNED_MIN_BYTES": "1000000"}
        ),
        tmp_path,
    ):
        job = wait_job(
            client, pid, client.post(f"/api/projects/{pid}/export", headers=h).json()["id"], h
        )
        small = client.get(
            f"/api/projects/{pid}/artifacts/{job['artifacts'][0]['id']}/download", headers=h,
            follow_redirects=False,
        )  # fmt: skip
        assert small.status_code == 200 and small.content[:2] == b"PK"


def _cache_line(client, pid: int, job_id: int, headers) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    log = client.get(f"/api/projects/{pid}/jobs/{job_id}/log", headers=headers).json()["log"]
    found = re.search(r"blob cache: (\d+) hits, (\d+) misses", log)
    assert found is not None, log
    return int(found.group(1)), int(found.group(2))


def test_jobs_read_values_and_features_through_the_cache(  # type: ignore[no-untyped-def]
    client, make_project, upload_demo, worker, wait_job, s3_blobs: S3Server
) -> None:
    from backend.core.blobs.cache import cache_stats

    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=2, labels=("walking", "standing"))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": SPEC}, headers=h
    ).json()
    before = cache_stats()
    first = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/features", json={}, headers=h
    )
    job = wait_job(client, pid, first.json()["id"], h)
    assert job["status"] == "succeeded" and job["result"]["cache_hit"] is False
    # Every sample's values came from the bucket once.
    assert _cache_line(client, pid, job["id"], h) == (0, 8)
    again = client.post(
        f"/api/projects/{pid}/impulses/{impulse['id']}/features", json={}, headers=h
    )
    job = wait_job(client, pid, again.json()["id"], h)
    assert job["status"] == "succeeded" and job["result"]["cache_hit"] is True
    # The features the first job computed were kept by this worker: nothing is downloaded.
    assert _cache_line(client, pid, job["id"], h) == (1, 0)
    used = cache_stats().since(before)
    assert (used.hits, used.misses) == (1, 8) and used.bytes_fetched > 0
