// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfirmProvider, useConfirm } from "./ConfirmDialog";

// React's act() warns unless it is told it runs in a test.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let answers: boolean[];
let root: Root;
let host: HTMLDivElement;

function Asker() {
  const confirm = useConfirm();
  return (
    <button
      type="button"
      id="ask"
      onClick={async () =>
        answers.push(await confirm({ title: "Move 12 samples to testing?", body: <p>You can undo it.</p>, confirmLabel: "Move 12 samples" }))
      }
    >
      Ask
    </button>
  );
}

async function press(key: string, shiftKey = false) {
  await act(async () => {
    document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key, shiftKey, bubbles: true }));
  });
}

async function open() {
  const ask = document.getElementById("ask")!;
  ask.focus();
  await act(async () => ask.click());
  return document.querySelector<HTMLElement>("[role=alertdialog]")!;
}

beforeEach(async () => {
  answers = [];
  host = document.createElement("div");
  document.body.append(host);
  root = createRoot(host);
  await act(async () =>
    root.render(
      <ConfirmProvider>
        <Asker />
      </ConfirmProvider>,
    ),
  );
});

afterEach(async () => {
  await act(async () => root.unmount());
  host.remove();
});

describe("ConfirmDialog", () => {
  it("asks with the count, named by its title and body, with the page behind it inert", async () => {
    const dialog = await open();
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(dialog.getAttribute("aria-labelledby")!)?.textContent).toBe("Move 12 samples to testing?");
    expect(document.getElementById(dialog.getAttribute("aria-describedby")!)?.textContent).toBe("You can undo it.");
    expect(host.querySelector(".app-root")?.hasAttribute("inert")).toBe(true);
    // Cancel has the focus first, so Enter right away destroys nothing.
    expect(document.activeElement?.textContent).toBe("Cancel");
  });

  it("keeps Tab and Shift+Tab inside the dialog", async () => {
    await open();
    await press("Tab", true);
    expect(document.activeElement?.textContent).toBe("Move 12 samples");
    await press("Tab");
    expect(document.activeElement?.textContent).toBe("Cancel");
  });

  it("answers no on Escape and yes on the confirming button, then gives the focus back", async () => {
    await open();
    await press("Escape");
    expect(answers).toEqual([false]);
    expect(document.querySelector("[role=alertdialog]")).toBeNull();
    expect(host.querySelector(".app-root")?.hasAttribute("inert")).toBe(false);
    expect(document.activeElement?.id).toBe("ask");

    const dialog = await open();
    await act(async () => [...dialog.querySelectorAll("button")].find((b) => b.textContent === "Move 12 samples")!.click());
    expect(answers).toEqual([false, true]);
  });
});
