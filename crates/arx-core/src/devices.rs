//! This inbox's devices (installations): listing them, and revoking a lost or stolen one.
//!
//! Revoking publishes an identity update signed by the inbox's recovery wallet; from that point
//! in the node's order the installation is no longer associated. Then this installation removes
//! the revoked one from every group it shares with it (any member may remove a revoked leaf;
//! every member checks the revocation at the commit's point). Until that commit, members refuse
//! the revoked installation's messages once they know of the revocation, and newcomers can
//! still join (a welcome may carry a revoked leaf).

use arx_identity::{InstallationKey, MemberId, UnsignedAction, UnsignedIdentityUpdate};

use crate::{
    client::{now_ns, Client},
    db::{self, intents::IntentKind, ConversationState},
    error::CoreError,
    intents::{insert_intent, installations_data},
    model::SyncSummary,
    wallet::WalletSigner,
};

/// One installation of this inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub installation: InstallationKey,
    /// Whether it is this installation.
    pub this_device: bool,
}

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// The installation revoked.
    pub installation: InstallationKey,
    /// Conversations the installation was removed from.
    pub removed_from: usize,
    /// Conversations where removing it failed (the next commit of any member removes it).
    pub failed: Vec<(Vec<u8>, String)>,
}

impl Client {
    /// The installations of this inbox as the node's identity log has them (verified here).
    pub async fn devices(&self) -> Result<Vec<Device>, CoreError> {
        let inbox = self.inbox().await?;
        let node = self.node().await?;
        let state = self.association_state_from(&node, &inbox).await?;
        let me = self.installation_key();
        Ok(state
            .installations()
            .into_iter()
            .map(|installation| Device {
                this_device: installation == me,
                installation,
            })
            .collect())
    }

    /// Revokes `installation` (another device of this inbox) with the inbox's recovery
    /// wallet, then removes it from every conversation this installation shares with it.
    pub async fn revoke_installation(
        &self,
        wallet: &dyn WalletSigner,
        installation: &InstallationKey,
    ) -> Result<Revoked, CoreError> {
        let inbox = self.inbox().await?;
        if *installation == self.installation_key() {
            return Err(CoreError::InvalidInput(
                "this is the device in use; revoke it from another device".into(),
            ));
        }
        let node = self.node().await?;
        let state = self.association_state_from(&node, &inbox).await?;
        if !state.has_installation(installation) {
            return Err(CoreError::InvalidInput(format!(
                "{installation} is not a device of this account"
            )));
        }
        if wallet.address() != state.recovery_address() {
            return Err(CoreError::NotPermitted(format!(
                "only the account's recovery wallet ({}) may revoke a device",
                state.recovery_address().to_checksum(None)
            )));
        }
        let unsigned = UnsignedIdentityUpdate {
            inbox_id: inbox,
            client_timestamp_ns: now_ns(),
            actions: vec![UnsignedAction::RevokeAssociation {
                revoked_member: MemberId::Installation(*installation),
            }],
        };
        let update = self.sign_update(unsigned, wallet, Some(&state)).await?;
        self.publish_identity_update(&node, &update).await?;
        tracing::info!(%installation, "device revoked");
        // The revocation is in the log from here on: the removals below are checked with it.
        self.association_state_from(&node, &inbox).await?;

        let mut revoked = Revoked {
            installation: *installation,
            removed_from: 0,
            failed: Vec::new(),
        };
        for group_id in db::conversations::ids(&self.db).await? {
            if db::conversations::state(&self.db, &group_id).await?
                != Some(ConversationState::Active)
            {
                continue;
            }
            let holds_it = self
                .conversation(&group_id)
                .members()
                .await?
                .iter()
                .any(|(_, key)| key == installation);
            if !holds_it {
                continue;
            }
            let mut tx = self.write_tx().await?;
            insert_intent(
                &mut tx,
                &group_id,
                IntentKind::CommitPending,
                &installations_data(&[*installation]),
            )
            .await?;
            tx.commit().await?;
            match self
                .process_group(&node, &group_id, &mut SyncSummary::default())
                .await
            {
                Ok(_) => revoked.removed_from += 1,
                Err(err) => {
                    tracing::warn!(code = %err.code(), "revoked device not removed yet: {err}");
                    revoked.failed.push((group_id, err.to_string()));
                }
            }
        }
        Ok(revoked)
    }
}
