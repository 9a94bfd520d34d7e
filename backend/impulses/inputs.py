"""The input block published like the other blocks (its parameter schema with defaults), and the
input a project's data suggests, the whole-sample window among it."""

from __future__ import annotations

import statistics
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.datasets.models import Sample
from backend.impulses.schemas import BlockInfo, InputBlock, InputDefaultsOut
from workers.dsp.base import JSON_SCHEMA_DIALECT
from workers.windowing import classified_whole

# Without data to go by: a one-second window every half second at 100 Hz (motion-like data).
GENERIC_INPUT = InputBlock(window_ms=1000, stride_ms=500, frequency_hz=100)
# Rates from here up are audio: keyword-length windows; below it, two seconds of motion.
AUDIO_HZ = 4000.0
AUDIO_WINDOW_MS = 1000.0
MOTION_WINDOW_MS = 2000.0
LONGEST_WINDOW_MS = 3_600_000.0


def input_block_info() -> BlockInfo:
    """The input block as GET /api/blocks lists it, its schema drawn from InputBlock."""
    schema = InputBlock.model_json_schema()
    defaults = GENERIC_INPUT.model_dump()
    return BlockInfo(
        name="input",
        title="Time series input",
        description="Resamples every sample to one rate and cuts it into windows; the window "
        "sizes are suggested from the project's data (GET …/impulses/input-defaults).",
        kind="input",
        parameters_schema={
            "$schema": JSON_SCHEMA_DIALECT,
            "title": "Time series input",
            "description": schema["description"],
            "type": "object",
            "properties": {
                name: {**prop, "default": defaults[name]}
                for name, prop in schema["properties"].items()
            },
            "required": schema["required"],
        },
    )


def suggest(*, db: Session, project_id: int) -> InputDefaultsOut:
    """The input block for the project's live, enabled samples: their most common rate, and a
    window cut from them (the whole sample when most samples are shorter than a usual window)."""
    rows = db.execute(
        select(Sample.length, Sample.interval_ms).where(
            Sample.project_id == project_id, Sample.deleted_at.is_(None), Sample.enabled.is_(True)
        )
    ).all()
    if not rows:
        return InputDefaultsOut(input=GENERIC_INPUT, samples=0)
    durations = sorted(r.length * r.interval_ms for r in rows)
    longest = min(round(durations[-1], 3), LONGEST_WINDOW_MS)
    median = statistics.median(durations)
    frequency = Counter(round(1000.0 / r.interval_ms, 3) for r in rows).most_common(1)[0][0]
    usual = AUDIO_WINDOW_MS if frequency >= AUDIO_HZ else MOTION_WINDOW_MS
    if classified_whole(median, usual):
        # Short recordings (one gesture, one word, one series of a UCR-style set): a usual
        # window would cut off the sample's start or end, where its class may show; one window
        # per sample classifies each whole.
        window, stride = longest, longest
    else:
        window, stride = usual, usual / 2
    return InputDefaultsOut(
        input=InputBlock(window_ms=window, stride_ms=stride, frequency_hz=frequency),
        samples=len(rows),
        shortest_ms=durations[0],
        median_ms=median,
        longest_ms=durations[-1],
        whole_sample_ms=longest,
    )
