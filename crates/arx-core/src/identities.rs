//! Identity logs as the engine checks leaves against them.
//!
//! A commit or a welcome brings leaves in; each must be an installation associated with the inbox
//! its credential names. Two rules keep every member deciding the same way, and keep the network
//! out of write transactions:
//!
//! - **Evaluated at the envelope's point.** The association state used for a commit or welcome is
//!   the inbox's log folded up to that envelope's place in the node's order ([`Point`]), not the
//!   state of today: a member that syncs a week later decides as one that synced at once.
//! - **Fetched before the write.** Logs are fetched outside any transaction into this cache. A
//!   check inside a transaction that finds a log missing, or fetched before the envelopes it
//!   checks were read, fails with [`CoreError::IdentitiesNeeded`]; the caller rolls back, fetches
//!   them ([`Client::refresh_identities`]) and applies again.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use arx_identity::{
    Action, AssociationState, IdentityUpdate, InboxId, InstallationKey, MemberId, NoChainVerifier,
};
use arx_proto::{client_envelope::Payload, ClientEnvelope, OriginatorEnvelope};
use prost::Message as _;

use crate::{client::Client, error::CoreError, transport::NodeIdentity};

/// Most times one envelope is applied again after fetching the logs it needed.
pub(crate) const MAX_IDENTITY_ROUNDS: usize = 8;

/// Where an envelope sits in the node's order: an identity update counts before it when the
/// same originator sequenced the update first, or (another originator) received it no later.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point {
    pub originator_id: u32,
    pub sequence_id: u64,
    pub received_at_ns: i64,
}

impl Point {
    pub(crate) fn of(env: &OriginatorEnvelope) -> Self {
        Self {
            originator_id: env.originator_id,
            sequence_id: env.sequence_id,
            received_at_ns: env.received_at_ns,
        }
    }

    fn includes(&self, entry: &LogEntry) -> bool {
        if entry.originator_id == self.originator_id {
            entry.sequence_id < self.sequence_id
        } else {
            entry.received_at_ns <= self.received_at_ns
        }
    }
}

struct LogEntry {
    originator_id: u32,
    sequence_id: u64,
    received_at_ns: i64,
    update: IdentityUpdate,
}

struct CachedLog {
    fetched_at: Instant,
    entries: Vec<LogEntry>,
}

/// Verified identity logs, by inbox.
#[derive(Default)]
pub(crate) struct IdentityLogs {
    logs: Mutex<HashMap<InboxId, CachedLog>>,
}

impl IdentityLogs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InboxId, CachedLog>> {
        self.logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The updates of `inbox`'s log up to `point`, from a log fetched after `read_at` (any
    /// log when None). No network: a log that is missing or older is reported as needed.
    fn prefix(
        &self,
        inbox: &InboxId,
        point: &Point,
        read_at: Option<Instant>,
    ) -> Result<Vec<IdentityUpdate>, CoreError> {
        let logs = self.lock();
        match logs.get(inbox) {
            Some(log) if read_at.is_none_or(|at| log.fetched_at >= at) => Ok(log
                .entries
                .iter()
                .filter(|e| point.includes(e))
                .map(|e| e.update.clone())
                .collect()),
            _ => Err(CoreError::IdentitiesNeeded(vec![*inbox])),
        }
    }

    /// The association state of `inbox` at `point`, from a log fetched after `read_at` (when
    /// the envelopes being checked were read). No network: a log that is missing or older is
    /// reported as needed.
    pub(crate) async fn state_at(
        &self,
        inbox: &InboxId,
        point: &Point,
        read_at: Instant,
    ) -> Result<Option<AssociationState>, CoreError> {
        let updates = self.prefix(inbox, point, Some(read_at))?;
        Ok(AssociationState::fold(&updates, &NoChainVerifier).await?)
    }

    /// Whether the log of `inbox` as cached (of any age; never fetched here) shows `key`
    /// associated before `point` and no longer at it: revoked. A log fetched before a later
    /// association cannot make a valid installation look revoked, since an installation only
    /// counts as revoked once its association is seen.
    pub(crate) async fn known_revoked(
        &self,
        inbox: &InboxId,
        key: &InstallationKey,
        point: &Point,
    ) -> bool {
        // Only a revocation takes an installation away: without one in the log (the usual
        // case, decided without copying the log or checking any signature) the sender is not
        // revoked.
        let revokes = self.lock().get(inbox).is_some_and(|log| {
            log.entries.iter().filter(|e| point.includes(e)).any(|e| {
                e.update
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::RevokeAssociation { .. }))
            })
        });
        if !revokes {
            return false;
        }
        let Ok(updates) = self.prefix(inbox, point, None) else {
            return false;
        };
        if !ever_associated(&updates, key) {
            return false;
        }
        match AssociationState::fold(&updates, &NoChainVerifier).await {
            Ok(Some(state)) => !state.has_installation(key),
            _ => false,
        }
    }
}

impl Client {
    /// Fetches and verifies the identity logs of `inboxes` into the cache (outside any
    /// transaction).
    pub(crate) async fn refresh_identities(
        &self,
        node: &NodeIdentity,
        inboxes: &[InboxId],
    ) -> Result<(), CoreError> {
        for inbox in inboxes {
            let fetched_at = Instant::now();
            let entries = self.identity_log(node, inbox).await?;
            self.identities.lock().insert(
                *inbox,
                CachedLog {
                    fetched_at,
                    entries,
                },
            );
        }
        Ok(())
    }

    /// The identity log of `inbox` from the node, every envelope verified against its
    /// originator and every entry checked to be an update of that inbox.
    async fn identity_log(
        &self,
        node: &NodeIdentity,
        inbox: &InboxId,
    ) -> Result<Vec<LogEntry>, CoreError> {
        let envelopes = crate::client::waiting_out_rate_limit(|| {
            self.transport
                .identity_updates(inbox.as_bytes().to_vec(), 0)
        })
        .await?;
        let mut entries = Vec::with_capacity(envelopes.len());
        for env in &envelopes {
            node.verify(env)?;
            let client = ClientEnvelope::decode(env.client_envelope.as_slice())
                .map_err(|e| CoreError::NodeInvalid(format!("identity log entry: {e}")))?;
            let Some(Payload::IdentityUpdate(update)) = client.payload else {
                return Err(CoreError::NodeInvalid(
                    "identity log entry is not an update".into(),
                ));
            };
            let update = IdentityUpdate::from_proto(&update)?;
            if update.inbox_id != *inbox {
                return Err(CoreError::NodeInvalid(
                    "identity log holds another inbox's update".into(),
                ));
            }
            entries.push(LogEntry {
                originator_id: env.originator_id,
                sequence_id: env.sequence_id,
                received_at_ns: env.received_at_ns,
                update,
            });
        }
        Ok(entries)
    }

    /// The current verified association state of `inbox_id`, fetched now (outside any
    /// transaction); the log is kept for the checks that follow.
    pub(crate) async fn association_state_from(
        &self,
        node: &NodeIdentity,
        inbox_id: &InboxId,
    ) -> Result<AssociationState, CoreError> {
        let fetched_at = Instant::now();
        let entries = self.identity_log(node, inbox_id).await?;
        let updates: Vec<&IdentityUpdate> = entries.iter().map(|e| &e.update).collect();
        let state = AssociationState::fold(updates, &NoChainVerifier)
            .await?
            .ok_or_else(|| CoreError::NodeInvalid(format!("inbox {inbox_id} has an empty log")))?;
        self.identities.lock().insert(
            *inbox_id,
            CachedLog {
                fetched_at,
                entries,
            },
        );
        Ok(state)
    }

    /// Checks that each `(credential inbox, installation key)` leaf is associated at `point`,
    /// from logs fetched after `read_at` (see the module notes). No network. With
    /// `tolerate_revoked`, a leaf whose installation was associated and then revoked passes
    /// (a group being joined may still hold one until its next commit removes it).
    pub(crate) async fn check_leaves_at(
        &self,
        leaves: &[(InboxId, InstallationKey)],
        point: &Point,
        read_at: Instant,
        tolerate_revoked: bool,
    ) -> Result<(), CoreError> {
        let mut needed: Vec<InboxId> = Vec::new();
        let mut states: HashMap<InboxId, (Option<AssociationState>, Vec<IdentityUpdate>)> =
            HashMap::new();
        for (inbox, _) in leaves {
            if states.contains_key(inbox) || needed.contains(inbox) {
                continue;
            }
            match self.identities.prefix(inbox, point, Some(read_at)) {
                Ok(updates) => {
                    let state = AssociationState::fold(&updates, &NoChainVerifier).await?;
                    states.insert(*inbox, (state, updates));
                }
                Err(CoreError::IdentitiesNeeded(more)) => needed.extend(more),
                Err(other) => return Err(other),
            }
        }
        if !needed.is_empty() {
            return Err(CoreError::IdentitiesNeeded(needed));
        }
        for (inbox, key) in leaves {
            let (state, updates) = states
                .get(inbox)
                .map(|(s, u)| (s.as_ref(), u.as_slice()))
                .unwrap_or((None, &[]));
            let associated = state.is_some_and(|s| s.has_installation(key));
            let tolerated = tolerate_revoked && ever_associated(updates, key);
            if !associated && !tolerated {
                return Err(CoreError::LeafNotAssociated {
                    installation: *key,
                    inbox: *inbox,
                });
            }
        }
        Ok(())
    }
}

/// Whether `updates` ever associate installation `key` (added by an association).
fn ever_associated(updates: &[IdentityUpdate], key: &InstallationKey) -> bool {
    let member = MemberId::Installation(*key);
    updates.iter().any(|u| {
        u.actions.iter().any(
            |a| matches!(a, Action::AddAssociation { new_member, .. } if *new_member == member),
        )
    })
}
