/** Vite build and Vitest settings for the TinyStudio browser app. */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|wasm|txt)$/;

/** Writes `name.br` and `name.gz` beside each built text file, which the studio serves to browsers that accept them. */
function precompress(minBytes = 1024): Plugin {
  return {
    name: "tinystudio-precompress",
    apply: "build",
    writeBundle(options, bundle) {
      for (const name of Object.keys(bundle)) {
        if (!COMPRESSIBLE.test(name)) continue;
        const path = resolve(options.dir ?? "dist", name);
        const data = readFileSync(path);
        // Tiny files shrink too little to be worth a second copy.
        if (data.length < minBytes) continue;
        writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
        const params = { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length };
        writeFileSync(`${path}.br`, brotliCompressSync(data, { params }));
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress()],
  server: {
    // `npm run dev` talks to a studio started with `./tinystudio up` on the default port.
    proxy: { "/api": "http://127.0.0.1:8321" },
  },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"], environment: "node" },
});
