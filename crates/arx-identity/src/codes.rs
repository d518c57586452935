//! Stable error codes. Every crate that reports errors across a boundary (a gRPC status, a Tauri
//! command, the CLI's exit) has one code enum made with [`codes!`](crate::codes): each variant
//! is one string that never changes meaning, with a sentence for the glossary
//! (`docs/CODES.md`, generated from these lists). Code branches on the variants, never on the
//! strings.

/// Declares a code enum: `Variant = "area.name": "What it means."`. The enum gets `ALL`,
/// `as_str`, `parse`, `meaning`, `Display` and a string `Serialize`.
#[macro_export]
macro_rules! codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal : $meaning:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = $meaning] $variant, )+
        }

        impl $name {
            /// Every code, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable string, e.g. `"identity.signature_invalid"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The code whose string is `code`, if this list has it.
            pub fn parse(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// What the code means, for the glossary.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)+
                }
            }
        }

        $crate::__code_text!($name);
    };
}

/// Declares a union of code lists: `Variant(List),` for each list. The enum gets `as_str`,
/// `parse` (the first list that has the string), `Display`, a string `Serialize` and
/// `From` each list.
#[macro_export]
macro_rules! code_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($inner:ty), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($inner), )+
        }

        impl $name {
            /// The stable string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant(code) => code.as_str(),)+
                }
            }

            /// The code whose string is `code`, if one of the lists has it.
            pub fn parse(code: &str) -> Option<Self> {
                $(
                    if let Some(code) = <$inner>::parse(code) {
                        return Some(Self::$variant(code));
                    }
                )+
                None
            }
        }

        $crate::__code_text!($name);

        $(
            impl From<$inner> for $name {
                fn from(code: $inner) -> Self {
                    Self::$variant(code)
                }
            }
        )+
    };
}

/// `Display` and a string `Serialize` for a code type with `as_str` (both macros above use it).
#[doc(hidden)]
#[macro_export]
macro_rules! __code_text {
    ($name:ident) => {
        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::codes::serde::Serialize for $name {
            fn serialize<S: $crate::codes::serde::Serializer>(
                &self,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

#[doc(hidden)]
pub use serde;

codes! {
    /// Codes of the identity and envelope rules shared by clients and nodes.
    pub enum IdentityCode {
        Malformed = "identity.malformed":
            "An identity update, member or key has a field of the wrong length, missing, or unreadable.",
        InboxIdMismatch = "identity.inbox_id_mismatch":
            "The update names another inbox than the one it applies to or creates.",
        InboxExists = "identity.inbox_exists":
            "CreateInbox for an inbox that already exists.",
        InboxNotFound = "identity.inbox_not_found":
            "An identity log that does not start by creating its inbox.",
        SignatureInvalid = "identity.signature_invalid":
            "A signature does not verify for the member whose slot it is in.",
        SignatureReplayed = "identity.signature_replayed":
            "A signature or update that an earlier update of the log already used.",
        Unauthorized = "identity.unauthorized":
            "A real signer that is not allowed to make this change.",
        NotMember = "identity.not_member":
            "The action names a member the inbox does not have.",
        AlreadyMember = "identity.already_member":
            "The action adds a member the inbox already has.",
        TooManyInstallations = "identity.too_many_installations":
            "The inbox would have more installations than allowed.",
        TooManyWallets = "identity.too_many_wallets":
            "The inbox would have more wallets than allowed.",
        TooManyActions = "identity.too_many_actions":
            "An identity update with more actions than allowed.",
        SmartWalletUnsupported = "identity.smart_wallet_unsupported":
            "A smart-contract wallet signature met a verifier without chain access.",
        ChainUnavailable = "identity.chain_unavailable":
            "The chain needed to check a smart-contract wallet could not be reached (retryable).",
        TopicUnknownKind = "topic.unknown_kind":
            "A topic kind that is unspecified or unknown to this protocol version.",
        TopicInvalidId = "topic.invalid_id":
            "A topic id of the wrong length or encoding for its kind.",
        EnvelopeHashMismatch = "envelope.hash_mismatch":
            "An envelope whose client envelope hash is not the hash of its client envelope.",
        EnvelopeSignatureInvalid = "envelope.signature_invalid":
            "An originator signature that does not verify, or was made by another node.",
        EnvelopeMalformed = "envelope.malformed":
            "An envelope with a field of the wrong length, missing, or undecodable.",
    }
}

codes! {
    /// Codes a node refuses a call with (in `ErrorDetail.code`), besides the identity rules'.
    pub enum NodeCode {
        PublishEmptyBatch = "publish.empty_batch": "A Publish with no envelopes.",
        PublishBatchTooLarge = "publish.batch_too_large":
            "A Publish with more envelopes than the node accepts in one call.",
        EnvelopeTooLarge = "envelope.too_large": "An envelope larger than the node accepts.",
        PayloadTopicMismatch = "envelope.payload_topic_mismatch":
            "A payload whose kind does not belong on the topic it is published to.",
        InvalidMlsMessage = "mls.invalid_message":
            "A group message, welcome or key package that is not valid MLS framing.",
        GroupIdMismatch = "mls.group_id_mismatch":
            "A group message whose MLS group id is not its topic's.",
        KeyPackageInvalid = "key_package.invalid":
            "A key package that does not verify, or whose lifetime is out of range.",
        KeyPackageNotAssociated = "key_package.installation_not_associated":
            "A key package of an installation its inbox does not list.",
        AddressInUse = "identity.address_in_use":
            "A wallet address that already belongs to another inbox.",
        IdentityLogFull = "identity.log_full":
            "An inbox's identity log holds the most updates it may (256).",
        InvalidRequest = "request.invalid":
            "A call with missing, malformed or too many arguments.",
        RateLimited = "rate.limited": "Too many calls from this address; wait and retry.",
        SubscribeLagged = "subscribe.lagged":
            "A subscriber fell too far behind and was ended; resubscribe from its cursors.",
        SubscribeTooMany = "subscribe.too_many":
            "Too many subscriptions open from one address (or on the node); retry later.",
        ShuttingDown = "node.shutting_down": "The node is stopping; retry on a node that runs.",
        StoreConflict = "store.conflict":
            "Another node process changed the same state first; retry.",
        StoreUnavailable = "store.unavailable":
            "The node's database is unavailable or failed; retry later.",
    }
}

code_union! {
    /// A code a node refuses a call with: its own, or an identity rule's it enforced.
    pub enum RefusalCode {
        Node(NodeCode),
        Identity(IdentityCode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_one_string_in_one_list_and_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        for code in IdentityCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(IdentityCode::parse(code.as_str()), Some(*code));
            assert!(!code.meaning().is_empty());
        }
        for code in NodeCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(NodeCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(NodeCode::parse("no.such_code"), None);
    }
}
