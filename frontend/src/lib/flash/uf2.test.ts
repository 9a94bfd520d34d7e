import { describe, expect, it } from "vitest";
import { readUf2, toUf2, Uf2Error, UF2_BLOCK } from "./uf2";

const PICO = 0xe48bff56;

describe("uf2", () => {
  it("wraps an image in 256-byte payloads at consecutive addresses", () => {
    const image = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    const file = toUf2(image, 0x10000000, PICO);
    expect(file.length).toBe(3 * UF2_BLOCK);
    const view = new DataView(file.buffer);
    expect(view.getUint32(0, true)).toBe(0x0a324655);
    expect(view.getUint32(12 + UF2_BLOCK, true)).toBe(0x10000100);
    expect(view.getUint32(20 + 2 * UF2_BLOCK, true)).toBe(2);
    expect(view.getUint32(24, true)).toBe(3);
    expect(Array.from(file.subarray(UF2_BLOCK + 32, UF2_BLOCK + 36))).toEqual([0, 1, 2, 3]);
    // The last block holds the image's last 88 bytes, then zeros.
    expect(file[2 * UF2_BLOCK + 32 + 87]).toBe(599 & 0xff);
    expect(file[2 * UF2_BLOCK + 32 + 88]).toBe(0);
    expect(readUf2(file)).toEqual({ blocks: 3, familyId: PICO, start: 0x10000000, end: 0x10000300, bytes: 768 });
  });

  it("names what is wrong with a file that is not UF2", () => {
    expect(() => readUf2(new Uint8Array(100))).toThrow(/whole 512-byte blocks; this one has 100 bytes/);
    const file = toUf2(new Uint8Array(1000), 0x10000000, PICO);
    file[UF2_BLOCK * 2 + 1] ^= 0xff;
    expect(() => readUf2(file)).toThrow(Uf2Error);
    expect(() => readUf2(file)).toThrow(/block 2 is not a UF2 block/);
    expect(() => toUf2(new Uint8Array(0), 0, PICO)).toThrow(/empty/);
  });
});
