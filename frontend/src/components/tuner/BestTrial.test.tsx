// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { TunerRun } from "../../api/tuner";
import { measured } from "../../lib/tunerTestData";
import { BestTrial } from "./BestTrial";

const BEST = measured(3, 0.92, 10_000, 6, {
  best: true,
  instructions: 150_000,
  params: { "flatten.statistics": "all", "classifier-dense.dense_layers": [16, 8] },
  spec: { input: { window_ms: 1000, stride_ms: 500 }, dsp: [{ block: "flatten", params: {} }], learn: [{ block: "classifier-dense", params: {} }] },
});
const RUN = { id: 4, board_id: "virtual-cortex-m4", impulse_id: 2, budgets: { ram_bytes: 16_384, flash_bytes: 65_536, latency_ms: 5 } } as TunerRun;

function render(editor: boolean): Document {
  const doc = document.implementation.createHTMLDocument();
  doc.body.innerHTML = renderToStaticMarkup(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>
        <BestTrial projectId={1} run={RUN} trial={BEST} editor={editor} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return doc;
}

describe("the best trial's card", () => {
  it("shows the trial's figures against the budgets, over-budget ones marked", () => {
    const doc = render(true);
    const stat = (metric: string) => doc.querySelector(`[data-metric=${metric}]`);
    expect(doc.querySelector("h2")?.textContent).toBe("Best trial: 3");
    expect(stat("int8-validation")?.querySelector(".stat-value")?.textContent).toBe("92.0 %");
    expect(stat("ram")?.textContent).toBe("9.77 KBimpulse RAM (budget 16.0 KB)");
    expect(stat("latency")?.querySelector(".error-text")?.textContent).toBe("6.00 ms");
    expect(stat("latency")?.querySelector(".stat-label")?.textContent).toBe("per window on virtual-cortex-m4 (budget 5.00 ms), 150,000 instructions");
    expect(doc.querySelector(".facts")?.textContent).toBe(
      "Window / stride1000 / 500 msProcessingflatten statistics allLearningclassifier-dense dense_layers 16-8",
    );
  });

  it("offers editors, and only editors, to use the trial", () => {
    const button = (doc: Document) => [...doc.querySelectorAll("button")].find((b) => b.textContent === "Use this trial");
    expect(button(render(true))).toBeDefined();
    expect(button(render(false))).toBeUndefined();
  });
});
