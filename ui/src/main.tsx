import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { EngineProvider } from "./engine/context";
import { createTauriEngine } from "./engine/tauri";
import { mark } from "./lib/startup";
import "./styles.css";

mark("bundle");

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <EngineProvider engine={createTauriEngine()}>
      <App />
    </EngineProvider>
  </StrictMode>,
);
