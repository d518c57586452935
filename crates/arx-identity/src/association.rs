//! Association state: who belongs to an inbox, obtained by folding its identity log.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{eip191_hash_message, Address};

use crate::error::IdentityError;
use crate::inbox::InboxId;
use crate::member::{InstallationKey, MemberId};
use crate::serde_str::hash_set;
use crate::signer::recover_eip191;
use crate::smart_wallet::SmartWalletVerifier;
use crate::update::{
    signing_hash_of_text, Action, IdentityUpdate, Signature, MAX_ACTIONS_PER_UPDATE,
};

/// The most installations an inbox may have at once.
pub const MAX_INSTALLATIONS: usize = 10;
/// The most wallets an inbox may have at once.
pub const MAX_WALLETS: usize = 10;

/// What the inbox records about one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// The member that approved adding this one; `None` for the inbox's first wallet.
    pub added_by: Option<MemberId>,
}

/// The members of an inbox and its recovery address, as of some point of its identity log.
///
/// It also remembers every signature and update already applied, to refuse replays.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssociationState {
    inbox_id: InboxId,
    recovery_address: Address,
    #[serde(with = "member_list")]
    members: BTreeMap<MemberId, Member>,
    /// [`Signature::replay_key`] of every signature of every applied update.
    #[serde(with = "hash_set")]
    seen_signatures: BTreeSet<[u8; 32]>,
    /// Signing hash of every applied update.
    #[serde(with = "hash_set")]
    seen_updates: BTreeSet<[u8; 32]>,
}

impl AssociationState {
    /// The inbox this state describes.
    pub fn inbox_id(&self) -> InboxId {
        self.inbox_id
    }

    /// The wallet that may revoke members and change the recovery address. It need not be a
    /// member.
    pub fn recovery_address(&self) -> Address {
        self.recovery_address
    }

    /// The member wallets, in address order.
    pub fn wallets(&self) -> Vec<Address> {
        self.members
            .keys()
            .filter_map(|m| match m {
                MemberId::Wallet(address) => Some(*address),
                MemberId::Installation(_) => None,
            })
            .collect()
    }

    /// The member installations, in key order.
    pub fn installations(&self) -> Vec<InstallationKey> {
        self.members
            .keys()
            .filter_map(|m| match m {
                MemberId::Installation(key) => Some(*key),
                MemberId::Wallet(_) => None,
            })
            .collect()
    }

    /// Whether `address` is a member wallet.
    pub fn has_wallet(&self, address: &Address) -> bool {
        self.members.contains_key(&MemberId::Wallet(*address))
    }

    /// Whether `key` is a member installation.
    pub fn has_installation(&self, key: &InstallationKey) -> bool {
        self.members.contains_key(&MemberId::Installation(*key))
    }

    /// What the inbox records about `member`, if it is one.
    pub fn member(&self, member: &MemberId) -> Option<&Member> {
        self.members.get(member)
    }

    /// Every member, in order (wallets first).
    pub fn members(&self) -> impl Iterator<Item = (&MemberId, &Member)> {
        self.members.iter()
    }

    /// Verifies every signature of `update` and applies it to `current` (`None` = the inbox has
    /// no identity log yet). Pure except for calls to `smart` for smart-contract wallet
    /// signatures. Any failure rejects the whole update; the rules are in the crate README.
    pub async fn apply_update(
        current: Option<&AssociationState>,
        update: &IdentityUpdate,
        smart: &dyn SmartWalletVerifier,
    ) -> Result<AssociationState, IdentityError> {
        Self::apply_update_with(current, update, smart, None).await
    }

    /// [`AssociationState::apply_update`] using signatures already checked by
    /// [`CheckedSignatures::of`] (elsewhere, in parallel): what is left is the work that needs
    /// the state. `checked` must be of this very update.
    pub async fn apply_checked_update(
        current: Option<&AssociationState>,
        update: &IdentityUpdate,
        smart: &dyn SmartWalletVerifier,
        checked: &CheckedSignatures,
    ) -> Result<AssociationState, IdentityError> {
        Self::apply_update_with(current, update, smart, Some(checked)).await
    }

    async fn apply_update_with(
        current: Option<&AssociationState>,
        update: &IdentityUpdate,
        smart: &dyn SmartWalletVerifier,
        checked: Option<&CheckedSignatures>,
    ) -> Result<AssociationState, IdentityError> {
        if update.actions.is_empty() {
            return Err(IdentityError::malformed(
                "an identity update needs at least one action",
            ));
        }
        if update.actions.len() > MAX_ACTIONS_PER_UPDATE {
            return Err(IdentityError::TooManyActions {
                count: update.actions.len(),
                max: MAX_ACTIONS_PER_UPDATE,
            });
        }
        if update.client_timestamp_ns <= 0 {
            return Err(IdentityError::malformed(
                "client_timestamp_ns must be positive",
            ));
        }
        if let Some(current) = current {
            if current.inbox_id != update.inbox_id {
                return Err(IdentityError::InboxIdMismatch {
                    expected: current.inbox_id,
                    actual: update.inbox_id,
                });
            }
        }

        let text = update.unsigned().signature_text();
        let installation_hash = signing_hash_of_text(&text);
        let signed = SignedText {
            installation_hash,
            wallet_hash: eip191_hash_message(&text).0,
            text,
            smart,
            // Checks of another update's text count for nothing.
            checked: checked.filter(|c| c.installation_hash == installation_hash),
        };
        let replay_keys: Vec<[u8; 32]> = update
            .actions
            .iter()
            .flat_map(Action::signatures)
            .map(Signature::replay_key)
            .collect();
        if let Some(current) = current {
            if current.seen_updates.contains(&signed.installation_hash) {
                return Err(IdentityError::SignatureReplayed(
                    "this update is already in the identity log".to_owned(),
                ));
            }
            if replay_keys
                .iter()
                .any(|key| current.seen_signatures.contains(key))
            {
                return Err(IdentityError::SignatureReplayed(
                    "a signature of this update was used by an earlier update".to_owned(),
                ));
            }
        }

        let mut state = current.cloned();
        for action in &update.actions {
            state = Some(match (state, action) {
                (Some(existing), Action::CreateInbox { .. }) => {
                    return Err(IdentityError::InboxExists(existing.inbox_id));
                }
                (
                    None,
                    Action::CreateInbox {
                        initial_address,
                        nonce,
                        signature,
                    },
                ) => {
                    let derived = InboxId::derive(initial_address, *nonce);
                    if derived != update.inbox_id {
                        return Err(IdentityError::InboxIdMismatch {
                            expected: derived,
                            actual: update.inbox_id,
                        });
                    }
                    signed
                        .verify_member(&MemberId::Wallet(*initial_address), signature)
                        .await?;
                    AssociationState::create(update.inbox_id, *initial_address)
                }
                (None, _) => return Err(IdentityError::InboxNotFound(update.inbox_id)),
                (Some(mut state), action) => {
                    state.apply_action(action, &signed).await?;
                    state
                }
            });
        }
        let mut state = state.ok_or(IdentityError::InboxNotFound(update.inbox_id))?;
        state.seen_signatures.extend(replay_keys);
        state.seen_updates.insert(signed.installation_hash);
        Ok(state)
    }

    /// Applies a whole identity log in order; `None` for an empty log.
    pub async fn fold<'a>(
        updates: impl IntoIterator<Item = &'a IdentityUpdate>,
        smart: &dyn SmartWalletVerifier,
    ) -> Result<Option<AssociationState>, IdentityError> {
        let mut state = None;
        for update in updates {
            state = Some(Self::apply_update(state.as_ref(), update, smart).await?);
        }
        Ok(state)
    }

    fn create(inbox_id: InboxId, initial_address: Address) -> Self {
        AssociationState {
            inbox_id,
            recovery_address: initial_address,
            members: BTreeMap::from([(
                MemberId::Wallet(initial_address),
                Member { added_by: None },
            )]),
            seen_signatures: BTreeSet::new(),
            seen_updates: BTreeSet::new(),
        }
    }

    /// Applies one action other than `CreateInbox` to an existing inbox.
    async fn apply_action(
        &mut self,
        action: &Action,
        signed: &SignedText<'_>,
    ) -> Result<(), IdentityError> {
        match action {
            Action::CreateInbox { .. } => Err(IdentityError::InboxExists(self.inbox_id)),
            Action::AddAssociation {
                new_member,
                existing_member,
                existing_member_signature,
                new_member_signature,
            } => {
                if !self.members.contains_key(existing_member) {
                    return Err(IdentityError::NotMember(*existing_member));
                }
                if !new_member.is_wallet() && !existing_member.is_wallet() {
                    return Err(IdentityError::Unauthorized(format!(
                        "{existing_member} cannot add an installation: only wallets can"
                    )));
                }
                if self.members.contains_key(new_member) {
                    return Err(IdentityError::AlreadyMember(*new_member));
                }
                if new_member.is_wallet() {
                    if self.wallets().len() >= MAX_WALLETS {
                        return Err(IdentityError::TooManyWallets { max: MAX_WALLETS });
                    }
                } else if self.installations().len() >= MAX_INSTALLATIONS {
                    return Err(IdentityError::TooManyInstallations {
                        max: MAX_INSTALLATIONS,
                    });
                }
                signed
                    .verify_member(existing_member, existing_member_signature)
                    .await?;
                signed
                    .verify_member(new_member, new_member_signature)
                    .await?;
                self.members.insert(
                    *new_member,
                    Member {
                        added_by: Some(*existing_member),
                    },
                );
                Ok(())
            }
            Action::RevokeAssociation {
                revoked_member,
                recovery_address_signature,
            } => {
                if !self.members.contains_key(revoked_member) {
                    return Err(IdentityError::NotMember(*revoked_member));
                }
                signed
                    .verify_recovery(self.recovery_address, recovery_address_signature)
                    .await?;
                self.members.remove(revoked_member);
                if revoked_member.is_wallet() {
                    self.members.retain(|member, info| {
                        member.is_wallet() || info.added_by != Some(*revoked_member)
                    });
                }
                Ok(())
            }
            Action::ChangeRecoveryAddress {
                new_recovery_address,
                recovery_address_signature,
            } => {
                signed
                    .verify_recovery(self.recovery_address, recovery_address_signature)
                    .await?;
                self.recovery_address = *new_recovery_address;
                Ok(())
            }
        }
    }
}

/// An update's signature text and its two hashes, for checking its signatures.
struct SignedText<'a> {
    text: String,
    /// What installations sign.
    installation_hash: [u8; 32],
    /// What wallets sign (EIP-191 hash of the text).
    wallet_hash: [u8; 32],
    smart: &'a dyn SmartWalletVerifier,
    /// Signatures of this text already checked.
    checked: Option<&'a CheckedSignatures>,
}

/// The stateless half of checking an update's signatures, done before (and apart from) the
/// work that needs the inbox's state: the signer of every wallet signature recovered, and every
/// installation signature verified against the installation its action names. Costly (an
/// ECDSA recovery per wallet signature), so a node does it on the caller's task, not on its
/// single writer.
#[derive(Clone, Debug, Default)]
pub struct CheckedSignatures {
    /// The update these are of (its installation signing hash).
    installation_hash: [u8; 32],
    recovered: std::collections::HashMap<[u8; 65], Address>,
    installations: BTreeSet<([u8; 32], [u8; 64])>,
}

impl CheckedSignatures {
    /// Checks what can be checked of `update`'s signatures without state. A wallet signature
    /// that recovers no signer, or an installation signature that does not verify for the
    /// installation named beside it, refuses the update.
    pub fn of(update: &IdentityUpdate) -> Result<Self, IdentityError> {
        let text = update.unsigned().signature_text();
        let installation_hash = signing_hash_of_text(&text);
        let mut checked = Self {
            installation_hash,
            ..Self::default()
        };
        for action in &update.actions {
            for signature in action.signatures() {
                if let Signature::Eip191(sig) = signature {
                    if !checked.recovered.contains_key(sig) {
                        checked.recovered.insert(*sig, recover_eip191(&text, sig)?);
                    }
                }
            }
            if let Action::AddAssociation {
                new_member,
                existing_member,
                existing_member_signature,
                new_member_signature,
            } = action
            {
                for (member, signature) in [
                    (new_member, new_member_signature),
                    (existing_member, existing_member_signature),
                ] {
                    if let (MemberId::Installation(key), Signature::Installation(sig)) =
                        (member, signature)
                    {
                        key.verify(&installation_hash, sig)?;
                        checked.installations.insert((*key.as_bytes(), *sig));
                    }
                }
            }
        }
        Ok(checked)
    }

    fn recovered(&self, text: &str, sig: &[u8; 65]) -> Result<Address, IdentityError> {
        match self.recovered.get(sig) {
            Some(address) => Ok(*address),
            None => recover_eip191(text, sig),
        }
    }
}

impl SignedText<'_> {
    /// The signer of a wallet signature over the text (recovered before, if it was).
    fn recover(&self, sig: &[u8; 65]) -> Result<Address, IdentityError> {
        match self.checked {
            Some(checked) => checked.recovered(&self.text, sig),
            None => recover_eip191(&self.text, sig),
        }
    }

    /// Checks that `signature` is `member`'s signature over the text.
    async fn verify_member(
        &self,
        member: &MemberId,
        signature: &Signature,
    ) -> Result<(), IdentityError> {
        match (member, signature) {
            (MemberId::Wallet(address), Signature::Eip191(sig)) => {
                let signer = self.recover(sig)?;
                if signer != *address {
                    return Err(IdentityError::SignatureInvalid(format!(
                        "the signature for {member} was made by another key"
                    )));
                }
                Ok(())
            }
            (
                MemberId::Wallet(address),
                Signature::SmartWallet {
                    chain_id,
                    block_number,
                    signature,
                },
            ) => {
                self.smart
                    .verify(
                        *address,
                        *chain_id,
                        *block_number,
                        self.wallet_hash,
                        signature,
                    )
                    .await
            }
            (MemberId::Installation(key), Signature::Installation(sig)) => {
                if self
                    .checked
                    .is_some_and(|c| c.installations.contains(&(*key.as_bytes(), *sig)))
                {
                    return Ok(());
                }
                key.verify(&self.installation_hash, sig)
            }
            (MemberId::Wallet(_), Signature::Installation(_)) => {
                Err(IdentityError::SignatureInvalid(format!(
                    "{member} cannot make an installation signature"
                )))
            }
            (MemberId::Installation(_), _) => Err(IdentityError::SignatureInvalid(format!(
                "{member} cannot make a wallet signature"
            ))),
        }
    }

    /// Checks that `signature` is the recovery address's signature over the text; a valid
    /// signature by anyone else is `identity.unauthorized`.
    async fn verify_recovery(
        &self,
        recovery_address: Address,
        signature: &Signature,
    ) -> Result<(), IdentityError> {
        let recovery = MemberId::Wallet(recovery_address);
        match signature {
            Signature::Eip191(sig) => {
                let signer = self.recover(sig)?;
                if signer != recovery_address {
                    return Err(IdentityError::Unauthorized(format!(
                        "only the recovery address ({recovery}) may revoke members or change \
                         the recovery address, not {}",
                        MemberId::Wallet(signer)
                    )));
                }
                Ok(())
            }
            Signature::SmartWallet { .. } => self.verify_member(&recovery, signature).await,
            Signature::Installation(_) => Err(IdentityError::Unauthorized(format!(
                "only the recovery address ({recovery}) may revoke members or change the \
                 recovery address, not an installation"
            ))),
        }
    }
}

/// The member map as a list of `{member, added_by}` entries (JSON object keys must be strings).
mod member_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Member;
    use crate::member::MemberId;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        member: MemberId,
        added_by: Option<MemberId>,
    }

    pub(super) fn serialize<S: Serializer>(
        members: &BTreeMap<MemberId, Member>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(members.iter().map(|(member, info)| Entry {
            member: *member,
            added_by: info.added_by,
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<MemberId, Member>, D::Error> {
        let entries = Vec::<Entry>::deserialize(deserializer)?;
        Ok(entries
            .into_iter()
            .map(|e| {
                (
                    e.member,
                    Member {
                        added_by: e.added_by,
                    },
                )
            })
            .collect())
    }
}
