"""The C kernel files every compiled model is built with: the one list that the compiler's
output, its host and Cortex-M builds and the tests take them from."""

from __future__ import annotations

import shutil
from pathlib import Path

KERNEL_DIR = Path(__file__).parent / "kernels"
# The public header a model's C includes, and the one the kernel files share.
KERNEL_HEADERS = ("ts_kernels.h", "ts_kernels_internal.h")
KERNEL_SOURCES = (
    "ts_kernels_conv.c",
    "ts_kernels_conv_gather.c",
    "ts_kernels_depthwise.c",
    "ts_kernels_fc_pool.c",
    "ts_kernels_math.c",
    "ts_kernels_data.c",
    "ts_kernels_int16.c",
)
KERNEL_FILES = KERNEL_HEADERS + KERNEL_SOURCES


def kernel_sources(directory: Path = KERNEL_DIR) -> list[Path]:
    """The kernel C files to compile with a model, in `directory`: the compiler's own, or a
    folder the kernels were copied to."""
    return [directory / name for name in KERNEL_SOURCES]


def copy_kernels(out_dir: Path) -> list[Path]:
    """Copies every kernel header and source into `out_dir`; returns the copies."""
    copies = []
    for name in KERNEL_FILES:
        copies.append(Path(shutil.copyfile(KERNEL_DIR / name, out_dir / name)))
    return copies
