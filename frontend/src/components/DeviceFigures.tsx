/**
 * The RAM, flash and latency of one build, each naming what it contains: the build report's
 * figures on the Deployment page, the same figures (or the board's own `info`) on Virtual boards.
 */
import type { Schemas } from "../api/client";
import { formatBytes } from "./ui";

type Figures = Schemas["DeviceFigures"];

/** RAM as the board's `info` and the build report give it. */
export interface RamParts {
  total_bytes: number;
  arena_bytes: number;
  stack_bytes: number;
  static_bytes: number;
  arena_note?: string | null;
  impulse_bytes?: number | null;
  impulse_contains?: string | null;
}

/** The impulse's own part of RAM or flash: what the tuner's budgets are compared with. */
interface ImpulsePart {
  impulse_bytes?: number | null;
  impulse_contains?: string | null;
}

/** What the panel shows: a build's figures, or the part of them a board's `info` prints. */
export interface FiguresView {
  ram: RamParts | null;
  flash: ({ total_bytes: number; model_bytes?: number; code_bytes?: number; data_bytes?: number } & ImpulsePart) | null;
  latency?: Figures["latency"] | null;
  flash_limit_bytes?: number;
  ram_limit_bytes?: number;
  note?: string | null;
  stack_method?: string;
  breakdown?: [string, string][];
}

function ramParts(ram: RamParts & { static_parts?: Record<string, number> }): string {
  // The firmware's replay buffer (virtual sensor) often dwarfs the model: say so.
  const replay = ram.static_parts?.replay ? ` (replay buffer ${formatBytes(ram.static_parts.replay)})` : "";
  return ` = arena ${formatBytes(ram.arena_bytes)} + stack ${formatBytes(ram.stack_bytes)} + static ${formatBytes(ram.static_bytes)}${replay}`;
}

function flashParts(flash: NonNullable<FiguresView["flash"]>): string {
  if (flash.model_bytes == null || flash.code_bytes == null || flash.data_bytes == null) return "";
  return ` = model ${formatBytes(flash.model_bytes)} + code ${formatBytes(flash.code_bytes)} + data ${formatBytes(flash.data_bytes)}`;
}

function impulsePart(what: string, part: ImpulsePart | null): string | null {
  if (part?.impulse_bytes == null) return null;
  return `${what} ${formatBytes(part.impulse_bytes)}${part.impulse_contains ? ` = ${part.impulse_contains}` : ""}`;
}

/** One line naming the impulse's own RAM and flash, without the firmware's serial and replay parts. */
function impulseLine(figures: FiguresView): string | null {
  const parts = [impulsePart("RAM", figures.ram), impulsePart("flash", figures.flash)].filter(Boolean);
  return parts.length ? `Impulse alone (without the firmware's serial and replay buffers): ${parts.join("; ")}` : null;
}

/** The panel's view of a build report's figures, with the finer split for the breakdown table. */
export function figuresView(f: Figures): FiguresView {
  const breakdown: [string, string][] = [
    ...Object.entries(f.flash.parts).map(([k, v]): [string, string] => [`flash ${k}`, formatBytes(v)]),
    ...Object.entries(f.ram.static_parts).map(([k, v]): [string, string] => [`ram static ${k}`, formatBytes(v)]),
    ["ram stack reserved", formatBytes(f.ram.stack_reserved_bytes)],
    ...Object.entries(f.latency.stage_instructions).map(([k, v]): [string, string] => [`instructions ${k}`, v.toLocaleString()]),
    ["cycles per instruction", `${f.latency.cpi} (${f.latency.cpi_source})`],
  ];
  return { ...f, stack_method: f.ram.stack_method, breakdown };
}

/** The view of a board's `info` answer: RAM as the firmware measured it, flash used. */
export function infoView(info: { ram?: unknown; flash_bytes?: number }): FiguresView {
  const ram = info.ram as RamParts | undefined;
  return {
    ram: ram && typeof ram.total_bytes === "number" ? ram : null,
    flash: info.flash_bytes != null ? { total_bytes: info.flash_bytes } : null,
  };
}

export function DeviceFigures({ figures }: { figures: FiguresView }) {
  const { ram, flash, latency } = figures;
  const of = (limit?: number) => (limit ? ` of ${formatBytes(limit)}` : "");
  const impulse = impulseLine(figures);
  return (
    <>
      <div className="metrics" data-testid="device-figures">
        {ram && (
          <div className="stat" data-profile="ram" title={figures.stack_method}>
            <span className="stat-value">{formatBytes(ram.total_bytes)}</span>
            <span className="stat-label">
              RAM used{of(figures.ram_limit_bytes)}
              {ramParts(ram)}
            </span>
          </div>
        )}
        {flash && (
          <div className="stat" data-profile="flash">
            <span className="stat-value">{formatBytes(flash.total_bytes)}</span>
            <span className="stat-label">
              flash used{of(figures.flash_limit_bytes)}
              {flashParts(flash)}
            </span>
          </div>
        )}
        {latency && (
          <div className="stat" data-profile="latency" title={latency.method}>
            <span className="stat-value">{latency.ms.toFixed(2)} ms</span>
            <span className="stat-label">
              estimated per window: {latency.instructions.toLocaleString()} instructions × {latency.cpi} cycles ÷ {latency.clock_hz / 1e6} MHz
            </span>
          </div>
        )}
      </div>
      {impulse && (
        <p className="small" data-testid="impulse-figures">
          {impulse}
        </p>
      )}
      {ram?.arena_note && (
        <p className="muted small" data-testid="arena-note">
          {ram.arena_note}.
        </p>
      )}
      {figures.note && (
        <p className="muted small" data-testid="figures-note">
          {figures.note}
        </p>
      )}
      {figures.breakdown && (
        <details>
          <summary>Breakdown</summary>
          <table className="table compact profile">
            <tbody>
              {figures.stack_method && (
                <tr>
                  <td>ram stack</td>
                  <td>{figures.stack_method}</td>
                </tr>
              )}
              {latency && (
                <tr>
                  <td>latency</td>
                  <td>{latency.method}</td>
                </tr>
              )}
              {figures.breakdown.map(([k, v]) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </>
  );
}
