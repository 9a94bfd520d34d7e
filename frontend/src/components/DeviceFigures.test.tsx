// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import type { Schemas } from "../api/client";
import { BoardInfoPanel } from "./BoardInfo";
import { DeviceFigures, figuresView, infoView } from "./DeviceFigures";

const FIGURES: Schemas["DeviceFigures"] = {
  board: "virtual-cortex-m4",
  core: "cortex-m4",
  measured_on: "virtual-cortex-m4",
  note: null,
  ram: {
    total_bytes: 14540,
    arena_bytes: 11840,
    stack_bytes: 1946,
    static_bytes: 754,
    stack_reserved_bytes: 16384,
    stack_method: "painted in QEMU",
    static_parts: { firmware: 700, other: 54, replay: 0 },
    arena_lower_bound_bytes: 16000,
    arena_note: "arena 11,840 B is below the 16,000 B lower bound because layers reuse their input buffers in place",
  },
  flash: { total_bytes: 61344, model_bytes: 40000, code_bytes: 21000, data_bytes: 344, parts: { model_weights: 30008 } },
  latency: {
    ms: 3.21,
    instructions: 61731,
    stage_instructions: { dsp: 1731, inference: 60000 },
    clock_hz: 25000000,
    cpi: 1.3,
    estimate: true,
    method: "instructions counted on virtual-cortex-m4 x 1.3 / 25 MHz",
    cpi_source: "Cortex-M4 TRM",
  },
  fits: true,
  flash_limit_bytes: 4194304,
  ram_limit_bytes: 4194304,
};

const INFO = {
  protocol: 1,
  board: "virtual-cortex-m4",
  model: "kws",
  labels: ["yes", "no"],
  signal_values: 490,
  arena_bytes: 11840,
  flash_bytes: 61344,
  ram_bytes: 14540,
  ram: { total_bytes: 14540, arena_bytes: 11840, stack_bytes: 1946, static_bytes: 754, stack_reserved_bytes: 16384 },
};

function render(node: React.ReactElement) {
  return new DOMParser().parseFromString(renderToStaticMarkup(node), "text/html");
}

describe("DeviceFigures", () => {
  it("names what RAM, flash and latency contain", () => {
    const doc = render(<DeviceFigures figures={figuresView(FIGURES)} />);
    expect(doc.querySelector("[data-profile=ram]")?.textContent).toBe("14.2 KBRAM used of 4.0 MB = arena 11.6 KB + stack 1.9 KB + static 754 B");
    expect(doc.querySelector("[data-profile=flash]")?.textContent).toBe("59.9 KBflash used of 4.0 MB = model 39.1 KB + code 20.5 KB + data 344 B");
    expect(doc.querySelector("[data-profile=latency]")?.textContent).toContain("3.21 ms");
    expect(doc.querySelector("[data-profile=latency]")?.textContent).toContain("61,731 instructions × 1.3 cycles ÷ 25 MHz");
    expect(doc.querySelector("[data-testid=arena-note]")?.textContent).toContain(
      "below the 16,000 B lower bound because layers reuse their input buffers in place",
    );
    expect(doc.querySelector("table.profile")?.textContent).toContain("flash model_weights");
  });

  it("names the impulse's own RAM and flash, the figures budgets are compared with", () => {
    const withImpulse = {
      ...FIGURES,
      ram: { ...FIGURES.ram, impulse_bytes: 3806, impulse_contains: "model arena + DSP buffers + anomaly block + painted stack" },
      flash: { ...FIGURES.flash, impulse_bytes: 7224, impulse_contains: "model weights + model code + DSP code + anomaly block" },
    };
    const doc = render(<DeviceFigures figures={figuresView(withImpulse)} />);
    expect(doc.querySelector("[data-testid=impulse-figures]")?.textContent).toBe(
      "Impulse alone (without the firmware's serial and replay buffers): RAM 3.7 KB = model arena + DSP buffers + anomaly block + painted stack; flash 7.1 KB = model weights + model code + DSP code + anomaly block",
    );
    // Builds measured before impulse figures existed show no such line.
    expect(render(<DeviceFigures figures={figuresView(FIGURES)} />).querySelector("[data-testid=impulse-figures]")).toBeNull();
    expect(render(<DeviceFigures figures={infoView(INFO)} />).querySelector("[data-testid=impulse-figures]")).toBeNull();
  });

  it("names the firmware's replay buffer inside the static part", () => {
    const withReplay = { ...FIGURES, ram: { ...FIGURES.ram, static_parts: { ...FIGURES.ram.static_parts, replay: 65536 } } };
    const doc = render(<DeviceFigures figures={figuresView(withReplay)} />);
    expect(doc.querySelector("[data-profile=ram] .stat-label")?.textContent).toMatch(/static 754 B \(replay buffer 64\.0 KB\)$/);
  });

  it("shows the same RAM and flash from the board's info as from the build report", () => {
    const fromReport = render(<DeviceFigures figures={figuresView(FIGURES)} />);
    const fromInfo = render(<DeviceFigures figures={infoView(INFO)} />);
    const ram = (doc: Document) => doc.querySelector("[data-profile=ram] .stat-value")?.textContent;
    expect(ram(fromInfo)).toBe(ram(fromReport));
    expect(fromInfo.querySelector("[data-profile=ram] .stat-label")?.textContent).toBe("RAM used = arena 11.6 KB + stack 1.9 KB + static 754 B");
    expect(fromInfo.querySelector("[data-profile=latency]")).toBeNull(); // the board cannot count its instructions
  });

  it("flags a board that runs another image than the chosen build", () => {
    const same = render(<BoardInfoPanel info={INFO} figures={FIGURES} />);
    expect(same.querySelector("[data-testid=figures-differ]")).toBeNull();
    expect(same.querySelector("[data-testid=board-info]")?.textContent).toMatch(/\d+(\.\d)? KB\s*flash used/);
    const other = render(<BoardInfoPanel info={{ ...INFO, ram: { ...INFO.ram, total_bytes: 20000 } }} figures={FIGURES} />);
    expect(other.querySelector("[data-testid=figures-differ]")?.textContent).toContain("19.5 KB");
  });
});
