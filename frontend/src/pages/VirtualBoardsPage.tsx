/**
 * Virtual boards: run a firmware build on a QEMU board of the studio, talk to it over its serial
 * WebSocket (terminal, sensor replay and stream, recording the stream into the dataset, live
 * classification, flashing), and test the model on the device against the studio's own int8
 * results.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useOutletContext } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, currentCsrfToken, errorText, unwrap, type Project, type Schemas } from "../api/client";
import { atLeast, effectiveStatus, useJobStatuses } from "../api/queries";
import { readSampleValues } from "../api/sampleValues";
import { trainedInput } from "../api/trainedRun";
import { BoardInfoPanel } from "../components/BoardInfo";
import { DEFAULT_BOARD, FirmwareCard } from "../components/boards/FirmwareCard";
import { LiveClassificationCard, type ClassifiedSignal, type Prediction } from "../components/boards/LivePredictions";
import { SensorCard, STREAM_SECONDS, type Replayed, type StreamReadings } from "../components/boards/SensorCard";
import { SerialTerminal, type LogLine } from "../components/boards/SerialTerminal";
import { DeviceTestCard } from "../components/DeviceTestCard";
import type { ReplayRequest } from "../components/ReplaySource";
import { StreamRecorder, type StreamRate } from "../components/StreamRecorder";
import { Card, Loading } from "../components/ui";
import { Device, type DeviceInfo } from "../lib/device/device";
import { serialSocketUrl, WebSerialTransport, WebSocketTransport, type Transport } from "../lib/device/transport";
import type { SerialLike } from "../lib/serial/device";
import { cutWindows } from "../lib/device/windows";
import { measureRate } from "../lib/device/capture";
import { defaultAxisNames, parseLine } from "../lib/serial/forwarder";

type VirtualBoard = Schemas["VirtualBoardOut"];

const LOG_LINES = 300;

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

export function VirtualBoardsPage() {
  const project = useOutletContext<Project>();
  const editor = atLeast(project.role, "editor");
  const { statuses, isPending: statusesPending } = useJobStatuses(project.id);
  const deployments = useQuery({
    queryKey: ["project", project.id, "deployments"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/deployments", { params: { path: { project_id: project.id } } })),
  });
  const samples = useQuery({
    queryKey: ["project", project.id, "samples", "virtual-boards"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples", { params: { path: { project_id: project.id }, query: { limit: 200 } } })),
  });
  const firmware = (deployments.data ?? []).filter((d) => d.target === "firmware" && d.board_id?.startsWith("virtual-"));
  const ready = firmware.filter((d) => effectiveStatus(d, statuses) === "succeeded");
  const building = firmware.filter((d) => ["queued", "running"].includes(effectiveStatus(d, statuses)));
  const [chosenId, setChosenId] = useState<number | null>(null);
  const chosen = ready.find((d) => d.id === chosenId) ?? ready[0] ?? null;
  const [flashId, setFlashId] = useState<number | null>(null);

  const [board, setBoard] = useState<VirtualBoard | null>(null);
  const [info, setInfo] = useState<DeviceInfo | null>(null);
  const [log, setLog] = useState<LogLine[]>([]);
  const [ended, setEnded] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const deviceRef = useRef<Device | null>(null);
  // The same device as state, for the parts that render from it.
  const [liveDevice, setLiveDevice] = useState<Device | null>(null);
  const [onSerial, setOnSerial] = useState(false);
  const boardRef = useRef<VirtualBoard | null>(null);
  const lineNo = useRef(0);
  const [command, setCommand] = useState("");

  const [sampleId, setSampleId] = useState<number | null>(null);
  const sample = sampleId ?? samples.data?.items[0]?.id ?? null;
  const [replayed, setReplayed] = useState<Replayed | null>(null);
  const [streaming, setStreaming] = useState(false);
  // The rate a `stream HZ` command asked for; a plain `stream` plays at the replay's rate.
  const [toldHz, setToldHz] = useState<number | null>(null);
  const [stream, setStream] = useState<StreamReadings>({ t: [], values: [] });
  const [predictions, setPredictions] = useState<Prediction[]>([]);
  const [signal, setSignal] = useState<ClassifiedSignal | null>(null);
  const stopClassifying = useRef(false);

  const note = useCallback((direction: LogLine["direction"], text: string) => {
    lineNo.current += 1;
    const n = lineNo.current;
    setLog((lines) => [...lines.slice(-(LOG_LINES - 1)), { n, direction, text }]);
  }, []);

  const disconnect = useCallback(
    async (stopOnServer: boolean) => {
      const device = deviceRef.current;
      const current = boardRef.current;
      deviceRef.current = null;
      boardRef.current = null;
      setLiveDevice(null);
      await device?.close();
      if (stopOnServer && current) await stopBoardRequest(project.id, current.id, false);
    },
    [project.id],
  );

  // Leaving the page (route change, tab closed) closes the socket and stops the board.
  useEffect(() => {
    const leave = () => {
      const current = boardRef.current;
      void deviceRef.current?.close();
      if (current) void stopBoardRequest(project.id, current.id, true).catch(() => undefined);
      deviceRef.current = null;
      boardRef.current = null;
    };
    window.addEventListener("pagehide", leave);
    return () => {
      window.removeEventListener("pagehide", leave);
      leave();
    };
  }, [project.id]);

  /** Sets up a device on any transport: terminal log, stream plot, end of the connection. */
  function attach(transport: Transport, vb: VirtualBoard | null) {
    const device = new Device(transport, { timeoutMs: 15_000 });
    device.onLog((direction, line) => note(direction, line));
    transport.onEnd((reason) => {
      if (deviceRef.current !== device) return;
      deviceRef.current = null;
      boardRef.current = null;
      setLiveDevice(null);
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
    deviceRef.current = device;
    boardRef.current = vb;
    setLiveDevice(device);
    return device;
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

  const connectSerial = () =>
    act("Connecting", async () => {
      setEnded(null);
      setPredictions([]);
      setReplayed(null);
      // The firmware's UART runs at 115200 baud.
      const transport = await WebSerialTransport.connect((navigator as unknown as { serial: SerialLike }).serial, 115200);
      setOnSerial(true);
      note("note", "— connected over Web Serial at 115200 baud");
      const device = attach(transport, null);
      setInfo(await device.info());
    });

  const disconnectSerial = () =>
    act("Disconnecting", async () => {
      await disconnect(false);
      setStreaming(false);
      setOnSerial(false);
      setInfo(null);
      note("note", "— disconnected");
    });

  const start = () =>
    act("Starting", async () => {
      if (!chosen) return;
      setEnded(null);
      setPredictions([]);
      setReplayed(null);
      const vb = await unwrap(
        api.POST("/api/projects/{project_id}/virtual-boards", {
          params: { path: { project_id: project.id } },
          body: { board_id: chosen.board_id ?? DEFAULT_BOARD, deployment_id: chosen.id },
        }),
      );
      setBoard(vb);
      note("note", `— virtual board ${vb.id} (${vb.board_name}, ${vb.qemu_machine}) started with build #${vb.deployment_id}`);
      // Open the serial line at once: a board nobody connects to stops after a grace period.
      const socket = new WebSocket(serialSocketUrl(vb.serial_url, window.location));
      const device = attach(await WebSocketTransport.open(socket), vb);
      setInfo(await device.info());
    });

  const stop = () =>
    act("Stopping", async () => {
      await disconnect(true);
      setStreaming(false);
      setBoard(null);
      setInfo(null);
      note("note", "— the virtual board was stopped");
    });

  const flash = () =>
    act("Flashing", async () => {
      const vb = boardRef.current;
      const target = flashId ?? chosen?.id;
      if (!vb || !target) return;
      if (streaming) await deviceRef.current?.stopStream();
      setStreaming(false);
      const updated = await unwrap(
        api.POST("/api/projects/{project_id}/virtual-boards/{virtual_board_id}/flash", {
          params: { path: { project_id: project.id, virtual_board_id: vb.id } },
          body: { deployment_id: target },
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
      if (streaming) {
        await deviceRef.current?.stopStream();
        setStreaming(false);
      }
      const answer = await unwrap(
        api.POST("/api/projects/{project_id}/virtual-boards/{virtual_board_id}/replay", {
          params: { path: { project_id: project.id, virtual_board_id: vb.id } },
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
      const device = deviceRef.current;
      if (!device) return;
      if (streaming) {
        await device.stopStream();
        setStreaming(false);
      } else {
        setStream({ t: [], values: [] });
        setToldHz(null);
        await device.startStream();
        setStreaming(true);
      }
    });

  const classify = () =>
    act("Classifying", async () => {
      const device = deviceRef.current;
      if (!device || sample === null || !chosen) return;
      // Keep the choice: a sample recorded meanwhile must not take the place of the one shown.
      setSampleId(sample);
      if (streaming) {
        await device.stopStream();
        setStreaming(false);
      }
      const { input } = await trainedInput(project.id, chosen);
      const raw = await readSampleValues(project.id, sample);
      const windows = cutWindows(raw.values, raw.interval_ms, input);
      const names = raw.sensors.length ? raw.sensors.map((s) => s.name) : defaultAxisNames(raw.values[0]?.length ?? 0);
      setSignal({ t: raw.values.map((_, i) => i * raw.interval_ms), values: raw.values, names, windowMs: input.window_ms });
      setPredictions([]);
      stopClassifying.current = false;
      for (const window of windows) {
        if (stopClassifying.current || deviceRef.current !== device) break;
        const answer = await device.classify(window.values);
        setPredictions((p) => [...p, { ...answer, startMs: window.startMs }]);
      }
    });

  const sendCommand = () =>
    act("Sending", async () => {
      const line = command.trim();
      if (!line || !deviceRef.current) return;
      setCommand("");
      await deviceRef.current.send(line);
      const words = line.split(/\s+/);
      if (words[0] === "stream") {
        const hz = Number(words[1]);
        setToldHz(words.length > 1 && hz > 0 ? hz : null);
        setStream({ t: [], values: [] });
        setStreaming(true);
      }
      if (line === "stop") setStreaming(false);
    });

  const streamSeries = useMemo(() => {
    const axes = stream.values[0]?.length ?? 0;
    const names = replayed?.axisNames.length === axes ? replayed.axisNames : defaultAxisNames(axes);
    return names.map((name, a) => ({ name, values: stream.values.map((v) => v[a] ?? 0) }));
  }, [stream, replayed]);
  const labels = info?.labels ?? [];
  // Recorded readings are stored at the rate the board was told, else the replay's rate (a
  // virtual board), else the one measured from their arrival (a board on Web Serial).
  const measuredHz = useMemo(() => measureRate(stream.t), [stream.t]);
  const streamRate: StreamRate | null = toldHz
    ? { hz: toldHz, source: "the rate the stream was started with" }
    : board && replayed
      ? { hz: replayed.hz, source: "the replay's rate" }
      : measuredHz
        ? { hz: measuredHz, source: "measured from the readings' arrival" }
        : null;
  const labelSuggestions = useMemo(
    () => [...new Set([...(info?.labels ?? []), ...(samples.data?.items ?? []).flatMap((s) => (s.label ? [s.label] : []))])].sort(),
    [info, samples.data],
  );

  // A virtual board is tested against the build it runs.
  const tested = (board && ready.find((d) => d.id === board.deployment_id)) || chosen;
  if (deployments.isPending || statusesPending) return <Loading what="firmware builds" />;
  const connected = (board !== null || onSerial) && liveDevice !== null && !ended;
  return (
    <>
      <h1>Virtual boards</h1>
      <FirmwareCard
        project={project}
        editor={editor}
        ready={ready}
        building={building}
        chosen={chosen}
        onChoose={setChosenId}
        board={board}
        onSerial={onSerial}
        busy={busy}
        actions={{ start, stop, connectSerial, disconnectSerial }}
        error={error || deployments.error}
      />

      {(board || onSerial) && (
        <Card title={board ? `Virtual board ${board.board_name}` : "Board on Web Serial"}>
          <p className="muted small" role="status">
            {!connected
              ? `Disconnected: ${ended ?? "…"}`
              : board
                ? `Connected over the serial WebSocket · build #${board.deployment_id} · QEMU ${board.qemu_machine}`
                : "Connected over Web Serial"}
          </p>
          {info && <BoardInfoPanel info={info} figures={firmware.find((d) => d.id === board?.deployment_id)?.figures} />}
          <SerialTerminal log={log} command={command} onCommand={setCommand} onSend={() => void sendCommand()} connected={connected} />
          {connected && board && (
            <div className="inline-form">
              <label className="field">
                <span>Flash another build</span>
                <select name="flash-deployment" value={flashId ?? chosen?.id ?? ""} onChange={(e) => setFlashId(Number(e.target.value))}>
                  {ready
                    .filter((d) => d.board_id === board.board_id)
                    .map((d) => (
                      <option key={d.id} value={d.id}>
                        Build #{d.id} · run #{d.training_run_id}
                      </option>
                    ))}
                </select>
              </label>
              <button className="btn" disabled={busy !== null} onClick={flash}>
                {busy === "Flashing" ? "Flashing…" : "Flash"}
              </button>
            </div>
          )}
        </Card>
      )}

      {connected && (
        <SensorCard
          board={board}
          samples={samples.data?.items ?? []}
          busy={busy}
          replayed={replayed}
          streaming={streaming}
          stream={stream}
          series={streamSeries}
          onReplay={(request) => void replay(request)}
          onToggleStream={() => void toggleStream()}
        >
          {editor && (
            <StreamRecorder
              projectId={project.id}
              device={liveDevice}
              streaming={streaming}
              rate={streamRate}
              axisNames={replayed?.axisNames ?? []}
              labels={labelSuggestions}
              deviceName={board ? `${board.board_name} (virtual board ${board.id})` : "Board on Web Serial"}
              disabled={busy !== null}
            />
          )}
        </SensorCard>
      )}

      {connected && (
        <LiveClassificationCard
          samples={samples.data?.items ?? []}
          sample={sample}
          onSample={setSampleId}
          busy={busy}
          onClassify={() => void classify()}
          onStop={() => {
            stopClassifying.current = true;
          }}
          predictions={predictions}
          labels={labels}
          signal={signal}
          info={info}
        />
      )}

      {tested && editor && (
        <DeviceTestCard
          key={tested.id}
          project={project}
          deployment={tested}
          device={liveDevice}
          timing={info?.timing}
          boardDescription={board ? `${board.board_name}, virtual board ${board.id}` : `${info?.board ?? "a board"} over Web Serial`}
        />
      )}
    </>
  );
}
