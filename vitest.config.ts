import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  test: {
    root: ".",
    environment: "jsdom",
    include: ["ui/src/**/*.test.{ts,tsx}"],
    setupFiles: ["ui/src/test/setup.ts"],
    restoreMocks: true,
    testTimeout: 20000,
  },
});
