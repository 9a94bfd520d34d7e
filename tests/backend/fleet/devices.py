"""A device row made directly, for tests that need a device but not the model it runs."""

from __future__ import annotations

from typing import Any


def make_device(db: Any, project_id: int, name: str = "bench") -> tuple[int, str]:
    """A device of the project, running no known run; (its id, its key)."""
    from backend.core.security import hash_token, new_token
    from backend.fleet.models import Device

    key = new_token("tsd")
    device = Device(
        project_id=project_id, name=name, board_id="nano33ble", firmware_version="1", tags=[],
        key_hash=hash_token(key), key_prefix=key[:8],
    )  # fmt: skip
    db.add(device)
    db.commit()
    return device.id, key
