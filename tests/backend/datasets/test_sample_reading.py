"""Reading a sample back: pages of values, plots and audio computed block by block."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from tests.factories import pcm_wav


def _csv(values: np.ndarray, interval_ms: float = 10.0) -> bytes:
    """A CSV upload of a (time x axes) array, one row per line."""
    header = "timestamp," + ",".join(f"axis{i}" for i in range(values.shape[1]))
    rows = enumerate(values.tolist())
    lines = [f"{row * interval_ms:g}," + ",".join(map(repr, v)) for row, v in rows]
    return ("\n".join([header, *lines]) + "\n").encode()


def _store(client, pid: int, headers, name: str, body: bytes, media: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    answer = client.post(
        f"/api/projects/{pid}/samples/upload", headers=headers,
        files=[("files", (name, body, media))],
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()["files"][0]["sample"]  # type: ignore[no-any-return]


@pytest.fixture()
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of a few rows at a time, so every bucket and page spans several blocks."""
    from backend.datasets import reading

    monkeypatch.setattr(reading, "BLOCK_VALUES", 37)


def test_values_come_in_pages_that_join_to_the_sample(  # type: ignore[no-untyped-def]
    client, make_project, small_blocks, monkeypatch
) -> None:
    from backend.datasets import reading

    pid, people = make_project("viewer")
    h = people["viewer"].headers
    values = np.random.default_rng(3).normal(size=(50, 3)).astype(np.float32)
    sample = _store(client, pid, people["owner"].headers, "wave.csv", _csv(values), "text/csv")
    url = f"/api/projects/{pid}/samples/{sample['id']}/values"

    pages, start = [], 0
    while start is not None:
        page = client.get(url, params={"start": start, "count": 20}, headers=h).json()
        assert page["start"] == start and page["length"] == 50 and page["sensors"][0]["name"]
        pages.append(page)
        start = page["next_start"]
    assert [p["count"] for p in pages] == [20, 20, 10]
    joined = np.array([row for p in pages for row in p["values"]], dtype=np.float32)
    assert np.array_equal(joined, values)

    whole = client.get(url, headers=h).json()
    assert whole["count"] == 50 and whole["next_start"] is None
    assert np.array_equal(np.array(whole["values"], dtype=np.float32), values)

    # A page never holds more than MAX_PAGE_VALUES values: the count is cut to fit.
    monkeypatch.setattr(reading, "MAX_PAGE_VALUES", 30)
    capped = client.get(url, params={"start": 45, "count": 40}, headers=h).json()
    assert capped["count"] == 5 and capped["next_start"] is None
    capped = client.get(url, params={"count": 40}, headers=h).json()
    assert capped["count"] == 10 and capped["next_start"] == 10

    past = client.get(url, params={"start": 50}, headers=h)
    assert past.status_code == 400 and past.json()["detail"]["field"] == "start"
    assert client.get(url, params={"count": 0}, headers=h).status_code == 422


def test_plot_keeps_every_bucket_extreme_across_blocks(client, make_project, small_blocks) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    values = np.random.default_rng(5).normal(size=(3000, 2)).astype(np.float32)
    values[1234, 1] = 50.0
    sample = _store(client, pid, h, "noise.csv", _csv(values), "text/csv")
    plot = client.get(
        f"/api/projects/{pid}/samples/{sample['id']}/plot", params={"max_points": 100}, headers=h
    ).json()
    assert plot["downsampled"] and len(plot["t_ms"]) <= 100

    # The same buckets computed over the whole array at once.
    buckets = 100 // (2 * 2)
    edges = np.linspace(0, 3000, buckets + 1).astype(np.int64)
    expected = set()
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        chunk = values[start:end]
        expected |= set((start + chunk.argmin(axis=0)).tolist())
        expected |= set((start + chunk.argmax(axis=0)).tolist())
    rows = sorted(expected)
    assert plot["t_ms"] == [row * 10.0 for row in rows]
    for axis in range(2):
        got = np.array(plot["axes"][axis]["values"], dtype=np.float32)
        assert np.array_equal(got, values[rows, axis])
    assert 12340.0 in plot["t_ms"] and max(plot["axes"][1]["values"]) == 50.0

    short = client.get(
        f"/api/projects/{pid}/samples/{sample['id']}/plot", params={"max_points": 5000}, headers=h
    ).json()
    assert not short["downsampled"] and len(short["t_ms"]) == 3000
    too_many = client.get(
        f"/api/projects/{pid}/samples/{sample['id']}/plot",
        params={"max_points": 10_000_000},
        headers=h,
    )
    assert too_many.status_code == 422


def test_audio_is_streamed_as_the_uploaded_pcm(client, make_project, small_blocks) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    pcm = np.random.default_rng(1).integers(-20000, 20000, 4001).astype("<i2")
    sample = _store(client, pid, h, "hello.wav", pcm_wav(pcm, 8000), "audio/wav")
    audio = client.get(f"/api/projects/{pid}/samples/{sample['id']}/audio", headers=h)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert int(audio.headers["content-length"]) == len(audio.content)
    with wave.open(io.BytesIO(audio.content)) as played:
        assert played.getframerate() == 8000 and played.getnframes() == 4001
        assert played.readframes(4001) == pcm.tobytes()

    # Float audio in [-1, 1] is scaled to the 16-bit range.
    scaled = np.array([[0.5], [-1.0], [0.25]], dtype=np.float32)
    floats = _store(client, pid, h, "soft.csv", _csv(scaled, 0.125), "text/csv")
    audio = client.get(f"/api/projects/{pid}/samples/{floats['id']}/audio", headers=h)
    with wave.open(io.BytesIO(audio.content)) as played:
        got = np.frombuffer(played.readframes(3), dtype="<i2")
    assert got.tolist() == [16384, -32767, 8192]
