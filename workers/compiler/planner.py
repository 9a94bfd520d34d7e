"""Static memory planner: places a model's activation tensors in one arena from their lifetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Reuse(Enum):
    """How an operator's output may share memory with its first input."""

    NONE = "none"
    # The output is the input's bytes under another shape (RESHAPE, SQUEEZE, EXPAND_DIMS).
    VIEW = "view"
    # The kernel reads element i before writing element i, so the output may overwrite an
    # input that is not needed afterwards (element-wise ops).
    IN_PLACE = "in_place"
    # The kernel writes its output row by row and never again reads input rows above the
    # current window, so the output may start `overlap` bytes before a dying input and
    # overwrite the rows already consumed (convolutions and pooling computed row by row).
    OVERLAP = "overlap"


@dataclass
class PlannedOp:
    """One step of the schedule as the planner sees it: which tensors it reads and writes."""

    inputs: list[int]
    outputs: list[int]
    reuse: Reuse = Reuse.NONE
    # For IN_PLACE and OVERLAP, which inputs the output may overwrite (positions in `inputs`).
    reusable_inputs: tuple[int, ...] = (0,)
    # For OVERLAP: how many bytes before the input's start the output must begin.
    overlap: int = 0


@dataclass
class MemoryPlan:
    """Where each tensor lives in the arena, and how big the arena is."""

    offsets: dict[int, int]
    arena_bytes: int
    lower_bound: int
    lifetimes: dict[int, tuple[int, int]] = field(default_factory=dict)
    shared: dict[int, int] = field(default_factory=dict)  # tensor -> tensor whose bytes it reuses
    strategy: str = ""


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def tensor_lifetimes(
    ops: list[PlannedOp], sizes: dict[int, int], graph_inputs: list[int], graph_outputs: list[int]
) -> dict[int, tuple[int, int]]:
    """First and last step at which each planned tensor must hold its data."""
    last_step = max(len(ops) - 1, 0)
    first: dict[int, int] = {t: 0 for t in graph_inputs if t in sizes}
    last: dict[int, int] = {t: 0 for t in graph_inputs if t in sizes}
    for step, op in enumerate(ops):
        for t in op.outputs:
            if t in sizes:
                first.setdefault(t, step)
                last[t] = max(last.get(t, step), step)
        for t in op.inputs:
            if t in sizes:
                first.setdefault(t, step)
                last[t] = step
    for t in graph_outputs:
        if t in sizes:
            first.setdefault(t, last_step)
            last[t] = last_step
    return {t: (first[t], last[t]) for t in first}


def lower_bound(lifetimes: dict[int, tuple[int, int]], sizes: dict[int, int], steps: int) -> int:
    """The largest total size of tensors alive at one step: no plan without sharing does better."""
    best = 0
    for step in range(max(steps, 1)):
        alive = sum(sizes[t] for t, (a, b) in lifetimes.items() if a <= step <= b)
        best = max(best, alive)
    return best


@dataclass
class _Group:
    """Tensors placed as one block: each member at a fixed offset inside the block."""

    members: dict[int, int]  # tensor -> offset inside the block
    first: int
    last: int
    size: int
    alignment: int


def _share_groups(
    ops: list[PlannedOp],
    sizes: dict[int, int],
    lifetimes: dict[int, tuple[int, int]],
    protected: set[int],
    alignments: dict[int, int],
    overlapping_steps: set[int],
) -> tuple[list[_Group], dict[int, int]]:
    """Merges outputs into their inputs' blocks where the op allows sharing bytes.

    OVERLAP ops share only at the steps listed in `overlapping_steps`.
    """
    group_of: dict[int, _Group] = {}
    for t, (a, b) in lifetimes.items():
        group_of[t] = _Group({t: 0}, a, b, sizes[t], alignments.get(t, 1))
    shared: dict[int, int] = {}
    for step, op in enumerate(ops):
        if op.reuse is Reuse.NONE or len(op.outputs) != 1 or not op.inputs:
            continue
        if op.reuse is Reuse.OVERLAP and step not in overlapping_steps:
            continue
        out = op.outputs[0]
        if out not in lifetimes or len(group_of[out].members) != 1:
            continue
        for position in op.reusable_inputs:
            if position >= len(op.inputs):
                continue
            src = op.inputs[position]
            if src not in lifetimes or src == out:
                continue
            group = group_of[src]
            if op.reuse is Reuse.VIEW:
                if sizes[src] != sizes[out]:
                    continue
                relative = group.members[src]
            else:
                # Overwriting is safe only if nothing reads the source's bytes later, and the
                # caller's inputs and outputs stay intact.
                if group.last != step or any(m in protected for m in group.members):
                    continue
                if op.reuse is Reuse.IN_PLACE:
                    if sizes[src] != sizes[out]:
                        continue
                    relative = group.members[src]
                else:
                    relative = group.members[src] - op.overlap
                    # Keep the saving only if the block beats two separate tensors.
                    low = min(0, relative)
                    extent = max(group.size, relative + sizes[out]) - low
                    if extent >= group.size + sizes[out]:
                        continue
            if relative < 0:
                group.members = {t: off - relative for t, off in group.members.items()}
                group.size -= relative
                relative = 0
            group.members[out] = relative
            group.size = max(group.size, relative + sizes[out])
            group.first = min(group.first, lifetimes[out][0])
            group.last = max(group.last, lifetimes[out][1])
            group.alignment = max(group.alignment, alignments.get(out, 1))
            group_of[out] = group
            shared[out] = src
            break
    unique: dict[int, _Group] = {}
    for group in group_of.values():
        unique[id(group)] = group
    return list(unique.values()), shared


def _place(
    order: list[_Group],
    lifetimes: dict[int, tuple[int, int]],
    sizes: dict[int, int],
    best_fit: bool,
) -> tuple[dict[int, int], int]:
    """Places blocks one by one at the best (or first) offset free for all their members.

    Conflicts are checked member by member, each with its own lifetime, so a block is not
    charged for the whole span of the tensors it chains together.
    """
    placed: list[tuple[int, int, int, int]] = []  # (offset, end, first, last) per tensor
    offsets: dict[int, int] = {}
    for g in order:
        forbidden: list[tuple[int, int]] = []
        for t, rel in g.members.items():
            first, last = lifetimes[t]
            size = sizes[t]
            for start, end, a, b in placed:
                if b < first or last < a or size == 0 or end == start:
                    continue
                # Block offsets X where this member would overlap the placed tensor.
                forbidden.append((start - rel - size + 1, end - rel))
        forbidden.sort()
        merged: list[list[int]] = []
        for lo, hi in forbidden:
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        candidates = [0] + [hi for _, hi in merged]
        chosen = None
        chosen_gap = None
        for candidate in candidates:
            x = _align(max(candidate, 0), g.alignment)
            blocked = False
            gap = None
            for lo, hi in merged:
                if lo <= x < hi:
                    blocked = True
                    break
                if lo > x:
                    gap = lo - x
                    break
            if blocked:
                continue
            if gap is None:
                if chosen is None:
                    chosen = x
                break
            if chosen_gap is None or gap < chosen_gap:
                chosen, chosen_gap = x, gap
                if not best_fit:
                    break
        assert chosen is not None
        offsets[id(g)] = chosen
        for t, rel in g.members.items():
            first, last = lifetimes[t]
            placed.append((chosen + rel, chosen + rel + sizes[t], first, last))
    arena = max((end for _, end, _, _ in placed), default=0)
    return offsets, arena


_ORDERS = {
    "size": lambda g: (-g.size, g.first, min(g.members)),
    "first_use": lambda g: (g.first, -g.size, min(g.members)),
    "area": lambda g: (-g.size * (g.last - g.first + 1), g.first, min(g.members)),
    "long_lived": lambda g: (-(g.last - g.first), -g.size, min(g.members)),
}


def plan_memory(
    ops: list[PlannedOp],
    sizes: dict[int, int],
    graph_inputs: list[int],
    graph_outputs: list[int],
    alignments: dict[int, int] | None = None,
) -> MemoryPlan:
    """Places every tensor of `sizes` in one arena.

    Tensors that may share bytes are merged into blocks first; the blocks are then placed
    greedily (several orders, best-fit and first-fit gaps) and the smallest arena wins.
    """
    alignments = alignments or {}
    lifetimes = tensor_lifetimes(ops, sizes, graph_inputs, graph_outputs)
    bound = lower_bound(lifetimes, sizes, len(ops))
    protected = set(graph_inputs) | set(graph_outputs)

    def attempt(steps: set[int]) -> tuple[int, str, dict[int, int], list[_Group], dict[int, int]]:
        groups, shared = _share_groups(ops, sizes, lifetimes, protected, alignments, steps)
        best: tuple[int, str, dict[int, int]] | None = None
        for name, key in _ORDERS.items():
            for best_fit in (True, False):
                offsets, arena = _place(sorted(groups, key=key), lifetimes, sizes, best_fit)
                if best is None or arena < best[0]:
                    best = (arena, f"{name}/{'best' if best_fit else 'first'}-fit", offsets)
        assert best is not None
        return best[0], best[1], best[2], groups, shared

    # Overlapping a layer with its input saves memory locally but chains blocks together,
    # and the arena only shrinks once every peak step shrinks. Search from both ends: add
    # overlaps one by one (keeping ties), and drop them one by one from "all"; keep the best.
    candidates = [step for step, op in enumerate(ops) if op.reuse is Reuse.OVERLAP]

    def refine(enabled: set[int]) -> tuple[set[int], tuple]:  # type: ignore[type-arg]
        result = attempt(enabled)
        for _ in range(3):
            changed = False
            for step in candidates:
                trial_steps = enabled ^ {step}
                trial = attempt(trial_steps)
                adding = step not in enabled
                if trial[0] < result[0] or (adding and trial[0] == result[0]):
                    enabled, result = trial_steps, trial
                    changed = True
            if not changed:
                break
        return enabled, result

    results = [refine(set())[1]]
    if candidates:
        results.append(refine(set(candidates))[1])
    result = min(results, key=lambda r: r[0])
    arena, label, group_offsets, groups, shared = result
    offsets = {}
    for g in groups:
        for t, rel in g.members.items():
            offsets[t] = group_offsets[id(g)] + rel
    return MemoryPlan(
        offsets=offsets,
        arena_bytes=arena,
        lower_bound=bound,
        lifetimes=lifetimes,
        shared=shared,
        strategy=label,
    )


def check_plan(plan: MemoryPlan, sizes: dict[int, int]) -> None:
    """Raises if two tensors alive at the same step overlap without being meant to share."""
    tensors = sorted(plan.offsets)

    def group(t: int) -> int:
        while t in plan.shared:
            t = plan.shared[t]
        return t

    for i, t in enumerate(tensors):
        a0, b0 = plan.lifetimes[t]
        o0 = plan.offsets[t]
        for u in tensors[i + 1 :]:
            if group(t) == group(u):
                continue
            a1, b1 = plan.lifetimes[u]
            if b0 < a1 or b1 < a0:
                continue
            o1 = plan.offsets[u]
            if o0 < o1 + sizes[u] and o1 < o0 + sizes[t]:
                raise AssertionError(f"tensors {t} and {u} overlap in the arena while both alive")
