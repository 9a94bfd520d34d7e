// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { runWarnings, TrainingWarnings } from "./TrainingWarnings";

describe("TrainingWarnings", () => {
  it("lists the run's warnings", () => {
    const metrics = { warnings: ["only 16 training windows from 16 samples ('a' 8, 'b' 8): …", "class 'c' has only 1 training sample: …"] };
    const doc = new DOMParser().parseFromString(renderToStaticMarkup(<TrainingWarnings metrics={metrics} />), "text/html");
    expect(doc.querySelector("strong")?.textContent).toBe("2 warnings");
    expect(Array.from(doc.querySelectorAll("li")).map((li) => li.textContent)).toEqual(metrics.warnings);
  });

  it("shows nothing for runs without warnings, older runs included", () => {
    for (const metrics of [{}, { warnings: [] }, { warnings: "not a list" }, null]) {
      expect(renderToStaticMarkup(<TrainingWarnings metrics={metrics} />)).toBe("");
    }
    expect(runWarnings({ warnings: ["kept", 3] })).toEqual(["kept"]);
  });

  it("shows the job's warnings until the run's metrics hold them", () => {
    const html = renderToStaticMarkup(<TrainingWarnings metrics={{ learn_index: 0 }} live={{ warnings: ["only 8 training windows"] }} />);
    expect(html).toContain("only 8 training windows");
  });
});
