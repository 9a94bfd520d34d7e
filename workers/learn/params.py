"""Parameter declarations shared by the Keras learning blocks (training loop and layer settings)."""

from __future__ import annotations

import math
from typing import Any

from workers.learn.base import LearnParam

# Small datasets overfit within a few epochs: stop once the validation loss has not improved
# for this many epochs and keep the best weights, whatever the epoch count.
EARLY_STOPPING_PATIENCE = 10
# "Auto" training settings count optimizer steps, not passes: 40 windows in batches of 32 are
# 2 steps per epoch, so 30 epochs would be 60 steps, far too few to learn anything, and a
# patience of 10 epochs would stop on the noise of 20 steps. Auto trains for at least
# AUTO_STEPS steps (between AUTO_EPOCHS and AUTO_MAX_EPOCHS epochs) and waits at least
# AUTO_PATIENCE_STEPS steps without improvement; large sets keep 30 epochs and patience 10.
AUTO_EPOCHS = 30
AUTO_MAX_EPOCHS = 500
AUTO_STEPS = 600
AUTO_PATIENCE_STEPS = 100
# Auto validation split: with fewer training windows than this, a fifth held out is a handful
# of samples whose loss picks the stopping epoch by chance (on 50-sample sets it kept epoch 1),
# so auto trains on all of them and early stopping watches the training loss; above it, 0.2.
SMALL_DATA_WINDOWS = 200
AUTO_VALIDATION_SPLIT = 0.2


def validation_fraction(setting: float | None, windows: int) -> float:
    """The validation split a run uses: the setting, or for auto (None) 0.2 from
    SMALL_DATA_WINDOWS training windows up and none below."""
    if setting is not None:
        return float(setting)
    return AUTO_VALIDATION_SPLIT if windows >= SMALL_DATA_WINDOWS else 0.0


def resolved_training(params: dict[str, Any], fit_windows: int) -> dict[str, Any]:
    """`params` with auto epochs and patience (None) replaced by the numbers for `fit_windows`
    training windows in batches of params["batch_size"]."""
    steps = max(math.ceil(fit_windows / max(int(params["batch_size"]), 1)), 1)
    out = dict(params)
    if out.get("epochs") is None:
        out["epochs"] = min(max(AUTO_EPOCHS, math.ceil(AUTO_STEPS / steps)), AUTO_MAX_EPOCHS)
    if out.get("early_stopping") is None:
        out["early_stopping"] = max(EARLY_STOPPING_PATIENCE, math.ceil(AUTO_PATIENCE_STEPS / steps))
    return out


def training_params(
    *, learning_rate: float = 0.005, batch_size: int = 32
) -> tuple[LearnParam, ...]:
    """The settings every Keras block shares (training loop, reproducibility, augmentation)."""
    return (
        LearnParam(
            "epochs",
            "integer",
            None,
            "Training cycles",
            f"Most passes over the training set; empty (auto) gives at least {AUTO_STEPS} "
            f"optimizer steps, {AUTO_EPOCHS} to {AUTO_MAX_EPOCHS} passes, so small sets "
            "train long enough. Early stopping usually ends training sooner.",
            minimum=1,
            maximum=2000,
            nullable=True,
        ),
        LearnParam(
            "learning_rate",
            "number",
            learning_rate,
            "Learning rate",
            "Step size of the Adam optimizer.",
            exclusive_minimum=0,
            maximum=1,
        ),
        LearnParam(
            "batch_size",
            "integer",
            batch_size,
            "Batch size",
            "Windows per gradient step.",
            minimum=1,
            maximum=4096,
        ),
        LearnParam(
            "validation_split",
            "number",
            None,
            "Validation set size",
            "Fraction of the training data held out for validation, drawn per label with the "
            "seed (whole samples in the studio; every label keeps training data); 0 trains on "
            "all of it and early stopping watches the training loss instead. Empty (auto) "
            f"holds out {AUTO_VALIDATION_SPLIT} from {SMALL_DATA_WINDOWS} training windows up "
            "and nothing below, where a held-out handful would pick the epoch by chance.",
            minimum=0,
            maximum=0.9,
            nullable=True,
        ),
        LearnParam(
            "class_weighting",
            "boolean",
            False,
            "Weight classes",
            "Weights each class by the inverse of its frequency, for unbalanced data.",
        ),
        LearnParam(
            "seed",
            "integer",
            1,
            "Seed",
            "Random seed: the same seed and data give the same model.",
            minimum=0,
            maximum=2**31 - 1,
        ),
        LearnParam(
            "early_stopping",
            "integer",
            None,
            "Early stopping patience",
            "Stops when the validation loss (the training loss without a validation set) has "
            "not improved for this many epochs and keeps the best weights, so the training "
            f"cycles are an upper bound; 0 trains every epoch. Empty (auto) waits "
            f"{EARLY_STOPPING_PATIENCE} epochs, or {AUTO_PATIENCE_STEPS} optimizer steps when "
            "epochs are shorter than that.",
            minimum=0,
            maximum=1000,
            nullable=True,
        ),
        LearnParam(
            "augmentation",
            "object",
            None,
            "Data augmentation",
            "Random changes to the training windows, drawn anew every epoch.",
            properties=(
                LearnParam(
                    "noise_std",
                    "number",
                    0.0,
                    "Noise",
                    "Standard deviation of Gaussian noise added to every feature, in "
                    "units of that feature's standard deviation over the training set.",
                    minimum=0,
                    maximum=10,
                ),
                LearnParam(
                    "time_shift",
                    "integer",
                    0,
                    "Time shift",
                    "Largest shift (in steps of the first feature axis, zero-filled) "
                    "applied to 2-D features; 0 switches it off.",
                    minimum=0,
                    maximum=1000,
                ),
            ),
        ),
    )


def dropout_param(default: float = 0.25) -> LearnParam:
    """The dropout rate before the output layer."""
    return LearnParam(
        "dropout",
        "number",
        default,
        "Dropout rate",
        "Fraction of units dropped before the output layer while training.",
        minimum=0,
        maximum=0.9,
    )


def dense_layers_param(default: tuple[int, ...]) -> LearnParam:
    """Widths of the hidden fully connected layers."""
    return LearnParam(
        "dense_layers",
        "array",
        default,
        "Dense layers",
        "Neurons of each hidden fully connected layer, in order.",
    )


def conv_filters_param(default: tuple[int, ...]) -> LearnParam:
    """Filters of each convolution layer."""
    return LearnParam(
        "conv_filters",
        "array",
        default,
        "Convolution layers",
        "Filters of each convolution layer, in order.",
        max_items=8,
    )


def kernel_size_param(default: int = 3) -> LearnParam:
    """The convolution kernel size."""
    return LearnParam(
        "kernel_size",
        "integer",
        default,
        "Kernel size",
        "Length (and width for 2-D) of each convolution kernel.",
        minimum=1,
        maximum=64,
    )


def pool_size_param(default: int = 2) -> LearnParam:
    """The max-pooling size after each convolution."""
    return LearnParam(
        "pool_size",
        "integer",
        default,
        "Pooling",
        "Max-pooling size after each convolution layer; 1 switches pooling off.",
        minimum=1,
        maximum=8,
    )
