// Helpers shared by the end-to-end scenarios.
import { execFileSync } from "node:child_process";

/** Polls `check` until it stops throwing (or the time runs out). */
export async function eventually(check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** A full-page screenshot in the run's screenshot folder. */
export async function shot(ctx, page, name) {
  await page.screenshot({ path: `${ctx.screenshots}/${name}.png`, fullPage: true });
}

/** Calls the studio's API from the page (with its session and CSRF token); resolves with the JSON answer, or null when there is none. */
export async function callApi(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const csrf = decodeURIComponent(
        document.cookie
          .split("; ")
          .find((c) => c.startsWith("tinystudio_csrf="))
          .split("=")[1],
      );
      const answer = await fetch(path, {
        method,
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!answer.ok) throw new Error(`${method} ${path}: HTTP ${answer.status} ${await answer.text()}`);
      const text = await answer.text();
      return text ? JSON.parse(text) : null;
    },
    { method, path, body },
  );
}

/** Command lines of the QEMU processes running this studio's firmware (its data directory). */
export function studioQemuProcesses(dataDir) {
  try {
    return execFileSync("pgrep", ["-af", "qemu-system-arm"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(dataDir));
  } catch {
    // pgrep exits with 1 when nothing matches.
    return [];
  }
}

/** Opens a section of the project's navigation and waits until it is the current page:
 * React Router renders navigations in a transition, so the old page can still be on
 * screen for a moment after the click returns. */
export async function openSection(page, name) {
  const link = page.getByRole("navigation", { name: "Project" }).getByRole("link", { name });
  await link.click();
  await page.waitForFunction((el) => el.getAttribute("aria-current") === "page", await link.elementHandle());
}

/** Answers the studio's confirmation dialog with the button named `answer`; resolves with its
 * question, after checking it matches `question` (a RegExp) when one is given. */
export async function answerDialog(page, answer, question) {
  const dialog = page.getByRole("alertdialog");
  await dialog.waitFor();
  const title = await dialog.getByRole("heading").textContent();
  if (question && !question.test(title)) throw new Error(`the dialog asks "${title}", not ${question}`);
  await dialog.getByRole("button", { name: answer, exact: true }).click();
  await dialog.waitFor({ state: "detached" });
  return title;
}
