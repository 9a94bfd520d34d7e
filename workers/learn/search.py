"""Choices the Keras blocks' tune() methods share: training settings, dropout, and convolution
stacks that fit the input (as many pooling layers as its axes allow).

Sampled names are prefixed with the block's name. Categorical choices are fixed per block (Optuna
keeps a categorical's choices for a whole study); counts bounded by the input are int ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workers.learn.params import AUTO_VALIDATION_SPLIT

if TYPE_CHECKING:
    from workers.tuner.space import SearchTrial

# Epochs without a better validation loss before training stops (the best weights are kept).
EARLY_STOPPING_PATIENCE = 6
LEARNING_RATE_RANGE = (1e-4, 1e-2)
DROPOUT_RANGE = (0.0, 0.5, 0.05)  # low, high, step
# Convolution widths of the first layer (each further layer doubles it) and kernel sizes.
CONV_WIDTHS = (4, 8, 16, 32)
KERNEL_SIZES = (3, 5)
MOST_CONV_LAYERS = 3
POOL = 2
# Hidden layer shapes offered to the dense classifier, small ones first.
DENSE_SHAPES = ("8", "16", "32", "16,8", "20,10", "32,16", "64,32")
# DS-CNN: one width for every layer, and up to this many depthwise-separable blocks.
DSCNN_WIDTHS = (8, 16, 32, 64)
MOST_DSCNN_BLOCKS = 3


def training_settings(trial: SearchTrial, prefix: str, max_epochs: int) -> dict[str, Any]:
    """The learning rate (log scale) and dropout sampled; epochs = max_epochs, early stopping on,
    and always a validation split: trials are scored on it, however small the data."""
    low, high, step = DROPOUT_RANGE
    dropout = trial.suggest_float(f"{prefix}.dropout", low, high, step=step)
    rate = trial.suggest_float(f"{prefix}.learning_rate", *LEARNING_RATE_RANGE, log=True)
    return {"learning_rate": rate, "dropout": round(dropout, 2), **trial_training(max_epochs)}


def trial_training(max_epochs: int) -> dict[str, Any]:
    """How every trial trains, searched or not: so their validation accuracies compare."""
    return {
        "epochs": max_epochs,
        "early_stopping": EARLY_STOPPING_PATIENCE,
        "validation_split": AUTO_VALIDATION_SPLIT,
    }


def pooling_depth(lengths: Sequence[int], pool: int = POOL) -> int:
    """How many pooling layers of `pool` leave at least one step on every axis."""

    def depth(n: int) -> int:
        layers = 0
        while n >= pool:
            n //= pool
            layers += 1
        return layers

    return min(depth(n) for n in lengths)


def conv_stack(
    trial: SearchTrial, prefix: str, lengths: Sequence[int], widths: Sequence[int] = CONV_WIDTHS
) -> dict[str, Any]:
    """conv_filters (a first width, doubled per layer), kernel_size and pool_size for an input
    whose convolved axes are `lengths`: no more layers than pooling leaves steps for, and a
    kernel no larger than the shortest axis."""
    depth = pooling_depth(lengths)
    layers = trial.suggest_int(f"{prefix}.layers", 1, max(1, min(MOST_CONV_LAYERS, depth)))
    width = trial.suggest_categorical(f"{prefix}.filters", tuple(widths))
    kernel = trial.suggest_categorical(f"{prefix}.kernel_size", KERNEL_SIZES)
    return {
        "conv_filters": [width * 2**i for i in range(layers)],
        "kernel_size": min(kernel, *lengths),
        # An axis too short to pool at all is convolved without pooling.
        "pool_size": POOL if depth >= 1 else 1,
    }


def dense_head(
    trial: SearchTrial, prefix: str, choices: Sequence[int] = (0, 16, 32)
) -> dict[str, Any]:
    """One optional fully connected layer after the convolutions (0 = none)."""
    units = trial.suggest_categorical(f"{prefix}.dense_units", tuple(choices))
    return {"dense_layers": [units] if units else []}
