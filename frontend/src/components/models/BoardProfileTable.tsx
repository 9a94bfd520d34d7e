/** The model on every board of the catalog: RAM and flash drawn against each board's limits, instructions, estimated latency, whether it fits. */
import { Fragment } from "react";
import type { BoardProfile } from "../../api/models";
import { barPercent, formatCount, percentOf, profileSummary } from "../../lib/models";
import { formatMs } from "../../lib/tuner";
import { formatBytes } from "../ui";

function Usage({ what, used, parts, limit }: { what: string; used: number; parts: string; limit: number }) {
  const over = used > limit;
  return (
    <div className="usage" data-usage={what}>
      <div className="usage-figures">
        <strong className={over ? "error-text" : undefined}>{formatBytes(used)}</strong>{" "}
        <span className="muted small">
          {percentOf(used, limit)} of {formatBytes(limit)}
        </span>
      </div>
      <div className={over ? "usage-bar usage-over" : "usage-bar"} role="img" aria-label={`${what} ${formatBytes(used)} of the board's ${formatBytes(limit)}`}>
        <div className="usage-fill" style={{ width: `${barPercent(used, limit)}%` }} />
      </div>
      <span className="muted usage-parts">{parts}</span>
    </div>
  );
}

function Measured({ board }: { board: BoardProfile }) {
  const mhz = board.clock_hz / 1e6;
  return (
    <>
      <td className="nowrap measured-on">{board.measured_on}</td>
      <td>
        <Usage
          what="RAM"
          used={board.ram_bytes ?? 0}
          parts={`arena ${formatBytes(board.arena_bytes ?? 0)} + stack ${formatBytes(board.stack_bytes ?? 0)}`}
          limit={board.board_ram_bytes}
        />
      </td>
      <td>
        <Usage
          what="flash"
          used={board.flash_bytes ?? 0}
          parts={`code ${formatBytes(board.code_bytes ?? 0)} + weights ${formatBytes(board.weights_bytes ?? 0)}`}
          limit={board.board_flash_bytes}
        />
      </td>
      <td className="num" title={board.instructions?.toLocaleString("en-US")}>
        {formatCount(board.instructions)}
      </td>
      <td className="num" title={`${board.instructions?.toLocaleString("en-US")} instructions × ${board.cpi} cycles ÷ ${mhz} MHz`}>
        ≈ {formatMs(board.latency_ms)}
      </td>
      <td className="center">
        {board.fits ? (
          <span className="ok-text" aria-label="fits">
            ✓
          </span>
        ) : (
          <span className="error-text" aria-label="does not fit">
            ✗
          </span>
        )}
      </td>
    </>
  );
}

export function BoardProfileTable({ boards }: { boards: BoardProfile[] }) {
  return (
    <>
      <p className="small" data-testid="profile-summary">
        {profileSummary(boards)}
      </p>
      <div className="table-wrap">
        <table className="table compact profile-table" aria-label="Profile by board">
          <thead>
            <tr>
              <th>Board and core</th>
              <th>Measured on</th>
              <th>RAM (arena + stack)</th>
              <th>Flash (code + weights)</th>
              <th>Instructions</th>
              <th>Latency (estimate)</th>
              <th>Fits</th>
            </tr>
          </thead>
          <tbody>
            {boards.map((b) => (
              <Fragment key={b.board_id}>
                <tr data-board={b.board_id} className={!b.measured ? "row-unmeasured" : b.note ? "row-noted" : undefined}>
                  <td className="board-cell">
                    <strong>{b.board_name}</strong>
                    <span className="muted small" data-core={b.core}>
                      {b.core} · {b.clock_hz / 1e6} MHz
                    </span>
                  </td>
                  {b.measured ? (
                    <Measured board={b} />
                  ) : (
                    <td colSpan={6} className="board-note">
                      {b.note ?? "Not measured."}
                    </td>
                  )}
                </tr>
                {/* A measured board's caveat (figures borrowed from a kindred core) reads under its figures, across the table. */}
                {b.measured && b.note && (
                  <tr className="note-row" data-note-for={b.board_id}>
                    <td colSpan={7} className="board-note small">
                      {b.note}
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        RAM and flash are the model's own: its arena, the stack one inference paints, its code and weights; the firmware around it adds its own. Boards of one
        core share a build. Latency is an estimate: the instructions one inference takes in QEMU × the core's cycles per instruction ÷ the board's clock.
      </p>
    </>
  );
}
