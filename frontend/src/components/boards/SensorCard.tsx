/** A board's sensor: what its replay buffer holds (a virtual board replays a sample, a CSV file
 * or a drawn signal), the stream on or off, its last seconds plotted, and recording it. */
import type { ReactNode } from "react";
import type { Schemas } from "../../api/client";
import { LineChart } from "../LineChart";
import { ReplaySource, type ReplayRequest } from "../ReplaySource";
import { Card } from "../ui";

// The live plot keeps this much of the stream.
export const STREAM_SECONDS = 5;

/** What the board's replay buffer holds, as the board answered. */
export interface Replayed {
  text: string;
  hz: number;
  axisNames: string[];
}

export interface StreamReadings {
  t: number[];
  values: number[][];
}

interface Props {
  board: Schemas["VirtualBoardOut"] | null;
  samples: Schemas["SampleOut"][];
  busy: string | null;
  replayed: Replayed | null;
  streaming: boolean;
  stream: StreamReadings;
  series: { name: string; values: number[] }[];
  onReplay: (request: ReplayRequest) => void;
  onToggleStream: () => void;
  children?: ReactNode;
}

export function SensorCard({ board, samples, busy, replayed, streaming, stream, series, onReplay, onToggleStream, children }: Props) {
  return (
    <Card title="Sensor">
      {board ? (
        <ReplaySource samples={samples} disabled={busy !== null} replaying={busy === "Replaying"} onReplay={onReplay} />
      ) : (
        <p className="muted small">A board on Web Serial streams from its own sensors (or from what its firmware replays).</p>
      )}
      {replayed && (
        <p className="muted small" data-testid="replay-status">
          Replay buffer: {replayed.text}
        </p>
      )}
      <div className="inline-form">
        <button className="btn" disabled={busy !== null || (board !== null && !replayed)} onClick={onToggleStream}>
          {streaming ? "Stop stream" : "Stream"}
        </button>
        {board && !replayed && <span className="muted small">Replay a signal first: the virtual board streams what its sensor replays.</span>}
      </div>
      {(streaming || stream.t.length > 0) && (
        <LineChart
          t={stream.t}
          series={series}
          live
          domain={stream.t.length ? [stream.t[stream.t.length - 1] - STREAM_SECONDS * 1000, stream.t[stream.t.length - 1]] : undefined}
          xFormat={() => ""}
          label="Stream from the board"
          height={200}
        />
      )}
      {children}
    </Card>
  );
}
