// Init script: replaces navigator.serial with a scripted port, a board running the data forwarder
// that prints "x,y,z\r\n" at 50 Hz. The page's own Web Serial code path is the one under test.
// window.__serial.unplug() makes the stream fail as a pulled cable does.
(() => {
  const HZ = 50;
  const encoder = new TextEncoder();
  let controller = null;
  let timer = null;
  const state = {
    opened: null,
    linesSent: 0,
    unplug() {
      clearInterval(timer);
      if (controller) controller.error(new DOMException("The device has been lost.", "NetworkError"));
      controller = null;
    },
  };
  function reading(i) {
    const t = i / HZ;
    return `${(Math.sin(2 * Math.PI * t) * 9.8).toFixed(3)},${(Math.cos(2 * Math.PI * t) * 4).toFixed(3)},${(9.81 + Math.sin(5 * t)).toFixed(3)}\r\n`;
  }
  const port = {
    readable: null,
    async open(options) {
      state.opened = options;
      state.linesSent = 0;
      port.readable = new ReadableStream({
        start(c) {
          controller = c;
          // The port opens in the middle of a reading, as real ones do.
          c.enqueue(encoder.encode(".25,9.7\r\n"));
          const start = performance.now();
          timer = setInterval(() => {
            const due = Math.floor(((performance.now() - start) / 1000) * HZ);
            let text = "";
            while (state.linesSent < due) text += reading(state.linesSent++);
            if (!text) return;
            // Deliver in two chunks split mid-line so the page must join them.
            const cut = Math.floor(text.length / 2);
            c.enqueue(encoder.encode(text.slice(0, cut)));
            c.enqueue(encoder.encode(text.slice(cut)));
          }, 30);
        },
        cancel() {
          clearInterval(timer);
        },
      });
    },
    async close() {
      clearInterval(timer);
    },
    getInfo() {
      return { usbVendorId: 0x2341, usbProductId: 0x8036 };
    },
  };
  const serial = {
    async requestPort() {
      return port;
    },
    async getPorts() {
      return [port];
    },
    addEventListener() {},
    removeEventListener() {},
  };
  Object.defineProperty(Navigator.prototype, "serial", { get: () => serial, configurable: true });
  window.__serial = state;
})();
