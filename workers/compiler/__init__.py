"""The TinyStudio model compiler: int8 TFLite to dependency-free C99 with a static arena."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from workers.compiler.codegen import UnsupportedModelError, generate, write_sources
from workers.compiler.kernel_files import KERNEL_FILES
from workers.compiler.tflite_reader import TfliteFormatError, read_model
from workers.compiler.verify import VerifyResult
from workers.compiler.verify import verify as _verify

__all__ = [
    "CompileReport",
    "TfliteFormatError",
    "UnsupportedModelError",
    "VerifyResult",
    "compile_model",
    "verify",
]


@dataclass
class CompileReport:
    """What the compiler produced for one model: the figures the studio shows and stores."""

    ops: list[str]
    arena_bytes: int
    lower_bound: int
    weights_bytes: int
    macs: int
    tflite_bytes: int
    files: list[str] = field(default_factory=list)
    planner_strategy: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary of the report."""
        return asdict(self)


def compile_model(tflite_bytes: bytes, out_dir: Path, prefix: str = "ts_model") -> CompileReport:
    """Compiles an int8 `.tflite` into `<prefix>.h`, `<prefix>.c` and the kernels in `out_dir`."""
    if not prefix.isidentifier() or not prefix.isascii():
        raise ValueError(f"prefix {prefix!r} is not a C identifier")
    clash = sorted({f"{prefix}.c", f"{prefix}.h"} & set(KERNEL_FILES))
    if clash:
        raise ValueError(
            f"prefix {prefix!r} would overwrite the kernel file {', '.join(clash)}; choose another"
        )
    model = read_model(tflite_bytes)
    generated = generate(model, prefix)
    try:
        written = write_sources(generated, Path(out_dir))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValueError(f"cannot write the C sources to {out_dir}: {reason}") from None
    return CompileReport(
        ops=generated.ops,
        arena_bytes=generated.arena_bytes,
        lower_bound=generated.lower_bound,
        weights_bytes=generated.weights_bytes,
        macs=generated.macs,
        tflite_bytes=len(tflite_bytes),
        files=[p.name for p in written],
        planner_strategy=generated.plan.strategy,
    )


def verify(
    tflite_bytes: bytes,
    n: int = 100,
    seed: int = 0,
    real_inputs: list[np.ndarray] | None = None,
) -> VerifyResult:
    """Runs `n` random inputs (and any `real_inputs`, one array of samples per model input)
    through the generated C (host gcc) and LiteRT's reference kernels; counts differing outputs."""
    return _verify(tflite_bytes, n, seed=seed, real_inputs=real_inputs)
