import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The web UI lives in ui/ and builds to ui/dist, which tauri.conf.json embeds (frontendDist).
export default defineConfig({
  root: "ui",
  plugins: [react()],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    watch: { ignored: ["**/src-tauri/**", "**/target/**", "**/crates/**"] },
  },
  envPrefix: ["VITE_"],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK / WKWebView / WebView2 all handle ES2021; safari13 would reject top-level await.
    target: ["es2021", "safari15", "chrome105"],
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
});
