//! `arx://` links, registered by the installers (the `deep-link` plugin configuration):
//! `arx://dm/<wallet address or inbox id>` opens the DM with that person, starting it if needed.
//! A link reaches the app as an argument (Linux, Windows: a new start, handed to the running
//! instance by `instance.rs`) or as an "opened" event (macOS).

use crate::{
    commands::AppState,
    error::{CommandError, CommandResult},
    signature::command,
};

/// The URL scheme the installers register (matched on macOS, where links arrive as events).
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub const SCHEME: &str = "arx";

/// The longest link looked at; anything longer is not an ARX link.
const MAX_LINK: usize = 256;

/// The first argument that is an `arx:` link.
pub fn find_link(args: &[String]) -> Option<&str> {
    args.iter()
        .map(String::as_str)
        .find(|a| a.len() >= 4 && a[..4].eq_ignore_ascii_case("arx:"))
}

/// The person an `arx://dm/<peer>` link names: a 0x wallet address or a 64-hex inbox id.
pub fn dm_peer(link: &str) -> Result<String, String> {
    let refuse = || {
        let shown: String = link.chars().take(80).collect();
        format!("{shown:?} is not a link ARX opens (arx://dm/ followed by a wallet address)")
    };
    if link.len() > MAX_LINK || !link.is_ascii() {
        return Err(refuse());
    }
    let rest = link.get(4..).ok_or_else(refuse)?;
    let rest = rest.trim_start_matches('/');
    let (kind, peer) = rest.split_once('/').ok_or_else(refuse)?;
    if !kind.eq_ignore_ascii_case("dm") {
        return Err(refuse());
    }
    let peer = peer
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let is_address =
        peer.len() == 42 && peer[..2].eq_ignore_ascii_case("0x") && hex(&peer[2..], 40);
    if is_address || hex(peer, 64) {
        Ok(peer.to_owned())
    } else {
        Err(refuse())
    }
}

command! {
/// The person the waiting `arx://dm/…` link names, once (null when none is waiting).
pub async fn take_deep_link(app: AppState<'_>) -> CommandResult<Option<String>> {
    let link = app.link.lock().ok().and_then(|mut waiting| waiting.take());
    match link {
        None => Ok(None),
        Some(link) => dm_peer(&link).map(Some).map_err(CommandError::input),
    }
}
}

pub fn signatures() -> Vec<crate::signature::Signature> {
    vec![take_deep_link::signature()]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    #[test]
    fn a_dm_link_names_an_address_or_an_inbox() {
        assert_eq!(
            dm_peer(&format!("arx://dm/{ADDRESS}")),
            Ok(ADDRESS.to_owned())
        );
        assert_eq!(
            dm_peer(&format!("ARX://DM/{ADDRESS}/")),
            Ok(ADDRESS.to_owned())
        );
        assert_eq!(
            dm_peer(&format!("arx:dm/{ADDRESS}?from=web")),
            Ok(ADDRESS.to_owned())
        );
        let inbox = "ab".repeat(32);
        assert_eq!(dm_peer(&format!("arx://dm/{inbox}")), Ok(inbox));
    }

    #[test]
    fn anything_else_is_refused_with_what_arx_opens() {
        for bad in [
            "arx://",
            "arx://dm/",
            "arx://dm/0x1234",
            "arx://group/abc",
            "arx://dm/0x70997970C51812dc3A010C7d01b50e0d17dc79CZ",
            "arx://dm/../../etc/passwd",
        ] {
            let err = dm_peer(bad).unwrap_err();
            assert!(err.contains("arx://dm/"), "{bad}: {err}");
        }
        assert!(dm_peer(&format!("arx://dm/{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn the_link_is_found_among_the_arguments() {
        let args = vec![
            "--profile".to_owned(),
            "work".to_owned(),
            format!("arx://dm/{ADDRESS}"),
        ];
        assert_eq!(find_link(&args), Some(args[2].as_str()));
        assert_eq!(find_link(&args[..2]), None);
    }
}
