// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter, Outlet, Route, Routes } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { Project, Role } from "../api/client";
import { fleetKeys, type Drift, type FleetDevice, type FleetDrift } from "../api/fleet";
import { FleetPage } from "./FleetPage";

const device = (id: number, name: string, state: "online" | "offline", rawWindows = 0): FleetDevice => ({
  id,
  name,
  board_id: "nano33ble",
  firmware_version: "1.2.0",
  training_run_id: 4,
  deployment_id: null,
  model_version: "Gestures · run 4",
  tags: [],
  key_prefix: "tsd_abcd",
  last_seen_at: new Date().toISOString(),
  state,
  telemetry_count: 200,
  raw_windows: rawWindows,
  created_at: "2026-12-01T00:00:00Z",
});

const report = (deviceId: number | null, name: string | null, psi: number[]): Drift => {
  const drifted = psi.some((p) => p > 0.25);
  return {
    device_id: deviceId,
    device_name: name,
    training_run_id: 4,
    items: 200,
    windows: 200,
    reference_windows: 1200,
    status: drifted ? "drift" : "ok",
    alert: drifted,
    reasons: drifted ? ["feature 1: PSI 1.40 is above 0.25; its mean in the field is 1.5 against 0.01 in training (KS 0.55)"] : [],
    features: psi.map((p, index) => ({ index, name: `feature ${index}`, psi: p, ks: 0.1, reference_mean: 0, field_mean: 0, drifted: p > 0.25 })),
    raw_windows: 0,
    raw_features: [],
    label_psi: 0.01,
    labels: [{ label: "idle", training: 0.5, field: 0.52 }],
    score_trend_per_day: null,
    scores: [],
  };
};

function render(role: Role, devices: FleetDevice[], drift?: FleetDrift): Document {
  const queryClient = new QueryClient();
  queryClient.setQueryData(fleetKeys.devices(7), devices);
  if (drift) queryClient.setQueryData(fleetKeys.drift(7), drift);
  const project = { id: 7, name: "Gestures", role } as Project;
  const doc = document.implementation.createHTMLDocument();
  doc.body.innerHTML = renderToStaticMarkup(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={["/projects/7/fleet"]}>
        <Routes>
          <Route path="/projects/:projectId" element={<Outlet context={project} />}>
            <Route path="fleet" element={<FleetPage />} />
          </Route>
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return doc;
}

describe("the Fleet page", () => {
  it("explains how a device registers when there is none", () => {
    const doc = render("viewer", []);
    expect(doc.querySelector(".empty-state h3")?.textContent).toBe("Register a device");
    expect(doc.body.textContent).toContain("/api/fleet/devices/register");
    expect(doc.body.textContent).toContain("/api/fleet/telemetry");
  });

  it("shows devices, the drift alert naming the drifted one and its PSI bars", () => {
    const drift: FleetDrift = {
      feature_psi_alert: 0.25,
      label_psi_alert: 0.25,
      fleet: [report(null, null, [0.02, 0.3, 0.01])],
      devices: [report(1, "porch", [0.01, 0.02, 0.03]), report(2, "gate", [0.02, 1.4, 0.01])],
    };
    const doc = render("editor", [device(1, "porch", "online"), device(2, "gate", "offline", 3)], drift);
    expect([...doc.querySelectorAll("tr[data-device]")].map((r) => r.getAttribute("data-device"))).toEqual(["porch", "gate"]);
    expect(doc.querySelector("tr[data-device=gate] .device-offline")?.textContent).toBe("offline");
    expect(doc.querySelector("p.warning-note")?.textContent).toBe("Drift on gate.");
    expect(doc.querySelectorAll(".psi-bar.drifted").length).toBe(2);
    expect(doc.querySelector("tr[data-device=gate] button")?.textContent).toBe("Make 3 samples");
    expect((doc.querySelector("tr[data-device=porch] button") as HTMLButtonElement).disabled).toBe(true);
  });

  it("gives viewers no buttons", () => {
    const doc = render("viewer", [device(1, "porch", "online", 2)]);
    expect(doc.querySelectorAll("tr[data-device] button").length).toBe(0);
  });
});
