import { describe, expect, it } from "vitest";
import { Device, DeviceError, formatValue, ONE_LINE_VALUES, parseAnswer } from "./device";
import { serialSocketUrl, WebSerialTransport, WebSocketTransport, type WebSocketLike, type WritablePortLike } from "./transport";

/**
 * A scripted WebSocket standing in for the studio's serial socket: `board` answers each frame
 * the page sends with the frames it returns (as the firmware would).
 */
class ScriptedSocket extends EventTarget implements WebSocketLike {
  readyState = 0;
  sent: string[] = [];
  closed: { code?: number; reason?: string } | null = null;
  board: (line: string) => string[];
  constructor(board: (line: string) => string[]) {
    super();
    this.board = board;
    setTimeout(() => {
      this.readyState = 1;
      this.dispatchEvent(new Event("open"));
    }, 1);
  }
  send(data: string) {
    this.sent.push(data);
    for (const frame of this.board(data)) setTimeout(() => this.emit(frame), 1);
  }
  emit(frame: string) {
    const event = new Event("message") as Event & { data: string };
    event.data = frame;
    this.dispatchEvent(event);
  }
  drop(code: number, reason: string) {
    this.readyState = 3;
    const event = new Event("close") as Event & { code: number; reason: string };
    event.code = code;
    event.reason = reason;
    this.dispatchEvent(event);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
}

const INFO = { protocol: 1, board: "virtual-cortex-m4", model: "motion", labels: ["a", "b"], signal_values: 4, flash_bytes: 50000, ram_bytes: 20000 };

/** A firmware that answers info, classify (label "b" when the values sum above zero), stream/stop. */
function firmware(line: string): string[] {
  if (line === "info") return [JSON.stringify(INFO)];
  if (line.startsWith("classify begin")) return ["OK classify begin"];
  if (line === "classify end") return [JSON.stringify({ label: "a", label_index: 0, scores: [1, 0], anomaly: null, dsp_us: 1, inference_us: 2 })];
  if (line.startsWith("classify ")) {
    const values = line.slice(9).split(",").map(Number);
    if (values.length !== 4) return [`ERR classify: got ${values.length} values, want 4`];
    const b = values.reduce((x, y) => x + y, 0) > 0;
    return [JSON.stringify({ label: b ? "b" : "a", label_index: b ? 1 : 0, scores: b ? [0, 1] : [1, 0], anomaly: null, dsp_us: 10, inference_us: 120 })];
  }
  if (line.startsWith("stream")) return ["1,2,3", "4,5,6"];
  if (line === "stop") return ["7,8,9", "OK stopped"];
  if (/^[-\d.]/.test(line)) return [];
  return [`ERR unknown command ${line.split(" ")[0]}`];
}

async function connect(board = firmware) {
  const socket = new ScriptedSocket(board);
  const transport = await WebSocketTransport.open(socket);
  return { socket, transport, device: new Device(transport, { timeoutMs: 300 }) };
}

describe("parseAnswer", () => {
  it("sorts JSON, OK, ERR and reading lines", () => {
    expect(parseAnswer('{"label":"a"}')).toEqual({ kind: "json", value: { label: "a" } });
    expect(parseAnswer("OK stopped")).toEqual({ kind: "ok", text: "stopped" });
    expect(parseAnswer("ERR line too long")).toEqual({ kind: "err", text: "line too long" });
    expect(parseAnswer("0.1,2,3")).toEqual({ kind: "line", text: "0.1,2,3" });
    // A cut JSON line is not an answer.
    expect(parseAnswer('{"label":"a", "sco')).toEqual({ kind: "line", text: '{"label":"a", "sco' });
  });
  it("writes float32 values shortly, and refuses non-finite ones", () => {
    expect(formatValue(0.1)).toBe("0.1");
    expect(formatValue(Math.fround(0.1))).toBe("0.1");
    expect(formatValue(0.100000001)).toBe("0.1");
    expect(formatValue(-12)).toBe("-12");
    expect(Math.fround(Number(formatValue(Math.fround(1 / 3))))).toBe(Math.fround(1 / 3));
    expect(() => formatValue(Number.NaN)).toThrow(DeviceError);
  });
});

describe("Device over a WebSocket", () => {
  it("answers info and classify with JSON and logs every line both ways", async () => {
    const { device, socket } = await connect();
    const log: string[] = [];
    device.onLog((direction, line) => log.push(`${direction} ${line}`));
    expect((await device.info()).board).toBe("virtual-cortex-m4");
    const result = await device.classify([0.5, 1, -0.25, 2]);
    expect(result.label).toBe("b");
    expect(result.scores).toEqual([0, 1]);
    expect(result.inference_us).toBe(120);
    expect(socket.sent).toEqual(["info", "classify 0.5,1,-0.25,2"]);
    expect(log[0]).toBe("out info");
    expect(log[1]).toMatch(/^in \{"protocol":1/);
  });
  it("rejects with the board's ERR text and stays usable", async () => {
    const { device } = await connect();
    await expect(device.classify([1, 2])).rejects.toThrow("classify: got 2 values, want 4");
    await expect(device.request("bogus")).rejects.toThrow(/unknown command bogus/);
    expect((await device.classify([-1, -1, -1, -1])).label).toBe("a");
  });
  it("uploads long windows in chunks and takes the answer after `classify end`", async () => {
    const { device, socket } = await connect();
    const values = Array.from({ length: ONE_LINE_VALUES + 1 }, (_, i) => i);
    expect((await device.classify(values)).label).toBe("a");
    expect(socket.sent[0]).toBe(`classify begin ${ONE_LINE_VALUES + 1}`);
    expect(socket.sent[socket.sent.length - 1]).toBe("classify end");
    expect(socket.sent.slice(1, -1).join(",").split(",").map(Number)).toEqual(values);
  });
  it("skips readings while waiting, so stop finds its OK among stream lines", async () => {
    const { device, transport } = await connect();
    const lines: string[] = [];
    transport.onLine((line) => lines.push(line));
    await device.startStream(50);
    await device.stopStream();
    expect(lines).toEqual(["1,2,3", "4,5,6", "7,8,9", "OK stopped"]);
  });
  it("ignores the ready line a reset prints, and times out on silence", async () => {
    const { device } = await connect((line) => (line === "info" ? ["OK tinystudio ready", JSON.stringify(INFO)] : []));
    expect((await device.info()).model).toBe("motion");
    await expect(device.request("stop")).rejects.toThrow(/no answer to "stop" within 0.3 s/);
  });
  it("splits frames holding several lines and ends once with the server's reason", async () => {
    const { socket, transport, device } = await connect(() => []);
    const lines: string[] = [];
    const reasons: (string | null)[] = [];
    transport.onLine((line) => lines.push(line));
    transport.onEnd((reason) => reasons.push(reason));
    socket.emit("1,2\r\n3,4");
    const pending = device.request("info");
    await new Promise((r) => setTimeout(r, 5));
    socket.drop(1011, "the board stopped");
    socket.drop(1011, "again");
    await expect(pending).rejects.toThrow(/disconnected: the board stopped \(1011\)/);
    expect(lines).toEqual(["1,2", "3,4"]);
    expect(reasons).toEqual(["the board stopped (1011)"]);
    expect(transport.connected).toBe(false);
    await expect(transport.send("info")).rejects.toThrow(/not connected/);
  });
  it("closes the socket when the page closes it, ending without a reason", async () => {
    const { socket, transport } = await connect();
    const reasons: (string | null)[] = [];
    transport.onEnd((reason) => reasons.push(reason));
    await transport.close();
    expect(socket.closed).toEqual({ code: 1000, reason: "closed by the page" });
    expect(reasons).toEqual([null]);
  });
  it("builds the socket URL on the page's host", () => {
    expect(serialSocketUrl("/api/projects/1/virtual-boards/x/serial", { protocol: "http:", host: "127.0.0.1:8321" })).toBe(
      "ws://127.0.0.1:8321/api/projects/1/virtual-boards/x/serial",
    );
    expect(serialSocketUrl("/s", { protocol: "https:", host: "studio" })).toBe("wss://studio/s");
  });
});

describe("Device over Web Serial", () => {
  /** A port whose writes go to `firmware` and whose answers come back as bytes, cut mid-line. */
  function scriptedPort() {
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
    const written: string[] = [];
    const port: WritablePortLike & { baud: number } = {
      baud: 0,
      readable: new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }),
      writable: new WritableStream<Uint8Array>({
        write(chunk) {
          const line = decoder.decode(chunk);
          written.push(line);
          const answer = firmware(line.trimEnd())
            .map((l) => `${l}\r\n`)
            .join("");
          // Bytes arrive in arbitrary pieces on a real UART.
          const half = Math.floor(answer.length / 2);
          setTimeout(() => controller?.enqueue(encoder.encode(answer.slice(0, half))), 1);
          setTimeout(() => controller?.enqueue(encoder.encode(answer.slice(half))), 3);
        },
      }),
      open: async ({ baudRate }) => void (port.baud = baudRate),
      close: async () => undefined,
    };
    return { port, written, unplug: () => controller?.error(new Error("device lost")) };
  }

  it("speaks the same protocol: lines end with \\n, answers span chunks", async () => {
    const { port, written } = scriptedPort();
    const transport = await WebSerialTransport.connect({ requestPort: async () => port });
    const device = new Device(transport, { timeoutMs: 300 });
    expect(port.baud).toBe(115200);
    expect((await device.info()).labels).toEqual(["a", "b"]);
    expect((await device.classify([1, 1, 1, 1])).label).toBe("b");
    expect(written).toEqual(["info\n", "classify 1,1,1,1\n"]);
    await device.close();
    expect(transport.connected).toBe(false);
  });
  it("ends with a reason when the cable is pulled", async () => {
    const { port, unplug } = scriptedPort();
    const transport = await WebSerialTransport.open(port);
    const ended = new Promise<string | null>((resolve) => transport.onEnd(resolve));
    unplug();
    expect(await ended).toMatch(/disconnected: device lost/);
  });
});
