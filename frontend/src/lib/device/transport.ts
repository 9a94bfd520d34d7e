/**
 * Line transports to a board: Web Serial for a board on a cable, a WebSocket for a virtual board
 * on the studio. Both deliver complete protocol lines and end once, with a reason.
 */
import { splitLines } from "../serial/forwarder";
import { closePort, type SerialLike, type SerialPortLike } from "../serial/device";

export type LineListener = (line: string) => void;
/** Why the transport ended: null when the page closed it, else what went wrong. */
export type EndListener = (reason: string | null) => void;

/** What the device layer needs from a connection: send and receive lines, close, end events. */
export interface Transport {
  readonly kind: "web-serial" | "websocket";
  readonly connected: boolean;
  /** Sends one protocol line (the transport adds the line ending). */
  send(line: string): Promise<void>;
  /** Calls `listener` with every complete line; returns a function that stops listening. */
  onLine(listener: LineListener): () => void;
  /** Calls `listener` once when the connection ends; returns a function that stops listening. */
  onEnd(listener: EndListener): () => void;
  close(): Promise<void>;
}

/** Shared bookkeeping: listeners, the line buffer, ending exactly once. */
abstract class LineTransport implements Transport {
  abstract readonly kind: Transport["kind"];
  private lineListeners = new Set<LineListener>();
  private endListeners = new Set<EndListener>();
  private buffer = "";
  protected ended = false;
  protected closing = false;

  get connected(): boolean {
    return !this.ended;
  }

  onLine(listener: LineListener): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  onEnd(listener: EndListener): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Feeds received text; complete lines go to the listeners, a partial one waits. */
  protected receive(text: string): void {
    const { lines, rest } = splitLines(this.buffer + text);
    this.buffer = rest;
    for (const line of lines) for (const listener of [...this.lineListeners]) listener(line);
  }

  protected finish(reason: string | null): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of [...this.endListeners]) listener(this.closing ? null : reason);
  }

  abstract send(line: string): Promise<void>;
  abstract close(): Promise<void>;
}

/** The part of the browser's WebSocket used here (so tests can script one). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: Event) => void): void;
}

const WS_OPEN = 1;

/** A virtual board's serial line over the studio's WebSocket: one protocol line per text frame. */
export class WebSocketTransport extends LineTransport {
  readonly kind = "websocket" as const;
  private socket: WebSocketLike;

  private constructor(socket: WebSocketLike) {
    super();
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      const data = (event as MessageEvent).data;
      // One frame is one line without its ending; adding "\n" lets frames that carry several
      // lines (or a trailing "\r") split the same way serial bytes do.
      if (typeof data === "string") this.receive(data.endsWith("\n") ? data : `${data}\n`);
    });
    socket.addEventListener("close", (event) => {
      const { code, reason } = event as CloseEvent;
      this.finish(reason ? `${reason} (${code})` : `the connection closed (${code})`);
    });
  }

  /** Opens the socket (resolves once it is open, rejects if it closes first). */
  static open(socket: WebSocketLike): Promise<WebSocketTransport> {
    const transport = new WebSocketTransport(socket);
    if (socket.readyState === WS_OPEN) return Promise.resolve(transport);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(transport));
      transport.onEnd((reason) => reject(new Error(`cannot connect to the board: ${reason ?? "closed"}`)));
    });
  }

  async send(line: string): Promise<void> {
    if (this.ended || this.socket.readyState !== WS_OPEN) throw new Error("the board is not connected");
    this.socket.send(line);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.socket.close(1000, "closed by the page");
    this.finish(null);
  }
}

/** The WebSocket URL of a virtual board's `serial_url` path, on the page's own host. */
export function serialSocketUrl(path: string, location: { protocol: string; host: string }): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** A Web Serial port that can also be written to. */
export interface WritablePortLike extends SerialPortLike {
  writable: WritableStream<Uint8Array> | null;
}

/** A board on a cable over Web Serial (same port types as the data capture code). */
export class WebSerialTransport extends LineTransport {
  readonly kind = "web-serial" as const;
  private port: WritablePortLike;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private encoder = new TextEncoder();

  private constructor(port: WritablePortLike) {
    super();
    this.port = port;
  }

  /** Asks the user for a port, opens it at `baudRate` (the firmware uses 115200) and reads. */
  static async connect(serial: SerialLike, baudRate = 115200): Promise<WebSerialTransport> {
    const port = (await serial.requestPort({})) as WritablePortLike;
    return WebSerialTransport.open(port, baudRate);
  }

  /** Opens an already chosen port. */
  static async open(port: WritablePortLike, baudRate = 115200): Promise<WebSerialTransport> {
    await port.open({ baudRate });
    const transport = new WebSerialTransport(port);
    void transport.readLoop();
    return transport;
  }

  private async readLoop(): Promise<void> {
    const readable = this.port.readable;
    if (!readable) {
      this.finish("the port is not readable");
      return;
    }
    const decoder = new TextDecoder();
    this.reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        this.receive(decoder.decode(value, { stream: true }));
      }
      this.finish("the device closed the connection (unplugged?)");
    } catch (err) {
      this.finish(`the device was disconnected: ${(err as Error).message || "read failed"}`);
    } finally {
      this.reader?.releaseLock();
      this.reader = null;
    }
  }

  async send(line: string): Promise<void> {
    if (this.ended || !this.port.writable) throw new Error("the device is not connected");
    const writer = this.port.writable.getWriter();
    try {
      await writer.write(this.encoder.encode(`${line}\n`));
    } finally {
      writer.releaseLock();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await closePort(this.reader, this.port);
    this.finish(null);
  }
}
