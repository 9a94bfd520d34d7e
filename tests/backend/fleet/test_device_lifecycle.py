"""What happens to devices around them: a device of no known run says so in its drift report,
and deleting the project takes its devices and their telemetry with it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.backend.fleet.devices import make_device


def test_a_device_without_a_run_has_no_reference_and_goes_with_its_project(
    client, make_project, db
) -> None:  # type: ignore[no-untyped-def]
    from backend.fleet.models import Device, Telemetry

    pid, people = make_project(name="Short-lived")
    h = people["owner"].headers
    device_id, key = make_device(db, pid)
    items = [
        {"seq": k, "time": datetime.now(UTC).isoformat(), "top_score": 0.5,
         "feature_means": [1.0], "feature_variances": [0.0], "raw": {"values": [[1.0]],
         "interval_ms": 10}}
        for k in range(3)
    ]  # fmt: skip
    sent = client.post(
        "/api/fleet/telemetry", json={"items": items}, headers={"Authorization": f"Bearer {key}"}
    )
    assert sent.json() == {"stored": 3, "duplicates": 0}
    made = client.post(f"/api/projects/{pid}/fleet/devices/{device_id}/samples", json={}, headers=h)
    assert made.json()["created"] == 3
    report = client.get(f"/api/projects/{pid}/fleet/devices/{device_id}/drift", headers=h).json()
    assert report["status"] == "no_reference" and not report["alert"]
    assert report["reasons"] == ["the device runs no known training run"]

    deleted = client.delete(
        f"/api/projects/{pid}", params={"confirm_name": "Short-lived"}, headers=h
    )
    assert deleted.status_code == 204, deleted.text
    db.expire_all()
    assert db.scalar(select(func.count(Device.id)).where(Device.project_id == pid)) == 0
    assert db.scalar(select(func.count(Telemetry.id)).where(Telemetry.project_id == pid)) == 0
