// A newcomer's path without surprises: changes that are hard to take back ask first with the
// count of what changes, dataset changes offer Undo, viewers read without failing buttons, the
// dashboard's checklist leads from data to a board, and small screens still read well.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { answerDialog, callApi, eventually, openSection, shot } from "./helpers.mjs";

const DEMO = resolve(import.meta.dirname, "../../backend/datasets/demo_data/basic-motions/training");

async function sampleCount(page) {
  const text = await page.getByRole("heading", { name: /^Samples \(\d+\)$/ }).textContent();
  return Number(/\((\d+)\)/.exec(text)[1]);
}

/** Creates a project from the projects page and opens its dashboard; resolves with its id. */
async function createProject(ctx, page, name) {
  await page.goto(`${ctx.url}/`);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create project" }).click();
  await page.waitForURL(/\/projects\/\d+$/);
  return Number(new URL(page.url()).pathname.split("/")[2]);
}

// Buttons that change the project: a viewer must never be offered one.
const WRITES =
  /^(Upload model|Choose files…|Rebalance 80\/20|Relabel|Move|Delete|Empty the trash|Export dataset|Import a dataset zip…|Save version|Save impulse|Save|Generate features|\+ Add a (processing|learning) block|Start training|Retrain|Build|Start virtual board|Start recording|Start search|Use this trial|Run on-device testing|Run in impulse|Profile on every board|Build C library|Cancel|Create API key|Send invitation|Rotate|Remove|Make owner|Export the whole project|Record|Move to trash|Restore|Restore version \d+|Crop to selection|Split)$/;

/** The enabled buttons of the page that would change the project. */
async function writeButtons(page) {
  const names = await page
    .locator("main button:not([disabled])")
    .evaluateAll((buttons) => buttons.map((b) => (b.getAttribute("aria-label") ?? b.textContent ?? "").trim()));
  return names.filter((name) => WRITES.test(name));
}

export const tests = [
  {
    name: "confirmations say how many samples change, Escape cancels, Undo takes changes back",
    async fn(ctx) {
      const page = ctx.shared.page;
      const projectId = await createProject(ctx, page, "Safety");
      await openSection(page, "Data acquisition");
      await page.locator("select[name=upload-category]").selectOption("training");
      const names = ["badminton.001.csv", "badminton.002.csv", "badminton.003.csv", "running.001.csv", "running.002.csv", "running.003.csv"];
      await page.getByTestId("upload-input").setInputFiles(names.map((n) => ({ name: n, mimeType: "text/csv", buffer: readFileSync(resolve(DEMO, n)) })));
      await page.getByText("6 stored · 0 refused").waitFor({ timeout: 30_000 });
      const testing = async () => {
        await page.locator("select[name=filter-category]").selectOption("testing");
        const n = await eventually(async () => {
          await page.getByRole("heading", { name: /^Samples/ }).waitFor();
          return sampleCount(page);
        });
        await page.locator("select[name=filter-category]").selectOption("");
        return n;
      };
      const undo = page.getByRole("status").filter({ has: page.getByRole("button", { name: "Undo" }) });

      // Rebalancing says what it would move before it moves it: 2 of each label's 3 stay in training.
      await page.getByRole("button", { name: "Rebalance 80/20" }).click();
      const dialog = page.getByRole("alertdialog");
      await dialog.getByRole("heading", { name: "Move 2 samples to testing?" }).waitFor();
      assert.match(await dialog.textContent(), /6 samples in all/);
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Cancel");
      await shot(ctx, page, "60-confirm-rebalance");
      await answerDialog(page, "Rebalance");
      await undo.getByText("Moved 2 samples between training and testing.").waitFor();
      await eventually(async () => assert.equal(await testing(), 2));
      await shot(ctx, page, "61-undo-offer");
      await undo.getByRole("button", { name: "Undo" }).click();
      await page.getByText("Undone.").waitFor();
      await eventually(async () => assert.equal(await testing(), 0));

      // Escape answers no: nothing moves.
      await page.getByRole("checkbox", { name: "Select all on this page" }).check();
      await page.getByLabel("Move to category").selectOption("testing");
      await page.getByRole("toolbar").getByRole("button", { name: "Move" }).click();
      await dialog.getByRole("heading", { name: "Move 6 samples to testing?" }).waitFor();
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      await eventually(async () => assert.equal(await testing(), 0));
      // Confirming moves them all, Undo moves them all back.
      await page.getByRole("checkbox", { name: "Select all on this page" }).check();
      await page.getByLabel("Move to category").selectOption("testing");
      await page.getByRole("toolbar").getByRole("button", { name: "Move" }).click();
      await answerDialog(page, "Move 6 samples", /^Move 6 samples to testing\?$/);
      await undo.getByText("Moved 6 samples to testing.").waitFor();
      await eventually(async () => assert.equal(await testing(), 6));
      await undo.getByRole("button", { name: "Undo" }).click();
      await eventually(async () => assert.equal(await testing(), 0));

      // Relabel with Enter in the label box, then undo it: the old labels come back.
      const row = (name) => page.locator(".samples-table tbody tr", { has: page.getByRole("link", { name, exact: true }) });
      await row("badminton.001").getByRole("checkbox").check();
      await row("running.001").getByRole("checkbox").check();
      await page.getByLabel("New label").fill("idle");
      await page.getByLabel("New label").press("Enter");
      await answerDialog(page, "Relabel 2 samples", /^Relabel 2 samples as “idle”\?$/);
      await undo.getByText("Relabelled 2 samples as “idle”.").waitFor();
      await undo.getByRole("button", { name: "Undo" }).click();
      await page.getByText("Undone.").waitFor();
      await eventually(async () => assert.equal(await page.locator(".samples-table").getByRole("cell", { name: "idle", exact: true }).count(), 0));

      // An undo after someone else changed one of the samples changes nothing and says why.
      await row("running.002").getByRole("checkbox").check();
      await page.getByLabel("Move to category").selectOption("testing");
      await page.getByRole("toolbar").getByRole("button", { name: "Move" }).click();
      await answerDialog(page, "Move 1 sample", /^Move 1 sample to testing\?$/);
      await undo.getByText("Moved 1 sample to testing.").waitFor();
      const [moved] = (await callApi(page, "GET", `/api/projects/${projectId}/samples?search=running.002`)).items;
      await callApi(page, "PATCH", `/api/projects/${projectId}/samples/${moved.id}`, { label: "sprinting" });
      await undo.getByRole("button", { name: "Undo" }).click();
      await page
        .getByRole("alert")
        .getByText(/^sample \d+ changed since, so nothing was undone$/)
        .waitFor();
      await eventually(async () => assert.equal(await testing(), 1));

      // An edit on a sample's own page can be taken back too.
      await page.locator(".samples-table").getByRole("link", { name: "badminton.001", exact: true }).click();
      await page.getByRole("heading", { name: "Signal" }).waitFor();
      await page.locator("input[name=sample-label]").fill("smash");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await undo.getByText("Saved: label badminton → smash.").waitFor();
      await undo.getByRole("button", { name: "Undo" }).click();
      await eventually(async () => assert.equal(await page.locator("input[name=sample-label]").inputValue(), "badminton"));
      await openSection(page, "Data acquisition");

      // Trashing asks, and emptying the trash asks with the count and says it is for good.
      await row("badminton.002").getByRole("checkbox").check();
      await row("badminton.003").getByRole("checkbox").check();
      await page.getByRole("toolbar").getByRole("button", { name: "Delete" }).click();
      await answerDialog(page, "Move to the trash", /^Move 2 samples to the trash\?$/);
      await eventually(async () => assert.equal(await sampleCount(page), 4));
      await page.getByText("2 samples in the trash (kept for 30 days).").waitFor();
      await page.getByRole("button", { name: "Empty the trash" }).click();
      await dialog.getByText("This cannot be undone.").waitFor();
      await shot(ctx, page, "62-confirm-purge");
      await answerDialog(page, "Delete for good", /^Delete 2 samples in the trash for good\?$/);
      await page.getByText("Deleted 2 samples for good.").waitFor();
      await eventually(async () => assert.equal(await page.getByRole("button", { name: "Empty the trash" }).isDisabled(), true));

      // Deleting the project names what it holds.
      await openSection(page, "Settings");
      await page.getByText("Delete this project").click();
      await page.getByLabel("Project name").fill("Safety");
      await page.getByRole("button", { name: "Delete project" }).click();
      await answerDialog(page, "Delete the project", /^Delete project “Safety” with 4 samples, 0 impulses, 0 training runs and 0 builds\?$/);
      await page.getByRole("heading", { name: "Your projects" }).waitFor();
      assert.equal(await page.getByRole("link", { name: "Safety" }).count(), 0);
    },
  },
  {
    name: "a viewer reads every page: values and disabled fields, a note, no button that would fail",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl + "/settings");
      await page.getByLabel("Username or email").fill("vera@example.com");
      await page.locator("select[name=invite-role]").selectOption("viewer");
      await page.getByRole("button", { name: "Send invitation" }).click();
      await page.getByText(/vera@example.com as viewer/).waitFor();

      const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 800 } });
      const vera = await context.newPage();
      vera.setDefaultTimeout(10_000);
      // Any write the page sends and the studio refuses for the role is a button that failed.
      const refused = [];
      vera.on("response", (answer) => {
        if (answer.request().method() !== "GET" && answer.status() === 403) refused.push(`${answer.request().method()} ${answer.url()}`);
      });
      await vera.goto(`${ctx.url}/signup`);
      await vera.getByLabel("Username").fill("vera");
      await vera.getByLabel("Email").fill("vera@example.com");
      await vera.getByLabel("Password").fill("a viewer's long passphrase");
      await vera.getByRole("button", { name: "Sign up" }).click();
      await vera.getByRole("button", { name: "Accept" }).click();
      await vera.getByRole("link", { name: "Motion demo" }).click();
      await vera.waitForURL(/\/projects\/\d+$/);

      const note = vera.getByRole("note").getByText("You can read this project; editors change it.");
      const pages = [
        "Dashboard",
        "Data acquisition",
        "Devices",
        "Impulse design",
        "Training",
        "Tuner",
        "Deployment",
        "Models",
        "Virtual boards",
        "Flash a board",
        "Settings",
      ];
      for (const section of pages) {
        await openSection(vera, section);
        await vera.locator("main h1").first().waitFor();
        // Let the page's data arrive before judging what it offers.
        await vera.waitForLoadState("networkidle");
        await note.waitFor();
        assert.deepEqual(await writeButtons(vera), [], `${section} offers a viewer buttons that change the project`);
        if (section === "Impulse design" || section === "Training") {
          const editable = await vera.locator("main .schema-form input:not([disabled]), main .schema-form select:not([disabled])").count();
          assert.equal(editable, 0, `${section} has editable block settings`);
        }
        await shot(ctx, vera, `63-viewer-${section.toLowerCase().replace(/\W+/g, "-")}`);
      }
      // A sample, and its plot, read the same way.
      await openSection(vera, "Data acquisition");
      const first = vera.locator(".samples-table tbody tr a").first();
      if (await first.count()) {
        await first.click();
        await vera.getByRole("heading", { name: "Signal" }).waitFor();
        await vera.waitForLoadState("networkidle");
        assert.deepEqual(await writeButtons(vera), []);
        assert.equal(await vera.locator(".samples-table input[type=checkbox]").count(), 0);
      }
      assert.deepEqual(refused, []);
      await context.close();
    },
  },
  {
    name: "the dashboard's checklist ticks steps from the project's state and works from the keyboard alone",
    async fn(ctx) {
      const page = ctx.shared.page;
      await createProject(ctx, page, "Checklist");
      const checklist = page.getByRole("list", { name: "From data to a board" });
      await page.getByText("0 of 5 done").waitFor();
      assert.deepEqual(await checklist.getByRole("link").allTextContents(), [
        "1Collect data (next step)next",
        "2Design an impulse (to do)",
        "3Train a model (to do)",
        "4Deploy it (to do)",
        "5Run it on a board (to do)",
      ]);
      await checklist.getByText("Needs training samples of at least two labels and a test set").waitFor();

      // From the top of the page, Tab reaches the first step; its focus is plain to see; Enter opens it.
      await page.locator("body").focus();
      const first = checklist.getByRole("link", { name: /Collect data/ });
      let tabs = 0;
      while (!(await first.evaluate((link) => link === document.activeElement))) {
        await page.keyboard.press("Tab");
        tabs += 1;
        assert.ok(tabs < 30, "Tab reaches the checklist");
      }
      const outline = await first.evaluate((link) => getComputedStyle(link).outlineStyle);
      assert.notEqual(outline, "none", "the focused step shows a focus ring");
      await shot(ctx, page, "64-checklist-keyboard-focus");
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/data$/);
      await page.getByRole("heading", { name: "Data acquisition" }).waitFor();

      // Two labels for training and a test sample tick the first step; the impulse is next.
      for (const [category, names] of [
        ["training", ["badminton.001.csv", "running.001.csv"]],
        ["testing", ["running.002.csv"]],
      ]) {
        await page.locator("select[name=upload-category]").selectOption(category);
        await page.getByTestId("upload-input").setInputFiles(names.map((n) => ({ name: n, mimeType: "text/csv", buffer: readFileSync(resolve(DEMO, n)) })));
        await page.getByText(`${names.length} stored · 0 refused`).waitFor({ timeout: 30_000 });
      }
      await openSection(page, "Dashboard");
      await page.getByText("1 of 5 done").waitFor();
      await checklist.getByText("3 samples, 2 labels, 1 in the test set").waitFor();
      await checklist.getByRole("link", { name: "Design an impulse (next step)" }).waitFor();
      // Shift+Tab goes back through the steps as well.
      await checklist.getByRole("link", { name: /Design an impulse/ }).focus();
      await page.keyboard.press("Shift+Tab");
      assert.match(await page.evaluate(() => document.activeElement?.textContent ?? ""), /Collect data \(done\)/);

      // The project every other scenario built: its ticks are exactly what its overview says.
      await page.goto(ctx.shared.projectUrl);
      const projectId = Number(new URL(page.url()).pathname.split("/")[2]);
      const o = await callApi(page, "GET", `/api/projects/${projectId}/overview`);
      const expected = [
        o.training_labels >= 2 && o.testing_samples > 0,
        o.impulses > 0,
        o.succeeded_training_runs > 0,
        o.succeeded_deployments > 0,
        o.device_tests + o.virtual_board_sessions > 0,
      ];
      await page.getByText(`${expected.filter(Boolean).length} of 5 done`).waitFor();
      const ticked = await checklist.locator("li").evaluateAll((items) => items.map((li) => li.classList.contains("step-done")));
      assert.deepEqual(ticked, expected);
      await shot(ctx, page, "65-checklist-project");
    },
  },
  {
    name: "a phone-sized window (390 × 844): dashboard, data and training read without sideways scrolling",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        await page.goto(ctx.shared.projectUrl);
        for (const [section, ready] of [
          ["Dashboard", () => page.getByRole("list", { name: "From data to a board" }).waitFor()],
          ["Data acquisition", () => page.getByRole("heading", { name: /^Samples/ }).waitFor()],
          ["Training", () => page.getByRole("heading", { name: "Training", exact: true }).waitFor()],
        ]) {
          if (section !== "Dashboard") await openSection(page, section);
          await ready();
          await page.waitForLoadState("networkidle");
          // The page must not scroll sideways; a wide table may, inside its own scrolling box.
          const overflow = await page.evaluate(() => {
            const width = document.documentElement.clientWidth;
            const boxed = (el) => {
              for (let p = el.parentElement; p; p = p.parentElement) if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true;
              return false;
            };
            const wide = [...document.body.querySelectorAll("*")].filter((el) => el.getBoundingClientRect().right > width + 0.5 && !boxed(el));
            return { by: document.documentElement.scrollWidth - width, wide: wide.slice(0, 4).map((el) => `${el.tagName.toLowerCase()}.${el.className}`) };
          });
          assert.ok(overflow.by <= 0, `${section} scrolls sideways by ${overflow.by} px: ${overflow.wide.join(", ")}`);
          await shot(ctx, page, `66-phone-${section.toLowerCase().replace(/\W+/g, "-")}`);
        }
      } finally {
        await page.setViewportSize({ width: 1280, height: 800 });
      }
    },
  },
  {
    name: "forms say in words what to change, and send nothing out of the schema's limits",
    async fn(ctx) {
      const page = ctx.shared.page;
      await page.goto(ctx.shared.projectUrl + "/impulse");
      const save = page.getByRole("button", { name: "Save impulse" });
      await save.waitFor();
      const epochs = page.locator(".impulse-flow [data-field=epochs] input").first();
      await epochs.fill("0");
      await page.locator("[data-field=epochs] .field-error").first().getByText("must be at least 1").waitFor();
      await page.getByText(/^To save: (Learning block \d+: )?Training cycles must be at least 1\.$/).waitFor();
      assert.equal(await save.isDisabled(), true);
      assert.equal(await epochs.getAttribute("aria-invalid"), "true");
      await shot(ctx, page, "67-impulse-invalid-setting");
      await page.locator("input[name=impulse-name]").fill("");
      await page.getByText("To save: The impulse needs a name (and 1 more, marked above).").waitFor();
      assert.equal(await page.locator("input[name=impulse-name]").getAttribute("aria-invalid"), "true");
      // The training form checks its own copy of the settings the same way.
      await openSection(page, "Training");
      const start = page.getByRole("button", { name: "Start training" });
      await start.waitFor();
      await page.locator("[data-field=epochs] input").fill("100000");
      await page.getByText(/^To start: Training cycles must be at most \d+\.$/).waitFor();
      assert.equal(await start.isDisabled(), true);
      await page.locator("[data-field=epochs] input").fill("12");
      assert.equal(await start.isDisabled(), false);
    },
  },
];
