import { describe, expect, it } from "vitest";
import { checkField, defaultsFromSchema, fieldsFromSchema, formatInput, formProblems, messageInWords, parseInput, type JsonSchema } from "./schemaForm";

// Shaped like a pydantic model's schema: titles, defaults, bounds, enums, nullable fields.
const spectral: JsonSchema = {
  type: "object",
  properties: {
    fft_length: { type: "integer", title: "FFT length", default: 16, enum: [16, 32, 64, 128] },
    scale_axes: { type: "number", default: 1, exclusiveMinimum: 0, maximum: 100 },
    filter_type: { type: "string", enum: ["none", "low", "high"], default: "low" },
    filter_cutoff: { anyOf: [{ type: "number", minimum: 0 }, { type: "null" }], default: null, description: "Hz" },
    do_log: { type: "boolean", default: true },
    learning_rate: { type: "number", minimum: 0.00001, maximum: 1, default: 0.005 },
    epochs: { type: "integer", minimum: 1, maximum: 1000 },
    dense_layers: { type: "array", items: { type: "integer" }, default: [20, 10] },
    mode: { $ref: "#/$defs/Mode", default: "fast" },
  },
  required: ["epochs"],
  $defs: { Mode: { type: "string", enum: ["fast", "exact"] } },
};

describe("fieldsFromSchema", () => {
  const fields = fieldsFromSchema(spectral);
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
  it("maps JSON schema types to inputs", () => {
    expect(byName.fft_length.kind).toBe("enum");
    expect(byName.scale_axes.kind).toBe("number");
    expect(byName.do_log.kind).toBe("boolean");
    expect(byName.epochs.kind).toBe("integer");
    expect(byName.dense_layers.kind).toBe("number-list");
    expect(byName.mode.kind).toBe("enum");
    expect(byName.mode.options).toEqual(["fast", "exact"]);
  });
  it("keeps titles, bounds and nullability", () => {
    expect(byName.fft_length.label).toBe("FFT length");
    expect(byName.learning_rate.label).toBe("Learning rate");
    expect(byName.filter_cutoff).toMatchObject({ kind: "number", nullable: true, minimum: 0, description: "Hz" });
    expect(byName.epochs.required).toBe(true);
  });
  it("collects defaults", () => {
    expect(defaultsFromSchema(spectral)).toEqual({
      fft_length: 16,
      scale_axes: 1,
      filter_type: "low",
      filter_cutoff: null,
      do_log: true,
      learning_rate: 0.005,
      dense_layers: [20, 10],
      mode: "fast",
    });
  });
  it("checks values like the server", () => {
    expect(checkField(byName.epochs, undefined)).toBe("needs a value");
    expect(checkField(byName.epochs, 0)).toBe("must be at least 1");
    expect(checkField(byName.epochs, 2.5)).toBe("must be a whole number");
    expect(checkField(byName.scale_axes, 0)).toBe("must be more than 0");
    expect(checkField(byName.learning_rate, 2)).toBe("must be at most 1");
    expect(checkField(byName.filter_type, "band")).toMatch(/one of none, low, high/);
    expect(checkField(byName.filter_cutoff, null)).toBeNull();
    expect(checkField(byName.epochs, 30)).toBeNull();
  });
  it("parses and formats inputs", () => {
    expect(parseInput(byName.epochs, "30")).toBe(30);
    expect(parseInput(byName.filter_cutoff, "")).toBeNull();
    expect(parseInput(byName.fft_length, "64")).toBe(64);
    expect(parseInput(byName.dense_layers, "32, 16 8")).toEqual([32, 16, 8]);
    expect(formatInput(byName.dense_layers, [20, 10])).toBe("20, 10");
  });
});

import { splitErrorField } from "../components/SchemaForm";

describe("formProblems", () => {
  const withNested: JsonSchema = {
    ...spectral,
    properties: {
      ...spectral.properties,
      optimization: {
        type: "object",
        title: "Optimization",
        properties: { sparsity: { type: "number", title: "Sparsity", minimum: 0, maximum: 0.95, default: 0.5 } },
      },
    },
  };
  it("says in words what to change in every field, nested settings included", () => {
    expect(formProblems(withNested, { epochs: 30 })).toEqual([]);
    expect(formProblems(withNested, { epochs: 0, learning_rate: 2, optimization: { sparsity: 1 } })).toEqual([
      "Learning rate must be at most 1",
      "Epochs must be at least 1",
      "Optimization: Sparsity must be at most 0.95",
    ]);
    expect(formProblems(withNested, {})).toEqual(["Epochs needs a value"]);
  });
  it("says a server message with the setting's labels instead of its path", () => {
    expect(messageInWords("params.optimization.sparsity: must be below 1", "params.optimization.sparsity", withNested, "params.")).toBe(
      "Optimization › Sparsity: must be below 1",
    );
    expect(messageInWords("params.learning_rate: too high", "params.learning_rate", withNested, "params.")).toBe("Learning rate: too high");
    expect(messageInWords("the run needs labels", null, withNested)).toBe("the run needs labels");
  });
});

describe("splitErrorField", () => {
  it("finds the block and the property of a server error", () => {
    expect(splitErrorField("dsp[0].params.fft-length", "dsp[0].params.fft-length: must be a power of 2")).toEqual({
      path: "dsp[0]",
      property: "fft-length",
      message: "must be a power of 2",
    });
    expect(splitErrorField("input.window_ms", "input.window_ms: longer than every sample")).toEqual({
      path: "input",
      property: "window_ms",
      message: "longer than every sample",
    });
    expect(splitErrorField(null, "x")).toBeNull();
  });
});
