//! ARX Messenger's desktop shell: Tauri commands over the engine (`arx-core`), events to the
//! web UI, and "This computer" (an embedded node on loopback) when no network is configured.
//!
//! Options: `--profile NAME` / `ARX_PROFILE` (separate data, so two people can use one
//! computer), `--node URL` / `ARX_NODE_URL` (use this node), `ARX_DATA_DIR` (data root instead
//! of the OS app data directory), `ARX_LOCAL_NODE_PORT` (the local node's port, 7447).

mod account;
mod app;
mod commands;
mod desktop;
pub mod dto;
mod error;
mod events;
mod group;
mod instance;
mod ipfs;
mod keystore;
mod links;
mod rich;
mod signature;
mod signin;
mod tray;
mod updates;
mod views;

use std::{path::PathBuf, sync::Arc};

use tauri::Manager;

pub use dto::typescript_bindings;

/// Command-line and environment options.
struct Options {
    profile: String,
    node: Option<String>,
    data_dir: Option<PathBuf>,
    local_port: u16,
}

fn options() -> Result<Options, String> {
    let mut profile = std::env::var("ARX_PROFILE").ok();
    let mut node = std::env::var("ARX_NODE_URL").ok();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => profile = args.next(),
            "--node" => node = args.next(),
            _ => {}
        }
    }
    let profile = profile.unwrap_or_else(|| "default".into());
    if profile.is_empty()
        || profile.len() > 64
        || !profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "profile {profile:?}: use 1 to 64 letters, digits, '-' or '_'"
        ));
    }
    let local_port = match std::env::var("ARX_LOCAL_NODE_PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("ARX_LOCAL_NODE_PORT={port:?} is not a port"))?,
        Err(_) => app::DEFAULT_LOCAL_PORT,
    };
    Ok(Options {
        profile,
        node: node.filter(|n| !n.trim().is_empty()),
        data_dir: std::env::var_os("ARX_DATA_DIR").map(PathBuf::from),
        local_port,
    })
}

/// Logs go to `<log dir>/arx-<profile>.log` (never keys or message text).
fn init_logs(log_dir: &std::path::Path, profile: &str) -> Result<(), String> {
    std::fs::create_dir_all(log_dir).map_err(|e| format!("log directory: {e}"))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_dir.join(format!("arx-{profile}.log")))
        .map_err(|e| format!("log file: {e}"))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ARX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}

/// Bumped by every move or resize of the window; a save waits for it to settle.
static WINDOW_CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes the window's size and position shortly after it stops changing, so they are kept
/// even when the app does not get to close normally.
fn remember_window(handle: &tauri::AppHandle) {
    use std::sync::atomic::Ordering;
    use tauri_plugin_window_state::{AppHandleExt, StateFlags};
    let generation = WINDOW_CHANGES.fetch_add(1, Ordering::SeqCst) + 1;
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        if WINDOW_CHANGES.load(Ordering::SeqCst) == generation {
            if let Err(err) = handle.save_window_state(StateFlags::all()) {
                tracing::debug!("window state not saved: {err}");
            }
        }
    });
}

/// When this process started (as near as the shell can tell): start-up times count from it.
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub(crate) fn process_start() -> std::time::Instant {
    *PROCESS_START.get_or_init(std::time::Instant::now)
}

pub fn run() {
    process_start();
    desktop::choose_rendering();
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("arx-messenger: {message}");
            std::process::exit(2);
        }
    };
    let context = tauri::generate_context!();
    // The same place as Tauri's app data directory: the OS data directory and the identifier.
    let data_root = match options
        .data_dir
        .clone()
        .or_else(|| dirs::data_dir().map(|dir| dir.join(&context.config().identifier)))
    {
        Some(dir) => dir,
        None => {
            eprintln!("arx-messenger: this system has no data directory; set ARX_DATA_DIR");
            std::process::exit(2);
        }
    };
    // One process per profile: a second start hands its arguments (a link) to the first.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile_dir = data_root.join("profiles").join(&options.profile);
    let lock = match instance::start(&profile_dir, &options.profile, &args) {
        Ok(instance::Start::First(lock)) => lock,
        Ok(instance::Start::Handed) => {
            eprintln!(
                "arx-messenger: ARX is already open for profile {:?}; it was brought forward",
                options.profile
            );
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("arx-messenger: {message}");
            std::process::exit(1);
        }
    };
    // Beside the profile when the data root is given, else in the OS config directory (an
    // absolute name is taken as is by the plugin).
    let window_state_file = match &options.data_dir {
        Some(dir) => dir
            .join("profiles")
            .join(&options.profile)
            .join("window-state.json")
            .display()
            .to_string(),
        None => format!("window-state-{}.json", options.profile),
    };
    let built = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        // Checks, downloads and verifies updates; `updates.rs` drives it (the UI has no access).
        .plugin(tauri_plugin_updater::Builder::new().build())
        // Size, position and maximized state, per profile.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_filename(window_state_file)
                .build(),
        )
        .setup(move |tauri_app| {
            let paths = tauri_app.path();
            let log_dir = match &options.data_dir {
                Some(dir) => dir.join("logs"),
                None => paths.app_log_dir()?,
            };
            init_logs(&log_dir, &options.profile)?;
            let app = Arc::new(app::App::new(
                tauri_app.handle().clone(),
                options.profile.clone(),
                &data_root,
                log_dir,
                options.node.clone(),
                options.local_port,
            ));
            tauri_app.manage(lock);
            let from_later_starts = app.clone();
            let listener = instance::Listener::open(&app.profile_dir, move |args| {
                tray::show_window(&from_later_starts.handle);
                if let Some(link) = links::find_link(&args) {
                    from_later_starts.receive_link(link);
                }
            })?;
            tauri_app.manage(listener);
            if let Some(link) = links::find_link(&args) {
                app.receive_link(link);
            }
            tray::create(tauri_app.handle());
            tauri_app.manage(app.clone());
            app.updates
                .clone()
                .check_on_schedule(tauri_app.handle().clone());
            tracing::info!(
                profile = %options.profile,
                version = %tauri_app.package_info().version,
                "ARX Messenger starting"
            );
            tauri::async_runtime::spawn(async move { app.first_start().await });
            Ok(())
        })
        .on_window_event(|window, event| {
            if matches!(
                event,
                tauri::WindowEvent::Moved(_) | tauri::WindowEvent::Resized(_)
            ) {
                remember_window(window.app_handle());
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::connection_state,
            commands::create_builtin_account,
            commands::import_builtin_key,
            commands::begin_external_signin,
            commands::complete_external_signin,
            commands::list_conversations,
            commands::open_dm,
            commands::create_group,
            commands::add_members,
            commands::remove_members,
            commands::leave_group,
            commands::group_members,
            commands::rename_group,
            commands::list_messages,
            commands::send_text,
            commands::retry_message,
            commands::mark_read,
            commands::set_network,
            rich::send_files,
            rich::send_pasted,
            rich::open_image,
            rich::save_attachment,
            rich::reply,
            rich::react,
            rich::edit_message,
            rich::delete_message,
            rich::list_requests,
            rich::accept_request,
            rich::block_conversation,
            rich::delete_request,
            rich::set_ipfs_url,
            group::group_settings,
            group::set_group_description,
            group::set_group_image,
            group::clear_group_image,
            group::group_image,
            group::set_group_policies,
            group::set_member_role,
            group::set_disappearing,
            updates::update_state,
            updates::set_update_channel,
            updates::check_for_update,
            updates::install_update,
            updates::restart_to_update,
            links::take_deep_link,
            commands::open_link,
            commands::ui_ready,
            commands::set_notifications,
            commands::export_builtin_key,
            commands::list_devices,
            commands::revoke_device,
            commands::begin_external_revoke,
            commands::complete_external_revoke,
        ])
        .build(context);
    let app = match built {
        Ok(app) => app,
        Err(err) => {
            eprintln!("arx-messenger: {err}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        // macOS hands links to the running app rather than starting it again.
        #[cfg(target_os = "macos")]
        if let tauri::RunEvent::Opened { urls } = &event {
            if let Some(app) = handle.try_state::<Arc<app::App>>() {
                for url in urls.iter().filter(|u| u.scheme() == links::SCHEME) {
                    app.receive_link(url.as_str());
                }
            }
        }
        if let tauri::RunEvent::Exit = event {
            // From here a new start (a restart into an update) waits for the lock instead.
            if let Some(listener) = handle.try_state::<instance::Listener>() {
                listener.close();
            }
            if let Some(app) = handle.try_state::<Arc<app::App>>() {
                let app = app.inner().clone();
                tauri::async_runtime::block_on(async move { app.stop().await });
            }
        }
    });
}
