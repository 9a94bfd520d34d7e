import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { md5 } from "./md5";

const nodeMd5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

describe("md5", () => {
  it("matches the RFC 1321 test suite", () => {
    const encode = (s: string) => new TextEncoder().encode(s);
    expect(md5(encode(""))).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(md5(encode("abc"))).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(md5(encode("12345678901234567890123456789012345678901234567890123456789012345678901234567890"))).toBe("57edf4a22be3c955ac49da2e2107b67a");
  });

  it("agrees with node's md5 at every padding boundary and on a firmware-sized image", () => {
    for (const length of [55, 56, 57, 63, 64, 65, 119, 120, 121, 1000]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
      expect(md5(data), `length ${length}`).toBe(nodeMd5(data));
    }
    const image = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24);
    expect(md5(image)).toBe(nodeMd5(image));
  });
});
