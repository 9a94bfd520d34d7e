"""Model optimization: knowledge distillation, structured or unstructured pruning and
quantization-aware training, chained in that order as a run's "optimization" setting asks.

Every step keeps the model a plain Keras model of layers the int8 converter and the device
compiler already take, so an optimized run converts, evaluates and deploys like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from workers.learn.base import LearnParamError
from workers.learn.fitting import FitHooks
from workers.learn.optimize.settings import (
    needs_baseline_model,
    optimization_param,
    requested,
)
from workers.learn.optimize.steps import OptimizeRequest, StepOutcome

__all__ = [
    "OptimizeRequest",
    "OptimizeResult",
    "needs_baseline_model",
    "optimization_param",
    "optimize",
    "requested",
]


@dataclass
class OptimizeResult:
    """The optimized Keras model, the parameters of its architecture, every epoch of every
    stage (numbered on from one stage to the next), the steps' reports and their companions."""

    model: Any
    params: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    companions: dict[str, Any] = field(default_factory=dict)


def optimize(request: OptimizeRequest) -> OptimizeResult:
    """Runs the requested steps; LearnParamError names a setting that cannot be met."""
    from workers.learn.optimize.distill import distil
    from workers.learn.optimize.pruning import prune_structured, prune_unstructured
    from workers.learn.optimize.qat import quantization_aware

    settings = request.settings
    history: list[dict[str, float]] = []
    stages: list[dict[str, Any]] = []
    report: dict[str, Any] = {"stages": stages}
    companions: dict[str, Any] = {}

    def staged(name: str) -> OptimizeRequest:
        """The request whose epochs continue the run's numbering and are tagged `name`."""
        first = len(history) + 1
        stages.append({"stage": name, "first_epoch": first, "epochs": 0})
        outer = request.hooks

        def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
            number = first + epoch - 1
            history.append({"epoch": number, **metrics})
            stages[-1]["epochs"] = epoch
            if outer.on_epoch is not None:
                outer.on_epoch(number, metrics)

        # Each step builds on the architecture the steps before it left (structured pruning
        # narrows it), so it gets the current parameters, not the request's.
        return replace(
            request.with_hooks(FitHooks(on_epoch, outer.should_stop, outer.say)),
            params=dict(params),
        )

    params = dict(request.params)
    if settings["distillation"]:
        outcome = distil(None, staged("distillation"))
        model, params = _take(outcome, "distillation", report, companions)
    else:
        model = _baseline(request)
    if settings["pruning"] == "structured":
        outcome = prune_structured(model, staged("structured pruning"))
        model, params = _take(outcome, "pruning", report, companions)
    elif settings["pruning"] == "unstructured":
        outcome = prune_unstructured(model, staged("unstructured pruning"))
        model, params = _take(outcome, "pruning", report, companions)
    if settings["qat"]:
        outcome = quantization_aware(model, staged("quantization-aware training"))
        model, params = _take(outcome, "qat", report, companions)
    params["optimization"] = settings
    return OptimizeResult(model, params, history, report, companions)


def _take(
    outcome: StepOutcome, name: str, report: dict[str, Any], companions: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    report[name] = outcome.report
    companions.update(outcome.companions)
    return outcome.model, dict(outcome.params)


def _baseline(request: OptimizeRequest) -> Any:
    """The baseline run's model, checked to be the network these parameters build."""
    from workers.learn.training import load_keras

    if request.baseline_model is None:
        raise LearnParamError(
            "baseline_run_id",
            "pruning and quantization-aware training start from a trained model: train this "
            "network without optimization first and choose that run as the baseline",
        )
    model = load_keras(request.baseline_model)
    expected = request.block.build_model(request.params, request.input_shape, request.n_outputs)
    got = [tuple(w.shape) for w in model.weights]
    want = [tuple(w.shape) for w in expected.weights]
    if got != want:
        raise LearnParamError(
            "baseline_run_id",
            "the baseline run's network differs from these settings (layers, filters or "
            "input): choose a run of the same learning block settings",
        )
    return model
