"""Every API route fuzzed by schemathesis against a live studio: no 5xx, and every answer's status,
content type and body as the OpenAPI schema documents them."""

from __future__ import annotations

import pytest

from benchmarks.live import FUZZ_EXCLUDED, Studio, fuzz, make_owner, seed

pytestmark = pytest.mark.slow


def test_every_route_answers_as_documented_under_fuzzing() -> None:
    with Studio() as studio:
        owner = make_owner(studio)
        seeded = seed(studio, owner)
        run = fuzz(studio, owner, seeded, max_examples=10)
        paths = studio.http.get("/api/openapi.json").json()["paths"]
        documented = sum(len(operations) for operations in paths.values())
        tracebacks = studio.log().count("Traceback")
    assert run.exit_code == 0, run.output[-20000:]
    assert run.server_errors == 0 and tracebacks == 0, run.output[-5000:]
    assert run.operations == documented - len(FUZZ_EXCLUDED), run.output[-3000:]
