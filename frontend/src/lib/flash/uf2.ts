/**
 * UF2 files (https://github.com/microsoft/uf2): 512-byte blocks a board's USB bootloader takes as
 * a drive copy. Turns a flat image into one and reads one back to check it before download.
 */

const MAGIC_START0 = 0x0a324655;
const MAGIC_START1 = 0x9e5d5157;
const MAGIC_END = 0x0ab16f30;
const FLAG_FAMILY_ID = 0x00002000;
const FLAG_NOT_MAIN_FLASH = 0x00000001;
export const UF2_BLOCK = 512;
// The payload per block everyone uses (a flash page of most boards); up to 476 is allowed.
const PAYLOAD = 256;

export class Uf2Error extends Error {}

/** Wraps `image` (to be written from `address`) into UF2 blocks tagged with `familyId`. */
export function toUf2(image: Uint8Array, address: number, familyId: number): Uint8Array {
  if (image.length === 0) throw new Uf2Error("the image is empty");
  const count = Math.ceil(image.length / PAYLOAD);
  const out = new Uint8Array(count * UF2_BLOCK);
  const view = new DataView(out.buffer);
  for (let n = 0; n < count; n++) {
    const at = n * UF2_BLOCK;
    view.setUint32(at, MAGIC_START0, true);
    view.setUint32(at + 4, MAGIC_START1, true);
    view.setUint32(at + 8, FLAG_FAMILY_ID, true);
    view.setUint32(at + 12, (address + n * PAYLOAD) >>> 0, true);
    view.setUint32(at + 16, PAYLOAD, true);
    view.setUint32(at + 20, n, true);
    view.setUint32(at + 24, count, true);
    view.setUint32(at + 28, familyId >>> 0, true);
    // The last block's payload is padded with zeros (the bytes after the image are unused).
    out.set(image.subarray(n * PAYLOAD, (n + 1) * PAYLOAD), at + 32);
    view.setUint32(at + UF2_BLOCK - 4, MAGIC_END, true);
  }
  return out;
}

export interface Uf2Summary {
  blocks: number;
  familyId: number | null;
  start: number;
  end: number;
  bytes: number;
}

/** Checks a UF2 file block by block; the error names the first bad block. */
export function readUf2(file: Uint8Array): Uf2Summary {
  if (file.length === 0 || file.length % UF2_BLOCK !== 0) {
    throw new Uf2Error(`a UF2 file is whole ${UF2_BLOCK}-byte blocks; this one has ${file.length} bytes`);
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const count = file.length / UF2_BLOCK;
  let familyId: number | null = null;
  let start = Infinity;
  let end = 0;
  let bytes = 0;
  let blocks = 0;
  for (let n = 0; n < count; n++) {
    const at = n * UF2_BLOCK;
    if (view.getUint32(at, true) !== MAGIC_START0 || view.getUint32(at + 4, true) !== MAGIC_START1 || view.getUint32(at + UF2_BLOCK - 4, true) !== MAGIC_END) {
      throw new Uf2Error(`block ${n} is not a UF2 block (wrong magic numbers)`);
    }
    const flags = view.getUint32(at + 8, true);
    if (flags & FLAG_NOT_MAIN_FLASH) continue;
    const address = view.getUint32(at + 12, true);
    const size = view.getUint32(at + 16, true);
    if (size > 476) throw new Uf2Error(`block ${n} claims ${size} payload bytes (at most 476)`);
    if (flags & FLAG_FAMILY_ID) {
      const family = view.getUint32(at + 28, true);
      if (familyId !== null && family !== familyId) {
        throw new Uf2Error(`block ${n} is for family 0x${hex(family)}, earlier blocks for 0x${hex(familyId)}`);
      }
      familyId = family;
    }
    start = Math.min(start, address);
    end = Math.max(end, address + size);
    bytes += size;
    blocks += 1;
  }
  if (!blocks) throw new Uf2Error("the file has no blocks for the main flash");
  return { blocks, familyId, start, end, bytes };
}

export const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
