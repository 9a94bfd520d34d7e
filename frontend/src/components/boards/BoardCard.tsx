/** The connected board: how it is connected, what it says about itself, its serial terminal and, for a virtual board, flashing another build. */
import { useState } from "react";
import type { Schemas } from "../../api/client";
import { BoardInfoPanel } from "../BoardInfo";
import { Card } from "../ui";
import { SerialTerminal } from "./SerialTerminal";
import type { BoardSession } from "./useBoardSession";

type Deployment = Schemas["DeploymentOut"];

export function BoardCard({
  session,
  ready,
  chosen,
}: {
  session: BoardSession;
  /** The firmware builds for virtual boards that can be flashed. */
  ready: Deployment[];
  /** The build chosen on the page, flashed unless another is picked here. */
  chosen: Deployment | null;
}) {
  const { board, info, connected, ended, busy } = session;
  const [command, setCommand] = useState("");
  const [flashId, setFlashId] = useState<number | null>(null);
  const target = flashId ?? chosen?.id ?? null;
  return (
    <Card title={board ? `Virtual board ${board.board_name}` : "Board on Web Serial"}>
      <p className="muted small" role="status">
        {!connected
          ? `Disconnected: ${ended ?? "…"}`
          : board
            ? `Connected over the serial WebSocket · build #${board.deployment_id} · QEMU ${board.qemu_machine}`
            : "Connected over Web Serial"}
      </p>
      {info && <BoardInfoPanel info={info} figures={ready.find((d) => d.id === board?.deployment_id)?.figures} />}
      <SerialTerminal
        log={session.log}
        command={command}
        onCommand={setCommand}
        onSend={() => {
          setCommand("");
          void session.actions.send(command.trim());
        }}
        connected={connected}
      />
      {connected && board && (
        <div className="inline-form">
          <label className="field">
            <span>Flash another build</span>
            <select name="flash-deployment" value={target ?? ""} onChange={(e) => setFlashId(Number(e.target.value))}>
              {ready
                .filter((d) => d.board_id === board.board_id)
                .map((d) => (
                  <option key={d.id} value={d.id}>
                    Build #{d.id} · run #{d.training_run_id}
                  </option>
                ))}
            </select>
          </label>
          <button className="btn" disabled={busy !== null || target === null} onClick={() => target !== null && void session.actions.flash(target)}>
            {busy === "Flashing" ? "Flashing…" : "Flash"}
          </button>
        </div>
      )}
    </Card>
  );
}
