//! Identity updates: the signed changes that make up an inbox's identity log, and the text
//! their signers sign.

use alloy_primitives::Address;
use sha2::{Digest, Sha256};

use crate::association::AssociationState;
use crate::error::IdentityError;
use crate::inbox::InboxId;
use crate::member::{address_from_slice, MemberId};
use crate::signer::parse_eip191;

/// The most actions one identity update may carry.
pub const MAX_ACTIONS_PER_UPDATE: usize = 16;

/// Domain separator of [`UnsignedIdentityUpdate::signing_hash`].
const SIGNING_HASH_DOMAIN: &[u8] = b"arx/v1/identity-update";

/// A member's signature over an update's signature text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// EIP-191 `personal_sign` by an ordinary wallet: `r || s || v`.
    Eip191([u8; 65]),
    /// ERC-1271 / ERC-6492 signature of a smart-contract wallet, checked at `block_number` of
    /// `chain_id`.
    SmartWallet {
        /// EIP-155 chain id.
        chain_id: u64,
        /// Block at which the wallet's contract is asked.
        block_number: u64,
        /// Opaque signature bytes for the contract.
        signature: Vec<u8>,
    },
    /// Ed25519 by an installation over [`UnsignedIdentityUpdate::signing_hash`].
    Installation([u8; 64]),
}

impl Signature {
    /// Parses the wire form; a missing oneof or a wrong length is `identity.malformed`.
    pub fn from_proto(proto: &arx_proto::IdentitySignature) -> Result<Self, IdentityError> {
        use arx_proto::identity_signature::Kind;
        match &proto.kind {
            Some(Kind::Eip191(bytes)) => {
                let sig = bytes.as_slice().try_into().map_err(|_| {
                    IdentityError::malformed(format!(
                        "EIP-191 signature must be 65 bytes, got {}",
                        bytes.len()
                    ))
                })?;
                Ok(Signature::Eip191(sig))
            }
            Some(Kind::SmartWallet(sw)) => {
                if sw.signature.is_empty() {
                    return Err(IdentityError::malformed("smart-wallet signature is empty"));
                }
                Ok(Signature::SmartWallet {
                    chain_id: sw.chain_id,
                    block_number: sw.block_number,
                    signature: sw.signature.clone(),
                })
            }
            Some(Kind::Installation(bytes)) => {
                let sig = bytes.as_slice().try_into().map_err(|_| {
                    IdentityError::malformed(format!(
                        "installation signature must be 64 bytes, got {}",
                        bytes.len()
                    ))
                })?;
                Ok(Signature::Installation(sig))
            }
            None => Err(IdentityError::malformed("identity signature has no kind")),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> arx_proto::IdentitySignature {
        use arx_proto::identity_signature::Kind;
        let kind = match self {
            Signature::Eip191(sig) => Kind::Eip191(sig.to_vec()),
            Signature::SmartWallet {
                chain_id,
                block_number,
                signature,
            } => Kind::SmartWallet(arx_proto::SmartWalletSignature {
                chain_id: *chain_id,
                block_number: *block_number,
                signature: signature.clone(),
            }),
            Signature::Installation(sig) => Kind::Installation(sig.to_vec()),
        };
        arx_proto::IdentitySignature { kind: Some(kind) }
    }

    /// The key under which this signature is remembered to refuse replays: SHA-256 of its
    /// bytes, with EIP-191 signatures first put in canonical form (low `s`, `v` = 27/28) so
    /// that a re-encoded copy of a used signature counts as the same signature.
    pub(crate) fn replay_key(&self) -> [u8; 32] {
        let canonical_eip191;
        let bytes: &[u8] = match self {
            Signature::Eip191(raw) => match parse_eip191(raw) {
                Ok(sig) => {
                    canonical_eip191 = sig.normalized_s().as_bytes();
                    &canonical_eip191
                }
                Err(_) => raw,
            },
            Signature::SmartWallet { signature, .. } => signature,
            Signature::Installation(raw) => raw,
        };
        Sha256::digest(bytes).into()
    }

    /// Whether this kind of signature can be made by `member`.
    fn fits(&self, member: &MemberId) -> bool {
        match self {
            Signature::Eip191(_) | Signature::SmartWallet { .. } => member.is_wallet(),
            Signature::Installation(_) => !member.is_wallet(),
        }
    }
}

/// One change to an inbox, before its signatures are attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnsignedAction {
    /// Create the inbox `InboxId::derive(initial_address, nonce)`; signed by `initial_address`,
    /// which becomes the first wallet and the recovery address.
    CreateInbox {
        /// The first wallet.
        initial_address: Address,
        /// Lets one wallet create several inboxes.
        nonce: u64,
    },
    /// Add `new_member`, approved by `existing_member`; both sign.
    AddAssociation {
        /// The wallet or installation to add.
        new_member: MemberId,
        /// The member that approves it.
        existing_member: MemberId,
    },
    /// Remove `revoked_member` (and, for a wallet, every installation it added); signed by the
    /// recovery address.
    RevokeAssociation {
        /// The member to remove.
        revoked_member: MemberId,
    },
    /// Make `new_recovery_address` the recovery address; signed by the current one.
    ChangeRecoveryAddress {
        /// The new recovery address.
        new_recovery_address: Address,
    },
}

impl UnsignedAction {
    /// The line describing this action in the signature text (without its number).
    fn describe(&self) -> String {
        match self {
            UnsignedAction::CreateInbox { initial_address, nonce } => format!(
                "Create this inbox with {} as its first wallet and recovery address (nonce {nonce})",
                MemberId::Wallet(*initial_address)
            ),
            UnsignedAction::AddAssociation { new_member, existing_member } => {
                let device = if new_member.is_wallet() { "" } else { " (a device)" };
                format!("Add {new_member}{device}, approved by {existing_member}")
            }
            UnsignedAction::RevokeAssociation { revoked_member } => {
                if revoked_member.is_wallet() {
                    format!("Revoke {revoked_member} and every installation it added")
                } else {
                    format!("Revoke {revoked_member}")
                }
            }
            UnsignedAction::ChangeRecoveryAddress { new_recovery_address } => format!(
                "Change the recovery address to {}",
                MemberId::Wallet(*new_recovery_address)
            ),
        }
    }
}

/// An identity update before it is signed: what every signer signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedIdentityUpdate {
    /// The inbox the update changes (or creates).
    pub inbox_id: InboxId,
    /// When the client made the update, in nanoseconds since the Unix epoch; part of the
    /// signed text so that two otherwise equal updates are signed differently.
    pub client_timestamp_ns: i64,
    /// The changes, applied in order.
    pub actions: Vec<UnsignedAction>,
}

impl UnsignedIdentityUpdate {
    /// The human-readable text every wallet signs (EIP-191) and whose hash every installation
    /// signs. It names the inbox, the time and every action; see `docs/PROTOCOL.md`.
    pub fn signature_text(&self) -> String {
        let mut lines = vec![
            "ARX identity update".to_owned(),
            String::new(),
            format!("Inbox: {}", self.inbox_id),
            format!("Time: {}", rfc3339_utc_nanos(self.client_timestamp_ns)),
            String::new(),
        ];
        for (i, action) in self.actions.iter().enumerate() {
            lines.push(format!("{}. {}", i + 1, action.describe()));
        }
        lines.push(String::new());
        lines.push("Only sign this if you started it in ARX.".to_owned());
        lines.join("\n")
    }

    /// `sha256("arx/v1/identity-update" || signature_text)`: what installations sign.
    pub fn signing_hash(&self) -> [u8; 32] {
        signing_hash_of_text(&self.signature_text())
    }

    /// Who must sign this update, deduplicated, in order of first appearance. Revocations and
    /// recovery changes are signed by the recovery address in force at that action: the one
    /// set by an earlier `CreateInbox`/`ChangeRecoveryAddress` of this update, else `current`'s.
    /// If neither is known that signer is left out.
    pub fn required_signers(&self, current: Option<&AssociationState>) -> Vec<MemberId> {
        let recovery = current.map(AssociationState::recovery_address);
        let mut signers: Vec<MemberId> = Vec::new();
        for slots in slot_signers(&self.actions, recovery) {
            for signer in slots.into_iter().flatten() {
                if !signers.contains(&signer) {
                    signers.push(signer);
                }
            }
        }
        signers
    }

    /// Puts each signer's signature in every slot that signer must fill.
    ///
    /// `recovery` is the inbox's recovery address before this update (`None` for an update that
    /// creates the inbox); revocation and recovery-change slots take the signature given under
    /// `MemberId::Wallet(<recovery address in force>)`. When a signer appears twice in
    /// `signatures` the first entry is used. A missing signature, an unknown recovery address or
    /// a signature of the wrong kind for its signer is `identity.malformed`.
    pub fn attach(
        self,
        signatures: &[(MemberId, Signature)],
        recovery: Option<Address>,
    ) -> Result<IdentityUpdate, IdentityError> {
        let find = |signer: Option<MemberId>| -> Result<Signature, IdentityError> {
            let signer = signer.ok_or_else(|| {
                IdentityError::malformed(
                    "the recovery address is unknown: pass the inbox's recovery address to attach",
                )
            })?;
            let sig = signatures
                .iter()
                .find(|(member, _)| *member == signer)
                .map(|(_, sig)| sig.clone())
                .ok_or_else(|| {
                    IdentityError::malformed(format!("missing signature of {signer}"))
                })?;
            if !sig.fits(&signer) {
                return Err(IdentityError::malformed(format!(
                    "the signature given for {signer} is of the wrong kind"
                )));
            }
            Ok(sig)
        };
        let slots = slot_signers(&self.actions, recovery);
        let mut actions = Vec::with_capacity(self.actions.len());
        for (action, slots) in self.actions.into_iter().zip(slots) {
            let mut slots = slots.into_iter();
            let mut next = || find(slots.next().flatten());
            actions.push(match action {
                UnsignedAction::CreateInbox {
                    initial_address,
                    nonce,
                } => Action::CreateInbox {
                    initial_address,
                    nonce,
                    signature: next()?,
                },
                UnsignedAction::AddAssociation {
                    new_member,
                    existing_member,
                } => {
                    let existing_member_signature = next()?;
                    let new_member_signature = next()?;
                    Action::AddAssociation {
                        new_member,
                        existing_member,
                        existing_member_signature,
                        new_member_signature,
                    }
                }
                UnsignedAction::RevokeAssociation { revoked_member } => Action::RevokeAssociation {
                    revoked_member,
                    recovery_address_signature: next()?,
                },
                UnsignedAction::ChangeRecoveryAddress {
                    new_recovery_address,
                } => Action::ChangeRecoveryAddress {
                    new_recovery_address,
                    recovery_address_signature: next()?,
                },
            });
        }
        Ok(IdentityUpdate {
            inbox_id: self.inbox_id,
            client_timestamp_ns: self.client_timestamp_ns,
            actions,
        })
    }
}

/// For each action, who signs each of its signature slots (in wire field order), tracking the
/// recovery address through the update. `None` = the recovery address, which is unknown.
fn slot_signers(
    actions: &[UnsignedAction],
    recovery: Option<Address>,
) -> Vec<Vec<Option<MemberId>>> {
    let mut recovery = recovery;
    actions
        .iter()
        .map(|action| match action {
            UnsignedAction::CreateInbox {
                initial_address, ..
            } => {
                recovery = Some(*initial_address);
                vec![Some(MemberId::Wallet(*initial_address))]
            }
            UnsignedAction::AddAssociation {
                new_member,
                existing_member,
            } => {
                vec![Some(*existing_member), Some(*new_member)]
            }
            UnsignedAction::RevokeAssociation { .. } => vec![recovery.map(MemberId::Wallet)],
            UnsignedAction::ChangeRecoveryAddress {
                new_recovery_address,
            } => {
                let signer = recovery.map(MemberId::Wallet);
                recovery = Some(*new_recovery_address);
                vec![signer]
            }
        })
        .collect()
}

pub(crate) fn signing_hash_of_text(text: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(SIGNING_HASH_DOMAIN);
    hasher.update(text.as_bytes());
    hasher.finalize().into()
}

/// RFC 3339 in UTC with exactly nine fractional digits, e.g. `2024-05-01T12:00:00.000000001Z`.
fn rfc3339_utc_nanos(ns: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        ),
        // Every i64 of nanoseconds is within the time crate's range; keep the text total anyway.
        Err(_) => format!("{ns} ns after 1970-01-01T00:00:00Z"),
    }
}

/// One signed change to an inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// See [`UnsignedAction::CreateInbox`]; `signature` is by `initial_address`.
    CreateInbox {
        /// The first wallet.
        initial_address: Address,
        /// Lets one wallet create several inboxes.
        nonce: u64,
        /// By `initial_address`.
        signature: Signature,
    },
    /// See [`UnsignedAction::AddAssociation`].
    AddAssociation {
        /// The wallet or installation to add.
        new_member: MemberId,
        /// The member that approves it.
        existing_member: MemberId,
        /// By `existing_member`.
        existing_member_signature: Signature,
        /// By `new_member`.
        new_member_signature: Signature,
    },
    /// See [`UnsignedAction::RevokeAssociation`].
    RevokeAssociation {
        /// The member to remove.
        revoked_member: MemberId,
        /// By the recovery address in force at this action.
        recovery_address_signature: Signature,
    },
    /// See [`UnsignedAction::ChangeRecoveryAddress`].
    ChangeRecoveryAddress {
        /// The new recovery address.
        new_recovery_address: Address,
        /// By the recovery address in force at this action.
        recovery_address_signature: Signature,
    },
}

impl Action {
    /// The action without its signatures.
    pub fn unsigned(&self) -> UnsignedAction {
        match self {
            Action::CreateInbox {
                initial_address,
                nonce,
                ..
            } => UnsignedAction::CreateInbox {
                initial_address: *initial_address,
                nonce: *nonce,
            },
            Action::AddAssociation {
                new_member,
                existing_member,
                ..
            } => UnsignedAction::AddAssociation {
                new_member: *new_member,
                existing_member: *existing_member,
            },
            Action::RevokeAssociation { revoked_member, .. } => UnsignedAction::RevokeAssociation {
                revoked_member: *revoked_member,
            },
            Action::ChangeRecoveryAddress {
                new_recovery_address,
                ..
            } => UnsignedAction::ChangeRecoveryAddress {
                new_recovery_address: *new_recovery_address,
            },
        }
    }

    /// Every signature the action carries, in wire field order.
    pub fn signatures(&self) -> Vec<&Signature> {
        match self {
            Action::CreateInbox { signature, .. } => vec![signature],
            Action::AddAssociation {
                existing_member_signature,
                new_member_signature,
                ..
            } => {
                vec![existing_member_signature, new_member_signature]
            }
            Action::RevokeAssociation {
                recovery_address_signature,
                ..
            }
            | Action::ChangeRecoveryAddress {
                recovery_address_signature,
                ..
            } => {
                vec![recovery_address_signature]
            }
        }
    }

    fn from_proto(proto: &arx_proto::IdentityAction) -> Result<Self, IdentityError> {
        use arx_proto::identity_action::Kind;
        match &proto.kind {
            Some(Kind::CreateInbox(c)) => Ok(Action::CreateInbox {
                initial_address: address_from_slice(&c.initial_address)?,
                nonce: c.nonce,
                signature: signature_field(
                    &c.initial_address_signature,
                    "initial_address_signature",
                )?,
            }),
            Some(Kind::AddAssociation(a)) => Ok(Action::AddAssociation {
                new_member: member_field(&a.new_member, "new_member")?,
                existing_member: member_field(&a.existing_member, "existing_member")?,
                existing_member_signature: signature_field(
                    &a.existing_member_signature,
                    "existing_member_signature",
                )?,
                new_member_signature: signature_field(
                    &a.new_member_signature,
                    "new_member_signature",
                )?,
            }),
            Some(Kind::RevokeAssociation(r)) => Ok(Action::RevokeAssociation {
                revoked_member: member_field(&r.revoked_member, "revoked_member")?,
                recovery_address_signature: signature_field(
                    &r.recovery_address_signature,
                    "recovery_address_signature",
                )?,
            }),
            Some(Kind::ChangeRecoveryAddress(c)) => Ok(Action::ChangeRecoveryAddress {
                new_recovery_address: address_from_slice(&c.new_recovery_address)?,
                recovery_address_signature: signature_field(
                    &c.recovery_address_signature,
                    "recovery_address_signature",
                )?,
            }),
            None => Err(IdentityError::malformed("identity action has no kind")),
        }
    }

    fn to_proto(&self) -> arx_proto::IdentityAction {
        use arx_proto::identity_action::Kind;
        let kind = match self {
            Action::CreateInbox {
                initial_address,
                nonce,
                signature,
            } => Kind::CreateInbox(arx_proto::CreateInbox {
                initial_address: initial_address.to_vec(),
                nonce: *nonce,
                initial_address_signature: Some(signature.to_proto()),
            }),
            Action::AddAssociation {
                new_member,
                existing_member,
                existing_member_signature,
                new_member_signature,
            } => Kind::AddAssociation(arx_proto::AddAssociation {
                new_member: Some(new_member.to_proto()),
                existing_member: Some(existing_member.to_proto()),
                existing_member_signature: Some(existing_member_signature.to_proto()),
                new_member_signature: Some(new_member_signature.to_proto()),
            }),
            Action::RevokeAssociation {
                revoked_member,
                recovery_address_signature,
            } => Kind::RevokeAssociation(arx_proto::RevokeAssociation {
                revoked_member: Some(revoked_member.to_proto()),
                recovery_address_signature: Some(recovery_address_signature.to_proto()),
            }),
            Action::ChangeRecoveryAddress {
                new_recovery_address,
                recovery_address_signature,
            } => Kind::ChangeRecoveryAddress(arx_proto::ChangeRecoveryAddress {
                new_recovery_address: new_recovery_address.to_vec(),
                recovery_address_signature: Some(recovery_address_signature.to_proto()),
            }),
        };
        arx_proto::IdentityAction { kind: Some(kind) }
    }
}

fn member_field(
    field: &Option<arx_proto::MemberIdentifier>,
    name: &str,
) -> Result<MemberId, IdentityError> {
    let proto = field
        .as_ref()
        .ok_or_else(|| IdentityError::malformed(format!("{name} is missing")))?;
    MemberId::from_proto(proto)
}

fn signature_field(
    field: &Option<arx_proto::IdentitySignature>,
    name: &str,
) -> Result<Signature, IdentityError> {
    let proto = field
        .as_ref()
        .ok_or_else(|| IdentityError::malformed(format!("{name} is missing")))?;
    Signature::from_proto(proto)
}

/// A signed change to an inbox: one entry of its identity log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityUpdate {
    /// The inbox the update changes (or creates).
    pub inbox_id: InboxId,
    /// See [`UnsignedIdentityUpdate::client_timestamp_ns`].
    pub client_timestamp_ns: i64,
    /// The changes, applied in order.
    pub actions: Vec<Action>,
}

impl IdentityUpdate {
    /// Parses the wire form, checking lengths and required fields (`identity.malformed`);
    /// signatures and rules are checked by [`AssociationState::apply_update`].
    pub fn from_proto(proto: &arx_proto::IdentityUpdate) -> Result<Self, IdentityError> {
        Ok(IdentityUpdate {
            inbox_id: InboxId::from_slice(&proto.inbox_id)?,
            client_timestamp_ns: proto.client_timestamp_ns,
            actions: proto
                .actions
                .iter()
                .map(Action::from_proto)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The wire form.
    pub fn to_proto(&self) -> arx_proto::IdentityUpdate {
        arx_proto::IdentityUpdate {
            inbox_id: self.inbox_id.as_bytes().to_vec(),
            client_timestamp_ns: self.client_timestamp_ns,
            actions: self.actions.iter().map(Action::to_proto).collect(),
        }
    }

    /// The update without its signatures: what was signed.
    pub fn unsigned(&self) -> UnsignedIdentityUpdate {
        UnsignedIdentityUpdate {
            inbox_id: self.inbox_id,
            client_timestamp_ns: self.client_timestamp_ns,
            actions: self.actions.iter().map(Action::unsigned).collect(),
        }
    }
}
