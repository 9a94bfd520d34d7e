"""The "optimization" setting of the Keras learning blocks, published with their schemas."""

from __future__ import annotations

from typing import Any

from workers.learn.base import LearnParam

PRUNING_METHODS = ("none", "structured", "unstructured")
NORMS = ("l1", "l2")
# A teacher trained for distillation is the configured network with this many times the
# filters/units in every layer (no teacher run chosen).
TEACHER_WIDTH = 2


def optimization_param() -> LearnParam:
    """Pruning, quantization-aware training and distillation: all off by default."""
    return LearnParam(
        "optimization",
        "object",
        None,
        "Optimization",
        "Shrink the model or make its int8 version closer to float. Pruning and "
        "quantization-aware training fine-tune the baseline run's model; distillation "
        "trains this network from a teacher. Steps run in that order: distillation, pruning, "
        "quantization-aware training.",
        properties=(
            LearnParam(
                "pruning",
                "string",
                "none",
                "Pruning",
                "structured removes whole filters/units (a smaller, faster compiled model); "
                "unstructured zeroes single weights (smaller only once compressed: the C "
                "kernels are dense).",
                enum=PRUNING_METHODS,
            ),
            LearnParam(
                "sparsity",
                "number",
                0.5,
                "Target sparsity",
                "Fraction of filters/units (structured) or weights (unstructured) removed "
                "from every pruned layer.",
                minimum=0.05,
                maximum=0.95,
            ),
            LearnParam(
                "pruning_norm",
                "string",
                "l1",
                "Filter ranking",
                "Norm of a filter's weights that ranks it for structured pruning; the smallest go.",
                enum=NORMS,
            ),
            LearnParam(
                "fine_tune_epochs",
                "integer",
                10,
                "Fine-tuning epochs",
                "Epochs of fine-tuning after pruning and of quantization-aware training "
                "(early stopping applies).",
                minimum=1,
                maximum=1000,
            ),
            LearnParam(
                "qat",
                "boolean",
                False,
                "Quantization-aware training",
                "Fine-tune with int8 fake quantization of weights and activations, so that "
                "the int8 model follows the float one more closely.",
            ),
            LearnParam(
                "distillation",
                "boolean",
                False,
                "Knowledge distillation",
                "Train this network to follow a teacher's softened scores as well as the "
                "labels. The teacher is the chosen teacher run, or a network twice as wide "
                "trained first.",
            ),
            LearnParam(
                "temperature",
                "number",
                4.0,
                "Temperature",
                "Softens the teacher's and student's scores before they are compared.",
                exclusive_minimum=0,
                maximum=100,
            ),
            LearnParam(
                "alpha",
                "number",
                0.5,
                "Teacher weight",
                "Share of the loss that follows the teacher; the rest follows the labels.",
                minimum=0,
                maximum=1,
            ),
        ),
    )


def requested(params: dict[str, Any]) -> bool:
    """Whether `params` (validated) ask for any optimization."""
    settings = params.get("optimization") or {}
    return bool(
        settings.get("pruning", "none") != "none"
        or settings.get("qat")
        or settings.get("distillation")
    )


def needs_baseline_model(params: dict[str, Any]) -> bool:
    """Pruning and quantization-aware training start from a trained model of this network;
    distillation alone trains it from scratch."""
    settings = params.get("optimization") or {}
    starts_fresh = settings.get("distillation", False)
    return requested(params) and not starts_fresh
