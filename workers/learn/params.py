"""Parameter declarations shared by the Keras learning blocks (training loop and layer settings)."""

from __future__ import annotations

from workers.learn.base import LearnParam

# Small datasets overfit within a few epochs: stop once the validation loss has not improved
# for this many epochs and keep the best weights, whatever the epoch count.
EARLY_STOPPING_PATIENCE = 10


def training_params(
    *, epochs: int = 30, learning_rate: float = 0.005, batch_size: int = 32
) -> tuple[LearnParam, ...]:
    """The settings every Keras block shares (training loop, reproducibility, augmentation)."""
    return (
        LearnParam(
            "epochs",
            "integer",
            epochs,
            "Training cycles",
            "Passes over the training set.",
            minimum=1,
            maximum=2000,
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
            0.2,
            "Validation set size",
            "Fraction of the training data held out for validation, drawn per label with the "
            "seed (whole samples in the studio; every label keeps training data); 0 trains on "
            "all of it and early stopping watches the training loss instead.",
            minimum=0,
            maximum=0.9,
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
            EARLY_STOPPING_PATIENCE,
            "Early stopping patience",
            "Stops when the validation loss (the training loss without a validation set) has "
            "not improved for this many epochs and keeps the best weights, so the training "
            "cycles are an upper bound; 0 trains every epoch.",
            minimum=0,
            maximum=1000,
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
