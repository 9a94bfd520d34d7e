/**
 * One board the virtual boards page talks to: a studio virtual board over its serial WebSocket or
 * a board on Web Serial. Holds the connection, the terminal log, the board's answers, replays and
 * the stream of readings; every action runs through `act`, which marks the page busy and logs
 * what failed.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, currentCsrfToken, errorText, unwrap, type Schemas } from "../../api/client";
import { Device, type DeviceInfo } from "../../lib/device/device";
import { measureRate } from "../../lib/device/capture";
import { serialSocketUrl, WebSerialTransport, WebSocketTransport, type Transport } from "../../lib/device/transport";
import type { SerialLike } from "../../lib/serial/device";
import { defaultAxisNames, parseLine } from "../../lib/serial/forwarder";
import type { ReplayRequest } from "../ReplaySource";
import type { StreamRate } from "../StreamRecorder";
import { DEFAULT_BOARD } from "./FirmwareCard";
import { STREAM_SECONDS, type Replayed, type StreamReadings } from "./SensorCard";
import type { LogLine } from "./SerialTerminal";

type VirtualBoard = Schemas["VirtualBoardOut"];
type Deployment = Schemas["DeploymentOut"];

const LOG_LINES = 300;
const NO_READINGS: StreamReadings = { t: [], values: [] };

/** Stops a board on the server; `keepalive` lets the request finish while the page unloads. */
function stopBoardRequest(projectId: number, boardId: string, keepalive: boolean): Promise<Response> {
  const token = currentCsrfToken();
  return fetch(`/api/projects/${projectId}/virtual-boards/${boardId}`, {
    method: "DELETE",
    credentials: "same-origin",
    keepalive,
    headers: token ? { "x-csrf-token": token } : {},
  });
}

export function useBoardSession(projectId: number) {
  const [board, setBoard] = useState<VirtualBoard | null>(null);
  const [info, setInfo] = useState<DeviceInfo | null>(null);
  const [log, setLog] = useState<LogLine[]>([]);
  const [ended, setEnded] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const deviceRef = useRef<Device | null>(null);
  // The same device as state, for the parts that render from it.
  const [device, setDevice] = useState<Device | null>(null);
  const [onSerial, setOnSerial] = useState(false);
  const boardRef = useRef<VirtualBoard | null>(null);
  const lineNo = useRef(0);
  const [replayed, setReplayed] = useState<Replayed | null>(null);
  const [streaming, setStreaming] = useState(false);
  // The rate a `stream HZ` command asked for; a plain `stream` plays at the replay's rate.
  const [toldHz, setToldHz] = useState<number | null>(null);
  const [stream, setStream] = useState<StreamReadings>(NO_READINGS);

  const note = useCallback((direction: LogLine["direction"], text: string) => {
    lineNo.current += 1;
    const n = lineNo.current;
    setLog((lines) => [...lines.slice(-(LOG_LINES - 1)), { n, direction, text }]);
  }, []);

  const disconnect = useCallback(
    async (stopOnServer: boolean) => {
      const current = boardRef.current;
      const closing = deviceRef.current;
      deviceRef.current = null;
      boardRef.current = null;
      setDevice(null);
      await closing?.close();
      if (stopOnServer && current) await stopBoardRequest(projectId, current.id, false);
    },
    [projectId],
  );

  // Leaving the page (route change, tab closed) closes the socket and stops the board.
  useEffect(() => {
    const leave = () => {
      const current = boardRef.current;
      void deviceRef.current?.close();
      if (current) void stopBoardRequest(projectId, current.id, true).catch(() => undefined);
      deviceRef.current = null;
      boardRef.current = null;
    };
    window.addEventListener("pagehide", leave);
    return () => {
      window.removeEventListener("pagehide", leave);
      leave();
    };
  }, [projectId]);

  /** Sets up a device on any transport: terminal log, stream plot, end of the connection. */
  function attach(transport: Transport, vb: VirtualBoard | null) {
    const attached = new Device(transport, { timeoutMs: 15_000 });
    attached.onLog((direction, line) => note(direction, line));
    transport.onEnd((reason) => {
      if (deviceRef.current !== attached) return;
      deviceRef.current = null;
      boardRef.current = null;
      setDevice(null);
      setStreaming(false);
      setEnded(reason ?? "closed");
      note("note", `— the connection ended: ${reason ?? "closed"}`);
    });
    transport.onLine((line) => {
      // Forwarder readings while streaming: numbers only; anything else is an answer.
      let values: number[];
      try {
        values = parseLine(line);
      } catch {
        return;
      }
      if (!values.length) return;
      const now = performance.now();
      setStream((s) => {
        const keep = s.t.findIndex((t) => t >= now - STREAM_SECONDS * 1000);
        const from = keep < 0 ? s.t.length : keep;
        return { t: [...s.t.slice(from), now], values: [...s.values.slice(from), values] };
      });
    });
    deviceRef.current = attached;
    boardRef.current = vb;
    setDevice(attached);
    return attached;
  }

  async function act(what: string, task: () => Promise<void>) {
    setBusy(what);
    setError(null);
    try {
      await task();
    } catch (err) {
      setError(err);
      note("note", `— ${what} failed: ${errorText(err)}`);
    } finally {
      setBusy(null);
    }
  }

  /** Stops the stream if one runs, so the board answers commands again. */
  async function pauseStream() {
    if (!streaming) return;
    await deviceRef.current?.stopStream();
    setStreaming(false);
  }

  const connectSerial = () =>
    act("Connecting", async () => {
      setEnded(null);
      setReplayed(null);
      // The firmware's UART runs at 115200 baud.
      const transport = await WebSerialTransport.connect((navigator as unknown as { serial: SerialLike }).serial, 115200);
      setOnSerial(true);
      note("note", "— connected over Web Serial at 115200 baud");
      setInfo(await attach(transport, null).info());
    });

  const disconnectSerial = () =>
    act("Disconnecting", async () => {
      await disconnect(false);
      setStreaming(false);
      setOnSerial(false);
      setInfo(null);
      note("note", "— disconnected");
    });

  const start = (build: Deployment) =>
    act("Starting", async () => {
      setEnded(null);
      setReplayed(null);
      const vb = await unwrap(
        api.POST("/api/projects/{project_id}/virtual-boards", {
          params: { path: { project_id: projectId } },
          body: { board_id: build.board_id ?? DEFAULT_BOARD, deployment_id: build.id },
        }),
      );
      setBoard(vb);
      note("note", `— virtual board ${vb.id} (${vb.board_name}, ${vb.qemu_machine}) started with build #${vb.deployment_id}`);
      // Open the serial line at once: a board nobody connects to stops after a grace period.
      const socket = new WebSocket(serialSocketUrl(vb.serial_url, window.location));
      setInfo(await attach(await WebSocketTransport.open(socket), vb).info());
    });

  const stop = () =>
    act("Stopping", async () => {
      await disconnect(true);
      setStreaming(false);
      setBoard(null);
      setInfo(null);
      note("note", "— the virtual board was stopped");
    });

  const flash = (deploymentId: number) =>
    act("Flashing", async () => {
      const vb = boardRef.current;
      if (!vb) return;
      await pauseStream();
      const updated = await unwrap(
        api.POST("/api/projects/{project_id}/virtual-boards/{virtual_board_id}/flash", {
          params: { path: { project_id: projectId, virtual_board_id: vb.id } },
          body: { deployment_id: deploymentId },
        }),
      );
      setBoard(updated);
      boardRef.current = updated;
      note("note", `— flashed build #${updated.deployment_id}`);
      setReplayed(null);
      setInfo(await deviceRef.current!.info());
    });

  const replay = (request: ReplayRequest) =>
    act("Replaying", async () => {
      const vb = boardRef.current;
      if (!vb) return;
      await pauseStream();
      const answer = await unwrap(
        api.POST("/api/projects/{project_id}/virtual-boards/{virtual_board_id}/replay", {
          params: { path: { project_id: projectId, virtual_board_id: vb.id } },
          body: request.kind === "sample" ? { sample_id: request.sampleId } : { values: request.values, hz: request.hz },
        }),
      );
      const hz = Number(answer.hz.toPrecision(6));
      setReplayed({
        text: `${answer.readings} readings × ${answer.axes} ${answer.axes === 1 ? "axis" : "axes"} at ${hz} Hz${answer.truncated ? ` (cut from ${answer.sample_readings})` : ""} · ${request.description}`,
        hz: answer.hz,
        axisNames: request.axisNames,
      });
    });

  const toggleStream = () =>
    act(streaming ? "Stopping the stream" : "Streaming", async () => {
      const current = deviceRef.current;
      if (!current) return;
      if (streaming) {
        await current.stopStream();
        setStreaming(false);
      } else {
        setStream(NO_READINGS);
        setToldHz(null);
        await current.startStream();
        setStreaming(true);
      }
    });

  /** Sends a line typed in the terminal; `stream [HZ]` and `stop` also start and stop the plot. */
  const send = (line: string) =>
    act("Sending", async () => {
      if (!line || !deviceRef.current) return;
      await deviceRef.current.send(line);
      const words = line.split(/\s+/);
      if (words[0] === "stream") {
        const hz = Number(words[1]);
        setToldHz(words.length > 1 && hz > 0 ? hz : null);
        setStream(NO_READINGS);
        setStreaming(true);
      }
      if (line === "stop") setStreaming(false);
    });

  const series = useMemo(() => {
    const axes = stream.values[0]?.length ?? 0;
    const names = replayed?.axisNames.length === axes ? replayed.axisNames : defaultAxisNames(axes);
    return names.map((name, a) => ({ name, values: stream.values.map((v) => v[a] ?? 0) }));
  }, [stream, replayed]);
  // Recorded readings are stored at the rate the board was told, else the replay's rate (a
  // virtual board), else the one measured from their arrival (a board on Web Serial).
  const measuredHz = useMemo(() => measureRate(stream.t), [stream.t]);
  const rate: StreamRate | null = toldHz
    ? { hz: toldHz, source: "the rate the stream was started with" }
    : board && replayed
      ? { hz: replayed.hz, source: "the replay's rate" }
      : measuredHz
        ? { hz: measuredHz, source: "measured from the readings' arrival" }
        : null;

  return {
    board,
    info,
    log,
    ended,
    error,
    busy,
    device,
    onSerial,
    connected: (board !== null || onSerial) && device !== null && !ended,
    replayed,
    streaming,
    stream,
    series,
    rate,
    act,
    pauseStream,
    /** Whether `candidate` is still the board's connection (a loop over windows stops when not). */
    isCurrent: (candidate: Device) => deviceRef.current === candidate,
    actions: { connectSerial, disconnectSerial, start, stop, flash, replay, toggleStream, send },
  };
}

export type BoardSession = ReturnType<typeof useBoardSession>;
