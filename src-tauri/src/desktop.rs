//! Desktop habits: OS notifications for messages that arrive while the window is not focused
//! (clicking one opens its conversation), the unread badge, and opening links in the browser.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use tauri::{AppHandle, Manager};

use crate::{
    dto::{ConversationView, EngineEvent, MessageView},
    error::{CommandError, CommandResult},
};

const WINDOW: &str = "main";
/// The longest message preview a notification shows.
const PREVIEW_CHARS: usize = 140;

/// Whether a message deserves a notification: someone else's, and the person is not looking.
pub fn should_notify(message: &MessageView, enabled: bool, window_focused: bool) -> bool {
    enabled && !message.is_mine && !window_focused
}

/// The notification's title and body: who wrote, where, and the start of what they wrote.
pub fn notification_text(
    conversation: Option<&ConversationView>,
    message: &MessageView,
) -> (String, String) {
    let title = match conversation {
        Some(c) if c.kind == crate::dto::ConversationKind::Group => {
            format!("{} in {}", message.sender_label, c.title)
        }
        _ => message.sender_label.clone(),
    };
    let text = message
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let body = if text.chars().count() > PREVIEW_CHARS {
        let cut: String = text.chars().take(PREVIEW_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        text
    };
    (title, body)
}

/// Notifications shown by this app; on Linux, one thread per conversation waits for a click.
#[derive(Default)]
pub struct Notifier {
    waiting: Arc<Mutex<HashSet<String>>>,
}

impl Notifier {
    /// Shows (or replaces) the conversation's notification. Failures, such as no notification
    /// service on this desktop, are logged and otherwise ignored.
    pub fn notify(&self, handle: &AppHandle, conversation_id: &str, title: &str, body: &str) {
        let mut notification = notify_rust::Notification::new();
        notification
            .appname("ARX")
            .summary(title)
            .body(body)
            // One notification per conversation: a newer message replaces the older one.
            .id(notification_id(conversation_id));
        self.show(handle, conversation_id, notification);
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    fn show(
        &self,
        handle: &AppHandle,
        conversation_id: &str,
        mut notification: notify_rust::Notification,
    ) {
        notification.action("default", "Open");
        let first = match self.waiting.lock() {
            Ok(mut waiting) => waiting.insert(conversation_id.to_owned()),
            Err(_) => false,
        };
        let handle = handle.clone();
        let waiting = self.waiting.clone();
        let conversation_id = conversation_id.to_owned();
        std::thread::spawn(move || match notification.show() {
            // A replaced notification keeps its id, so the thread already waiting on it hears
            // the click; only the first one waits.
            Ok(shown) if first => {
                shown.wait_for_action(|action| {
                    if action == "default" || action == "Open" {
                        open_conversation(&handle, &conversation_id);
                    }
                });
                if let Ok(mut waiting) = waiting.lock() {
                    waiting.remove(&conversation_id);
                }
            }
            Ok(_) => {}
            Err(err) => {
                if let Ok(mut waiting) = waiting.lock() {
                    waiting.remove(&conversation_id);
                }
                tracing::info!("notification not shown: {err}");
            }
        });
    }

    /// macOS: the notification centre answers when the notification is clicked (or closed).
    #[cfg(target_os = "macos")]
    fn show(
        &self,
        handle: &AppHandle,
        conversation_id: &str,
        notification: notify_rust::Notification,
    ) {
        let handle = handle.clone();
        let conversation_id = conversation_id.to_owned();
        let (title, body) = (notification.summary, notification.body);
        std::thread::spawn(move || {
            // Notifications come from ARX's bundle (set once per process; later calls say so).
            let _ = mac_notification_sys::set_application(&handle.config().identifier);
            let response = mac_notification_sys::Notification::new()
                .title(&title)
                .message(&body)
                .wait_for_click(true)
                .send();
            match response {
                Ok(mac_notification_sys::NotificationResponse::Click) => {
                    open_conversation(&handle, &conversation_id);
                }
                Ok(_) => {}
                Err(err) => tracing::info!("notification not shown: {err:?}"),
            }
        });
    }

    /// Windows: a toast under the installed app's id whose activation opens the conversation.
    #[cfg(target_os = "windows")]
    fn show(
        &self,
        handle: &AppHandle,
        conversation_id: &str,
        notification: notify_rust::Notification,
    ) {
        let clicked = handle.clone();
        let app_id = handle.config().identifier.clone();
        let conversation_id = conversation_id.to_owned();
        let (title, body) = (notification.summary, notification.body);
        std::thread::spawn(move || {
            let toast = tauri_winrt_notification::Toast::new(&app_id)
                .title(&title)
                .text2(&body)
                .on_activated(move |_action| {
                    open_conversation(&clicked, &conversation_id);
                    Ok(())
                });
            if let Err(err) = toast.show() {
                tracing::info!("notification not shown: {err:?}");
            }
        });
    }
}

/// A stable notification id for a conversation (never 0, which means "new").
fn notification_id(conversation_id: &str) -> u32 {
    let hash = conversation_id.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    hash.max(1)
}

/// Brings the window forward and tells the UI to open the conversation.
pub fn open_conversation(handle: &AppHandle, conversation_id: &str) {
    crate::tray::show_window(handle);
    if let Some(app) = handle.try_state::<Arc<crate::app::App>>() {
        app.emit(EngineEvent::OpenConversation {
            conversation_id: conversation_id.to_owned(),
        });
    }
}

pub fn window_focused(handle: &AppHandle) -> bool {
    handle
        .get_webview_window(WINDOW)
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

/// The unread count on the app's icon (where the desktop shows one) and on the tray icon; 0
/// clears it.
pub fn set_badge(handle: &AppHandle, unread: u64) {
    crate::tray::set_unread(handle, unread);
    if let Some(window) = handle.get_webview_window(WINDOW) {
        let count = (unread > 0).then(|| i64::try_from(unread).unwrap_or(i64::MAX));
        if let Err(err) = window.set_badge_count(count) {
            tracing::debug!("no unread badge here: {err}");
        }
    }
}

/// Checks that a link from a message is one the browser may open: http(s) or mailto only.
pub fn checked_link(url: &str) -> CommandResult<&str> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let allowed = ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
    if !allowed || url.len() > 8_192 || url.chars().any(char::is_control) {
        return Err(CommandError::input(
            "only http, https and mailto links open outside ARX",
        ));
    }
    Ok(url)
}

/// WebKitGTK's switch for GPU compositing; WebKit reads it once, when the first web view starts.
const COMPOSITING_SWITCH: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Whether the web view should composite with OpenGL, given whether the machine has a DRM render
/// node and what the person set themselves.
///
/// Without a render node Mesa can only rasterise in software (llvmpipe): compositing then costs
/// the web process about 75 MiB of textures and shader code and CPU time on every scroll, for no
/// gain over WebKit's own painting. A value the person set wins either way ("0" keeps GPU
/// compositing on).
pub fn gl_compositing_wanted(has_render_node: bool, user_setting: Option<&str>) -> bool {
    match user_setting {
        Some(value) => value == "0",
        None => has_render_node,
    }
}

/// Applies [`gl_compositing_wanted`] on Linux. Call first thing in `main`, before any thread or
/// web view exists: it may set an environment variable that WebKit reads at start-up.
pub fn choose_rendering() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let has_render_node = std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
    });
    let user_setting = std::env::var(COMPOSITING_SWITCH).ok();
    let wanted = gl_compositing_wanted(has_render_node, user_setting.as_deref());
    if user_setting.is_none() && !wanted {
        std::env::set_var(COMPOSITING_SWITCH, "1");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::dto::{ConversationKind, DeliveryStatus, Role};

    fn message(text: &str, is_mine: bool) -> MessageView {
        MessageView {
            id: "1".into(),
            conversation_id: "ab".into(),
            sender_inbox_id: "inbox".into(),
            sender_label: "0x1234…abcd".into(),
            is_mine,
            sent_at_ms: 0,
            status: DeliveryStatus::Sent,
            text: text.into(),
            markdown: false,
            is_fallback: false,
            attachments: Vec::new(),
            reactions: Vec::new(),
            reply_to: None,
            edited: false,
            deleted: false,
            read_by: 0,
            system: false,
        }
    }

    fn group(title: &str) -> ConversationView {
        ConversationView {
            id: "ab".into(),
            kind: ConversationKind::Group,
            title: title.into(),
            peer_address: None,
            last_message: None,
            last_activity_ms: 0,
            unread_count: 1,
            my_role: Role::Member,
            member_count: 3,
            consent: crate::dto::Consent::Allowed,
        }
    }

    #[test]
    fn only_others_messages_notify_and_only_when_the_window_is_not_focused() {
        assert!(should_notify(&message("hi", false), true, false));
        assert!(!should_notify(&message("hi", false), true, true));
        assert!(!should_notify(&message("hi", true), true, false));
        assert!(!should_notify(&message("hi", false), false, false));
    }

    #[test]
    fn the_text_names_the_sender_and_the_group_and_is_cut_short() {
        let (title, body) = notification_text(None, &message("hello\n  there", false));
        assert_eq!(title, "0x1234…abcd");
        assert_eq!(body, "hello there");
        let long = "word ".repeat(100);
        let (title, body) = notification_text(Some(&group("Team")), &message(&long, false));
        assert_eq!(title, "0x1234…abcd in Team");
        assert!(body.chars().count() <= PREVIEW_CHARS);
        assert!(body.ends_with('…'));
    }

    #[test]
    fn notification_ids_are_stable_and_never_zero() {
        assert_eq!(notification_id("abcd"), notification_id("abcd"));
        assert_ne!(notification_id("abcd"), notification_id("abce"));
        assert_ne!(notification_id(""), 0);
    }

    #[test]
    fn only_web_and_mail_links_open() {
        assert_eq!(
            checked_link(" https://arx.example/a ").unwrap(),
            "https://arx.example/a"
        );
        assert!(checked_link("mailto:a@b.c").is_ok());
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://",
            "ftp://x",
            "https://a\nb",
        ] {
            assert_eq!(
                checked_link(bad).unwrap_err().code,
                arx_core::CoreCode::InvalidInput.into(),
                "{bad}"
            );
        }
    }

    #[test]
    fn gl_compositing_only_with_a_render_node_unless_the_person_says() {
        assert!(gl_compositing_wanted(true, None));
        assert!(!gl_compositing_wanted(false, None));
        assert!(gl_compositing_wanted(false, Some("0")));
        assert!(!gl_compositing_wanted(true, Some("1")));
    }
}
