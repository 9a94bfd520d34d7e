import { describe, expect, it } from "vitest";
import { draftFromSpec } from "./impulseDraft";
import { draftProblems, impulseErrorInWords } from "./impulseProblems";
import type { JsonSchema } from "./schemaForm";

const INPUT: JsonSchema = { type: "object", properties: { window_ms: { type: "number", title: "Window size", exclusiveMinimum: 0, default: 1000 } } };
const SCHEMAS: Record<string, JsonSchema> = {
  raw: { type: "object", properties: { scale: { type: "number", title: "Scale axes", minimum: 0.001, default: 1 } } },
  dense: { type: "object", properties: { epochs: { type: "integer", title: "Training cycles", minimum: 1, maximum: 2000, default: 30 } } },
};
const schemas = { input: INPUT, block: (_: string, name: string) => SCHEMAS[name] };
const input = { window_ms: 1000, stride_ms: 500, frequency_hz: 10, zero_pad: true, padding: "zero" as const };

describe("draftProblems", () => {
  it("finds nothing in a draft that can be saved", () => {
    expect(
      draftProblems(draftFromSpec("Motion", { input, dsp: [{ block: "raw", params: {} }], learn: [{ block: "dense", params: { epochs: 12 } }] }), schemas),
    ).toEqual([]);
  });

  it("names the setting, and the block when there are several", () => {
    const draft = draftFromSpec(" ", {
      input: { ...input, window_ms: 0 },
      dsp: [
        { block: "raw", params: {} },
        { block: "raw", params: { scale: 0 } },
      ],
      learn: [{ block: "dense", params: { epochs: 5000 } }],
    });
    expect(draftProblems(draft, schemas)).toEqual([
      "The impulse needs a name",
      "Window size must be more than 0",
      "Processing block 2: Scale axes must be at least 0.001",
      "Training cycles must be at most 2000",
    ]);
  });
});

describe("impulseErrorInWords", () => {
  const draft = draftFromSpec("Motion", {
    input,
    dsp: [
      { block: "raw", params: {} },
      { block: "raw", params: {} },
    ],
    learn: [{ block: "dense", params: {} }],
  });
  it("names the block and the setting instead of the server's path", () => {
    expect(impulseErrorInWords(draft, "dsp[1].params.scale", "dsp[1].params.scale: must be below 10", schemas)).toBe(
      "Processing block 2 · Scale axes: must be below 10",
    );
    expect(impulseErrorInWords(draft, "learn[0].block", "learn[0].block: unknown block", schemas)).toBe("Learning block 1: unknown block");
    expect(impulseErrorInWords(draft, "input.window_ms", "input.window_ms: too long for the samples", schemas)).toBe("Window size: too long for the samples");
    expect(impulseErrorInWords(draft, null, "the impulse changed since", schemas)).toBe("the impulse changed since");
  });
});
