//! A bare Tauri window: one static page that says it is ready. With `ARX_READY_FILE` set, the
//! time from process start to the page's first script is written there (milliseconds).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::{sync::OnceLock, time::Instant};

static STARTED: OnceLock<Instant> = OnceLock::new();

#[tauri::command]
fn ready() -> Result<(), String> {
    let ms = STARTED.get().map_or(0, |s| s.elapsed().as_millis());
    if let Some(path) = std::env::var_os("ARX_READY_FILE") {
        std::fs::write(path, format!("{ms}\n")).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() {
    STARTED.get_or_init(Instant::now);
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!());
    if let Err(err) = app {
        eprintln!("arx-bare-window: {err}");
        std::process::exit(1);
    }
}
