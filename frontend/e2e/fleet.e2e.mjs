// End-to-end scenario for the fleet: in a project of its own (noise of two labels, a raw impulse
// trained on it), the Fleet page first explains how a device registers; then devices register and
// report through the REST API as firmware would, one of them with a feature shifted, and the page
// shows the devices, a drift alert naming that one device, its PSI bars, turns another
// device's sampled windows into samples and tags it.
import assert from "node:assert/strict";
import { callApi, openSection as nav, shot } from "./helpers.mjs";

// Windows of three raw readings: a window's features are its readings, distributed N(0, 1).
const SPEC = {
  input: { window_ms: 30, stride_ms: 30, frequency_hz: 100, zero_pad: false },
  dsp: [{ block: "raw", params: {} }],
  learn: [{ block: "classifier-dense", params: { epochs: 2, seed: 1 } }],
};

/** A seeded standard normal generator (mulberry32 and Box–Muller), so every run sends the same data. */
function normals(seed) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Uploads `count` CSV samples of noise per label into one category, from the page (its session). */
async function uploadNoise(page, projectId, category, count, normal) {
  const files = [];
  for (const label of ["calm", "busy"]) {
    for (let k = 0; k < count; k += 1) {
      const rows = Array.from({ length: 300 }, (_, i) => `${i * 10},${normal().toFixed(4)}`).join("\n");
      files.push({ name: `${label}.${category}-${k}.csv`, text: `timestamp,x\n${rows}\n` });
    }
  }
  await page.evaluate(
    async ({ projectId, category, files }) => {
      const csrf = decodeURIComponent(
        document.cookie
          .split("; ")
          .find((c) => c.startsWith("tinystudio_csrf="))
          .split("=")[1],
      );
      const form = new FormData();
      form.append("category", category);
      for (const f of files) form.append("files", new Blob([f.text], { type: "text/csv" }), f.name);
      const answer = await fetch(`/api/projects/${projectId}/samples/upload`, { method: "POST", body: form, headers: { "x-csrf-token": csrf } });
      if (answer.status !== 201) throw new Error(`upload: HTTP ${answer.status} ${await answer.text()}`);
    },
    { projectId, category, files },
  );
}

async function waitForJob(page, projectId, jobId) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const job = await callApi(page, "GET", `/api/projects/${projectId}/jobs/${jobId}`);
    if (job.status === "succeeded") return;
    if (["failed", "cancelled"].includes(job.status) || Date.now() > deadline) throw new Error(`training job ${jobId}: ${job.status} ${job.error ?? ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A device's REST call, with a key in the given header, as firmware makes it. */
async function deviceCall(ctx, path, headers, body) {
  const answer = await fetch(`${ctx.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const json = await answer.json();
  if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status} ${JSON.stringify(json)}`);
  return json;
}

function reports(normal, count, { shift = 0, raw = 0 } = {}) {
  const start = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, k) => {
    const means = [normal(), normal() + shift, normal()];
    return {
      seq: k,
      time: new Date(start + k * 1000).toISOString(),
      label: k % 2 ? "busy" : "calm",
      top_score: 0.9,
      count: 1,
      feature_means: means,
      feature_variances: [0, 0, 0],
      ...(k < raw ? { raw: { values: means.map((v) => [v]), interval_ms: 10 } } : {}),
    };
  });
}

export const tests = [
  {
    name: "fleet: devices report through the API, the page shows them and the drift of one",
    async fn(ctx) {
      const page = ctx.shared.page;
      const normal = normals(7);
      const project = await callApi(page, "POST", "/api/projects", { name: "Field fleet", description: "" });
      await uploadNoise(page, project.id, "training", 6, normal);
      await uploadNoise(page, project.id, "testing", 1, normal);
      const impulse = await callApi(page, "POST", `/api/projects/${project.id}/impulses`, { name: "Noise", spec: SPEC });
      const run = await callApi(page, "POST", `/api/projects/${project.id}/impulses/${impulse.id}/train`, {});

      // No device yet: the page says how one registers.
      await page.goto(`${ctx.url}/projects/${project.id}`);
      await nav(page, "Fleet");
      await page.getByRole("heading", { name: "Register a device" }).waitFor();
      assert.match(await page.locator(".fleet-snippet").first().textContent(), /\/api\/fleet\/devices\/register/);
      await shot(ctx, page, "40-fleet-empty");

      await waitForJob(page, project.id, run.job_id);
      const { key } = await callApi(page, "POST", `/api/projects/${project.id}/api-keys`, { name: "fleet" });
      const register = (name) =>
        deviceCall(
          ctx,
          "/api/fleet/devices/register",
          { "x-api-key": key },
          { name, board_id: "nano33ble", firmware_version: "1.0.0", training_run_id: run.id },
        );
      const porch = await register("porch");
      const gate = await register("gate");
      const send = (device, items) => deviceCall(ctx, "/api/fleet/telemetry", { authorization: `Bearer ${device.key}` }, { items });
      assert.deepEqual(await send(porch, reports(normal, 300, { raw: 3 })), { stored: 300, duplicates: 0 });
      assert.deepEqual(await send(gate, reports(normal, 300, { shift: 1.5 })), { stored: 300, duplicates: 0 });

      await page.reload();
      const rows = page.locator("tr[data-device]");
      await rows.nth(1).waitFor();
      assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-device"))), ["gate", "porch"]);
      assert.equal(await page.locator("tr[data-device=porch] .device-online").textContent(), "online");
      await page.getByRole("alert").filter({ hasText: "Drift on gate." }).waitFor();
      assert.equal(await page.locator("tr[data-device=gate] .drift-drift").textContent(), "drift");
      assert.equal(await page.locator("tr[data-device=porch] .drift-ok").textContent(), "ok");
      const gateCard = page.locator("section.card", { has: page.getByRole("heading", { name: "gate", exact: true }) });
      assert.match(await gateCard.locator(".drift-alert").textContent(), /^x @ 10 ms: PSI \d+\.\d\d is above 0\.25/);
      assert.equal(await gateCard.locator("rect.psi-bar.drifted").count(), 1);
      await shot(ctx, page, "41-fleet-drift");

      // The porch device kept three raw windows: they become unlabelled samples.
      await page.locator("tr[data-device=porch]").getByRole("button", { name: "Make 3 samples" }).click();
      await page.getByText("3 unlabelled samples from porch").waitFor();
      const samples = await callApi(page, "GET", `/api/projects/${project.id}/samples?limit=100`);
      assert.equal(samples.items.filter((s) => s.metadata.source === "fleet" && s.label === null).length, 3);

      // Editors tag a device.
      await page.locator("tr[data-device=porch]").getByRole("button", { name: "Edit" }).click();
      const edit = page.getByRole("form", { name: "Edit porch" });
      await edit.getByLabel("Tags (separated by commas)").fill("south, roof");
      await edit.getByRole("button", { name: "Save" }).click();
      await page.locator("tr[data-device=porch] .badge", { hasText: "roof" }).waitFor();
      assert.equal(await page.getByRole("form", { name: "Edit porch" }).count(), 0);
    },
  },
];
