"""The server's score comparison answers every shared test vector as the browser's twin must
(frontend/src/lib/device/scoreComparison.test.ts reads the same file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.deployments.jobs import compare_scores
from backend.deployments.schemas import ScoreComparison
from backend.jobs.lifecycle import JobFailed

VECTORS = Path(__file__).resolve().parents[2] / "data" / "score_comparison_vectors.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]


def scored(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"sample_id": k + 1, "sample_name": None, "window_index": k,
         "window_start_ms": 100.0 * k, "studio": w["studio"], "device": w["device"]}
        for k, w in enumerate(case["windows"])
    ]  # fmt: skip


def test_the_vectors_cover_equal_differing_float_and_refused_windows() -> None:
    expected = [c["expected"] for c in CASES if "expected" in c]
    assert any(e["windows"] > 0 and e["differing"] == 0 for e in expected)
    assert any(e["max_step_difference"] == 1 for e in expected)
    assert any(e["output_scale"] is None and e["differing"] for e in expected)
    assert any("refused" in c for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_compare_scores_answers_the_vector(case: dict[str, Any]) -> None:
    windows = scored(case)
    if "refused" in case:
        with pytest.raises(JobFailed, match=case["refused"]):
            compare_scores(windows, case["output_scale"], case["output_zero_point"])
        return
    compared = compare_scores(windows, case["output_scale"], case["output_zero_point"])
    expected = dict(case["expected"])
    assert [w["window_index"] for w in compared["first_differing"]] == expected.pop(
        "first_differing"
    )
    assert {k: compared[k] for k in expected} == expected
    # What the deployment API returns and what a browser sends are the same shape.
    ScoreComparison.model_validate(compared)
