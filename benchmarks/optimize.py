"""Model optimization through the HTTP API of a real studio: pruning, quantization-aware training
and distillation of the keyword model against its baseline, measured on the virtual Cortex-M4;
the small-data defaults on BasicMotions and on GunPoint-shaped CSV sets.

Usage: python -m benchmarks.optimize [--kws DIR] [--gunpoint-seeds 1,2,3] [--parts P,...]
                                     [--json PATH]
--kws DIR is a keyword set made by `make-kws-dataset DIR 100` (without it the keyword rows are
skipped). Prints a table and writes JSON (default benchmarks/results/optimize.json).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import gunpoint
from benchmarks.live import Studio, make_owner
from benchmarks.tuner import MOTION_DATA, Api

ROOT = Path(__file__).resolve().parents[1]
KWS_SPEC = {
    "input": {"window_ms": 1000, "stride_ms": 1000, "frequency_hz": 16000, "zero_pad": True},
    "dsp": [{"block": "mfcc", "params": {}}],
    "learn": [{"block": "classifier-conv2d", "params": {"conv_filters": [16, 32]}}],
}
MOTION_SPEC = {
    "input": {"window_ms": 2000, "stride_ms": 200, "frequency_hz": 10},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-conv1d", "params": {}}],
}
# Short 1-axis series classified whole (the input the studio suggests for them), the model one
# would pick for them (raw values into a 1D CNN) trained with the default settings ...
GUNPOINT_DSP = {"block": "raw", "params": {}}
GUNPOINT_MODEL = "classifier-conv1d"
# ... against the same model trained with the settings someone who knows 50-sample sets would
# choose by hand: no validation split (every sample trains), many more epochs, a lower rate.
GUNPOINT_HAND_PARAMS = {
    "epochs": 300, "learning_rate": 0.002, "validation_split": 0, "early_stopping": 0,
}  # fmt: skip


def upload(api: Api, folder: Path, pattern: str, media_type: str) -> int:
    count = 0
    for category in ("training", "testing"):
        paths = sorted((folder / category).glob(pattern))
        for start in range(0, len(paths), 50):
            files = [
                ("files", (p.name, p.read_bytes(), media_type)) for p in paths[start : start + 50]
            ]
            api.call("POST", "/samples/upload", files=files, data={"category": category})
            count += len(files)
    return count


def train(api: Api, impulse_id: int, **body: Any) -> dict[str, Any]:
    """One training run to its end: the run with the job's result."""
    run = api.call("POST", f"/impulses/{impulse_id}/train", json=body)
    job = api.wait_job(run["job_id"])
    if job["status"] != "succeeded":
        raise RuntimeError(f"run {run['id']} failed: {job.get('error')}")
    return {"run": api.call("GET", f"/training-runs/{run['id']}"), "result": job["result"]}


def _accuracy(trained: dict[str, Any]) -> dict[str, float]:
    evaluation = trained["result"]["evaluation"]
    return {p: evaluation[p]["test"]["accuracy"] for p in ("float32", "int8")}


def keywords(folder: Path) -> dict[str, Any]:
    """Baseline, structured pruning, QAT and distillation of MFCC + 2D-CNN on the keyword set."""
    with Studio(worker=True) as studio:
        api = Api(studio, make_owner(studio, "Keywords"))
        upload(api, folder, "*.wav", "audio/wav")
        impulse = api.call("POST", "/impulses", json={"name": "kws", "spec": KWS_SPEC})
        base_params = KWS_SPEC["learn"][0]["params"]
        baseline = train(api, impulse["id"])
        rows: dict[str, Any] = {"baseline": {"accuracy": _accuracy(baseline)}}

        def optimized(name: str, params: dict[str, Any], **links: Any) -> None:
            run = train(api, impulse["id"], params=params, **links)
            report = run["result"]["optimization"]
            rows[name] = {
                "run_id": run["run"]["id"],
                "accuracy": _accuracy(run),
                "device": report.get("device"),
                "params": run["run"]["metrics"]["params"],
                "report": {k: v for k, v in report.items() if k not in ("device", "links")},
            }

        optimized("structured pruning 0.5", {**base_params, "optimization": {
            "pruning": "structured", "sparsity": 0.5, "fine_tune_epochs": 15}})  # fmt: skip
        optimized("qat", {**base_params, "optimization": {"qat": True, "fine_tune_epochs": 10}})
        optimized(
            "distilled (8, 16)",
            {"conv_filters": [8, 16], "optimization": {"distillation": True}},
            teacher_run_id=baseline["run"]["id"],
        )
        return {"rows": rows, "server_errors": studio.server_errors()}


def motion() -> dict[str, Any]:
    """The BasicMotions impulse trained with today's defaults (early stopping, per-class split)."""
    with Studio(worker=True) as studio:
        api = Api(studio, make_owner(studio, "Motion"))
        upload(api, MOTION_DATA, "*.csv", "text/csv")
        impulse = api.call("POST", "/impulses", json={"name": "motion", "spec": MOTION_SPEC})
        run = train(api, impulse["id"])
        return {"accuracy": _accuracy(run), "epochs": len(run["result"]["epochs"])}


def gunpoint_sets(seeds: list[int]) -> list[dict[str, Any]]:
    """For each generated set: the studio's suggested impulse trained with the default settings
    vs the same model trained with settings chosen by hand."""
    out = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp, Studio(worker=True) as studio:
            gunpoint.write(Path(tmp), train=50, test=150, seed=seed)
            api = Api(studio, make_owner(studio, f"GunPoint {seed}"))
            upload(api, Path(tmp), "*.csv", "text/csv")
            suggested = api.call("GET", "/impulses/input-defaults")["input"]
            accuracies = {}
            for name, params in (("defaults", {}), ("by hand", GUNPOINT_HAND_PARAMS)):
                spec = {
                    "input": suggested,
                    "dsp": [GUNPOINT_DSP],
                    "learn": [{"block": GUNPOINT_MODEL, "params": params}],
                }
                impulse = api.call("POST", "/impulses", json={"name": name, "spec": spec})
                accuracies[name] = _accuracy(train(api, impulse["id"]))["int8"]
            out.append({"seed": seed, "input": suggested, **accuracies})
    return out


def targets(results: dict[str, Any]) -> dict[str, bool]:
    """The issue's targets, each true or false, for the parts that were run."""
    out: dict[str, bool] = {}
    if "keywords" in results:
        rows = results["keywords"]["rows"]
        base = rows["baseline"]["accuracy"]["int8"]
        pruned = rows["structured pruning 0.5"]
        before, after = pruned["device"]["baseline"], pruned["device"]["optimized"]
        mac_cut = 1 - after["macs"] / before["macs"]
        instruction_cut = 1 - after["model_instructions"] / before["model_instructions"]
        out["pruning: >= 40 % fewer MACs"] = mac_cut >= 0.40
        out["pruning: int8 within 2 points"] = pruned["accuracy"]["int8"] >= base - 0.02
        out["pruning: instructions fall at least with the MACs"] = instruction_cut >= mac_cut
        out["QAT int8 >= PTQ int8 (baseline)"] = rows["qat"]["accuracy"]["int8"] >= base
        distilled = rows["distilled (8, 16)"]
        out["distillation: <= 50 % of the parameters"] = (
            distilled["report"]["distillation"]["student_teacher_ratio"] <= 0.5
        )
        out["distillation: int8 within 2 points"] = distilled["accuracy"]["int8"] >= base - 0.02
    if "motion" in results:
        out["BasicMotions defaults: int8 >= 0.95"] = results["motion"]["accuracy"]["int8"] >= 0.95
    if results.get("gunpoint"):
        out["GunPoint-shaped sets: defaults within 2 points of by hand"] = all(
            row["defaults"] >= row["by hand"] - 0.02 for row in results["gunpoint"]
        )
    return out


def print_table(results: dict[str, Any]) -> None:
    if "keywords" in results:
        print("\nKeywords, MFCC + 2D-CNN, on virtual-cortex-m4")
        print(f"{'run':<26}{'int8 test':>10}{'float test':>11}{'MACs':>10}{'RAM B':>9}"
              f"{'flash B':>9}{'model instr':>13}")  # fmt: skip
        rows = results["keywords"]["rows"]
        # Every optimized run measured the baseline's model too.
        measured = [
            r["device"]["baseline"]
            for r in rows.values()
            if (r.get("device") or {}).get("baseline")
        ]
        for name, row in rows.items():
            device = (row.get("device") or {}).get("optimized") or {}
            if name == "baseline" and measured:
                device = measured[0]
            acc = row["accuracy"]
            figures = [device.get(k, "-") for k in ("macs", "ram_bytes", "flash_bytes")]
            print(f"{name:<26}{acc['int8']:>10.4f}{acc['float32']:>11.4f}"
                  f"{figures[0]:>10}{figures[1]:>9}{figures[2]:>9}"
                  f"{device.get('model_instructions', '-'):>13}")  # fmt: skip
    if "motion" in results:
        m = results["motion"]
        print(f"\nBasicMotions with the defaults: int8 test {m['accuracy']['int8']:.4f} "
              f"({m['epochs']} epochs, early stopping)")  # fmt: skip
    for row in results.get("gunpoint", []):
        print(f"GunPoint-shaped set {row['seed']}: defaults {row['defaults']:.4f}, "
              f"by hand {row['by hand']:.4f}, window {row['input']['window_ms']} ms")  # fmt: skip
    print("\nTargets")
    for name, met in results["targets"].items():
        print(f"  {'met ' if met else 'MISS'}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kws", type=Path, help="keyword set made by make-kws-dataset DIR 100")
    parser.add_argument("--gunpoint-seeds", default="1,2,3")
    parser.add_argument("--parts", default="keywords,motion,gunpoint")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/optimize.json")
    args = parser.parse_args()
    parts = args.parts.split(",")
    results: dict[str, Any] = {}
    if args.kws is not None and "keywords" in parts:
        results["keywords"] = keywords(args.kws)
    if "motion" in parts:
        results["motion"] = motion()
    if "gunpoint" in parts:
        results["gunpoint"] = gunpoint_sets([int(s) for s in args.gunpoint_seeds.split(",") if s])
    results["targets"] = targets(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
