"""The memory planner: lifetimes, the lower bound, and placements that never collide."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from workers.compiler.codegen import generate
from workers.compiler.planner import (
    PlannedOp,
    Reuse,
    check_plan,
    lower_bound,
    plan_memory,
    tensor_lifetimes,
)
from workers.compiler.tflite_reader import read_model

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
MLPERF_TINY_MODELS = (
    "ad01_int8",
    "kws_ref_model",
    "pretrainedResnet_quant",
    "str_ww_ref_model",
    "vww_96_int8",
)


def _chain(sizes: list[int]) -> tuple[list[PlannedOp], dict[int, int]]:
    """A linear model: tensor i feeds op i, which writes tensor i + 1."""
    ops = [PlannedOp(inputs=[i], outputs=[i + 1]) for i in range(len(sizes) - 1)]
    return ops, dict(enumerate(sizes))


def test_lifetimes_run_from_producer_to_last_consumer() -> None:
    ops = [
        PlannedOp(inputs=[0], outputs=[1]),
        PlannedOp(inputs=[1], outputs=[2]),
        PlannedOp(inputs=[1, 2], outputs=[3]),
    ]
    sizes = {0: 10, 1: 20, 2: 30, 3: 40}
    lifetimes = tensor_lifetimes(ops, sizes, graph_inputs=[0], graph_outputs=[3])
    assert lifetimes == {0: (0, 0), 1: (0, 2), 2: (1, 2), 3: (2, 2)}
    # Step 2 holds tensors 1, 2 and 3 at once.
    assert lower_bound(lifetimes, sizes, steps=3) == 90


def test_chain_reaches_the_lower_bound() -> None:
    ops, sizes = _chain([100, 300, 200, 400, 50])
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[4])
    assert plan.lower_bound == 600
    assert plan.arena_bytes == plan.lower_bound
    check_plan(plan, sizes)


def test_skip_connection_keeps_its_tensor_alive() -> None:
    # 0 -> a -> b -> c, and add(a, c): a must survive steps 1 and 2.
    ops = [
        PlannedOp(inputs=[0], outputs=[1]),
        PlannedOp(inputs=[1], outputs=[2]),
        PlannedOp(inputs=[2], outputs=[3]),
        PlannedOp(inputs=[1, 3], outputs=[4]),
    ]
    sizes = {0: 64, 1: 64, 2: 128, 3: 64, 4: 64}
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[4])
    check_plan(plan, sizes)
    assert plan.lower_bound == 256
    assert plan.arena_bytes <= plan.lower_bound


def test_view_shares_the_input_bytes() -> None:
    ops = [
        PlannedOp(inputs=[0], outputs=[1]),
        PlannedOp(inputs=[1], outputs=[2], reuse=Reuse.VIEW),
        PlannedOp(inputs=[2], outputs=[3]),
    ]
    sizes = {0: 10, 1: 100, 2: 100, 3: 10}
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[3])
    assert plan.offsets[1] == plan.offsets[2]
    assert plan.shared[2] == 1
    # The bound counts the view as a second tensor; sharing gets below it.
    assert plan.lower_bound == 200
    assert plan.arena_bytes == 110


def test_in_place_only_overwrites_a_dying_input() -> None:
    # Element-wise op 1 reads tensor 1, which op 2 still needs: no overwrite allowed.
    ops = [
        PlannedOp(inputs=[0], outputs=[1]),
        PlannedOp(inputs=[1], outputs=[2], reuse=Reuse.IN_PLACE),
        PlannedOp(inputs=[1, 2], outputs=[3]),
    ]
    sizes = {0: 5, 1: 50, 2: 50, 3: 5}
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[3])
    assert 2 not in plan.shared
    check_plan(plan, sizes)

    ops[2] = PlannedOp(inputs=[2], outputs=[3])
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[3])
    assert plan.shared[2] == 1
    assert plan.offsets[1] == plan.offsets[2]
    assert plan.lower_bound == 100
    assert plan.arena_bytes == 55


def test_in_place_never_overwrites_the_graph_input() -> None:
    ops = [PlannedOp(inputs=[0], outputs=[1], reuse=Reuse.IN_PLACE)]
    sizes = {0: 32, 1: 32}
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[1])
    assert plan.offsets[0] != plan.offsets[1]
    assert plan.arena_bytes == 64


def test_row_overlap_puts_the_output_below_a_dying_input() -> None:
    # A 1x1 convolution on 4 rows of 16 bytes writing rows of 32 bytes: row r of the output
    # ends before input row r starts once the output begins 32 + 3 * 16 = 80 bytes earlier.
    ops = [
        PlannedOp(inputs=[0], outputs=[1]),
        PlannedOp(inputs=[1], outputs=[2], reuse=Reuse.OVERLAP, overlap=80),
        PlannedOp(inputs=[2], outputs=[3]),
    ]
    sizes = {0: 64, 1: 64, 2: 128, 3: 8}
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[3])
    assert plan.offsets[1] - plan.offsets[2] == 80
    assert plan.lower_bound == 192
    assert plan.arena_bytes == 144
    check_plan(plan, sizes)


def test_alignment_is_respected() -> None:
    ops, sizes = _chain([3, 5, 7, 4])
    plan = plan_memory(ops, sizes, [0], [3], alignments={1: 4, 2: 4, 3: 4})
    for t in (1, 2, 3):
        assert plan.offsets[t] % 4 == 0
    check_plan(plan, sizes)


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_never_overlap_live_tensors(seed: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(3, 25)
    sizes = {0: rng.randint(1, 500)}
    ops = []
    for i in range(count):
        # Each op reads one or two earlier tensors.
        inputs = sorted({rng.randint(max(0, i - 4), i), i})
        reuse = rng.choice([Reuse.NONE, Reuse.NONE, Reuse.VIEW, Reuse.IN_PLACE, Reuse.OVERLAP])
        size = sizes[i] if reuse in (Reuse.VIEW, Reuse.IN_PLACE) else rng.randint(1, 500)
        sizes[i + 1] = size
        ops.append(
            PlannedOp(
                inputs=inputs[::-1] if inputs[-1] == i else inputs,
                outputs=[i + 1],
                reuse=reuse,
                overlap=rng.randint(0, 600),
            )
        )
    plan = plan_memory(ops, sizes, graph_inputs=[0], graph_outputs=[count])
    check_plan(plan, sizes)
    assert plan.arena_bytes >= max(sizes.values())


@pytest.mark.parametrize("name", MLPERF_TINY_MODELS)
def test_mlperf_tiny_arena_is_at_most_the_lower_bound(name: str) -> None:
    model = read_model((MODELS_DIR / f"{name}.tflite").read_bytes())
    generated = generate(model)
    sizes = {t.index: t.nbytes for t in model.tensors if not t.is_constant}
    check_plan(generated.plan, sizes)
    assert 0 < generated.arena_bytes <= generated.lower_bound
