/** A small canvas to draw a signal with the pointer: one curve per axis, the active one painted. */
import { useEffect, useRef, type PointerEvent } from "react";
import { completeCurve, paintSegment, type Curve, type DrawPoint } from "../lib/device/drawnSignal";
import { AXIS_COLORS } from "./LineChart";

const WIDTH = 720;

interface Props {
  curves: Curve[];
  /** The axis the pointer draws on. */
  active: number;
  axisNames: string[];
  /** The values at the top and bottom edges, written on the canvas. */
  min: number;
  max: number;
  onChange: (curves: Curve[]) => void;
  height?: number;
  label: string;
}

export function SignalCanvas({ curves, active, axisNames, min, max, onChange, height = 180, label }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const last = useRef<DrawPoint | null>(null);
  // The curves as of the latest stroke, so fast pointer moves build on each other.
  const latest = useRef(curves);
  useEffect(() => {
    latest.current = curves;
  }, [curves]);

  useEffect(() => {
    const canvas = canvasRef.current;
    const g = canvas?.getContext("2d");
    if (!canvas || !g) return;
    g.clearRect(0, 0, WIDTH, height);
    g.fillStyle = "#fafbfd";
    g.fillRect(0, 0, WIDTH, height);
    g.strokeStyle = "#eceff4";
    g.lineWidth = 1;
    for (let k = 1; k < 4; k++) {
      g.beginPath();
      g.moveTo(0, (k * height) / 4);
      g.lineTo(WIDTH, (k * height) / 4);
      g.stroke();
    }
    if (min < 0 && max > 0) {
      // The zero line, where an axis nobody drew on stays.
      const y = height * (max / (max - min));
      g.strokeStyle = "#cfd5e1";
      g.beginPath();
      g.moveTo(0, y);
      g.lineTo(WIDTH, y);
      g.stroke();
    }
    g.fillStyle = "#5f6b7e";
    g.font = "11px system-ui, sans-serif";
    g.fillText(String(max), 4, 12);
    g.fillText(String(min), 4, height - 4);
    curves.forEach((curve, axis) => {
      const full = completeCurve(curve);
      if (!full) return;
      const x = (i: number) => (i * WIDTH) / (full.length - 1);
      const y = (h: number) => (1 - h) * (height - 4) + 2;
      g.strokeStyle = AXIS_COLORS[axis % AXIS_COLORS.length];
      g.globalAlpha = axis === active ? 1 : 0.45;
      g.lineWidth = axis === active ? 2.5 : 1.5;
      g.beginPath();
      full.forEach((h, i) => (i === 0 ? g.moveTo(x(i), y(h)) : g.lineTo(x(i), y(h))));
      g.stroke();
      g.globalAlpha = 1;
    });
  }, [curves, active, min, max, height]);

  function point(event: PointerEvent<HTMLCanvasElement>): DrawPoint {
    const box = event.currentTarget.getBoundingClientRect();
    return { x: (event.clientX - box.left) / box.width, y: 1 - (event.clientY - box.top) / box.height };
  }

  function paint(to: DrawPoint) {
    const from = last.current ?? to;
    const next = latest.current.map((curve, axis) => (axis === active ? paintSegment(curve, from, to) : curve));
    latest.current = next;
    last.current = to;
    onChange(next);
  }

  return (
    <figure className="signal-canvas">
      <canvas
        ref={canvasRef}
        width={WIDTH}
        height={height}
        role="img"
        aria-label={label}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          last.current = null;
          paint(point(e));
        }}
        onPointerMove={(e) => {
          if (last.current) paint(point(e));
        }}
        onPointerUp={() => {
          last.current = null;
        }}
        onPointerCancel={() => {
          last.current = null;
        }}
      />
      <figcaption className="legend">
        {axisNames.map((name, axis) => (
          <span key={axis} style={{ fontWeight: axis === active ? 600 : undefined }}>
            <span className="dot" style={{ background: AXIS_COLORS[axis % AXIS_COLORS.length] }} /> {name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
