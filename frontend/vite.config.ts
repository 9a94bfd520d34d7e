/** Vite build and Vitest settings for the TinyStudio browser app. */
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  server: {
    // `npm run dev` talks to a studio started with `./tinystudio up` on the default port.
    proxy: { "/api": "http://127.0.0.1:8321" },
  },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"], environment: "node" },
});
