//! System lines: each device stores one line in the conversation for every change a commit
//! made (members added, removed or gone, profile, roles, policies, disappearing timer). They
//! are never sent; the commit itself is what every member saw.

use arx_identity::{InboxId, InstallationKey};
use arx_proto::{EncodedContent, SystemContent};
use openmls::prelude::{MlsGroup, Sender, StagedCommit};
use prost::Message as _;
use rand::RngCore;
use sqlx::SqliteConnection;

use crate::{error::CoreError, metadata::GroupMetadata, mls::credential_inbox, Role};

/// Content type of system lines.
pub const SYSTEM_TYPE: &str = "arx.system/1";

/// What a commit changed, for its system lines.
#[derive(Clone)]
pub(crate) struct Changes {
    pub added: Vec<InboxId>,
    pub removed: Vec<InboxId>,
    pub left: Vec<InboxId>,
}

impl Changes {
    /// The members a staged commit adds, removes and lets go (read before it is merged).
    pub(crate) fn of(group: &MlsGroup, staged: &StagedCommit) -> Self {
        let inbox_at = |index| {
            group
                .members()
                .find(|m| m.index == index)
                .and_then(|m| credential_inbox(&m.credential).ok())
        };
        let mut added: Vec<InboxId> = staged
            .add_proposals()
            .filter_map(|a| {
                credential_inbox(a.add_proposal().key_package().leaf_node().credential()).ok()
            })
            .collect();
        added.sort();
        added.dedup();
        let (mut removed, mut left) = (Vec::new(), Vec::new());
        for r in staged.remove_proposals() {
            let index = r.remove_proposal().removed();
            let Some(inbox) = inbox_at(index) else {
                continue;
            };
            let own_request = matches!(r.sender(), Sender::Member(l) if *l == index);
            let list = if own_request { &mut left } else { &mut removed };
            if !list.contains(&inbox) {
                list.push(inbox);
            }
        }
        // An inbox with other installations still in the group did not leave it.
        let still_in = |inbox: &InboxId| {
            let gone: Vec<_> = staged
                .remove_proposals()
                .map(|r| r.remove_proposal().removed())
                .collect();
            group.members().any(|m| {
                !gone.contains(&m.index) && credential_inbox(&m.credential).ok() == Some(*inbox)
            })
        };
        removed.retain(|i| !still_in(i));
        left.retain(|i| !still_in(i));
        Self {
            added,
            removed,
            left,
        }
    }
}

struct Line {
    kind: &'static str,
    subjects: Vec<InboxId>,
    value: String,
}

fn line(kind: &'static str, subjects: Vec<InboxId>, value: impl Into<String>) -> Line {
    Line {
        kind,
        subjects,
        value: value.into(),
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::SuperAdmin => "a super admin",
        Role::Admin => "an admin",
        Role::Member => "a member",
    }
}

/// A timer as people say it: "1 hour", "30 seconds".
pub fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    let (n, unit) = if s.is_multiple_of(86_400) && s >= 86_400 {
        (s / 86_400, "day")
    } else if s.is_multiple_of(3600) && s >= 3600 {
        (s / 3600, "hour")
    } else if s.is_multiple_of(60) && s >= 60 {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn lines(before: &GroupMetadata, after: &GroupMetadata, changes: &Changes) -> Vec<Line> {
    let mut out = Vec::new();
    if !changes.added.is_empty() {
        out.push(line("added", changes.added.clone(), ""));
    }
    if !changes.removed.is_empty() {
        out.push(line("removed", changes.removed.clone(), ""));
    }
    if !changes.left.is_empty() {
        out.push(line("left", changes.left.clone(), ""));
    }
    if after.name != before.name {
        out.push(line(
            "renamed",
            vec![],
            after.name.clone().unwrap_or_default(),
        ));
    }
    if after.description != before.description {
        out.push(line("description", vec![], ""));
    }
    if after.image != before.image {
        let value = if after.image.is_some() {
            "changed"
        } else {
            "removed"
        };
        out.push(line("image", vec![], value));
    }
    let mut inboxes: Vec<InboxId> = before
        .admins
        .iter()
        .chain(&before.super_admins)
        .chain(&after.admins)
        .chain(&after.super_admins)
        .copied()
        .collect();
    inboxes.sort();
    inboxes.dedup();
    for inbox in inboxes {
        let role = after.role(&inbox);
        if before.role(&inbox) != role && !changes.removed.contains(&inbox) {
            out.push(line("roles", vec![inbox], role_text(role)));
        }
    }
    let policies = [
        (
            "add members",
            before.policies.add_members,
            after.policies.add_members,
        ),
        (
            "remove members",
            before.policies.remove_members,
            after.policies.remove_members,
        ),
        (
            "edit the profile",
            before.policies.update_profile,
            after.policies.update_profile,
        ),
    ];
    for (what, was, now) in policies {
        if was != now {
            let who = match now {
                crate::Policy::Everyone => "everyone",
                crate::Policy::Admins => "admins",
                crate::Policy::SuperAdmins => "super admins",
            };
            out.push(line("policies", vec![], format!("{what}: {who}")));
        }
    }
    if after.disappear_after_ms != before.disappear_after_ms {
        let value = after
            .disappear_after_ms
            .map_or_else(|| "off".to_owned(), duration_text);
        out.push(line("timer", vec![], value));
    }
    out
}

/// A system line as text, with the actor's and subjects' labels.
pub fn render(actor: &str, subjects: &[String], kind: &str, value: &str) -> String {
    let who = subjects.join(", ");
    match kind {
        "added" => format!("{actor} added {who}"),
        "removed" => format!("{actor} removed {who}"),
        "left" => format!("{who} left"),
        "renamed" if value.is_empty() => format!("{actor} removed the group's name"),
        "renamed" => format!("{actor} renamed the group to “{value}”"),
        "description" => format!("{actor} changed the description"),
        "image" if value == "removed" => format!("{actor} removed the group image"),
        "image" => format!("{actor} changed the group image"),
        "roles" => format!("{actor} made {who} {value}"),
        "policies" => format!("{actor} changed who may {value}"),
        "timer" if value == "off" => format!("{actor} turned off disappearing messages"),
        "timer" => format!("{actor} set messages to disappear after {value}"),
        _ => format!("{actor} changed the group"),
    }
}

/// Decodes a stored system line: (kind, subjects, value).
pub(crate) fn decode(content: &[u8]) -> Option<(String, Vec<InboxId>, String)> {
    let c = SystemContent::decode(content).ok()?;
    let subjects = c
        .subjects
        .iter()
        .map(|s| InboxId::from_slice(s).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((c.kind, subjects, c.value))
}

/// Stores the system lines of a merged commit by `committer`.
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    group_id: &[u8],
    committer: (&InboxId, &InstallationKey),
    before: &GroupMetadata,
    after: &GroupMetadata,
    changes: &Changes,
    at_ns: i64,
) -> Result<(), CoreError> {
    for l in lines(before, after, changes) {
        let short = |i: &InboxId| i.to_string().chars().take(12).collect::<String>();
        let subjects: Vec<String> = l.subjects.iter().map(short).collect();
        let fallback = render(&short(committer.0), &subjects, l.kind, &l.value);
        let content = EncodedContent {
            type_id: SYSTEM_TYPE.into(),
            content: SystemContent {
                kind: l.kind.into(),
                subjects: l.subjects.iter().map(|i| i.as_bytes().to_vec()).collect(),
                value: l.value,
            }
            .encode_to_vec(),
            fallback,
            id: Vec::new(),
        };
        let mut hash = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut hash);
        sqlx::query(
            "INSERT INTO messages (group_id, sender_inbox, sender_installation, type_id, content, \
             fallback, sent_at_ns, payload_hash, delivery) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sent')",
        )
        .bind(group_id)
        .bind(committer.0.as_bytes().as_slice())
        .bind(committer.1.as_bytes().as_slice())
        .bind(&content.type_id)
        .bind(&content.content)
        .bind(&content.fallback)
        .bind(at_ns)
        .bind(hash.as_slice())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_read_as_people_say_them() {
        assert_eq!(duration_text(30_000), "30 seconds");
        assert_eq!(duration_text(60_000), "1 minute");
        assert_eq!(duration_text(3_600_000), "1 hour");
        assert_eq!(duration_text(7 * 86_400_000), "7 days");
        assert_eq!(duration_text(90_000), "90 seconds");
        assert_eq!(
            render("You", &[], "timer", "1 hour"),
            "You set messages to disappear after 1 hour"
        );
        assert_eq!(
            render("0xab…cd", &["0x12…34".into()], "roles", "an admin"),
            "0xab…cd made 0x12…34 an admin"
        );
    }
}
