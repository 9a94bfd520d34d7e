// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { measured, trial } from "../../lib/tunerTestData";
import { ParetoChart } from "./ParetoChart";
import { TrialTable } from "./TrialTable";

const BUDGETS = { ram_bytes: 16_384, flash_bytes: 65_536, latency_ms: 5 };
const TRIALS = [
  measured(0, 0.9, 8000, 4, { pareto: true }),
  measured(1, 0.97, 20_000, 2, { pareto: true, fits: false }),
  measured(2, 0.85, 9000, 5),
  measured(3, 0.92, 10_000, 1, { pareto: true, best: true }),
  trial(4, { status: "pruned", train_job_id: 44 }),
  trial(5, { status: "training" }),
  trial(6, { status: "over_budget", ram_bytes: 40_000, flash_bytes: 9000, fits: false, error: "the untrained network already needs 39.1 KB RAM" }),
];

function render(node: React.ReactElement): Document {
  const doc = document.implementation.createHTMLDocument();
  doc.body.innerHTML = renderToStaticMarkup(node);
  return doc;
}

describe("the Pareto chart", () => {
  const doc = render(<ParetoChart trials={TRIALS} budgets={BUDGETS} />);
  const panels = [...doc.querySelectorAll("svg")];

  it("draws one panel against RAM and one against latency, each with its budget line labelled", () => {
    expect(panels).toHaveLength(2);
    expect(panels.map((p) => p.getAttribute("aria-label"))).toEqual([
      "Accuracy against impulse RAM: 4 measured trials",
      "Accuracy against time per window: 4 measured trials",
    ]);
    expect(panels.map((p) => p.querySelector(".budget-label")?.textContent)).toEqual(["RAM budget 16.0 KB", "latency budget 5.00 ms"]);
    expect(doc.querySelectorAll("[data-testid=budget-line]")).toHaveLength(2);
    expect(panels.map((p) => [...p.querySelectorAll(".axis-title")].map((t) => t.textContent))).toEqual([
      ["impulse RAM (KB)", "int8 validation accuracy (%)"],
      ["latency per window (ms)", "int8 validation accuracy (%)"],
    ]);
  });

  it("fills the trials that fit, leaves the others hollow, marks the best and joins the front", () => {
    const ram = panels[0];
    const fill = (n: number) => ram.querySelector(`circle[data-trial="${n}"]`)?.getAttribute("fill");
    expect(fill(0)).toBe("#4f46e5");
    expect(fill(1)).toBe("#fff");
    expect(ram.querySelectorAll("circle[data-trial]")).toHaveLength(4);
    expect(ram.querySelector("[data-testid=best-mark]")?.textContent).toBe("best: trial 3");
    expect(ram.querySelector("[data-testid=pareto-line]")?.getAttribute("points")?.split(" ")).toHaveLength(3);
    expect(ram.querySelector('circle[data-trial="3"] title')?.textContent).toMatch(/^Trial 3 \(best\): 92\.0 % int8 validation/);
  });

  it("puts the budget where its value lies on the axis", () => {
    // RAM axis: 0 to max(16 KB budget, 19.5 KB trial) × 1.08 over the plot's 326 units from x = 56.
    const x = Number(panels[0].querySelector("[data-testid=budget-line]")?.getAttribute("x1"));
    expect(x).toBeCloseTo(56 + (16 / ((20_000 / 1024) * 1.08)) * 326, 3);
  });

  it("names a budget far beyond every trial at the edge instead of squeezing the points", () => {
    const roomy = render(<ParetoChart trials={TRIALS} budgets={{ ram_bytes: 2 ** 21, flash_bytes: 2 ** 21, latency_ms: 1000 }} />);
    expect(roomy.querySelectorAll("[data-testid=budget-line]")).toHaveLength(0);
    expect([...roomy.querySelectorAll(".budget-label")].map((l) => l.textContent)).toEqual(["RAM budget 2048.0 KB →", "latency budget 1000 ms →"]);
    // The farthest trial (19.5 KB) sits at 1/1.15 of the axis.
    const x = Number(roomy.querySelector('svg circle[data-trial="1"]')?.getAttribute("cx"));
    expect(x).toBeCloseTo(56 + 326 / 1.15, 3);
  });
});

describe("the trial table", () => {
  const doc = render(<TrialTable trials={TRIALS} budgets={BUDGETS} chosenId={null} onChoose={() => undefined} prunedAt={new Map([[104, 3]])} />);
  const row = (n: number) => doc.querySelector(`tr[data-trial="${n}"]`)!;

  it("shows each trial's figures, marks what goes over a budget and says why a trial stopped", () => {
    expect(doc.querySelectorAll("tbody tr")).toHaveLength(7);
    expect(row(1).querySelector(".error-text")?.textContent).toBe("19.5 KB");
    expect(row(1).querySelector('[aria-label="over a budget"]')?.textContent).toBe("✗");
    expect(row(3).textContent).toContain("best");
    expect(row(3).querySelector('[aria-label="on the Pareto front"]')?.textContent).toBe("✓");
    expect(row(4).querySelector(".trial-status")?.textContent).toBe("pruned at epoch 3");
    expect([...doc.querySelectorAll("thead th")].slice(0, 3).map((th) => th.textContent?.trim())).toEqual([
      "Trial ▲",
      "Status",
      "Window · processing · learning",
    ]);
    expect(row(5).querySelector("button")).toBeNull();
    // Sized before training and found too large: figures, no accuracy, not on the front.
    expect(row(6).querySelector(".trial-status")?.textContent).toBe("over budget the untrained network already needs 39.1 KB RAM");
    expect(row(6).querySelector(".error-text")?.textContent).toBe("39.1 KB");
    expect(row(6).lastElementChild?.previousElementSibling?.textContent).toBe("—");
    expect(row(0).querySelector("button")?.textContent).toBe("Show");
    expect(row(0).querySelector(".trial-candidate")?.textContent).toBe("window 1000 / 500 msflattendense");
  });
});
