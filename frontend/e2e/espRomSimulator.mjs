// A simulator of an ESP32-S3 board on a USB-serial bridge, for the browser tests of the flash
// page: the chip's ROM serial bootloader (SLIP-framed commands: SYNC, READ_REG/WRITE_REG with an
// SPI flash ID read, GET_SECURITY_INFO, MEM_BEGIN/DATA/END to load the flasher stub) and the
// stub itself (compressed writes, erase, SPI_FLASH_MD5), with the classic auto-reset circuit
// (DTR/RTS driving IO0/EN). It speaks enough of the protocol for esptool-js to connect, detect the
// chip, load its stub, change the baud rate, write, verify and reset. Nothing is mocked on the
// page: the page's own esptool-js code talks to a scripted `navigator.serial` port
// (installEspSerialPort, an init script) whose bytes are handled here in Node.
import { createHash } from "node:crypto";
import { inflateSync } from "node:zlib";

const SECTOR = 4096;
const FLASH_BYTES = 8 * 1024 * 1024;
const FLASH_ID = 0x1740c8; // a GigaDevice 8 MB part: manufacturer 0xc8, size code 0x17
const CHIP_ID_ESP32S3 = 9;
const ROM_SYNC_VALUE = 0x20120707; // the ROM answers SYNC with a non-zero word, the stub with 0

// Registers the ROM reads while describing the chip (eFuse words, SPI controller).
const EFUSE_MAC0 = 0x60007044;
const EFUSE_MAC1 = 0x60007048;
const EFUSE_BLOCK1_WORD3 = 0x60007050;
const EFUSE_BLOCK1_WORD4 = 0x60007054;
const SPI_BASE = 0x60002000;
const SPI_CMD = SPI_BASE;
const SPI_USR2 = SPI_BASE + 0x20;
const SPI_W0 = SPI_BASE + 0x58;
const SPI_CMD_USR = 1 << 18;

const OP = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
};
const ERR_INVALID_MESSAGE = 0x05;
const ERR_BAD_CHECKSUM = 0x07;
const ERR_BAD_SEQUENCE = 0x09;

const u32 = (b, at) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const le32 = (v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function slip(packet) {
  const out = [0xc0];
  for (const b of packet) {
    if (b === 0xc0) out.push(0xdb, 0xdc);
    else if (b === 0xdb) out.push(0xdb, 0xdd);
    else out.push(b);
  }
  out.push(0xc0);
  return out;
}

export class EspRomSimulator {
  /** `failAfterBlocks`: after that many flash data blocks the cable is "pulled" (once). */
  constructor({ failAfterBlocks = null } = {}) {
    this.failAfterBlocks = failAfterBlocks;
    this.mode = "off"; // off | rom | stub | app
    this.dtr = false;
    this.rts = false;
    this.baudRate = null;
    this.sectors = new Map();
    this.regs = new Map([
      [EFUSE_MAC0, 0x12345678],
      [EFUSE_MAC1, 0x0000f412],
      [EFUSE_BLOCK1_WORD3, 2 << 18], // package QFN56, minor revision 2
      [EFUSE_BLOCK1_WORD4, (1 << 3) | (1 << 7)], // 8 MB embedded PSRAM (AP_3v3)
    ]);
    this.bootPending = false;
    this.rx = [];
    this.dataBlocks = 0;
    this.write = null;
    this.events = [];
    this.boots = [];
  }

  /** One host action from the page's port; answers { data: bytes, lost }. */
  handle(message) {
    switch (message.op) {
      case "open":
        this.baudRate = message.baudRate;
        this.events.push(`open ${message.baudRate}`);
        return { data: [], lost: false };
      case "close":
        this.events.push("close");
        this.rx = [];
        return { data: [], lost: false };
      case "signals":
        return { data: this.signals(message), lost: false };
      case "write":
        return this.receive(message.data);
      default:
        throw new Error(`unknown port action ${message.op}`);
    }
  }

  /**
   * The auto-reset circuit: EN is low while RTS is on and DTR off; IO0 is low while DTR is on and
   * RTS off. EN rises slowly (an RC delay), so when the lines are set one at a time the boot mode
   * is sampled at the next change after the chip leaves reset, as on a real board.
   */
  signals({ dataTerminalReady, requestToSend }) {
    const wasInReset = this.rts && !this.dtr;
    if (dataTerminalReady !== undefined) this.dtr = dataTerminalReady;
    if (requestToSend !== undefined) this.rts = requestToSend;
    if (this.rts && !this.dtr) {
      this.mode = "off";
      this.bootPending = false;
      return [];
    }
    if (this.bootPending) {
      this.bootPending = false;
      return this.boot(this.dtr && !this.rts);
    }
    if (!wasInReset) return [];
    // Both lines set at once (one USB request): IO0 is already where it stays.
    if (dataTerminalReady !== undefined && requestToSend !== undefined) return this.boot(this.dtr && !this.rts);
    this.bootPending = true;
    return [];
  }

  boot(download) {
    const text = ["ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n"];
    if (download) {
      this.mode = "rom";
      this.boots.push("download");
      text.push("rst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n");
    } else {
      this.mode = "app";
      const image = this.read(0x10000, 1)[0] === 0xe9 ? "an application at 0x10000" : this.read(0, 1)[0] === 0xe9 ? "a bootloader at 0x0" : "no image";
      this.boots.push(`flash: ${image}`);
      text.push(`rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\nsimulated board: flash holds ${image}\r\n`);
    }
    return [...Buffer.from(text.join(""))];
  }

  /** Bytes from the host: SLIP frames become commands while the bootloader or stub runs. */
  receive(bytes) {
    if (this.mode !== "rom" && this.mode !== "stub") return { data: [], lost: false };
    const out = [];
    for (const b of bytes) {
      if (b === 0xc0) {
        if (this.rx.length) {
          const frame = this.unslip(this.rx);
          this.rx = [];
          const answer = this.command(frame);
          if (answer === "lost") {
            this.mode = "off";
            return { data: [], lost: true };
          }
          out.push(...answer);
        }
      } else {
        this.rx.push(b);
      }
    }
    return { data: out, lost: false };
  }

  unslip(bytes) {
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0xdb) out.push(bytes[++i] === 0xdc ? 0xc0 : 0xdb);
      else out.push(bytes[i]);
    }
    return out;
  }

  reply(op, value = 0, data = [], error = 0) {
    const body = [...data, error ? 1 : 0, error];
    return slip([0x01, op, body.length & 0xff, body.length >> 8, ...le32(value), ...body]);
  }

  command(frame) {
    if (frame.length < 8 || frame[0] !== 0x00) return [];
    const op = frame[1];
    const size = frame[2] | (frame[3] << 8);
    const checksum = u32(frame, 4);
    const data = frame.slice(8, 8 + size);
    const stub = this.mode === "stub";
    switch (op) {
      case OP.SYNC: {
        const answer = this.reply(op, stub ? 0 : ROM_SYNC_VALUE);
        return Array.from({ length: 8 }, () => answer).flat();
      }
      case OP.READ_REG:
        return this.reply(op, this.regs.get(u32(data, 0)) ?? 0);
      case OP.WRITE_REG:
        for (let at = 0; at + 16 <= data.length; at += 16) this.writeReg(u32(data, at), u32(data, at + 4), u32(data, at + 8));
        return this.reply(op);
      case OP.GET_SECURITY_INFO:
        return this.reply(op, 0, [...le32(0), 0, 0, 0, 0, 0, 0, 0, 0, ...le32(CHIP_ID_ESP32S3), ...le32(0)]);
      case OP.MEM_BEGIN:
      case OP.SPI_ATTACH:
      case OP.SPI_SET_PARAMS:
        return this.reply(op);
      case OP.MEM_DATA:
        return this.reply(op, 0, [], xor(data.slice(16)) === checksum ? 0 : ERR_BAD_CHECKSUM);
      case OP.MEM_END:
        // The stub announces itself with a bare "OHAI" frame once it runs.
        this.mode = "stub";
        this.events.push("stub running");
        return [...this.reply(op), ...slip([...Buffer.from("OHAI")])];
      case OP.CHANGE_BAUDRATE:
        this.events.push(`baud ${u32(data, 0)}`);
        return this.reply(op);
      case OP.FLASH_BEGIN:
      case OP.FLASH_DEFL_BEGIN: {
        const [size, , blockSize, offset] = [u32(data, 0), u32(data, 4), u32(data, 8), u32(data, 12)];
        this.write = { compressed: op === OP.FLASH_DEFL_BEGIN, size, blockSize, offset, next: 0, chunks: [] };
        this.erase(offset, size);
        return this.reply(op);
      }
      case OP.FLASH_DATA:
      case OP.FLASH_DEFL_DATA: {
        const payload = data.slice(16);
        const seq = u32(data, 4);
        if (!this.write) return this.reply(op, 0, [], ERR_INVALID_MESSAGE);
        if (xor(payload) !== checksum) return this.reply(op, 0, [], ERR_BAD_CHECKSUM);
        if (seq !== this.write.next) return this.reply(op, 0, [], ERR_BAD_SEQUENCE);
        this.dataBlocks += 1;
        if (this.failAfterBlocks !== null && this.dataBlocks > this.failAfterBlocks) {
          this.failAfterBlocks = null;
          this.events.push(`cable pulled after ${this.dataBlocks - 1} blocks`);
          return "lost";
        }
        this.write.next += 1;
        if (this.write.compressed) this.write.chunks.push(Buffer.from(payload));
        else this.store(this.write.offset + seq * this.write.blockSize, Uint8Array.from(payload));
        return this.reply(op);
      }
      case OP.FLASH_END:
      case OP.FLASH_DEFL_END:
        this.finishWrite();
        return this.reply(op);
      case OP.SPI_FLASH_MD5: {
        this.finishWrite();
        const digest = createHash("md5")
          .update(this.read(u32(data, 0), u32(data, 4)))
          .digest();
        return this.reply(op, 0, stub ? [...digest] : [...Buffer.from(digest.toString("hex"))]);
      }
      case OP.ERASE_FLASH:
        if (!stub) break;
        this.sectors.clear();
        this.events.push("erased");
        return this.reply(op);
      case OP.ERASE_REGION:
        if (!stub) break;
        this.erase(u32(data, 0), u32(data, 4));
        return this.reply(op);
      default:
        break;
    }
    return this.reply(op, 0, [], ERR_INVALID_MESSAGE);
  }

  writeReg(addr, value, mask) {
    this.regs.set(addr, (((this.regs.get(addr) ?? 0) & ~mask) | (value & mask)) >>> 0);
    if (addr === SPI_CMD && value & SPI_CMD_USR) {
      // A user SPI command: RDID (0x9f) answers the flash ID; the controller is idle at once.
      if (((this.regs.get(SPI_USR2) ?? 0) & 0xff) === 0x9f) this.regs.set(SPI_W0, FLASH_ID);
      this.regs.set(SPI_CMD, this.regs.get(SPI_CMD) & ~SPI_CMD_USR);
    }
  }

  finishWrite() {
    const w = this.write;
    this.write = null;
    if (!w || !w.compressed || !w.chunks.length) return;
    this.store(w.offset, inflateSync(Buffer.concat(w.chunks)));
  }

  sector(index) {
    let s = this.sectors.get(index);
    if (!s) {
      s = new Uint8Array(SECTOR).fill(0xff);
      this.sectors.set(index, s);
    }
    return s;
  }

  store(addr, bytes) {
    if (addr + bytes.length > FLASH_BYTES) throw new Error(`write past the end of flash at 0x${addr.toString(16)}`);
    for (let i = 0; i < bytes.length; i++) this.sector(Math.floor((addr + i) / SECTOR))[(addr + i) % SECTOR] = bytes[i];
  }

  erase(addr, size) {
    for (let s = Math.floor(addr / SECTOR); s * SECTOR < addr + size; s++) this.sectors.delete(s);
  }

  read(addr, size) {
    const out = Buffer.alloc(size, 0xff);
    for (let i = 0; i < size; i++) {
      const s = this.sectors.get(Math.floor((addr + i) / SECTOR));
      if (s) out[i] = s[(addr + i) % SECTOR];
    }
    return out;
  }
}

function xor(bytes) {
  let state = 0xef;
  for (const b of bytes) state ^= b;
  return state;
}

/**
 * Init script: `navigator.serial` hands out ports of a CP2102 bridge whose every action (open,
 * close, DTR/RTS, written bytes) goes to the simulator through `window.__espSim` (exposed by the
 * test); its answers come back as received bytes. A "lost" answer errors the port as a pulled
 * cable does.
 */
export function installEspSerialPort() {
  const lostError = () => new DOMException("The device has been lost.", "NetworkError");
  function makePort() {
    let controller = null;
    let lost = false;
    let open = false;
    const deliver = (answer) => {
      if (answer.lost) {
        lost = true;
        controller?.error(lostError());
        controller = null;
        return;
      }
      if (answer.data.length && controller) controller.enqueue(new Uint8Array(answer.data));
    };
    const port = {
      readable: null,
      writable: null,
      getInfo: () => ({ usbVendorId: 0x10c4, usbProductId: 0xea60 }),
      async open(options) {
        if (lost) throw lostError();
        if (open) throw new DOMException("The port is already open.", "InvalidStateError");
        open = true;
        port.readable = new ReadableStream({
          start(c) {
            controller = c;
          },
          cancel() {
            controller = null;
          },
        });
        port.writable = new WritableStream({
          async write(chunk) {
            if (lost) throw lostError();
            deliver(await window.__espSim({ op: "write", data: Array.from(chunk) }));
          },
        });
        deliver(await window.__espSim({ op: "open", baudRate: options.baudRate }));
      },
      async close() {
        open = false;
        try {
          controller?.close();
        } catch {
          // Already errored or cancelled.
        }
        controller = null;
        port.readable = null;
        port.writable = null;
        if (!lost) await window.__espSim({ op: "close" });
      },
      async setSignals(signals) {
        if (lost) throw lostError();
        deliver(await window.__espSim({ op: "signals", ...signals }));
      },
    };
    return port;
  }
  const serial = {
    async requestPort() {
      return makePort();
    },
    async getPorts() {
      return [];
    },
    addEventListener() {},
    removeEventListener() {},
  };
  Object.defineProperty(Navigator.prototype, "serial", { get: () => serial, configurable: true });
}
