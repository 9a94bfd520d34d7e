"""The rule of which settings ask for an optimized run, answered by the shared vectors that the
browser app's lib/optimization.ts answers too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.learn.optimize import needs_baseline_model, requested

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "optimization_vectors.json").read_text()
)["vectors"]


@pytest.mark.parametrize("case", VECTORS, ids=[json.dumps(v["params"]) for v in VECTORS])
def test_the_shared_vectors(case: dict) -> None:  # type: ignore[type-arg]
    assert requested(case["params"]) is case["optimized"]
    assert needs_baseline_model(case["params"]) is case["needs_baseline"]
