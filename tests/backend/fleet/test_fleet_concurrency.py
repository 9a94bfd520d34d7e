"""One telemetry batch sent by several connections at once is stored once, and every sender
hears that its items are stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.backend.fleet.devices import make_device
from tests.backend.test_concurrency import RACERS, Caller, port, race

__all__ = ["port"]  # the live server fixture, shared with the other races


def test_one_batch_sent_at_once_is_stored_once(port, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.fleet.models import Telemetry

    pid, _ = make_project()
    device_id, key = make_device(db, pid, "racer")
    now = datetime.now(UTC).isoformat()
    items = [
        {"seq": k, "time": now, "top_score": 0.5, "feature_means": [1.0], "feature_variances": [0]}
        for k in range(50)
    ]
    callers = [Caller(port, {"Authorization": f"Bearer {key}"}) for _ in range(RACERS)]
    answers = race(
        callers, lambda _, c: c.call("POST", "/api/fleet/telemetry", json_body={"items": items})
    )
    assert all(a.status == 200 for a in answers), [(a.status, a.body) for a in answers]
    assert sum(a.body["stored"] for a in answers) == 50
    assert all(a.body["stored"] + a.body["duplicates"] == 50 for a in answers)
    stored = db.scalar(select(func.count(Telemetry.id)).where(Telemetry.device_id == device_id))
    assert stored == 50
