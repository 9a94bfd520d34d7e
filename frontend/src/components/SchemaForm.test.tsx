// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { SchemaForm } from "./SchemaForm";
import type { JsonSchema } from "../lib/schemaForm";

const schema: JsonSchema = {
  type: "object",
  properties: {
    epochs: { type: "integer", title: "Training cycles", default: 30, minimum: 1, maximum: 2000, description: "Passes over the training set." },
    "filter-type": { type: "string", title: "Filter type", enum: ["none", "low", "high"], default: "none" },
    standardize: { type: "boolean", title: "Standardise features", default: true },
    dense_layers: { type: "array", items: { type: "integer" }, default: [20, 10] },
    early_stopping: { type: ["integer", "null"], title: "Early stopping patience", default: null, minimum: 0 },
    optimization: {
      type: "object",
      title: "Optimization",
      properties: { pruning: { type: "string", enum: ["none", "structured"], default: "none" }, sparsity: { type: "number", default: 0.5, maximum: 0.95 } },
      default: { pruning: "none", sparsity: 0.5 },
    },
  },
};

function render(values: Record<string, unknown>, serverErrors?: Record<string, string>) {
  const html = renderToStaticMarkup(<SchemaForm schema={schema} values={values} onChange={() => undefined} serverErrors={serverErrors} />);
  return new DOMParser().parseFromString(html, "text/html");
}

describe("SchemaForm", () => {
  it("renders one labelled input per property with the schema's defaults and bounds", () => {
    const doc = render({});
    const epochs = doc.querySelector<HTMLInputElement>('[data-field="epochs"] input')!;
    expect(epochs.type).toBe("number");
    expect(epochs.getAttribute("min")).toBe("1");
    expect(epochs.getAttribute("max")).toBe("2000");
    expect(epochs.getAttribute("value")).toBe("30");
    expect(doc.querySelector(`label[for="${epochs.id}"]`)?.textContent).toBe("Training cycles");
    expect(doc.querySelector('[data-field="epochs"] .field-help')?.textContent).toBe("Passes over the training set.");
    const options = [...doc.querySelectorAll('[data-field="filter-type"] option')].map((o) => o.textContent);
    expect(options).toEqual(["none", "low", "high"]);
    expect(doc.querySelector<HTMLInputElement>('[data-field="standardize"] input')!.hasAttribute("checked")).toBe(true);
    expect(doc.querySelector<HTMLInputElement>('[data-field="dense_layers"] input')!.getAttribute("value")).toBe("20, 10");
  });
  it("leaves a nullable number empty with an auto placeholder", () => {
    const field = render({}).querySelector<HTMLInputElement>('[data-field="early_stopping"] input')!;
    expect(field.getAttribute("value")).toBe("");
    expect(field.getAttribute("placeholder")).toBe("auto");
  });
  it("draws nested settings as a form of their own, with their server messages", () => {
    const doc = render({ optimization: { pruning: "structured", sparsity: 1 } }, { "optimization.sparsity": "must be at most 0.95" });
    const group = doc.querySelector('fieldset[data-field="optimization"]')!;
    expect(group.querySelector("legend")?.textContent).toBe("Optimization");
    expect(group.querySelector<HTMLSelectElement>('[data-field="pruning"] select option[selected]')?.textContent).toBe("structured");
    expect(group.querySelector('[data-field="sparsity"] .field-error')?.textContent).toBe("must be at most 0.95");
  });
  it("shows local and server messages next to the field", () => {
    const local = render({ epochs: 0 });
    expect(local.querySelector('[data-field="epochs"] .field-error')?.textContent).toBe("must be at least 1");
    expect(local.querySelector('[data-field="epochs"] input')?.getAttribute("aria-invalid")).toBe("true");
    const server = render({}, { "filter-type": "needs a cut-off below 5 Hz" });
    expect(server.querySelector('[data-field="filter-type"] .field-error')?.textContent).toBe("needs a cut-off below 5 Hz");
    expect(server.querySelectorAll(".field-error")).toHaveLength(1);
  });
});
