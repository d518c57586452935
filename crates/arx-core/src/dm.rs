//! DMs: one per pair of inboxes, with a group id both sides derive from the two sorted inbox
//! ids. If both people create it at once, the creation the node ordered first wins and the other
//! side drops its own group and joins the winner's from the welcome.

use arx_identity::{InboxId, InstallationKey, Topic};
use sha2::{Digest as _, Sha256};

use crate::{
    client::Client,
    db::{self, intents::IntentKind},
    error::{CoreCode, CoreError},
    intents::inboxes_data,
};

/// How long and how often [`Client::dm`] waits for the other side's DM to arrive.
const DM_CONVERGING_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
const DM_CONVERGING_TRIES: u32 = 20;

/// The group id of the DM between two inboxes: the same whoever computes it.
pub fn dm_group_id(a: &InboxId, b: &InboxId) -> Vec<u8> {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"arx/v1/dm");
    hash.update(first.as_bytes());
    hash.update(second.as_bytes());
    hash.finalize()[..16].to_vec()
}

impl Client {
    /// The DM with `peer`, creating it if there is none. If both people create it at the same
    /// time, the creation the node ordered first wins and the other side joins it: this waits
    /// for that (up to 5 s) before it gives up with the retryable `dm.converging`.
    pub async fn dm(&self, peer: &InboxId) -> Result<Vec<u8>, CoreError> {
        let mut attempt = 0;
        loop {
            match self.dm_once(peer).await {
                Err(CoreError::DmConverging) if attempt < DM_CONVERGING_TRIES => {
                    attempt += 1;
                    tokio::time::sleep(DM_CONVERGING_WAIT).await;
                }
                other => return other,
            }
        }
    }

    /// [`Client::dm`], once.
    async fn dm_once(&self, peer: &InboxId) -> Result<Vec<u8>, CoreError> {
        let me = self.inbox().await?;
        if *peer == me {
            return Err(CoreError::InvalidInput("a DM needs another person".into()));
        }
        let group_id = dm_group_id(&me, peer);
        self.sync().await?;
        if db::conversations::exists(&self.db, &group_id).await? {
            return Ok(group_id);
        }
        let node = self.node().await?;
        // Created by the other side already: its welcome is on its way.
        let (existing, _) = self.next_page(&Topic::group(&group_id)?).await?;
        if !existing.is_empty() {
            return Err(CoreError::DmConverging);
        }
        let peer_state = self.association_state_from(&node, peer).await?;
        let own_state = self.association_state_from(&node, &me).await?;
        let mut wanted: Vec<(InboxId, InstallationKey)> = peer_state
            .installations()
            .into_iter()
            .map(|k| (*peer, k))
            .collect();
        wanted.extend(
            own_state
                .installations()
                .into_iter()
                .filter(|k| *k != self.installation_key())
                .map(|k| (me, k)),
        );
        let (key_packages, _failed) = self.fetch_key_packages(&node, &wanted).await?;
        if !key_packages
            .iter()
            .any(|(k, _)| wanted.iter().any(|(i, w)| i == peer && w == k))
        {
            return Err(CoreError::PeerUnreachable(*peer));
        }
        self.create_local_group(&me, &group_id, None, Some(peer))
            .await?;
        let created = self
            .run_intent(
                &node,
                &group_id,
                IntentKind::AddMembers,
                &inboxes_data(&[*peer, me]),
            )
            .await;
        match created {
            Ok(_) => Ok(group_id),
            Err(CoreError::IntentFailed { code, .. }) if code == CoreCode::DmConverging.into() => {
                // The other side's DM came first: drop ours and join theirs.
                self.drop_local_group(&group_id).await?;
                self.sync().await?;
                if db::conversations::exists(&self.db, &group_id).await? {
                    Ok(group_id)
                } else {
                    Err(CoreError::DmConverging)
                }
            }
            Err(err) => {
                self.drop_local_group(&group_id).await?;
                Err(err)
            }
        }
    }
}
