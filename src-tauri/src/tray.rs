//! The tray (menu-bar on macOS) icon: the unread count in its tooltip, title and menu, "Open
//! ARX" and "Quit ARX". Where the desktop has no tray the icon is simply not shown.

use tauri::{
    menu::{Menu, MenuItem, PredefinedMenuItem},
    tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent},
    AppHandle, Manager, Wry,
};

const TRAY: &str = "main";

/// The menu line that shows the unread count.
pub struct UnreadItem(MenuItem<Wry>);

/// "No unread messages", "1 unread message", "12 unread messages".
pub fn unread_text(unread: u64) -> String {
    match unread {
        0 => "No unread messages".to_owned(),
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    }
}

/// Brings the main window forward (from the tray, a second start or a link).
pub fn show_window(handle: &AppHandle) {
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Adds the tray icon. A desktop without a tray (or without its library) only loses the icon:
/// the failure, even a panic from the library loader, is logged.
pub fn create(handle: &AppHandle) {
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(handle)));
    match made {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::info!("no tray icon: {err}"),
        Err(_) => tracing::info!("no tray icon: this desktop has no tray library"),
    }
}

fn build(handle: &AppHandle) -> tauri::Result<()> {
    let unread = MenuItem::with_id(handle, "unread", unread_text(0), false, None::<&str>)?;
    let open = MenuItem::with_id(handle, "open", "Open ARX", true, None::<&str>)?;
    let quit = MenuItem::with_id(handle, "quit", "Quit ARX", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(handle)?;
    let menu = Menu::with_items(handle, &[&unread, &separator, &open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY)
        .tooltip("ARX")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_window(tray.app_handle());
            }
        });
    if let Some(icon) = handle.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(handle)?;
    handle.manage(UnreadItem(unread));
    Ok(())
}

/// Shows the unread count on the tray icon (its tooltip, its menu, and beside it on macOS and
/// Linux desktops that show a label).
pub fn set_unread(handle: &AppHandle, unread: u64) {
    let Some(tray) = handle.tray_by_id(TRAY) else {
        return;
    };
    let text = unread_text(unread);
    let tooltip = if unread == 0 {
        "ARX".to_owned()
    } else {
        format!("ARX: {text}")
    };
    let _ = tray.set_tooltip(Some(tooltip));
    let _ = tray.set_title((unread > 0).then(|| unread.to_string()));
    if let Some(item) = handle.try_state::<UnreadItem>() {
        let _ = item.0.set_text(text);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_count_reads_as_words() {
        assert_eq!(super::unread_text(0), "No unread messages");
        assert_eq!(super::unread_text(1), "1 unread message");
        assert_eq!(super::unread_text(12), "12 unread messages");
    }
}
