"""Benchmarks one tuner measurement: firmware build and QEMU run per candidate, with the firmware
object cache empty (every source compiled, as before the cache) and warm (shared by candidates).

Candidates are proposals of the search space (Optuna's seeded RandomSampler) for motion data
(6 axes, 100 Hz) and keyword audio (16 kHz, 1-s clips), built in Keras and quantized on random
windows; each is measured on virtual-cortex-m4 with workers.tuner.measure.measure_candidate.

    python benchmarks/tuner_measure.py [--candidates 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers import dsp, learn  # noqa: E402
from workers.learn.blocks import KerasBlock  # noqa: E402
from workers.tuner.measure import measure_candidate  # noqa: E402
from workers.tuner.space import DataFacts, allowed_blocks, propose  # noqa: E402
from workers.windowing import window_samples  # noqa: E402

BOARD = "virtual-cortex-m4"
DATASETS = {
    "motion": DataFacts(6, 100.0, 1000.0, 1000.0, 4, audio=False),
    "audio": DataFacts(1, 16000.0, 1000.0, 1000.0, 4, audio=True),
}


def candidates(facts: DataFacts, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` proposals with their int8 model and one raw window."""
    import optuna

    from workers.learn import quantize_int8

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    dsp_blocks, learn_blocks = allowed_blocks(facts)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        spec = propose(
            study.ask(),
            facts=facts,
            dsp_blocks=dsp_blocks,
            learn_blocks=learn_blocks,
            max_epochs=1,
        )
        samples = window_samples(spec["input"]["window_ms"], facts.frequency_hz)
        scale = 3000.0 if facts.audio else 2.0
        windows = rng.normal(0.0, scale, (16, samples, facts.axes)).astype(np.float32)
        d, lb = spec["dsp"][0], spec["learn"][0]
        features = dsp.get_block(d["block"]).process(windows, facts.frequency_hz, d["params"])
        block = learn.get_learn_block(lb["block"])
        assert isinstance(block, KerasBlock)
        model = block.build_model(lb["params"], features.shape[1:], facts.n_classes)
        out.append({"spec": spec, "tflite": quantize_int8(model, features), "window": windows[0]})
    return out


def measure(facts: DataFacts, candidate: dict[str, Any], cache: Path) -> dict[str, Any]:
    os.environ["TINYSTUDIO_CACHE_DIR"] = str(cache)
    with tempfile.TemporaryDirectory(prefix="tinystudio-bench-") as tmp:
        return measure_candidate(
            board_id=BOARD,
            spec=candidate["spec"],
            axes=facts.axes,
            labels=[f"class{i}" for i in range(facts.n_classes)],
            tflite_int8=candidate["tflite"],
            out_dir=Path(tmp),
            window=candidate["window"],
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/tuner_measure.json")
    args = parser.parse_args()
    from workers.learn.training import import_tensorflow

    import_tensorflow()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinystudio-objects-") as shared:
        for name, facts in DATASETS.items():
            found = candidates(facts, args.candidates, args.seed)
            measure(facts, found[0], Path(shared))  # warms the shared cache with the firmware
            for candidate in found:
                with tempfile.TemporaryDirectory(prefix="tinystudio-objects-") as empty:
                    cold = measure(facts, candidate, Path(empty))
                warm = measure(facts, candidate, Path(shared))
                assert cold["ram"] == warm["ram"] and cold["flash"] == warm["flash"]
                spec = candidate["spec"]
                rows.append(
                    {
                        "data": name,
                        "dsp": spec["dsp"][0]["block"],
                        "learn": spec["learn"][0]["block"],
                        "window_ms": spec["input"]["window_ms"],
                        "build_cold_s": cold["timings"]["build_s"],
                        "build_warm_s": warm["timings"]["build_s"],
                        "measure_s": warm["timings"]["measure_s"],
                        "impulse_ram_bytes": warm["ram"]["impulse_bytes"],
                        "impulse_flash_bytes": warm["flash"]["impulse_bytes"],
                        "latency_ms": round(warm["latency"]["ms"], 3),
                    }
                )
    header = list(rows[0]) if rows else []
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(str(row[h]) for h in header))
    summary = {
        key: round(statistics.median(r[key] for r in rows), 3)
        for key in ("build_cold_s", "build_warm_s", "measure_s")
    }
    print("median:", summary)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"board": BOARD, "rows": rows, "median": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
