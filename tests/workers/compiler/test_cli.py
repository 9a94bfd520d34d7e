"""`tinystudio compile` through its click command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from workers.compiler.cli import compile_command
from workers.compiler.kernel_files import KERNEL_FILES

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"


def test_compile_verify_and_report(tmp_path: Path) -> None:
    model = MODELS_DIR / "str_ww_ref_model.tflite"
    result = CliRunner().invoke(
        compile_command, [str(model), str(tmp_path / "out"), "--verify", "50", "--report"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ops"][0] == "DEPTHWISE_CONV_2D"
    assert report["arena_bytes"] <= report["lower_bound"]
    assert report["tflite_bytes"] == model.stat().st_size
    assert report["weights_bytes"] > 0 and report["macs"] > 0
    assert "verify: 0 of 50 inputs differ" in result.stderr
    assert (tmp_path / "out" / "ts_model.c").exists()


def test_compile_without_options_writes_the_sources(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        compile_command,
        [str(MODELS_DIR / "ad01_int8.tflite"), str(tmp_path), "--prefix", "anomaly"],
    )
    assert result.exit_code == 0, result.output
    assert "arena" in result.output
    assert (tmp_path / "anomaly.h").exists() and (tmp_path / "anomaly.c").exists()


def test_unsupported_model_exits_non_zero(
    tmp_path: Path, keras_to_tflite: Callable[..., bytes]
) -> None:
    from keras import layers

    model = tmp_path / "exp.tflite"
    model.write_bytes(
        keras_to_tflite(
            lambda x: layers.Dense(3)(layers.Flatten()(layers.Activation("exponential")(x))),
            (4, 4, 2),
        )
    )
    result = CliRunner().invoke(compile_command, [str(model), str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "operator 0 EXP (layer" in result.output


def test_not_a_tflite_file_exits_non_zero(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"not a model at all")
    result = CliRunner().invoke(compile_command, [str(bogus), str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "TFL3" in result.output


def test_prefixes_and_folders_it_cannot_write_are_refused(tmp_path: Path) -> None:
    model = str(MODELS_DIR / "ad01_int8.tflite")
    runner = CliRunner()
    clash = runner.invoke(compile_command, [model, str(tmp_path / "a"), "--prefix", "ts_kernels"])
    assert clash.exit_code == 1
    assert "prefix 'ts_kernels' would overwrite the kernel file ts_kernels.h" in clash.output
    assert not (tmp_path / "a").exists()
    for name in KERNEL_FILES:
        prefix = name.rsplit(".", 1)[0]
        refused = runner.invoke(compile_command, [model, str(tmp_path / "k"), "--prefix", prefix])
        assert refused.exit_code == 1 and f"overwrite the kernel file {name};" in refused.output
    not_c = runner.invoke(compile_command, [model, str(tmp_path / "b"), "--prefix", "model-1"])
    assert not_c.exit_code == 1 and "is not a C identifier" in not_c.output
    a_file = tmp_path / "file"
    a_file.write_text("in the way")
    blocked = runner.invoke(compile_command, [model, str(a_file / "out")])
    assert blocked.exit_code == 1
    assert f"cannot write the C sources to {a_file / 'out'}: Not a directory" in blocked.output
    assert "Traceback" not in blocked.output


def test_the_readme_lists_the_supported_operators() -> None:
    """The README's table is the one generated from the op table (`python -m
    workers.compiler.readme_table` rewrites it)."""
    from workers.compiler.op_table import INT16_HANDLERS, supported_ops
    from workers.compiler.readme_table import README, readme_table

    block = README.read_text().split("<!-- supported-ops -->\n")[1].split("<!-- /supported-ops")[0]
    assert block == readme_table()
    for name in supported_ops():
        assert f"| {name} |" in block
    assert "| FULLY_CONNECTED | yes | yes |" in block and len(INT16_HANDLERS) > 10


def test_a_cut_model_is_refused_by_name(tmp_path: Path) -> None:
    cut = tmp_path / "cut.tflite"
    cut.write_bytes((MODELS_DIR / "kws_ref_model.tflite").read_bytes()[:3000])
    result = CliRunner().invoke(compile_command, [str(cut), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "the file is cut short or damaged (3000 bytes): it points past its end" in result.output
    assert "Traceback" not in result.output
