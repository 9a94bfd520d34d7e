// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { boardRow, ESP32_ROW } from "../../lib/modelsTestData";
import { BoardProfileTable } from "./BoardProfileTable";

const NANO = boardRow({
  board_id: "arduino-nano-33-ble-sense",
  board_name: "Arduino Nano 33 BLE Sense",
  clock_hz: 64_000_000,
  board_ram_bytes: 262_144,
  board_flash_bytes: 1_048_576,
  latency_ms: 138.9869,
});
// A board too small for the model: its RAM over the limit.
const TINY = boardRow({ board_id: "tiny", board_name: "Tiny board", board_ram_bytes: 8192, board_flash_bytes: 1_048_576, fits: false });

function render(): Document {
  const doc = document.implementation.createHTMLDocument();
  doc.body.innerHTML = renderToStaticMarkup(<BoardProfileTable boards={[NANO, ESP32_ROW, TINY]} />);
  return doc;
}

describe("the profile table", () => {
  it("shows each measured board's RAM and flash as parts and as a bar against the board's limits", () => {
    const row = render().querySelector("tr[data-board=arduino-nano-33-ble-sense]")!;
    const cells = [...row.querySelectorAll("td")].map((td) => td.textContent);
    expect(cells.slice(0, 2)).toEqual(["Arduino Nano 33 BLE Sensecortex-m4 · 64 MHz", "virtual-cortex-m4"]);
    const ram = row.querySelector("[data-usage=RAM]")!;
    expect(ram.textContent).toBe("13.2 KB 5.2 % of 256.0 KBarena 11.6 KB + stack 1.6 KB");
    expect(ram.querySelector(".usage-bar")?.getAttribute("aria-label")).toBe("RAM 13.2 KB of the board's 256.0 KB");
    expect((ram.querySelector(".usage-fill") as HTMLElement).style.width).toMatch(/^5\.15\d*%$/);
    expect(row.querySelector("[data-usage=flash]")?.textContent).toBe("43.2 KB 4.2 % of 1.0 MBcode 12.9 KB + weights 30.2 KB");
    expect(cells.slice(4)).toEqual(["6.84 M", "≈ 139 ms", "✓"]);
    expect(row.querySelector("td:nth-child(6)")?.getAttribute("title")).toBe("6,842,432 instructions × 1.3 cycles ÷ 64 MHz");
  });

  it("gives a board no virtual board can run its note in place of the figures", () => {
    const row = render().querySelector("tr[data-board=esp32-s3-devkitc-1]")!;
    const note = row.querySelector("td[colspan='6']");
    expect(note?.textContent).toBe("No Xtensa emulator or toolchain in TinyStudio: latency cannot be measured or estimated.");
    expect(row.querySelectorAll("td")).toHaveLength(2);
  });

  it("puts a measured board's caveat in a row of its own under the board's figures", () => {
    const pico = boardRow({ board_id: "raspberry-pi-pico", measured_on: "virtual-cortex-m3", note: "No ARMv6-M virtual board: the estimate is optimistic." });
    const doc = document.implementation.createHTMLDocument();
    doc.body.innerHTML = renderToStaticMarkup(<BoardProfileTable boards={[pico]} />);
    const rows = [...doc.querySelectorAll("tbody tr")];
    expect(rows.map((r) => r.getAttribute("data-board") ?? r.getAttribute("data-note-for"))).toEqual(["raspberry-pi-pico", "raspberry-pi-pico"]);
    expect(rows[1].textContent).toBe("No ARMv6-M virtual board: the estimate is optimistic.");
    expect(rows[0].querySelector("[aria-label=fits]")).not.toBeNull();
  });

  it("marks a board the model does not fit, with its bar full and red", () => {
    const doc = render();
    const row = doc.querySelector("tr[data-board=tiny]")!;
    expect(row.querySelector("[aria-label='does not fit']")?.textContent).toBe("✗");
    const ram = row.querySelector("[data-usage=RAM]")!;
    expect(ram.querySelector(".usage-over .usage-fill")?.getAttribute("style")).toBe("width:100%");
    expect(ram.querySelector(".error-text")?.textContent).toBe("13.2 KB");
    expect(doc.querySelector("[data-testid=profile-summary]")?.textContent).toBe("Fits 1 of 2 boards measured; 1 board cannot be measured.");
  });
});
