/** What changed between two versions of an impulse: input settings, blocks added, removed or replaced, parameters. */
import { sameValue, type BlockSpec, type ImpulseSpec, type InputBlock, type Section } from "./impulseDraft";

export type SpecChange =
  | { kind: "input"; property: keyof InputBlock; from: unknown; to: unknown }
  /** `index`: the block's place in the newer version. */
  | { kind: "added"; section: Section; index: number; block: BlockSpec }
  /** `index`: the block's place in the older version. */
  | { kind: "removed"; section: Section; index: number; block: BlockSpec }
  | { kind: "replaced"; section: Section; index: number; from: BlockSpec; to: BlockSpec }
  | { kind: "param"; section: Section; index: number; block: string; property: string; from: unknown; to: unknown };

const INPUT_KEYS: (keyof InputBlock)[] = ["window_ms", "stride_ms", "frequency_hz", "zero_pad", "padding"];

/**
 * Pairs the blocks of two lists that are the same block: as many as possible, preferring blocks
 * whose parameters are equal too (so removing the first of two spectral blocks reads as that).
 */
function alignBlocks(before: BlockSpec[], after: BlockSpec[]): [number, number][] {
  const weight = (a: BlockSpec, b: BlockSpec) => (a.block !== b.block ? 0 : sameValue(a.params, b.params) ? 3 : 2);
  const n = before.length;
  const m = after.length;
  const score: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const w = weight(before[i], after[j]);
      score[i][j] = Math.max(score[i + 1][j], score[i][j + 1], w ? w + score[i + 1][j + 1] : 0);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const w = weight(before[i], after[j]);
    if (w && score[i][j] === w + score[i + 1][j + 1]) {
      pairs.push([i, j]);
      i += 1;
      j += 1;
    } else if (score[i + 1][j] >= score[i][j + 1]) {
      i += 1;
    } else {
      j += 1;
    }
  }
  return pairs;
}

function paramChanges(section: Section, index: number, before: BlockSpec, after: BlockSpec): SpecChange[] {
  const keys = [...Object.keys(before.params), ...Object.keys(after.params).filter((k) => !(k in before.params))];
  return keys
    .filter((k) => !sameValue(before.params[k], after.params[k]))
    .map((property) => ({ kind: "param", section, index, block: after.block, property, from: before.params[property], to: after.params[property] }));
}

function blockChanges(section: Section, before: BlockSpec[], after: BlockSpec[]): SpecChange[] {
  const changes: SpecChange[] = [];
  // Between two paired blocks, what was taken out and put in at the same place reads as a replacement.
  const gap = (i0: number, i1: number, j0: number, j1: number) => {
    const removed = before.slice(i0, i1).map((block, k) => ({ block, index: i0 + k }));
    const added = after.slice(j0, j1).map((block, k) => ({ block, index: j0 + k }));
    const replaced = Math.min(removed.length, added.length);
    for (let k = 0; k < replaced; k++) changes.push({ kind: "replaced", section, index: added[k].index, from: removed[k].block, to: added[k].block });
    for (const r of removed.slice(replaced)) changes.push({ kind: "removed", section, index: r.index, block: r.block });
    for (const a of added.slice(replaced)) changes.push({ kind: "added", section, index: a.index, block: a.block });
  };
  let i = 0;
  let j = 0;
  for (const [pi, pj] of alignBlocks(before, after)) {
    gap(i, pi, j, pj);
    changes.push(...paramChanges(section, pj, before[pi], after[pj]));
    i = pi + 1;
    j = pj + 1;
  }
  gap(i, before.length, j, after.length);
  return changes;
}

/** The changes from `before` to `after`, input first, then processing and learning blocks. */
export function diffSpecs(before: ImpulseSpec, after: ImpulseSpec): SpecChange[] {
  const input: SpecChange[] = INPUT_KEYS.filter((k) => !sameValue(before.input[k], after.input[k])).map((property) => ({
    kind: "input",
    property,
    from: before.input[property],
    to: after.input[property],
  }));
  return [...input, ...blockChanges("dsp", before.dsp, after.dsp), ...blockChanges("learn", before.learn, after.learn)];
}

/** How a parameter value reads in a diff. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "unset";
  // Null settings are the ones the run works out from the data, shown "auto" in the forms too.
  if (value === null) return "auto";
  if (typeof value === "boolean") return value ? "on" : "off";
  if (Array.isArray(value)) return value.length ? value.map((v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))).join(", ") : "none";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Names for blocks and parameters (block titles and schema labels); the raw names when unknown. */
export interface DiffLabels {
  blockTitle: (section: Section, block: string) => string;
  paramLabel: (section: Section, block: string, property: string) => string;
}

export const INPUT_LABELS: Record<keyof InputBlock, string> = {
  window_ms: "Window size (ms)",
  stride_ms: "Window increase (ms)",
  frequency_hz: "Frequency (Hz)",
  zero_pad: "Pad short samples",
  padding: "Padding",
};

export const SECTION_NAMES: Record<Section, string> = { dsp: "Processing block", learn: "Learning block" };

/** One line of a readable diff: where, what, and the values before and after when a value changed. */
export interface ChangeLine {
  where: string;
  what: string;
  from?: string;
  to?: string;
}

export function describeChange(change: SpecChange, labels: DiffLabels): ChangeLine {
  const blockName = (section: Section, index: number, block: string) => `${SECTION_NAMES[section]} ${index + 1} · ${labels.blockTitle(section, block)}`;
  const settings = (section: Section, block: BlockSpec) =>
    Object.entries(block.params)
      .map(([k, v]) => `${labels.paramLabel(section, block.block, k)} ${formatValue(v)}`)
      .join(", ");
  switch (change.kind) {
    case "input":
      return { where: "Input", what: INPUT_LABELS[change.property], from: formatValue(change.from), to: formatValue(change.to) };
    case "added": {
      const with_ = settings(change.section, change.block);
      return { where: blockName(change.section, change.index, change.block.block), what: with_ ? `added (${with_})` : "added" };
    }
    case "removed":
      return { where: blockName(change.section, change.index, change.block.block), what: "removed" };
    case "replaced":
      return {
        where: `${SECTION_NAMES[change.section]} ${change.index + 1}`,
        what: "block",
        from: labels.blockTitle(change.section, change.from.block),
        to: labels.blockTitle(change.section, change.to.block),
      };
    case "param":
      return {
        where: blockName(change.section, change.index, change.block),
        what: labels.paramLabel(change.section, change.block, change.property),
        from: formatValue(change.from),
        to: formatValue(change.to),
      };
  }
}

/** The lines that describe a whole spec (for the first version, which has nothing before it). */
export function summarizeSpec(spec: ImpulseSpec, labels: DiffLabels): ChangeLine[] {
  const input = (Object.keys(INPUT_LABELS) as (keyof InputBlock)[]).map((k) => `${INPUT_LABELS[k]} ${formatValue(spec.input[k])}`).join(", ");
  const blocks = (section: Section) =>
    spec[section].map((b, i) => ({
      where: `${SECTION_NAMES[section]} ${i + 1} · ${labels.blockTitle(section, b.block)}`,
      what: Object.entries(b.params)
        .map(([k, v]) => `${labels.paramLabel(section, b.block, k)} ${formatValue(v)}`)
        .join(", "),
    }));
  return [{ where: "Input", what: input }, ...blocks("dsp"), ...blocks("learn")];
}
