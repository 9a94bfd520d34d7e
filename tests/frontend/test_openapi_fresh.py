"""The browser app's checked-in OpenAPI schema matches the one the API publishes."""

import json
from pathlib import Path
from typing import Any

from backend.main import create_app

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "frontend" / "openapi.json"


def _canonical(value: Any) -> Any:
    """Sorts every list of scalars and dict keys so ordering differences do not count."""
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def test_checked_in_schema_is_fresh() -> None:
    published = json.loads(json.dumps(create_app().openapi()))
    checked_in = json.loads(SCHEMA_FILE.read_text())
    assert _canonical(checked_in) == _canonical(published), (
        "frontend/openapi.json is stale: run `npm run gen:api` in frontend/"
    )
    assert "/api/health" in checked_in["paths"]
