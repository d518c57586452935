//! Every kind of bad input is refused with its own stable code, and leaves the store unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arx_e2e::{
    alice, bob, envelope, group_envelope, identity_envelope, publish, query_all, TestNode,
};
use arx_identity::{Signature, Topic};
use arx_proto::{client_envelope::Payload, ClientEnvelope, GroupMessage, Welcome};
use prost::Message;

struct Case {
    name: &'static str,
    batch: Vec<Vec<u8>>,
    code: &'static str,
    index: Option<u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_is_refused_with_its_own_code_and_changes_nothing() {
    let node = TestNode::start().await;
    let mut client = node.client().await;
    let alice = alice();
    let bob = bob();

    // Known-good state: alice is registered and has a key package; a group has one message.
    publish(
        &mut client,
        vec![alice.registration_envelope(), alice.key_package_envelope()],
    )
    .await
    .unwrap();
    let group_id = b"group-one".to_vec();
    let mut group = alice.create_group(&group_id);
    let good_message = group_envelope(&group_id, alice.encrypt(&mut group, b"hello"));
    publish(&mut client, vec![good_message.clone()])
        .await
        .unwrap();

    let topics = vec![
        Topic::identity_log(&alice.inbox_id),
        Topic::identity_log(&bob.inbox_id),
        Topic::key_packages(&alice.installation.public_key()),
        Topic::key_packages(&bob.installation.public_key()),
        Topic::group(&group_id).unwrap(),
        Topic::group(b"other-group").unwrap(),
        Topic::welcomes(&bob.installation.public_key()),
    ];
    let before = query_all(&mut client, &topics).await;
    assert_eq!(before.len(), 3);

    // A registration whose wallet signature was made over different text.
    let forged = {
        let mut update = bob.sign(bob.unsigned_registration());
        let other_text = "ARX identity update\n\nsomething else entirely";
        if let arx_identity::Action::CreateInbox { signature, .. } = &mut update.actions[0] {
            *signature = Signature::Eip191(bob.wallet.sign_text(other_text));
        }
        identity_envelope(&update)
    };
    // A key package of bob's installation, claiming alice's inbox (which does not list it).
    let foreign_key_package = {
        let mut impostor = arx_e2e::Person::new("impostor");
        impostor.inbox_id = alice.inbox_id;
        impostor.key_package_envelope()
    };
    // A real MLS message of one group sent to another group's topic.
    let wrong_group = group_envelope(b"other-group", alice.encrypt(&mut group, b"misrouted"));
    let unknown_kind = ClientEnvelope {
        topic: Some(arx_proto::Topic {
            kind: 99,
            id: group_id.clone(),
        }),
        payload: Some(Payload::GroupMessage(GroupMessage {
            mls_message: vec![1, 2, 3],
        })),
    }
    .encode_to_vec();
    let welcome_on_group_topic = envelope(
        Topic::group(&group_id).unwrap(),
        Payload::Welcome(Welcome {
            mls_message: vec![0; 16],
            shared_welcome: Vec::new(),
        }),
    );
    let not_mls = group_envelope(&group_id, b"definitely not an MLS message".to_vec());
    let oversized = group_envelope(&group_id, vec![0u8; 1024 * 1024 + 1]);

    let cases = vec![
        Case {
            name: "malformed protobuf",
            batch: vec![vec![0xff, 0xff, 0xff, 0x0f]],
            code: "envelope.malformed",
            index: Some(0),
        },
        Case {
            name: "oversized envelope",
            batch: vec![oversized],
            code: "envelope.too_large",
            index: Some(0),
        },
        Case {
            name: "forged signature",
            batch: vec![forged],
            code: "identity.signature_invalid",
            index: Some(0),
        },
        Case {
            name: "replayed signature",
            batch: vec![alice.registration_envelope()],
            code: "identity.signature_replayed",
            index: Some(0),
        },
        Case {
            name: "key package for an installation not in its inbox",
            batch: vec![foreign_key_package],
            code: "key_package.installation_not_associated",
            index: Some(0),
        },
        Case {
            name: "group id differs from topic",
            batch: vec![wrong_group],
            code: "mls.group_id_mismatch",
            index: Some(0),
        },
        Case {
            name: "unknown topic kind",
            batch: vec![unknown_kind],
            code: "topic.unknown_kind",
            index: Some(0),
        },
        Case {
            name: "empty batch",
            batch: vec![],
            code: "publish.empty_batch",
            index: None,
        },
        Case {
            name: "batch with one bad envelope",
            batch: vec![good_message.clone(), not_mls.clone()],
            code: "mls.invalid_message",
            index: Some(1),
        },
        Case {
            name: "payload does not match topic kind",
            batch: vec![welcome_on_group_topic],
            code: "envelope.payload_topic_mismatch",
            index: Some(0),
        },
        Case {
            name: "group message that is not MLS",
            batch: vec![not_mls],
            code: "mls.invalid_message",
            index: Some(0),
        },
    ];

    let mut codes = std::collections::HashSet::new();
    for case in cases {
        let status = publish(&mut client, case.batch)
            .await
            .expect_err(&format!("{} must be refused", case.name));
        let detail = arx_e2e::error_detail(&status)
            .unwrap_or_else(|| panic!("{}: no error detail in {status:?}", case.name));
        assert_eq!(
            detail.code,
            case.code,
            "{}: {}",
            case.name,
            status.message()
        );
        assert_eq!(detail.index, case.index, "{}: index", case.name);
        assert!(
            !detail.retryable,
            "{}: bad input is not retryable",
            case.name
        );
        assert!(
            status.message().contains(case.code),
            "{}: message names the code",
            case.name
        );
        codes.insert(case.code);
    }
    // The nine acceptance cases map to eight distinct codes plus the batch case reusing MLS.
    assert!(codes.len() >= 9, "codes: {codes:?}");

    let after = query_all(&mut client, &topics).await;
    assert_eq!(before, after, "refused publishes must not change the store");
}
