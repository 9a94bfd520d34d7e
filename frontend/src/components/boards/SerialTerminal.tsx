/** A board's serial terminal: what went each way (newest line in view) and a command line. */
import { useEffect, useRef } from "react";

export interface LogLine {
  n: number;
  direction: "in" | "out" | "note";
  text: string;
}

export function SerialTerminal({
  log,
  command,
  onCommand,
  onSend,
  connected,
}: {
  log: LogLine[];
  command: string;
  onCommand: (text: string) => void;
  onSend: () => void;
  connected: boolean;
}) {
  const terminalRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    // Follow the newest line, like a terminal.
    const terminal = terminalRef.current;
    if (terminal) terminal.scrollTop = terminal.scrollHeight;
  }, [log]);
  return (
    <>
      <pre ref={terminalRef} className="log" role="log" aria-label="Serial terminal" data-testid="terminal" style={{ wordBreak: "break-all" }}>
        {log.map((l) => `${l.direction === "out" ? "> " : l.direction === "note" ? "" : "< "}${l.text}\n`).join("")}
      </pre>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          onSend();
        }}
      >
        <label className="field">
          <span>Command</span>
          <input name="command" value={command} onChange={(e) => onCommand(e.target.value)} placeholder="info" disabled={!connected} />
        </label>
        <button className="btn" type="submit" disabled={!connected || !command.trim()}>
          Send
        </button>
      </form>
    </>
  );
}
