//! The node's lookups and operational services, exercised as a client would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;

use arx_e2e::{
    alice, bob, code_of, identity_envelope, publish, query_all, TestNode, TestNodeOptions,
};
use arx_identity::{
    verify_originator_envelope, AssociationState, IdentityUpdate, InstallationSigner, MemberId,
    NoChainVerifier, Signature, Topic, UnsignedAction, UnsignedIdentityUpdate,
};
use arx_proto::{
    get_identity_updates_request, ClientEnvelope, FetchKeyPackagesRequest,
    GetIdentityUpdatesRequest, GetInboxIdsRequest, NodeInfoRequest,
};
use prost::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_signatures_verify_with_only_the_public_key_from_node_info() {
    let node = TestNode::start().await;
    let mut client = node.client().await;
    let alice = alice();
    let published = publish(
        &mut client,
        vec![alice.registration_envelope(), alice.key_package_envelope()],
    )
    .await
    .unwrap();

    let info = client
        .node_info(NodeInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let public_key: [u8; 32] = info.public_key.as_slice().try_into().unwrap();
    assert_eq!(
        info.node_id,
        arx_identity::node_id_from_public_key(&public_key)
    );
    assert!(!info.version.is_empty());

    let stored = query_all(
        &mut client,
        &[
            Topic::identity_log(&alice.inbox_id),
            Topic::key_packages(&alice.installation.public_key()),
        ],
    )
    .await;
    assert_eq!(
        stored, published,
        "what Query returns is what Publish returned"
    );
    for env in &stored {
        verify_originator_envelope(env, &public_key).unwrap();
        assert_eq!(env.originator_id, info.node_id);
    }

    // Any change to what was signed breaks verification.
    let mut tampered = stored[0].clone();
    tampered.sequence_id += 1;
    assert!(verify_originator_envelope(&tampered, &public_key).is_err());
    let mut tampered = stored[0].clone();
    tampered.client_envelope.push(0);
    assert!(verify_originator_envelope(&tampered, &public_key).is_err());
    let other_key = arx_identity::NodeKey::generate().public_key();
    assert!(verify_originator_envelope(&stored[0], &other_key).is_err());
}

fn add_second_installation(
    person: &arx_e2e::Person,
    second: &InstallationSigner,
) -> IdentityUpdate {
    let wallet = person.wallet.address();
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: person.inbox_id,
        client_timestamp_ns: 1_700_000_000_100_000_000,
        actions: vec![UnsignedAction::AddAssociation {
            new_member: MemberId::Installation(second.public_key()),
            existing_member: MemberId::Wallet(wallet),
        }],
    };
    let text = unsigned.signature_text();
    let sigs = [
        (
            MemberId::Wallet(wallet),
            Signature::Eip191(person.wallet.sign_text(&text)),
        ),
        (
            MemberId::Installation(second.public_key()),
            Signature::Installation(second.sign_update(&unsigned)),
        ),
    ];
    unsigned.attach(&sigs, Some(wallet)).unwrap()
}

fn revoke(person: &arx_e2e::Person, member: MemberId) -> IdentityUpdate {
    let wallet = person.wallet.address();
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: person.inbox_id,
        client_timestamp_ns: 1_700_000_000_200_000_000,
        actions: vec![UnsignedAction::RevokeAssociation {
            revoked_member: member,
        }],
    };
    let text = unsigned.signature_text();
    let sigs = [(
        MemberId::Wallet(wallet),
        Signature::Eip191(person.wallet.sign_text(&text)),
    )];
    unsigned.attach(&sigs, Some(wallet)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_log_inbox_lookup_and_key_packages_follow_associations() {
    let node = TestNode::start().await;
    let mut client = node.client().await;
    let alice = alice();
    let bob = bob();

    // Registration: identity update and key package in one batch, in that order.
    publish(
        &mut client,
        vec![alice.registration_envelope(), alice.key_package_envelope()],
    )
    .await
    .unwrap();

    let lookup = client
        .get_inbox_ids(GetInboxIdsRequest {
            addresses: vec![
                alice.wallet.address().to_vec(),
                bob.wallet.address().to_vec(),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        lookup.entries[0].inbox_id.as_deref(),
        Some(alice.inbox_id.as_bytes().as_slice())
    );
    assert_eq!(lookup.entries[1].inbox_id, None, "bob is not on ARX yet");

    // A second device joins alice's inbox and uploads its key package.
    let second = InstallationSigner::generate();
    let mut second_person = arx_e2e::Person::new("alice-laptop");
    second_person.inbox_id = alice.inbox_id;
    second_person.installation = InstallationSigner::from_bytes(&second.to_bytes());
    second_person.mls_signer = openmls_basic_credential::SignatureKeyPair::from_raw(
        openmls_traits::types::SignatureScheme::ED25519,
        second.to_bytes().to_vec(),
        second.public_key().as_bytes().to_vec(),
    );
    publish(
        &mut client,
        vec![identity_envelope(&add_second_installation(&alice, &second))],
    )
    .await
    .unwrap();
    publish(&mut client, vec![second_person.key_package_envelope()])
        .await
        .unwrap();

    let keys = vec![
        alice.installation.public_key().as_bytes().to_vec(),
        second.public_key().as_bytes().to_vec(),
        bob.installation.public_key().as_bytes().to_vec(),
    ];
    let fetched = client
        .fetch_key_packages(FetchKeyPackagesRequest {
            installation_keys: keys.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.entries[0].envelope.is_some());
    assert!(fetched.entries[1].envelope.is_some());
    assert!(fetched.entries[2].envelope.is_none());

    // The log, folded by a client, gives the same members the node enforces.
    let log = client
        .get_identity_updates(GetIdentityUpdatesRequest {
            requests: vec![get_identity_updates_request::Entry {
                inbox_id: alice.inbox_id.as_bytes().to_vec(),
                after_sequence_id: 0,
            }],
        })
        .await
        .unwrap()
        .into_inner();
    let updates: Vec<IdentityUpdate> = log.responses[0]
        .envelopes
        .iter()
        .map(|env| {
            let client_env = ClientEnvelope::decode(env.client_envelope.as_slice()).unwrap();
            match client_env.payload.unwrap() {
                arx_proto::client_envelope::Payload::IdentityUpdate(u) => {
                    IdentityUpdate::from_proto(&u).unwrap()
                }
                other => panic!("unexpected payload {other:?}"),
            }
        })
        .collect();
    assert_eq!(updates.len(), 2);
    let state = AssociationState::fold(&updates, &NoChainVerifier)
        .await
        .unwrap()
        .unwrap();
    assert!(state.has_installation(&alice.installation.public_key()));
    assert!(state.has_installation(&second.public_key()));

    // Revoking the second device stops its key package from being handed out.
    publish(
        &mut client,
        vec![identity_envelope(&revoke(
            &alice,
            MemberId::Installation(second.public_key()),
        ))],
    )
    .await
    .unwrap();
    let fetched = client
        .fetch_key_packages(FetchKeyPackagesRequest {
            installation_keys: keys,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.entries[0].envelope.is_some());
    assert!(
        fetched.entries[1].envelope.is_none(),
        "revoked installation has no key package"
    );

    // A revoked installation cannot upload a new key package.
    let status = publish(&mut client, vec![second_person.key_package_envelope()])
        .await
        .unwrap_err();
    assert_eq!(code_of(&status), "key_package.installation_not_associated");

    // Bob cannot claim alice's wallet as his.
    let mut bob_claims_alice = arx_e2e::Person::new("bob-with-alice-wallet");
    bob_claims_alice.wallet =
        arx_identity::LocalWallet::from_bytes(&alice.wallet.to_bytes()).unwrap();
    bob_claims_alice.nonce = 1;
    bob_claims_alice.inbox_id = arx_identity::InboxId::derive(&alice.wallet.address(), 1);
    let status = publish(&mut client, vec![bob_claims_alice.registration_envelope()])
        .await
        .unwrap_err();
    assert_eq!(code_of(&status), "identity.address_in_use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_is_refused_with_a_retryable_code() {
    let node = TestNode::start_with(TestNodeOptions {
        rate_limit: Some(arx_node::RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
        }),
        ..Default::default()
    })
    .await;
    let mut client = node.client().await;
    for _ in 0..3 {
        client.node_info(NodeInfoRequest {}).await.unwrap();
    }
    let status = client.node_info(NodeInfoRequest {}).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert_eq!(code_of(&status), "rate.limited");
    assert!(arx_e2e::error_detail(&status).unwrap().retryable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer_standard_clients() {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };

    let node = TestNode::start().await;
    let channel = tonic::transport::Channel::from_shared(node.node.url())
        .unwrap()
        .connect()
        .await
        .unwrap();

    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "arx.v1.Node".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, ServingStatus::Serving as i32);

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"arx.v1.Node".to_owned()), "{names:?}");
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
}
