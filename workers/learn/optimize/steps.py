"""What every optimization step gets and gives (pruning, quantization-aware training,
distillation), so that the steps chain in any combination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from workers.learn.fitting import FitData, FitHooks
from workers.learn.params import resolved_training

if TYPE_CHECKING:  # blocks.py imports this package for its settings
    from workers.learn.blocks import KerasBlock


@dataclass
class OptimizeRequest:
    """One optimized run: the block and its validated parameters (with "optimization"), the
    data, the job's hooks, and the trained models it may start from (`.keras` bytes)."""

    block: KerasBlock
    params: dict[str, Any]
    input_shape: tuple[int, ...]
    n_outputs: int
    data: FitData
    hooks: FitHooks
    # The baseline run's model: pruning and quantization-aware training fine-tune it.
    baseline_model: bytes | None = None
    # A chosen teacher run's model for distillation (else a wider teacher is trained).
    teacher_model: bytes | None = None

    def __post_init__(self) -> None:
        # Auto epochs and patience (None) follow the training windows, as in a plain run.
        self.params = resolved_training(self.params, self.data.x_fit.shape[0])

    @property
    def settings(self) -> dict[str, Any]:
        """The validated "optimization" setting."""
        return dict(self.params["optimization"])

    def with_hooks(self, hooks: FitHooks) -> OptimizeRequest:
        """This request reporting through `hooks`."""
        return replace(self, hooks=hooks)


@dataclass
class StepOutcome:
    """A step's model and what it says about it.

    `params` are the block parameters that build the returned model's architecture (structured
    pruning narrows conv_filters/dense_layers); `report` goes into the run's result under the
    step's name; `companions` are other trained models (Keras) the run evaluates next to its
    own for the report, e.g. {"teacher": ..., "student_alone": ...}."""

    model: Any
    params: dict[str, Any]
    report: dict[str, Any]
    companions: dict[str, Any] = field(default_factory=dict)


Step = Callable[[Any, OptimizeRequest], StepOutcome]
