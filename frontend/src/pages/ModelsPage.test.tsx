// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter, Outlet, Route, Routes } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { Project, Role } from "../api/client";
import { modelKeys, type UploadedModel } from "../api/models";
import { boardRow, ESP32_ROW, GATE_INFO, uploadedModel } from "../lib/modelsTestData";
import { ConfirmProvider } from "../components/ConfirmDialog";
import { ModelsPage } from "./ModelsPage";

const PROFILED = uploadedModel({
  profile_job_id: 2,
  profile_status: "succeeded",
  profile: { job_id: 2, boards: [boardRow(), ESP32_ROW] },
  library_job_id: 3,
  library_status: "succeeded",
  library_artifact_id: 4,
});
const GATE = uploadedModel({
  id: 2,
  name: "Gated dense",
  filename: "gate.keras",
  source_format: "keras",
  info: GATE_INFO,
  int8_artifact_id: 5,
  quantization: {
    method: "post-training int8",
    calibration_inputs: 40,
    compared_inputs: 40,
    mean_abs_difference: 0.0173,
    max_abs_difference: 0.0621,
    float_output_range: [-2.67, 3.26],
    top1_agreement: 1,
  },
});
const BROKEN = uploadedModel({
  id: 3,
  name: "cnn",
  status: "failed",
  error: "the representative inputs are shaped [8, 7]; the model takes 60 values",
  info: null,
  int8_artifact_id: null,
});
const SUPPORTED_OPS = ["ADD", "CONV_2D", "FULLY_CONNECTED", "SOFTMAX"];

function render(role: Role, models: UploadedModel[], shown?: number): Document {
  const queryClient = new QueryClient();
  queryClient.setQueryData(modelKeys.list(7), models);
  queryClient.setQueryData(modelKeys.supportedOps, SUPPORTED_OPS);
  const project = { id: 7, name: "Keyword spotting", role } as Project;
  const doc = document.implementation.createHTMLDocument();
  doc.body.innerHTML = renderToStaticMarkup(
    <QueryClientProvider client={queryClient}>
      <ConfirmProvider>
        <MemoryRouter initialEntries={[`/projects/7/models${shown ? `?model=${shown}` : ""}`]}>
          <Routes>
            <Route path="/projects/:projectId" element={<Outlet context={project} />}>
              <Route path="models" element={<ModelsPage />} />
            </Route>
          </Routes>
        </MemoryRouter>
      </ConfirmProvider>
    </QueryClientProvider>,
  );
  return doc;
}

const headings = (doc: Document) => [...doc.querySelectorAll("h2")].map((h) => h.textContent);
const buttons = (doc: Document) => [...doc.querySelectorAll("button")].map((b) => b.textContent);

describe("the Models page", () => {
  it("shows editors the upload form, the list and the newest model with its profile and downloads", () => {
    const doc = render("editor", [PROFILED, GATE]);
    expect(doc.querySelector("form[aria-label='Upload a model']")).not.toBeNull();
    expect(doc.querySelector("[data-field=representative] .field-help")?.textContent).toBe(
      "Float models need them to be quantized to int8: a .npy shaped [n, …input shape].",
    );
    expect(headings(doc)).toEqual(["Upload a model", "Models (2)", "kws_ref_model", "On every board", "Downloads", "Use in an impulse"]);
    expect(doc.querySelector("tr[aria-current=true]")?.getAttribute("data-model")).toBe("1");
    expect(doc.querySelector("[data-metric=macs]")?.textContent).toBe("2.66 Mmultiply-accumulates per inference");
    expect(doc.querySelector("[data-metric=arena]")?.textContent).toBe("11.6 KBtensor arena: the RAM its activations need");
    expect([...doc.querySelectorAll("tr[data-tensor] td")].slice(0, 6).map((td) => td.textContent)).toEqual([
      "input",
      "input_1",
      "1 × 49 × 10 × 1",
      "int8",
      "0.5847",
      "83",
    ]);
    expect(doc.querySelector("tr[data-board=virtual-cortex-m4] [aria-label=fits]")).not.toBeNull();
    expect([...doc.querySelectorAll(".downloads a")].map((a) => [a.textContent, a.getAttribute("href")])).toEqual([
      ["Download int8 .tflite", "/api/projects/7/artifacts/1/download"],
      ["Download C library", "/api/projects/7/artifacts/4/download"],
    ]);
    expect(buttons(doc)).toEqual(expect.arrayContaining(["Upload model", "Delete", "Profile again", "Build again"]));
  });

  it("lets viewers read and download, but not upload, profile, build or delete", () => {
    const doc = render("viewer", [PROFILED]);
    expect(doc.querySelector("form")).toBeNull();
    expect(buttons(doc)).toEqual(["Shown"]);
    expect(doc.querySelectorAll(".downloads a")).toHaveLength(2);
  });

  it("names the operators the compiler refuses with their layer, beside the ones it takes, and keeps the model from building", () => {
    const doc = render("editor", [PROFILED, GATE], 2);
    const refusal = doc.querySelector("[data-testid=compiler-refusal]")!;
    expect([...refusal.querySelectorAll("tbody td")].map((td) => td.textContent)).toEqual(["2", "MUL", "functional_1/gate_1/Mul"]);
    expect(refusal.querySelector("[data-testid=supported-ops]")?.textContent).toBe(
      "Rebuild those layers from operators it takes, then upload the model again. The compiler takes: ADD, CONV_2D, FULLY_CONNECTED, SOFTMAX.",
    );
    expect(doc.querySelector("li.op-refused")?.textContent).toBe("MUL × 1");
    const profile = [...doc.querySelectorAll("button")].find((b) => b.textContent === "Profile on every board");
    expect(profile?.hasAttribute("disabled")).toBe(true);
    expect(doc.querySelector("[data-metric=top1]")?.textContent).toBe("100.0 %of 40 inputs get the same top output from int8 as from float");
    expect(doc.querySelector("[data-metric=max-difference]")?.textContent).toBe("0.0621largest absolute difference, 1.0 % of the float output range");
  });

  it("says in words why an import failed, and offers nothing to run", () => {
    const doc = render("editor", [BROKEN], 3);
    expect(doc.querySelector("[data-testid=import-error]")?.textContent).toBe(
      "The import failed: the representative inputs are shaped [8, 7]; the model takes 60 values",
    );
    expect(doc.querySelector("tr[data-model='3'] .badge")?.textContent).toBe("failed");
    expect(headings(doc)).toEqual(["Upload a model", "Models (1)", "cnn"]);
  });

  it("follows an import in progress", () => {
    const doc = render("editor", [uploadedModel({ status: "importing", info: null, int8_artifact_id: null })]);
    expect(doc.querySelector("[role=status]")?.textContent).toBe("Waiting for the job to start…");
    expect(headings(doc)).toEqual(["Upload a model", "Models (1)", "kws_ref_model"]);
  });
});
