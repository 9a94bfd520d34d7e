import { describe, expect, it } from "vitest";
import { collectLines, SerialDevice, serialUnavailableReason, type SerialLike } from "./device";

/** A port whose readable stream emits `chunks`, then ends or errors. */
function scriptedSerial(chunks: string[], end: "done" | "error" | "open") {
  const encoder = new TextEncoder();
  const readable = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(encoder.encode(chunk));
        await new Promise((r) => setTimeout(r, 5));
      }
      if (end === "done") controller.close();
      if (end === "error") controller.error(new Error("device lost"));
    },
  });
  let opened = 0;
  const serial: SerialLike = {
    requestPort: async () => ({
      readable,
      open: async ({ baudRate }) => {
        opened = baudRate;
      },
      close: async () => undefined,
    }),
  };
  return { serial, opened: () => opened };
}

describe("SerialDevice", () => {
  it("opens at the chosen baud rate and delivers complete lines across chunks", async () => {
    const { serial, opened } = scriptedSerial(["1,2,", "3\r\n4,5,6\r\n7,"], "open");
    const device = await SerialDevice.connect(serial, 57600);
    const lines = await collectLines(device, 0.1);
    expect(opened()).toBe(57600);
    expect(lines.map((l) => l.text)).toEqual(["1,2,3", "4,5,6"]);
    await device.disconnect();
    expect(device.connected).toBe(false);
  });
  it("reports an unplugged device once, with a reason", async () => {
    const { serial } = scriptedSerial(["1,2\n"], "error");
    const device = await SerialDevice.connect(serial, 115200);
    const reasons: (string | null)[] = [];
    const ended = new Promise<void>((resolve) => {
      device.onEnd = (reason) => {
        reasons.push(reason);
        resolve();
      };
    });
    await ended;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/disconnected: device lost/);
  });
  it("says why Web Serial is missing", () => {
    expect(serialUnavailableReason({ isSecureContext: false, navigator: {} as Navigator })).toMatch(/secure context/);
    expect(serialUnavailableReason({ isSecureContext: true, navigator: {} as Navigator })).toMatch(/Firefox and Safari/);
    expect(serialUnavailableReason({ isSecureContext: true, navigator: { serial: {} } as unknown as Navigator })).toBeNull();
  });
});
