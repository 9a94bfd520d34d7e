"""`tinystudio compile`: the model compiler on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from workers.compiler import TfliteFormatError, UnsupportedModelError, compile_model, verify


@click.command("compile")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--prefix", default="ts_model", show_default=True, help="C symbol prefix.")
@click.option(
    "--verify",
    "verify_count",
    type=click.IntRange(min=1),
    default=None,
    help="Compare N random inputs with LiteRT's reference kernels; fail if any output differs.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--report", is_flag=True, help="Print a JSON summary of the compiled model.")
def compile_command(
    model: Path, out_dir: Path, prefix: str, verify_count: int | None, seed: int, report: bool
) -> None:
    """Compile MODEL (an int8 .tflite) into dependency-free C99 in OUT_DIR."""
    tflite_bytes = model.read_bytes()
    try:
        summary = compile_model(tflite_bytes, out_dir, prefix=prefix)
    except (TfliteFormatError, UnsupportedModelError, ValueError) as exc:
        raise click.ClickException(f"{model}: {exc}") from exc
    if report:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(
            f"wrote {', '.join(summary.files)} to {out_dir} "
            f"(arena {summary.arena_bytes} B, lower bound {summary.lower_bound} B, "
            f"weights {summary.weights_bytes} B)",
            err=report,
        )
    if verify_count is not None:
        try:
            result = verify(tflite_bytes, verify_count, seed=seed)
        except (TfliteFormatError, UnsupportedModelError, ValueError) as exc:
            raise click.ClickException(f"{model}: {exc}") from exc
        message = (
            f"verify: {result.differing} of {result.inputs} inputs differ from LiteRT's reference"
        )
        if result.differing:
            where = f"; first differing op: {result.first_differing_op}"
            click.echo(message + (where if result.first_differing_op else ""), err=True)
            sys.exit(1)
        click.echo(message, err=report)
