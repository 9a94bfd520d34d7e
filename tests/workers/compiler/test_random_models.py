"""Models nobody has seen: seeded random architectures from the supported ops, checked bit-exact."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from workers.compiler.verify import verify


def _random_builder(seed: int) -> tuple[Callable[[object], object], tuple[int, ...]]:
    """A random small CNN: convolutions, depthwise, pooling, residual adds, concatenations,
    padding, then a pooled or flattened dense head with softmax or sigmoid."""
    from keras import layers

    rng = random.Random(seed)
    shape = (rng.randint(6, 14), rng.randint(6, 14), rng.randint(1, 4))
    activations = [None, "relu", "relu6"]

    def act(x: object, name: str | None) -> object:
        if name == "relu6":
            return layers.ReLU(6.0)(x)
        if name == "relu":
            return layers.ReLU()(x)
        return x

    def build(x: object) -> object:
        for _ in range(rng.randint(2, 5)):
            spatial = min(x.shape[1], x.shape[2])  # type: ignore[attr-defined]
            choice = rng.choice(["conv", "dw", "pool", "add", "concat", "pad"])
            if choice == "conv" or spatial < 3:
                stride = rng.choice([1, 1, 2]) if spatial >= 4 else 1
                x = layers.Conv2D(
                    rng.randint(2, 12),
                    rng.choice([1, 3]) if spatial >= 3 else 1,
                    strides=stride,
                    padding=rng.choice(["same", "valid"]) if spatial >= 3 else "same",
                )(x)
                x = act(x, rng.choice(activations))
            elif choice == "dw":
                x = layers.DepthwiseConv2D(
                    3,
                    strides=rng.choice([1, 2]),
                    padding=rng.choice(["same", "valid"]),
                    depth_multiplier=rng.choice([1, 1, 2]),
                )(x)
                x = act(x, rng.choice(activations))
            elif choice == "pool":
                pool = rng.choice([layers.MaxPooling2D, layers.AveragePooling2D])
                x = pool(2, padding=rng.choice(["same", "valid"]))(x)
            elif choice == "add":
                channels = x.shape[-1]  # type: ignore[attr-defined]
                branch = layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
                x = act(layers.Add()([x, branch]), rng.choice(activations))
            elif choice == "concat":
                left = layers.Conv2D(rng.randint(1, 6), 1)(x)
                right = layers.Conv2D(rng.randint(1, 6), 1, activation="relu")(x)
                x = layers.Concatenate()([left, right])
            else:
                x = layers.ZeroPadding2D(rng.randint(1, 2))(x)
        head = layers.GlobalAveragePooling2D() if rng.random() < 0.5 else layers.Flatten()
        x = head(x)
        x = layers.Dense(rng.randint(4, 16), activation="relu")(x)
        classes = rng.randint(2, 6)
        if rng.random() < 0.7:
            return layers.Softmax()(layers.Dense(classes)(x))
        return layers.Dense(classes, activation="sigmoid")(x)

    return build, shape


@pytest.mark.parametrize("seed", [11, 23, 37, 41, 53, 67])
def test_random_architecture_is_bit_exact(seed: int, keras_to_tflite: Callable[..., bytes]) -> None:
    build, shape = _random_builder(seed)
    tflite = keras_to_tflite(build, shape, seed=seed)
    result = verify(tflite, 200, seed=seed)
    assert result.differing == 0, result.first_differing_op
