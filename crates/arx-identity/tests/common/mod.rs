//! Named people, devices and helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use arx_identity::{
    Address, AssociationState, IdentityError, IdentityUpdate, InboxId, InstallationSigner,
    LocalWallet, MemberId, NoChainVerifier, Signature, UnsignedAction, UnsignedIdentityUpdate,
};

/// Anvil/Hardhat test account #0: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266.
pub const ALICE_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil/Hardhat test account #1: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8.
pub const BOB_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Anvil/Hardhat test account #2: 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC.
pub const CAROL_KEY: &str = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// The seed of the installation in the known-answer update.
pub const PHONE_SEED: [u8; 32] = [0x11; 32];
/// The timestamp of the known-answer update: 2023-11-14T22:13:20.123456789Z.
pub const FIXED_TIMESTAMP_NS: i64 = 1_700_000_000_123_456_789;

pub fn wallet(hex_key: &str) -> LocalWallet {
    let bytes: [u8; 32] = hex::decode(hex_key).unwrap().try_into().unwrap();
    LocalWallet::from_bytes(&bytes).unwrap()
}

pub fn alice() -> LocalWallet {
    wallet(ALICE_KEY)
}
pub fn bob() -> LocalWallet {
    wallet(BOB_KEY)
}
pub fn carol() -> LocalWallet {
    wallet(CAROL_KEY)
}
/// A wallet that is never a member: an outsider.
pub fn mallory() -> LocalWallet {
    LocalWallet::from_bytes(&[0x0d; 32]).unwrap()
}

pub fn phone() -> InstallationSigner {
    InstallationSigner::from_bytes(&PHONE_SEED)
}
pub fn laptop() -> InstallationSigner {
    InstallationSigner::from_bytes(&[0x22; 32])
}
pub fn tablet() -> InstallationSigner {
    InstallationSigner::from_bytes(&[0x33; 32])
}
/// The `n`-th of many distinct installations.
pub fn device(n: u8) -> InstallationSigner {
    InstallationSigner::from_bytes(&[0x80 | n; 32])
}

/// Anything that signs identity updates in tests.
pub trait TestSigner {
    fn member(&self) -> MemberId;
    fn signature(&self, update: &UnsignedIdentityUpdate) -> Signature;
}

impl TestSigner for LocalWallet {
    fn member(&self) -> MemberId {
        MemberId::Wallet(self.address())
    }
    fn signature(&self, update: &UnsignedIdentityUpdate) -> Signature {
        Signature::Eip191(self.sign_text(&update.signature_text()))
    }
}

impl TestSigner for InstallationSigner {
    fn member(&self) -> MemberId {
        MemberId::Installation(self.public_key())
    }
    fn signature(&self, update: &UnsignedIdentityUpdate) -> Signature {
        Signature::Installation(self.sign_update(update))
    }
}

pub fn wallet_member(w: &LocalWallet) -> MemberId {
    MemberId::Wallet(w.address())
}
pub fn installation_member(i: &InstallationSigner) -> MemberId {
    MemberId::Installation(i.public_key())
}

/// Every signer signs `unsigned`; the signatures are attached to their slots.
pub fn sign(
    unsigned: UnsignedIdentityUpdate,
    signers: &[&dyn TestSigner],
    recovery: Option<Address>,
) -> IdentityUpdate {
    let signatures: Vec<(MemberId, Signature)> = signers
        .iter()
        .map(|s| (s.member(), s.signature(&unsigned)))
        .collect();
    unsigned.attach(&signatures, recovery).unwrap()
}

pub fn create_action(w: &LocalWallet, nonce: u64) -> UnsignedAction {
    UnsignedAction::CreateInbox {
        initial_address: w.address(),
        nonce,
    }
}
pub fn add(new_member: &dyn TestSigner, existing_member: &dyn TestSigner) -> UnsignedAction {
    UnsignedAction::AddAssociation {
        new_member: new_member.member(),
        existing_member: existing_member.member(),
    }
}
pub fn revoke(member: &dyn TestSigner) -> UnsignedAction {
    UnsignedAction::RevokeAssociation {
        revoked_member: member.member(),
    }
}
pub fn change_recovery(to: &LocalWallet) -> UnsignedAction {
    UnsignedAction::ChangeRecoveryAddress {
        new_recovery_address: to.address(),
    }
}

/// The known-answer update: alice creates her inbox, adds her phone, the phone adds bob's
/// wallet, alice hands recovery to bob, and bob revokes alice (and with her, the phone).
pub fn fixed_unsigned_update() -> UnsignedIdentityUpdate {
    let (alice, bob, phone) = (alice(), bob(), phone());
    UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![
            create_action(&alice, 0),
            add(&phone, &alice),
            add(&bob, &phone),
            change_recovery(&bob),
            revoke(&alice),
        ],
    }
}

pub fn fixed_update() -> IdentityUpdate {
    sign(fixed_unsigned_update(), &[&alice(), &phone(), &bob()], None)
}

/// An inbox whose log is built up one update at a time.
pub struct Inbox {
    pub state: AssociationState,
    pub log: Vec<IdentityUpdate>,
    next_timestamp_ns: i64,
}

impl Inbox {
    /// `owner` creates an inbox with nonce 0.
    pub async fn create(owner: &LocalWallet) -> Inbox {
        let timestamp_ns = FIXED_TIMESTAMP_NS;
        let unsigned = UnsignedIdentityUpdate {
            inbox_id: InboxId::derive(&owner.address(), 0),
            client_timestamp_ns: timestamp_ns,
            actions: vec![create_action(owner, 0)],
        };
        let update = sign(unsigned, &[owner], None);
        let state = apply(None, &update).await.unwrap();
        Inbox {
            state,
            log: vec![update],
            next_timestamp_ns: timestamp_ns,
        }
    }

    pub fn id(&self) -> InboxId {
        self.state.inbox_id()
    }

    fn tick(&mut self) -> i64 {
        self.next_timestamp_ns += 1_000_000_000;
        self.next_timestamp_ns
    }

    /// An unsigned update of this inbox with a fresh timestamp.
    pub fn unsigned(&mut self, actions: Vec<UnsignedAction>) -> UnsignedIdentityUpdate {
        UnsignedIdentityUpdate {
            inbox_id: self.id(),
            client_timestamp_ns: self.tick(),
            actions,
        }
    }

    /// Signs `actions` with `signers` (recovery slots take the current recovery address).
    pub fn update(
        &mut self,
        actions: Vec<UnsignedAction>,
        signers: &[&dyn TestSigner],
    ) -> IdentityUpdate {
        let unsigned = self.unsigned(actions);
        sign(unsigned, signers, Some(self.state.recovery_address()))
    }

    /// Applies `update`; on success it becomes part of the log.
    pub async fn apply(&mut self, update: IdentityUpdate) -> Result<(), IdentityError> {
        self.state = apply(Some(&self.state), &update).await?;
        self.log.push(update);
        Ok(())
    }

    /// Signs and applies in one step.
    pub async fn act(
        &mut self,
        actions: Vec<UnsignedAction>,
        signers: &[&dyn TestSigner],
    ) -> Result<(), IdentityError> {
        let update = self.update(actions, signers);
        self.apply(update).await
    }
}

pub async fn apply(
    current: Option<&AssociationState>,
    update: &IdentityUpdate,
) -> Result<AssociationState, IdentityError> {
    AssociationState::apply_update(current, update, &NoChainVerifier).await
}

/// Asserts that `result` failed with `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, IdentityError>, code: &str) {
    match result {
        Ok(value) => panic!("expected {code}, got Ok({value:?})"),
        Err(err) => assert_eq!(err.code().as_str(), code, "unexpected error: {err}"),
    }
}

/// Compares `actual` with the checked-in JSON fixture `name`. With `ARX_BLESS_FIXTURES=1` the
/// fixture is (re)written instead: do that only for a deliberate format change.
#[track_caller]
pub fn check_fixture(name: &str, actual: &serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    if std::env::var("ARX_BLESS_FIXTURES").as_deref() == Ok("1") {
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read fixture {}: {e} (ARX_BLESS_FIXTURES=1 writes it)",
            path.display()
        )
    });
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        actual, &expected,
        "{name} changed: a hashed or signed format changed. If that is deliberate, update \
         docs/PROTOCOL.md and re-bless with ARX_BLESS_FIXTURES=1"
    );
}

/// Reads a checked-in JSON fixture.
pub fn read_fixture(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
