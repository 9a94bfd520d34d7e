"""Undoing relabels, moves, enables, disables and rebalances: exactly the changed samples get
their label, category and enabled flag back, and nothing is undone once one of them changed."""

from __future__ import annotations

from tests.factories import csv_sample


def _upload(client, pid: int, headers, names: list[str], category: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    files = [
        ("files", (name, csv_sample([float(n), float(len(name)), 1.0]), "text/csv"))
        for n, name in enumerate(names)
    ]
    answer = client.post(
        f"/api/projects/{pid}/samples/upload", headers=headers, files=files,
        data={"category": category},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return [f["sample"] for f in answer.json()["files"]]


def _states(client, pid: int, headers) -> dict[str, tuple]:  # type: ignore[no-untyped-def, type-arg]
    items = client.get(
        f"/api/projects/{pid}/samples", params={"limit": 1000}, headers=headers
    ).json()["items"]
    return {s["name"]: (s["label"], s["category"], s["enabled"]) for s in items}


def test_relabel_is_undone_for_the_samples_it_changed_only(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    base = f"/api/projects/{pid}/samples"
    samples = _upload(client, pid, h, ["idle.1.csv", "idle.2.csv", "wave.1.csv"], "training")
    before = _states(client, pid, h)
    ids = [s["id"] for s in samples]

    relabel = client.post(
        f"{base}/bulk", json={"sample_ids": ids, "action": "relabel", "label": "wave"}, headers=h
    ).json()
    # wave.1 already had the label: it did not change, so undoing must not touch it.
    assert relabel["changed"] == 2
    assert {p["id"] for p in relabel["previous"]} == set(ids[:2])
    assert {p["label"] for p in relabel["previous"]} == {"idle"}
    assert all(p["version"] == 2 for p in relabel["previous"])

    undone = client.post(f"{base}/revert", json={"samples": relabel["previous"]}, headers=h)
    assert undone.status_code == 200, undone.text
    assert undone.json() == {"action": "revert", "changed": 2, "previous": []}
    assert _states(client, pid, h) == before
    # A second undo of the same change finds the samples moved on (the undo changed them).
    again = client.post(f"{base}/revert", json={"samples": relabel["previous"]}, headers=h)
    assert again.status_code == 409


def test_move_enable_and_disable_are_undone(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    base = f"/api/projects/{pid}/samples"
    samples = _upload(client, pid, h, ["a.1.csv", "a.2.csv", "b.1.csv"], "training")
    ids = [s["id"] for s in samples]
    before = _states(client, pid, h)
    for body in (
        {"action": "move", "category": "testing"},
        {"action": "disable"},
    ):
        result = client.post(f"{base}/bulk", json={"sample_ids": ids, **body}, headers=h).json()
        assert result["changed"] == 3
        undone = client.post(f"{base}/revert", json={"samples": result["previous"]}, headers=h)
        assert undone.json()["changed"] == 3
        assert _states(client, pid, h) == before
    # Enabling enabled samples changes nothing and leaves nothing to undo.
    enable = client.post(f"{base}/bulk", json={"sample_ids": ids, "action": "enable"}, headers=h)
    assert enable.json()["changed"] == 0 and enable.json()["previous"] == []


def test_an_undo_after_a_later_edit_changes_nothing(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    base = f"/api/projects/{pid}/samples"
    samples = _upload(client, pid, h, ["a.1.csv", "a.2.csv", "a.3.csv"], "training")
    ids = [s["id"] for s in samples]
    moved = client.post(
        f"{base}/bulk", json={"sample_ids": ids, "action": "move", "category": "testing"}, headers=h
    ).json()
    # Someone relabels one of the moved samples, another goes to the trash.
    client.patch(f"{base}/{ids[0]}", json={"label": "b"}, headers=h)
    client.delete(f"{base}/{ids[1]}", headers=h)
    after = _states(client, pid, h)

    refused = client.post(f"{base}/revert", json={"samples": moved["previous"]}, headers=h)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail["code"] == "samples_changed"
    assert detail["sample_ids"] == sorted(ids[:2])
    assert detail["message"] == (
        f"2 of these 3 samples (samples {ids[0]}, {ids[1]}) changed since, so nothing was undone"
    )
    assert _states(client, pid, h) == after
    client.post(f"{base}/{ids[1]}/restore", headers=h)
    assert _states(client, pid, h)["a.3"] == ("a", "testing", True)


def test_rebalance_plan_matches_the_rebalance_and_is_undone(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    h = people["owner"].headers
    base = f"/api/projects/{pid}/samples"
    _upload(client, pid, h, [f"left.{n}.csv" for n in range(10)], "training")
    _upload(client, pid, h, [f"right.{n}.csv" for n in range(5)], "testing")
    before = _states(client, pid, h)

    # Viewers may read the plan (it changes nothing) but not rebalance.
    plan = client.get(f"{base}/rebalance", headers=people["viewer"].headers).json()
    assert plan == {"to_training": 4, "to_testing": 2, "samples": 15}
    assert client.post(f"{base}/rebalance", headers=people["viewer"].headers).status_code == 403

    result = client.post(f"{base}/rebalance", headers=h).json()
    assert result["moved"] == 6 and result["samples"] == 15
    assert sorted(p["category"] for p in result["previous"]) == ["testing"] * 4 + ["training"] * 2
    assert client.get(f"{base}/rebalance", headers=h).json()["to_testing"] == 0

    undone = client.post(f"{base}/revert", json={"samples": result["previous"]}, headers=h)
    assert undone.json()["changed"] == 6
    assert _states(client, pid, h) == before


def test_revert_checks_its_samples_and_role(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    other, other_people = make_project()
    h = people["owner"].headers
    base = f"/api/projects/{pid}/samples"
    [sample] = _upload(client, pid, h, ["a.1.csv"], "training")
    [foreign] = _upload(client, other, other_people["owner"].headers, ["a.1.csv"], "training")
    state = {"id": sample["id"], "version": sample["version"], "label": "b",
             "category": "testing", "enabled": True}  # fmt: skip
    viewer = client.post(
        f"{base}/revert", json={"samples": [state]}, headers=people["viewer"].headers
    )
    assert viewer.status_code == 403
    elsewhere = client.post(
        f"{base}/revert", json={"samples": [{**state, "id": foreign["id"]}]}, headers=h
    )
    assert elsewhere.status_code == 404
    blank = client.post(f"{base}/revert", json={"samples": [{**state, "label": "  "}]}, headers=h)
    assert blank.status_code == 400 and blank.json()["detail"]["field"] == "label"
    assert _states(client, pid, h)["a.1"] == ("a", "training", True)
