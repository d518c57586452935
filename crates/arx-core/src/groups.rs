//! Creating groups: the local MLS group, its creation commit (an add intent), and the key
//! packages of the installations to add.

use arx_identity::{InboxId, InstallationKey};
use arx_proto::client_envelope::Payload;
use openmls::prelude::{
    tls_codec::Deserialize as _, GroupId, KeyPackage, MlsGroup, MlsGroupCreateConfig,
    MlsMessageBodyIn, MlsMessageIn, ProtocolVersion,
};
use openmls_traits::OpenMlsProvider as _;
use rand::RngCore;

use crate::{
    client::{now_ns, Client},
    db::{
        self,
        conversations::{ConversationKind, NewConversation},
        intents::IntentKind,
    },
    error::CoreError,
    intents::inboxes_data,
    metadata::GroupMetadata,
    mls::{self, credential_inbox, mls_op, mls_storage, MlsProvider, MAX_PAST_EPOCHS},
    model::CreatedGroup,
    sync::decode_payload,
    transport::NodeIdentity,
};

/// Valid key packages of the installations asked for, and why the others were left out.
pub(crate) type KeyPackages = (
    Vec<(InstallationKey, KeyPackage)>,
    Vec<(InstallationKey, String)>,
);

impl Client {
    /// Creates a group with this installation, the other installations of this inbox, and
    /// every installation of `members`. Installations whose key package is missing or invalid
    /// are reported in [`CreatedGroup::failed`]; the others are added.
    pub async fn create_group(
        &self,
        name: Option<&str>,
        members: &[InboxId],
    ) -> Result<CreatedGroup, CoreError> {
        let me = self.inbox().await?;
        let node = self.node().await?;
        let mut group_id = vec![0u8; crate::dm::GROUP_ID_LEN];
        rand::thread_rng().fill_bytes(&mut group_id);
        self.create_local_group(&me, &group_id, name, None, members)
            .await?;
        // Nobody else can commit to a group id only this installation knows; the welcome
        // leaves once the creation commit's echo is merged.
        let mut inboxes = vec![me];
        inboxes.extend(members.iter().filter(|m| **m != me));
        let failed = self
            .run_intent(
                &node,
                &group_id,
                IntentKind::AddMembers,
                &inboxes_data(&inboxes),
            )
            .await?;
        Ok(CreatedGroup { group_id, failed })
    }

    /// The valid key package of each wanted installation, and the reasons for the others.
    pub(crate) async fn fetch_key_packages(
        &self,
        node: &NodeIdentity,
        wanted: &[(InboxId, InstallationKey)],
    ) -> Result<KeyPackages, CoreError> {
        if wanted.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let found = self
            .transport
            .key_packages(wanted.iter().map(|(_, k)| k.as_bytes().to_vec()).collect())
            .await?;
        let crypto = openmls_rust_crypto::RustCrypto::default();
        let mut good = Vec::new();
        let mut failed = Vec::new();
        for ((inbox, key), env) in wanted.iter().zip(found) {
            let checked = (|| {
                let env = env.ok_or("no key package published")?;
                node.verify(&env).map_err(|_| "bad node signature")?;
                let Ok(Payload::KeyPackage(upload)) = decode_payload(&env) else {
                    return Err("not a key package");
                };
                let message = MlsMessageIn::tls_deserialize_exact(upload.mls_message.as_slice())
                    .map_err(|_| "undecodable key package")?;
                let MlsMessageBodyIn::KeyPackage(kp) = message.extract() else {
                    return Err("not a key package");
                };
                let kp = kp
                    .validate(&crypto, ProtocolVersion::Mls10)
                    .map_err(|_| "invalid or expired key package")?;
                let leaf = kp.leaf_node();
                if leaf.signature_key().as_slice() != key.as_bytes() {
                    return Err("key package of another installation");
                }
                if credential_inbox(leaf.credential()).ok() != Some(*inbox) {
                    return Err("key package names another inbox");
                }
                Ok(kp)
            })();
            match checked {
                Ok(kp) => good.push((*key, kp)),
                Err(reason) => failed.push((*key, reason.to_owned())),
            }
        }
        Ok((good, failed))
    }

    /// Creates the MLS group (this installation only, epoch 0) and its conversation row.
    pub(crate) async fn create_local_group(
        &self,
        me: &InboxId,
        group_id: &[u8],
        name: Option<&str>,
        dm_peer: Option<&InboxId>,
        allowed: &[InboxId],
    ) -> Result<(), CoreError> {
        let signer = mls::mls_signer(&self.installation);
        let mut tx = self.write_tx().await?;
        self.store.groups.forget(group_id);
        {
            let provider = MlsProvider::new(&mut tx);
            let mut config = MlsGroupCreateConfig::builder()
                .ciphersuite(mls::CIPHERSUITE)
                .use_ratchet_tree_extension(true)
                .max_past_epochs(MAX_PAST_EPOCHS)
                .capabilities(crate::metadata::capabilities());
            if dm_peer.is_none() {
                config = config.with_group_context_extensions(
                    GroupMetadata::for_creator(name, *me).to_extensions()?,
                );
            }
            let config = config.build();
            MlsGroup::new_with_group_id(
                &provider,
                &signer,
                &config,
                GroupId::from_slice(group_id),
                mls::credential(me, &self.installation),
            )
            .map_err(mls_op)?;
        }
        let new = NewConversation {
            group_id,
            kind: match dm_peer {
                Some(_) => ConversationKind::Dm,
                None => ConversationKind::Group,
            },
            name,
            dm_peer,
            created_at_ns: now_ns(),
            joined_epoch: 0,
            consent: db::Consent::Allowed,
            invited_by: None,
        };
        db::conversations::insert(&mut tx, &new).await?;
        // Starting a conversation with people allows them (their later invitations are not
        // requests).
        for inbox in allowed.iter().chain(dm_peer).filter(|i| *i != me) {
            db::consent::set_inbox(&mut tx, inbox, db::Consent::Allowed, now_ns()).await?;
        }
        tx.commit().await?;
        self.conversations_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Forgets a group this installation created but that lost (MLS state, row, cursors).
    pub(crate) async fn drop_local_group(&self, group_id: &[u8]) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        self.store.groups.forget(group_id);
        {
            let provider = MlsProvider::new(&mut tx);
            if let Some(mut group) =
                MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))
                    .map_err(mls_storage)?
            {
                group.delete(provider.storage()).map_err(mls_storage)?;
            }
        }
        let topic = arx_identity::Topic::group(group_id)?;
        db::conversations::delete(&mut tx, group_id, &topic.to_bytes()).await?;
        tx.commit().await?;
        Ok(())
    }
}
