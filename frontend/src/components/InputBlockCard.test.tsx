// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { InputBlockCard, wholeSample } from "./InputBlockCard";
import type { InputBlock } from "../lib/impulseDraft";

const BLOCK = {
  name: "input",
  title: "Time series input",
  description: "",
  kind: "input",
  parameters_schema: {
    type: "object",
    properties: {
      window_ms: { type: "number", title: "Window size (ms)", default: 1000, exclusiveMinimum: 0 },
      stride_ms: { type: "number", title: "Window increase (ms)", default: 500, exclusiveMinimum: 0 },
      frequency_hz: { type: "number", title: "Frequency (Hz)", default: 100, exclusiveMinimum: 0 },
      zero_pad: { type: "boolean", title: "Pad short samples", default: true },
      padding: { type: "string", title: "Padding", enum: ["edge", "mean", "zero"], default: "edge" },
    },
    required: ["window_ms", "stride_ms", "frequency_hz"],
  },
};
const INPUT: InputBlock = { window_ms: 2000, stride_ms: 1000, frequency_hz: 100, zero_pad: false, padding: "mean" };
const DEFAULTS = { input: INPUT, samples: 3, whole_sample_ms: 500, shortest_ms: 300, median_ms: 400, longest_ms: 500 };

function render(input: InputBlock, editor = true) {
  const html = renderToStaticMarkup(<InputBlockCard block={BLOCK} input={input} defaults={DEFAULTS} errors={{}} editor={editor} onChange={() => undefined} />);
  return new DOMParser().parseFromString(html, "text/html");
}

describe("InputBlockCard", () => {
  it("renders the input block's schema with the impulse's values", () => {
    const doc = render(INPUT);
    expect(doc.querySelector("h2")?.textContent).toBe("1 · Time series input");
    expect(doc.querySelector<HTMLInputElement>('[data-field="window_ms"] input')?.getAttribute("value")).toBe("2000");
    const padding = doc.querySelector<HTMLSelectElement>('[data-field="padding"] select')!;
    expect(Array.from(padding.options).map((o) => o.value)).toEqual(["edge", "mean", "zero"]);
    expect(padding.querySelector("option[selected]")?.getAttribute("value")).toBe("mean");
    expect(doc.body.textContent).toContain("Samples last 300 ms to 500 ms (median 400 ms)");
  });

  it("offers the whole-sample window to editors until it is chosen", () => {
    const button = (doc: Document) => Array.from(doc.querySelectorAll("button")).find((b) => b.textContent === "Whole sample");
    expect(button(render(INPUT))?.hasAttribute("disabled")).toBe(false);
    expect(button(render(wholeSample(INPUT, 500)))?.hasAttribute("disabled")).toBe(true);
    expect(button(render(INPUT, false))).toBeUndefined();
  });

  it("takes every sample whole: one window as long as the longest, shorter ones padded", () => {
    expect(wholeSample(INPUT, 500)).toEqual({ window_ms: 500, stride_ms: 500, frequency_hz: 100, zero_pad: true, padding: "mean" });
  });
});
