"""On-device testing compares scores in the int8 output's steps and lists the differing windows."""

from __future__ import annotations

from backend.deployments.jobs import FIRST_DIFFERING, compare_scores
from backend.deployments.schemas import ScoreComparison

STEP = 1.0 / 256.0


def window(index: int, studio: list[float], device: list[float]) -> dict[str, object]:
    return {
        "sample_id": 7, "sample_name": "walking.001", "window_index": index,
        "window_start_ms": 200.0 * index, "studio": studio, "device": device,
    }  # fmt: skip


def test_scores_kept_to_six_digits_equal_the_device_and_a_step_apart_differ() -> None:
    exact = [0.00390625, 0.99609375]
    same = window(0, [0.003906, 0.996094], exact)  # a result kept to six decimals
    apart = window(1, [2 * STEP, 254 * STEP], [5 * STEP, 251 * STEP])
    compared = compare_scores([same, apart] * 8, STEP, -128)
    assert compared["windows"] == 16 and compared["differing"] == 8
    assert compared["max_step_difference"] == 3
    assert compared["max_abs_difference"] == 3 * STEP
    assert len(compared["first_differing"]) == min(8, FIRST_DIFFERING)
    first = compared["first_differing"][0]
    assert (first["sample_name"], first["window_index"], first["device"]) == (
        "walking.001", 1, [5 * STEP, 251 * STEP],
    )  # fmt: skip
    ScoreComparison.model_validate(compared)  # what the deployment API returns


def test_float_outputs_are_compared_as_they_are_and_nothing_compared_is_none() -> None:
    compared = compare_scores([window(0, [0.25, 0.75], [0.25, 0.7500001])], None, None)
    assert compared["differing"] == 1 and compared["max_step_difference"] is None
    assert compared["output_scale"] is None
    empty = compare_scores([], STEP, -128)
    assert empty["windows"] == 0 and empty["max_abs_difference"] is None
