"""A small two-class time-series set in the shape of the UCR archive's GunPoint, written as CSV.

GunPoint follows the x position of an actor's hand: it rises from the hip, holds at the target
and falls back. With a gun, the hand first dips to draw it from the holster and dips again to
put it back; pointing, the rise and fall are smooth. Every series here is drawn afresh from
random onsets, plateau lengths, heights, dip depths and noise, so no single file is special.

    python -m benchmarks.gunpoint OUT [--train 50] [--test 150] [--seed 1]

OUT/training/*.csv and OUT/testing/*.csv, one series of 150 points at 50 Hz (3 s) per file,
named <class>.<n>.csv so the label comes from the file name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

POINTS = 150
FREQUENCY_HZ = 50
CLASSES = ("gun", "point")


def _smoothstep(t: np.ndarray, start: float, width: float) -> np.ndarray:
    x = np.clip((t - start) / width, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def series(label: str, rng: np.random.Generator) -> np.ndarray:
    """One hand trajectory of `label` ("gun" or "point"), POINTS values."""
    t = np.arange(POINTS, dtype=np.float64)
    rise_at = rng.uniform(25, 50)
    rise_for = rng.uniform(8, 16)
    hold = rng.uniform(35, 60)
    fall_at = rise_at + rise_for + hold
    fall_for = rng.uniform(8, 16)
    height = rng.uniform(1.2, 2.0)
    base = rng.uniform(-1.0, -0.6)
    x = base + height * (_smoothstep(t, rise_at, rise_for) - _smoothstep(t, fall_at, fall_for))
    if label == "gun":
        # Drawing from and returning to the holster: a short dip before the rise and after the fall.
        depth = rng.uniform(0.15, 0.35)
        for centre in (rise_at - rng.uniform(3, 7), fall_at + fall_for + rng.uniform(3, 7)):
            x -= depth * np.exp(-0.5 * ((t - centre) / rng.uniform(2.0, 3.5)) ** 2)
    x += rng.normal(0.0, 0.03, POINTS)
    return x


def write(out: Path, *, train: int = 50, test: int = 150, seed: int = 1) -> dict[str, int]:
    """Writes balanced training and testing sets under `out`; the file count per category."""
    rng = np.random.default_rng(seed)
    counts = {}
    for category, total in (("training", train), ("testing", test)):
        folder = out / category
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(total):
            label = CLASSES[n % 2]
            values = series(label, rng)
            rows = [f"{k * 1000 // FREQUENCY_HZ},{v:.5f}" for k, v in enumerate(values)]
            (folder / f"{label}.{n:03d}.csv").write_text("timestamp,x\n" + "\n".join(rows) + "\n")
        counts[category] = total
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=50)
    parser.add_argument("--test", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(write(args.out, train=args.train, test=args.test, seed=args.seed))


if __name__ == "__main__":
    main()
