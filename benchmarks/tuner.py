"""Tuner benchmark through the HTTP API of a real studio: best fitting accuracy under device
budgets against the default impulse and against a seeded random search, the measured figures of
the winner against its deployed firmware, the wall time with one and two workers, and a trial's
overhead over its own training.

Usage: python -m benchmarks.tuner [--trials N] [--kws DIR] [--datasets motion,kws]
                                  [--samplers tpe,random] [--seeds 1,2,3] [--parallel N]
                                  [--scaling-trials N] [--json PATH]
--kws DIR is a keyword set made by `make-kws-dataset DIR 100`. Prints a table and writes JSON
(default benchmarks/results/tuner.json). Each sampler runs once per seed: one run's best is
one draw, and TPE against random is compared on the mean over the seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.live import Owner, Studio, make_owner

ROOT = Path(__file__).resolve().parents[1]
MOTION_DATA = ROOT / "backend" / "datasets" / "demo_data" / "basic-motions"
BOARD = "virtual-cortex-m4"
UPLOAD_BATCH = 50


@dataclass(frozen=True)
class Case:
    """A dataset, the impulse a user starts from, and the budgets the tuner must meet."""

    name: str
    data: Path
    pattern: str
    media_type: str
    default_impulse: dict[str, Any]
    budgets: dict[str, float]
    target: str
    extra: dict[str, Any] = field(default_factory=dict)


MOTION = Case(
    name="BasicMotions",
    data=MOTION_DATA,
    pattern="*.csv",
    media_type="text/csv",
    # The impulse of the pipeline benchmark and the studio's examples: 2 s windows every 200 ms.
    default_impulse={
        "input": {"window_ms": 2000, "stride_ms": 200, "frequency_hz": 10, "zero_pad": True},
        "dsp": [{"block": "spectral-analysis", "params": {}}],
        "learn": [{"block": "classifier-conv1d", "params": {}}],
    },
    budgets={"ram_bytes": 8 * 1024, "flash_bytes": 32 * 1024, "latency_ms": 2.0},
    target="best fitting int8 test accuracy >= the default impulse's",
)
KWS = Case(
    name="Keywords",
    data=Path(),
    pattern="*.wav",
    media_type="audio/wav",
    default_impulse={
        "input": {"window_ms": 1000, "stride_ms": 500, "frequency_hz": 16000, "zero_pad": True},
        "dsp": [{"block": "mfcc", "params": {}}],
        "learn": [{"block": "classifier-conv2d", "params": {}}],
    },
    budgets={"ram_bytes": 16 * 1024, "flash_bytes": 64 * 1024},
    target="best fitting int8 test accuracy >= 0.95",
)


class Api:
    """The owner's view of one project over HTTP."""

    def __init__(self, studio: Studio, owner: Owner) -> None:
        self.studio = studio
        self.owner = owner
        self.base = f"/api/projects/{owner.project_id}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.studio.http.request(
            method, self.base + path, headers=self.owner.headers, **kwargs
        )
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else None

    def wait_job(self, job_id: int, timeout: float = 3600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call("GET", f"/jobs/{job_id}")
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job  # type: ignore[no-any-return]
            time.sleep(0.5)
        raise RuntimeError(f"job {job_id} did not finish within {timeout} s")


def upload(api: Api, case: Case) -> int:
    """Uploads the case's training and testing files as a user would; returns the count."""
    count = 0
    for category in ("training", "testing"):
        paths = sorted((case.data / category).glob(case.pattern))
        for start in range(0, len(paths), UPLOAD_BATCH):
            files = [
                ("files", (p.name, p.read_bytes(), case.media_type))
                for p in paths[start : start + UPLOAD_BATCH]
            ]
            api.call("POST", "/samples/upload", files=files, data={"category": category})
            count += len(files)
    return count


def train_default(api: Api, case: Case) -> dict[str, Any]:
    """Trains the default impulse; its int8 test accuracy is the bar the tuner must clear."""
    impulse = api.call("POST", "/impulses", json={"name": case.name, "spec": case.default_impulse})
    run = api.call("POST", f"/impulses/{impulse['id']}/train", json={})
    job = api.wait_job(run["job_id"])
    if job["status"] != "succeeded":
        raise RuntimeError(f"the default impulse did not train: {job.get('error')}")
    evaluation = api.call("GET", f"/training-runs/{run['id']}")["metrics"]["evaluation"]
    return {
        "impulse_id": impulse["id"],
        "run_id": run["id"],
        "int8_test_accuracy": evaluation["int8"]["test"]["accuracy"],
        "float32_test_accuracy": evaluation["float32"]["test"]["accuracy"],
        "seconds": job["timings"].get("run_s"),
    }


def tune(
    api: Api,
    case: Case,
    *,
    sampler: str,
    trials: int,
    impulse_id: int,
    seed: int = 1,
    parallel: int | None = None,
) -> dict[str, Any]:
    """One tuner run to its end; its summary and trials."""
    run = api.call(
        "POST",
        "/tuner-runs",
        json={
            "board_id": BOARD,
            "budgets": case.budgets,
            "max_trials": trials,
            # Without parallel_trials: as many trials at once as the workers take.
            "parallel_trials": parallel,
            "sampler": sampler,
            "seed": seed,
            "impulse_id": impulse_id,
        },  # fmt: skip
    )
    while run["status"] == "running":
        time.sleep(2)
        run = api.call("GET", f"/tuner-runs/{run['id']}")
    # The run's own start and end: polling every 2 s would round the wall time to 2 s.
    wall = (
        datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["created_at"])
    ).total_seconds()
    best = next((t for t in run["trials"] if t["best"]), None)
    return {
        "run_id": run["id"],
        "sampler": sampler,
        "seed": seed,
        "status": run["status"],
        "result_note": run.get("result_note"),
        "wall_s": round(wall, 1),
        "trials": len(run["trials"]),
        "by_status": _count(t["status"] for t in run["trials"]),
        "fitting": sum(1 for t in run["trials"] if t["fits"]),
        "best": _trial_summary(best) if best else None,
        "overhead": _overhead(run["trials"]),
    }


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _trial_summary(trial: dict[str, Any]) -> dict[str, Any]:
    return {
        "trial_id": trial["id"],
        "number": trial["number"],
        "dsp": trial["spec"]["dsp"][0]["block"],
        "learn": trial["spec"]["learn"][0]["block"],
        "window_ms": trial["spec"]["input"]["window_ms"],
        "accuracy": trial["accuracy"],
        "ram_bytes": trial["ram_bytes"],
        "flash_bytes": trial["flash_bytes"],
        "latency_ms": trial["latency_ms"],
    }


def _overhead(trials: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Share of a trial's time spent outside its own training (features, convert, evaluate,
    build, measure), over the trials that were measured."""
    shares = []
    stages: dict[str, list[float]] = {}
    for trial in trials:
        timings = trial.get("timings") or {}
        total, train = timings.get("total_s"), timings.get("train_s")
        if trial["status"] == "succeeded" and total and train is not None:
            shares.append((total - train) / total)
            for stage, seconds in timings.items():
                stages.setdefault(stage, []).append(seconds)
    if not shares:
        return None
    return {
        "trials": len(shares),
        "median": round(statistics.median(shares), 3),
        "mean": round(statistics.fmean(shares), 3),
        "max": round(max(shares), 3),
        # Where a measured trial's time goes: the median seconds of each stage.
        "median_stage_s": {k: round(statistics.median(v), 3) for k, v in sorted(stages.items())},
    }


def check_winner(api: Api, winner: dict[str, Any], tuner_run_id: int) -> dict[str, Any]:
    """Applies the winner and deploys it as firmware: the deployment's measured figures must be
    the trial's."""
    applied = api.call(
        "POST", f"/tuner-runs/{tuner_run_id}/trials/{winner['trial_id']}/apply", json={}
    )
    deployment = api.call(
        "POST",
        f"/training-runs/{applied['training_run_id']}/deployments",
        json={"target": "firmware", "board_id": BOARD},
    )
    job = api.wait_job(deployment["job_id"])
    if job["status"] != "succeeded":
        raise RuntimeError(f"the winner did not deploy: {job.get('error')}")
    figures = api.call("GET", f"/deployments/{deployment['id']}")["figures"]
    deployed = {
        "ram_bytes": figures["ram"]["impulse_bytes"],
        "flash_bytes": figures["flash"]["impulse_bytes"],
        "latency_ms": round(figures["latency"]["ms"], 4),
    }
    return {
        "deployment_id": deployment["id"],
        "deployed": deployed,
        "tuner": {k: winner[k] for k in ("ram_bytes", "flash_bytes", "latency_ms")},
        "ram_equal": deployed["ram_bytes"] == winner["ram_bytes"],
        "flash_equal": deployed["flash_bytes"] == winner["flash_bytes"],
    }


def _best_int8_test(run: dict[str, Any]) -> float | None:
    return run["best"]["accuracy"]["int8_test"] if run["best"] else None


def _sampler_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A sampler's runs over the seeds; a seed with no fitting trial counts as 0."""
    bests = [_best_int8_test(run) or 0.0 for run in runs]
    return {"runs": runs, "best_int8_test": bests, "mean_best_int8_test": statistics.fmean(bests)}


def run_case(
    case: Case,
    *,
    samplers: list[str],
    trials: int,
    seeds: list[int],
    parallel: int | None = None,
) -> dict[str, Any]:
    with Studio(worker=True, env={"TINYSTUDIO_WORKER_CONCURRENCY": "2"}) as studio:
        api = Api(studio, make_owner(studio, case.name))
        files = upload(api, case)
        default = train_default(api, case)
        by_sampler = {
            sampler: _sampler_summary(
                [
                    tune(
                        api,
                        case,
                        sampler=sampler,
                        trials=trials,
                        impulse_id=default["impulse_id"],
                        seed=seed,
                        parallel=parallel,
                    )
                    for seed in seeds
                ]
            )
            for sampler in samplers
        }
        # The first seed's TPE winner is deployed: its figures must be the firmware's.
        tpe = by_sampler["tpe"]["runs"][0] if "tpe" in by_sampler else None
        winner_check = (
            check_winner(api, tpe["best"], tpe["run_id"]) if tpe and tpe["best"] else None
        )
        return {
            "case": case.name,
            "files": files,
            "budgets": case.budgets,
            "target": case.target,
            "default": default,
            "samplers": by_sampler,
            "winner_check": winner_check,
            "server_errors": studio.server_errors(),
        }


# Worker processes on one machine share its cores; with one thread each (TensorFlow, BLAS) a
# worker process stands for a one-core host, as two workers on two such hosts would run.
ONE_CORE = {"TINYSTUDIO_TRAINING_THREADS": "1", "OMP_NUM_THREADS": "1"}


def scaling(case: Case, trials: int) -> dict[str, Any]:
    """The same tuner run with one worker process and with two: sharing this machine's cores,
    and with each worker process held to one core (one host each)."""
    out: dict[str, Any] = {"trials": trials}
    for name, extra in (("shared cores", {}), ("one core per worker", ONE_CORE)):
        walls: dict[str, float] = {}
        for workers in (1, 2):
            env = {"TINYSTUDIO_WORKER_CONCURRENCY": str(workers), **extra}
            with Studio(worker=True, env=env) as studio:
                api = Api(studio, make_owner(studio, f"{case.name} x{workers}"))
                upload(api, case)
                impulse = api.call(
                    "POST", "/impulses", json={"name": case.name, "spec": case.default_impulse}
                )
                walls[str(workers)] = tune(
                    api, case, sampler="random", trials=trials, impulse_id=impulse["id"]
                )["wall_s"]
        out[name] = {"wall_s": walls, "ratio": round(walls["2"] / walls["1"], 3)}
    return out


def _accuracy(run: dict[str, Any]) -> str:
    if not run["best"]:
        return "no fit"
    acc = run["best"]["accuracy"]
    return f"{acc['int8_test']:.4f} (val {acc['int8_validation']:.4f})"


def print_table(results: dict[str, Any]) -> None:
    print(f"\nTuner on {BOARD}, {results['trials']} trials per run, seeds {results['seeds']}\n")
    head = f"{'dataset':<13} {'default int8':>12} {'tpe mean best int8 test':>24} "
    print(head + f"{'random mean best int8 test':>27} {'winner = deployed':>18}")
    for case in results["cases"]:
        means = {k: v["mean_best_int8_test"] for k, v in case["samplers"].items()}
        check = case["winner_check"]
        same = "-"
        if check:
            same = "yes" if check["ram_equal"] and check["flash_equal"] else "NO"
        print(
            f"{case['case']:<13} {case['default']['int8_test_accuracy']:>12.4f} "
            f"{means.get('tpe', float('nan')):>24.4f} {means.get('random', float('nan')):>27.4f} "
            f"{same:>18}"
        )
        for sampler, summary in case["samplers"].items():
            for run in summary["runs"]:
                overhead = run["overhead"]
                print(
                    f"  {sampler:<7} seed {run['seed']}  best {_accuracy(run)}  "
                    f"fit {run['fitting']}/{run['trials']}  wall {run['wall_s']:>7.1f} s  "
                    f"overhead median {overhead['median'] if overhead else '-'}"
                )
                print(f"          trials {run['by_status']}  note: {run['result_note'] or '-'}")
                if overhead:
                    print(f"          median stage seconds: {overhead['median_stage_s']}")
    if results.get("scaling"):
        s = results["scaling"]
        print(f"\nwall time, {s['trials']} trials, 1 and 2 worker processes (target: ratio <= 0.6)")
        for name in ("shared cores", "one core per worker"):
            row = s[name]
            print(
                f"  {name:<20} 1 worker {row['wall_s']['1']} s, 2 workers "
                f"{row['wall_s']['2']} s, ratio {row['ratio']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--kws", type=Path, help="keyword set made by make-kws-dataset DIR 100")
    parser.add_argument("--datasets", default="motion,kws")
    parser.add_argument("--samplers", default="tpe,random")
    parser.add_argument("--seeds", default="1,2,3", help="one run per sampler and seed")
    parser.add_argument(
        "--parallel", type=int, help="parallel_trials (default: as many as the workers take)"
    )
    parser.add_argument("--scaling-trials", type=int, default=16, help="0 skips the scaling run")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/tuner.json")
    args = parser.parse_args()
    cases = []
    wanted = args.datasets.split(",")
    if "motion" in wanted:
        cases.append(MOTION)
    if "kws" in wanted:
        if args.kws is None:
            parser.error("--kws DIR is needed for the keyword set (make-kws-dataset DIR 100)")
        cases.append(Case(**{**KWS.__dict__, "data": args.kws}))
    seeds = [int(seed) for seed in args.seeds.split(",")]
    results: dict[str, Any] = {"board": BOARD, "trials": args.trials, "seeds": seeds, "cases": []}
    for case in cases:
        results["cases"].append(
            run_case(
                case,
                samplers=args.samplers.split(","),
                trials=args.trials,
                seeds=seeds,
                parallel=args.parallel,
            )
        )
    if args.scaling_trials:
        results["scaling"] = scaling(MOTION, args.scaling_trials)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
