/** The impulse editor's draft and the API's impulse spec, converted both ways, and where a save error belongs. */

export type Section = "dsp" | "learn";

/** What fills a short sample's window: its last value, its mean per axis, or zeros. */
export type Padding = "edge" | "mean" | "zero";
const PADDINGS: Padding[] = ["edge", "mean", "zero"];

export interface InputBlock {
  window_ms: number;
  stride_ms: number;
  frequency_hz: number;
  zero_pad: boolean;
  padding: Padding;
}

export interface BlockSpec {
  block: string;
  params: Record<string, unknown>;
}

/** What the API stores: `{input, dsp: [{block, params}], learn: [{block, params}]}`. */
export interface ImpulseSpec {
  input: InputBlock;
  dsp: BlockSpec[];
  learn: BlockSpec[];
}

/** A block being edited; `id` stays the same while blocks around it are added or removed. */
export interface DraftBlock extends BlockSpec {
  id: number;
}

export interface Draft {
  name: string;
  input: InputBlock;
  dsp: DraftBlock[];
  learn: DraftBlock[];
  nextId: number;
}

/** The API's limits on the number of blocks in each list. */
export const MAX_BLOCKS: Record<Section, number> = { dsp: 8, learn: 4 };

// The server's defaults; a spec stored before padding existed is read as the server reads it.
const DEFAULT_INPUT: InputBlock = { window_ms: 1000, stride_ms: 500, frequency_hz: 100, zero_pad: true, padding: "edge" };

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asBlocks(value: unknown): BlockSpec[] {
  if (!Array.isArray(value)) return [];
  return value.map((b) => {
    const record = asRecord(b);
    return { block: typeof record.block === "string" ? record.block : "", params: { ...asRecord(record.params) } };
  });
}

/** Reads a spec as the API returns it (a loose JSON object) into its typed form. */
export function asSpec(value: unknown): ImpulseSpec {
  const record = asRecord(value);
  const input = asRecord(record.input);
  return {
    input: {
      window_ms: typeof input.window_ms === "number" ? input.window_ms : DEFAULT_INPUT.window_ms,
      stride_ms: typeof input.stride_ms === "number" ? input.stride_ms : DEFAULT_INPUT.stride_ms,
      frequency_hz: typeof input.frequency_hz === "number" ? input.frequency_hz : DEFAULT_INPUT.frequency_hz,
      zero_pad: typeof input.zero_pad === "boolean" ? input.zero_pad : DEFAULT_INPUT.zero_pad,
      padding: PADDINGS.find((p) => p === input.padding) ?? DEFAULT_INPUT.padding,
    },
    dsp: asBlocks(record.dsp),
    learn: asBlocks(record.learn),
  };
}

export function draftFromSpec(name: string, spec: ImpulseSpec): Draft {
  let nextId = 1;
  const withIds = (blocks: BlockSpec[]) => blocks.map((b) => ({ id: nextId++, block: b.block, params: { ...b.params } }));
  const dsp = withIds(spec.dsp);
  const learn = withIds(spec.learn);
  return { name, input: { ...spec.input }, dsp, learn, nextId };
}

export function specFromDraft(draft: Draft): ImpulseSpec {
  const plain = (blocks: DraftBlock[]) => blocks.map((b) => ({ block: b.block, params: { ...b.params } }));
  return { input: { ...draft.input }, dsp: plain(draft.dsp), learn: plain(draft.learn) };
}

/** Appends a block to a list (no more than the API allows). */
export function addBlock(draft: Draft, section: Section, block: BlockSpec): Draft {
  if (draft[section].length >= MAX_BLOCKS[section]) return draft;
  return { ...draft, [section]: [...draft[section], { id: draft.nextId, block: block.block, params: { ...block.params } }], nextId: draft.nextId + 1 };
}

/** Removes a block; the last block of a list stays (an impulse needs one of each). */
export function removeBlock(draft: Draft, section: Section, id: number): Draft {
  if (draft[section].length <= 1) return draft;
  return { ...draft, [section]: draft[section].filter((b) => b.id !== id) };
}

export function updateBlock(draft: Draft, section: Section, id: number, block: BlockSpec): Draft {
  return { ...draft, [section]: draft[section].map((b) => (b.id === id ? { id, block: block.block, params: block.params } : b)) };
}

/** JSON with object keys sorted, so that equal specs give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Where a server error belongs in the editor. */
export interface ErrorPlace {
  section: "input" | Section | null;
  index: number | null;
  /** The form field (a top-level parameter, "block", or an input setting). */
  property: string | null;
  message: string;
}

/**
 * Places an error the API named a field for: "dsp[1].params.fft-length", "learn[0].block",
 * "learn[0].params.augmentation.noise" (a nested setting shows on its top-level field),
 * "input.window_ms". The message loses its "field: " prefix.
 */
export function placeError(field: string | null, message: string): ErrorPlace {
  if (!field) return { section: null, index: null, property: null, message };
  const clean = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
  const block = /^(dsp|learn)\[(\d+)\](?:\.params)?\.(.+)$/.exec(field);
  if (block) {
    const [, section, index, rest] = block;
    const dot = rest.indexOf(".");
    const property = dot >= 0 ? rest.slice(0, dot) : rest;
    const inner = dot >= 0 ? `${rest.slice(dot + 1)}: ${clean}` : clean;
    return { section: section as Section, index: Number(index), property, message: inner };
  }
  const input = /^input\.(.+)$/.exec(field);
  if (input) return { section: "input", index: null, property: input[1], message: clean };
  return { section: null, index: null, property: null, message: clean };
}

/** Errors shown next to fields: by input setting, and by block id then parameter. */
export interface DraftErrors {
  input: Record<string, string>;
  blocks: Record<number, Record<string, string>>;
}

export const NO_ERRORS: DraftErrors = { input: {}, blocks: {} };

/** The field errors of a refused save of `draft` (its blocks found by their place in the spec). */
export function draftErrors(draft: Draft, field: string | null, message: string): DraftErrors {
  const place = placeError(field, message);
  if (place.section === "input" && place.property) return { input: { [place.property]: place.message }, blocks: {} };
  if ((place.section === "dsp" || place.section === "learn") && place.index !== null && place.property) {
    const block = draft[place.section][place.index];
    if (block) return { input: {}, blocks: { [block.id]: { [place.property]: place.message } } };
  }
  return NO_ERRORS;
}

// Flatten often sits next to another processing block; an anomaly block next to a classifier.
const COMPANIONS: Record<Section, string[]> = { dsp: ["flatten", "spectral-analysis"], learn: ["anomaly-kmeans"] };

/** The block an "add" button adds: a usual companion not yet in the list, else the first unused one. */
export function suggestBlock(section: Section, inUse: string[], catalog: string[]): string | null {
  const free = (name: string) => catalog.includes(name) && !inUse.includes(name);
  return COMPANIONS[section].find(free) ?? catalog.find(free) ?? catalog[0] ?? null;
}
