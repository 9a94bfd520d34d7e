/**
 * Virtual boards: run a firmware build on a QEMU board of the studio, talk to it over its serial
 * WebSocket (terminal, sensor replay and stream, recording the stream into the dataset, live
 * classification, flashing), and test the model on the device against the studio's own int8
 * results.
 */
import { useMemo, useState } from "react";
import { useOutletContext } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Project } from "../api/client";
import { atLeast, effectiveStatus, useJobStatuses } from "../api/queries";
import { BoardCard } from "../components/boards/BoardCard";
import { FirmwareCard } from "../components/boards/FirmwareCard";
import { LiveClassificationCard } from "../components/boards/LivePredictions";
import { SensorCard } from "../components/boards/SensorCard";
import { useBoardSession } from "../components/boards/useBoardSession";
import { useLiveClassification } from "../components/boards/useLiveClassification";
import { DeviceTestCard } from "../components/DeviceTestCard";
import { StreamRecorder } from "../components/StreamRecorder";
import { Loading } from "../components/ui";

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

  const session = useBoardSession(project.id);
  const { board, info, busy, connected } = session;
  const live = useLiveClassification(project.id, session, samples.data?.items[0]?.id ?? null);
  const labelSuggestions = useMemo(
    () => [...new Set([...(info?.labels ?? []), ...(samples.data?.items ?? []).flatMap((s) => (s.label ? [s.label] : []))])].sort(),
    [info, samples.data],
  );

  // A virtual board is tested against the build it runs.
  const tested = (board && ready.find((d) => d.id === board.deployment_id)) || chosen;
  if (deployments.isPending || statusesPending) return <Loading what="firmware builds" />;
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
        onSerial={session.onSerial}
        busy={busy}
        actions={{
          start: () => chosen && void session.actions.start(chosen),
          stop: () => void session.actions.stop(),
          connectSerial: () => void session.actions.connectSerial(),
          disconnectSerial: () => void session.actions.disconnectSerial(),
        }}
        error={session.error || deployments.error}
      />

      {(board || session.onSerial) && <BoardCard session={session} ready={ready} chosen={chosen} />}

      {connected && (
        <SensorCard
          board={board}
          samples={samples.data?.items ?? []}
          busy={busy}
          replayed={session.replayed}
          streaming={session.streaming}
          stream={session.stream}
          series={session.series}
          onReplay={(request) => void session.actions.replay(request)}
          onToggleStream={() => void session.actions.toggleStream()}
        >
          {editor && (
            <StreamRecorder
              projectId={project.id}
              device={session.device}
              streaming={session.streaming}
              rate={session.rate}
              axisNames={session.replayed?.axisNames ?? []}
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
          sample={live.sample}
          onSample={live.choose}
          busy={busy}
          onClassify={() => chosen && void live.classify(chosen)}
          onStop={live.stop}
          predictions={live.predictions}
          labels={info?.labels ?? []}
          signal={live.signal}
          info={info}
        />
      )}

      {tested && editor && (
        <DeviceTestCard
          key={tested.id}
          project={project}
          deployment={tested}
          device={session.device}
          timing={info?.timing}
          boardDescription={board ? `${board.board_name}, virtual board ${board.id}` : `${info?.board ?? "a board"} over Web Serial`}
        />
      )}
    </>
  );
}
