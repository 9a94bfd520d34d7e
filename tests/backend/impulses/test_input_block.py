"""The input block through the API: its schema and defaults in GET /api/blocks, the input the
data suggests (the whole-sample window), and how short samples are padded."""

from __future__ import annotations

from backend.impulses import service
from tests.factories import csv_sample, upload_csvs

SPEC = {
    "input": {"window_ms": 500, "stride_ms": 500, "frequency_hz": 100, "zero_pad": True},
    "dsp": [{"block": "raw", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {}}],
}


def test_blocks_publish_the_input_block_with_defaults(client, make_person) -> None:  # type: ignore[no-untyped-def]
    blocks = client.get("/api/blocks", headers=make_person().headers).json()
    block = blocks["input"]
    assert block["name"] == "input" and block["kind"] == "input" and block["title"]
    schema = block["parameters_schema"]
    properties = schema["properties"]
    assert set(properties) == {"window_ms", "stride_ms", "frequency_hz", "zero_pad", "padding"}
    assert {name: prop["default"] for name, prop in properties.items()} == {
        "window_ms": 1000, "stride_ms": 500, "frequency_hz": 100, "zero_pad": True,
        "padding": "edge",
    }  # fmt: skip
    assert properties["padding"]["enum"] == ["edge", "mean", "zero"]
    assert properties["window_ms"]["exclusiveMinimum"] == 0 and properties["window_ms"]["title"]
    assert set(schema["required"]) == {"window_ms", "stride_ms", "frequency_hz"}


def test_input_defaults_follow_the_data(client, make_project, upload_demo) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    h = people["owner"].headers
    url = f"/api/projects/{pid}/impulses/input-defaults"
    empty = client.get(url, headers=people["viewer"].headers).json()
    assert empty["samples"] == 0 and empty["whole_sample_ms"] is None
    assert empty["input"]["window_ms"] == 1000 and empty["input"]["padding"] == "edge"

    # Short recordings of 300, 400 and 500 ms at 100 Hz: one window per whole sample.
    upload_csvs(
        client, pid, h, {f"tap.{n}.csv": csv_sample([1.0] * n) for n in (30, 40, 50)}, "training"
    )
    short = client.get(url, headers=h).json()
    assert short["samples"] == 3
    assert (short["shortest_ms"], short["median_ms"], short["longest_ms"]) == (300, 400, 500)
    assert short["whole_sample_ms"] == 500
    assert short["input"] == {
        "window_ms": 500, "stride_ms": 500, "frequency_hz": 100, "zero_pad": True,
        "padding": "edge",
    }  # fmt: skip

    # Long recordings (BasicMotions: 10 s at 10 Hz) outnumber them: two-second sliding windows.
    upload_demo(client, pid, h, count=2)
    long = client.get(url, headers=h).json()
    assert long["whole_sample_ms"] == 10000 and long["longest_ms"] == 10000
    assert (long["input"]["window_ms"], long["input"]["stride_ms"]) == (2000, 1000)
    assert long["input"]["frequency_hz"] == 10
    # Series of 3 s, like the UCR archive's GunPoint at 50 Hz: a two-second window would cut
    # off either end, so each is classified whole.
    series = make_project()
    upload_csvs(
        client, series[0], series[1]["owner"].headers,
        {f"gun.{n}.csv": csv_sample([0.5 + n] * 150, interval_ms=20) for n in range(3)}, "training",
    )  # fmt: skip
    three = client.get(
        f"/api/projects/{series[0]}/impulses/input-defaults", headers=series[1]["owner"].headers
    ).json()
    assert (three["input"]["window_ms"], three["input"]["stride_ms"]) == (3000, 3000)
    other = make_project()[1]["owner"].headers
    assert client.get(url, headers=other).status_code == 404


def test_padding_is_stored_checked_and_named_when_wrong(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    base = f"/api/projects/{pid}/impulses"
    made = client.post(base, json={"name": "Taps", "spec": SPEC}, headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["spec"]["input"]["padding"] == "edge"
    bad = {**SPEC, "input": {**SPEC["input"], "padding": "foo"}}
    refused = client.post(base, json={"name": "Bad", "spec": bad}, headers=h)
    assert refused.status_code == 422
    assert "spec.input.padding" in refused.json()["detail"]["message"]
    saved = client.put(
        f"{base}/{made.json()['id']}",
        json={"spec": {**SPEC, "input": {**SPEC["input"], "padding": "mean"}}},
        headers=h,
    )
    assert saved.status_code == 200 and saved.json()["spec"]["input"]["padding"] == "mean"


def test_each_padding_fills_a_short_sample_window(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_csvs(client, pid, h, {"tap.1.csv": csv_sample([1.0, 2.0, 6.0])}, "training")
    sample = client.get(f"/api/projects/{pid}/samples", headers=h).json()["items"][0]
    fills = {}
    for padding in ("edge", "mean", "zero"):
        answer = client.post(
            f"/api/projects/{pid}/impulses/preview",
            json={"input": {**SPEC["input"], "window_ms": 50, "padding": padding},
                  "dsp": {"block": "raw", "params": {}}, "sample_id": sample["id"]},
            headers=h,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        window = answer.json()["window"]
        assert [row[0] for row in window[:3]] == [1.0, 2.0, 6.0] and len(window) == 5
        fills[padding] = [row[0] for row in window[3:]]
    assert fills == {"edge": [6.0, 6.0], "mean": [3.0, 3.0], "zero": [0.0, 0.0]}


def test_the_feature_cache_tells_paddings_apart() -> None:
    keys = {
        service.feature_cache_key("data", {**SPEC, "input": {**SPEC["input"], "padding": p}})
        for p in ("edge", "mean", "zero")
    }
    assert len(keys) == 3
