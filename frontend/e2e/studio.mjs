// Starts a real TinyStudio (API + worker, embedded SQLite defaults) in a fresh data directory.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const FRONTEND = resolve(import.meta.dirname, "..");
// The same Python environment ./tinystudio uses (TINYSTUDIO_VENV overrides it there too).
const TINYSTUDIO = resolve(process.env.TINYSTUDIO_VENV ?? resolve(FRONTEND, "../.venv"), "bin/tinystudio");

/** A TCP port nobody listens on right now. */
function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

async function waitForHealth(url, child, log, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the studio exited with ${child.exitCode}:\n${log.join("")}`);
    try {
      const answer = await fetch(`${url}/api/health`);
      if (answer.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the studio did not answer /api/health within ${timeoutMs / 1000} s:\n${log.join("")}`);
}

/** Starts the studio; resolves with its URL and a stop() that ends it with SIGTERM. */
export async function startStudio() {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "tinystudio-e2e-"));
  const log = [];
  const child = spawn(TINYSTUDIO, ["up", "--port", String(port), "--data-dir", dataDir], {
    cwd: resolve(FRONTEND, ".."),
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  child.stdout.on("data", (d) => log.push(d.toString()));
  child.stderr.on("data", (d) => log.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, child, log, 90_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  async function stop() {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  }
  return { url, dataDir, log, stop };
}
