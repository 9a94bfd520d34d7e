"""What a tuner run found: the best fitting trial, the Pareto front, the closest miss, and the
response bodies that show them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from backend.tuner.models import IN_FLIGHT, RunStatus, TrialStatus, TunerRun, TunerTrial
from backend.tuner.schemas import (
    Budgets,
    TrialAccuracy,
    TrialTimings,
    TunerRunOut,
    TunerRunSummary,
    TunerSettings,
    TunerTrialOut,
)

# Figures a budget bounds: (trial column, budget key, how the note names it).
FIGURES = (
    ("ram_bytes", "ram_bytes", "RAM"),
    ("flash_bytes", "flash_bytes", "flash"),
    ("latency_ms", "latency_ms", "per window"),
)


def objective(trial: TunerTrial) -> float | None:
    """The search's objective: int8 accuracy on the validation split."""
    value = (trial.accuracy or {}).get("int8_validation")
    return None if value is None else float(value)


def measured(trials: Sequence[TunerTrial]) -> list[TunerTrial]:
    """Trials trained and measured."""
    return [t for t in trials if t.status == TrialStatus.succeeded and t.ram_bytes is not None]


def sized(trials: Sequence[TunerTrial]) -> list[TunerTrial]:
    """Trials with figures: measured, or found over budget before training."""
    done = (TrialStatus.succeeded, TrialStatus.over_budget)
    return [t for t in trials if t.status in done and t.ram_bytes is not None]


def fits(ram_bytes: int, flash_bytes: int, latency_ms: float, budgets: dict[str, Any]) -> bool:
    return (
        ram_bytes <= budgets["ram_bytes"]
        and flash_bytes <= budgets["flash_bytes"]
        and latency_ms <= budgets["latency_ms"]
    )


def best_trial(trials: Sequence[TunerTrial]) -> TunerTrial | None:
    """The fitting trial with the highest int8 validation accuracy, where accuracies at most one
    validation window below the highest count as equal: a small split scores many trials (nearly)
    perfect, and one window is within its noise. Among those the lower int8 validation loss (a
    finer score of the same windows) wins, then less RAM."""
    fitting = [t for t in measured(trials) if t.fits]
    if not fitting:
        return None
    top = max(fitting, key=lambda t: objective(t) or 0.0)
    windows = (top.accuracy or {}).get("validation_windows")
    margin = 1.0 / windows if windows else 0.0
    floor = (objective(top) or 0.0) - margin - 1e-9
    close = [t for t in fitting if (objective(t) or 0.0) >= floor]

    def rank(t: TunerTrial) -> tuple[float, float, int, int]:
        loss = (t.accuracy or {}).get("int8_validation_loss")
        return (
            -math.inf if loss is None else -float(loss),
            objective(t) or 0.0,
            -(t.ram_bytes or 0),
            -t.number,
        )

    return max(close, key=rank)


def pareto_ids(trials: Sequence[TunerTrial]) -> set[int]:
    """Measured trials no other trial beats on accuracy, RAM and latency at once."""
    points = {
        t.id: (objective(t) or 0.0, t.ram_bytes or 0, t.latency_ms or 0.0) for t in measured(trials)
    }

    def dominated(a: tuple[float, int, float]) -> bool:
        return any(
            b[0] >= a[0] and b[1] <= a[1] and b[2] <= a[2] and b != a for b in points.values()
        )

    return {trial_id for trial_id, point in points.items() if not dominated(point)}


def excess(trial: TunerTrial, budgets: dict[str, Any]) -> dict[str, float]:
    """Each figure over its budget, relative (0.25 = a quarter too much; negative fits)."""
    return {
        column: float(getattr(trial, column)) / float(budgets[key]) - 1.0
        for column, key, _ in FIGURES
    }


def _amount(column: str, value: float) -> str:
    return f"{value:,.2f} ms" if column == "latency_ms" else f"{int(value):,} B"


def closest_miss(trials: Sequence[TunerTrial], budgets: dict[str, Any]) -> str | None:
    """Names the measured trial nearest to fitting and the figure that is furthest over."""
    candidates = sized(trials)
    if not candidates:
        return None
    closest = min(candidates, key=lambda t: (max(excess(t, budgets).values()), t.number))
    over = excess(closest, budgets)
    column = max(over, key=lambda name: over[name])
    key, name = next((k, n) for c, k, n in FIGURES if c == column)
    return (
        f"no trial fits; closest: trial {closest.number} needs "
        f"{_amount(column, getattr(closest, column))} {name} "
        f"(budget {_amount(column, budgets[key])})"
    )


def result_note(run: TunerRun, trials: Sequence[TunerTrial]) -> str | None:
    """One sentence on what a finished run found."""
    if run.status == RunStatus.running:
        return None
    best = best_trial(trials)
    if best is None:
        return closest_miss(trials, run.budgets)
    highest = max((objective(t) or 0.0) for t in measured(trials) if t.fits)
    why = (
        " (one validation window from the highest, with the lowest validation loss)"
        if (objective(best) or 0.0) < highest
        else ""
    )
    return (
        f"trial {best.number} is best: {100 * (objective(best) or 0.0):.1f} % int8 validation "
        f"accuracy{why} with {best.ram_bytes:,} B RAM, {best.flash_bytes:,} B flash and "
        f"{best.latency_ms or 0.0:,.2f} ms per window"
    )


def trial_out(trial: TunerTrial, *, pareto: bool, best: bool) -> TunerTrialOut:
    latency = (trial.figures or {}).get("latency") or {}
    return TunerTrialOut(
        id=trial.id, number=trial.number, status=trial.status, params=trial.params or {},
        # Only the starting point is asked without the sampler (every proposal samples a window).
        starting_point=not trial.params and bool(trial.spec),
        spec=trial.spec or {}, accuracy=TrialAccuracy.model_validate(trial.accuracy or {}),
        ram_bytes=trial.ram_bytes, flash_bytes=trial.flash_bytes, latency_ms=trial.latency_ms,
        instructions=latency.get("instructions"), fits=trial.fits, pareto=pareto, best=best,
        error=trial.error, train_job_id=trial.train_job_id, measure_job_id=trial.measure_job_id,
        timings=TrialTimings.model_validate(trial.timings or {}), created_at=trial.created_at,
        finished_at=trial.finished_at,
    )  # fmt: skip


def summary(run: TunerRun, trials: Sequence[TunerTrial]) -> TunerRunSummary:
    best = best_trial(trials)
    settings = TunerSettings.model_validate(run.settings)
    return TunerRunSummary(
        id=run.id, status=run.status, message=run.message, board_id=run.board_id,
        budgets=Budgets.model_validate(run.budgets), settings=settings, sampler=settings.sampler,
        trials_total=len(trials),
        trials_done=sum(1 for t in trials if t.status not in IN_FLIGHT),
        best_trial_id=best.id if best else None,
        best_accuracy=objective(best) if best else None,
        created_at=run.created_at, finished_at=run.finished_at,
    )  # fmt: skip


def run_out(run: TunerRun, trials: Sequence[TunerTrial]) -> TunerRunOut:
    front = pareto_ids(trials)
    best = best_trial(trials)
    return TunerRunOut(
        **summary(run, trials).model_dump(),
        impulse_id=run.impulse_id,
        dataset_version_id=run.dataset_version_id,
        result_note=result_note(run, trials),
        starting_point_note=run.settings.get("start_note"),
        trials=[
            trial_out(t, pareto=t.id in front, best=best is not None and t.id == best.id)
            for t in trials
        ],
    )
