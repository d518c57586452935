//! `arx`: the headless ARX client.

mod demo;
mod messages;
mod options;

use std::{path::PathBuf, process::ExitCode, str::FromStr, sync::Arc};

use arx_core::{Client, CoreError, GrpcTransport, LocalWalletSigner};
use arx_identity::{secret_file, LocalWallet};
use clap::{Parser, Subcommand};
use serde_json::json;

/// ARX from the command line: set up an installation and inspect it.
///
/// Every command takes the data directory and the node; with --json each result is printed as
/// one JSON line, and errors as {"error": {"code", "message", "retryable"}} with a non-zero exit.
#[derive(Debug, Parser)]
#[command(name = "arx", version)]
pub(crate) struct Args {
    /// Directory with this installation's keys and database (created on first use).
    #[arg(long, env = "ARX_DATA_DIR", default_value = "./arx-data")]
    data_dir: PathBuf,

    /// Node URL: http:// on this computer, https:// elsewhere.
    #[arg(long, env = "ARX_NODE", default_value = "http://127.0.0.1:5050")]
    node: String,

    /// PEM file of the certificate authority (or the self-signed certificate) of an https://
    /// node, trusted in addition to the public web roots.
    #[arg(long, env = "ARX_NODE_CA_FILE", value_name = "PEM")]
    pub(crate) node_ca_file: Option<PathBuf>,

    /// Also accept envelopes signed by this node (its public key, 64 hex characters); repeat
    /// for several. The node's own key and the nodes it vouches for are always accepted.
    #[arg(
        long = "trust-node",
        env = "ARX_TRUST_NODES",
        value_delimiter = ',',
        value_name = "KEY"
    )]
    pub(crate) trust_nodes: Vec<String>,

    /// Allow http:// (no TLS) to a node on another computer: anyone on the path can read and
    /// change what goes over it (not the messages, which are end-to-end encrypted).
    #[arg(long, env = "ARX_ALLOW_PLAINTEXT")]
    pub(crate) allow_plaintext: bool,

    /// The Kubo (IPFS) RPC API that files are sent through and fetched from.
    #[arg(
        long,
        env = "ARX_IPFS",
        default_value = "http://127.0.0.1:5001",
        value_name = "URL"
    )]
    ipfs: String,

    /// Print JSON lines instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a built-in wallet key (or import one) and register this installation with it.
    Init {
        /// Use this secp256k1 private key (64 hex characters, optional 0x) instead of a new one;
        /// `-` reads it from standard input (so it stays out of the shell history).
        #[arg(long, value_name = "HEX", conflicts_with = "import_key_file")]
        import_key: Option<String>,
        /// Read the key to import from this file (64 hex characters, optional 0x).
        #[arg(long, value_name = "PATH")]
        import_key_file: Option<PathBuf>,
    },
    /// This account's devices (installations).
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Envelopes the last syncs passed over (undecodable, refused checks...), with why.
    Skipped {
        /// How many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show this installation: wallet address, inbox id, installation key, registration.
    Whoami,
    /// Open (or create) the DM with a wallet address or inbox id; prints its conversation id.
    Dm { member: String },
    /// Group conversations.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Send a text message to a conversation (its id from `conversations`). With `-` as the
    /// text, every non-empty line of standard input becomes a message, sent in order. With
    /// --file (repeatable, up to 10), the files are sent sealed through IPFS and the text is
    /// their caption.
    Send {
        conversation: String,
        text: Option<String>,
        /// A file to send (images are re-encoded without their metadata).
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<PathBuf>,
        /// The text is markdown.
        #[arg(long)]
        markdown: bool,
    },
    /// Fetch a file of a message through IPFS, check it and save it.
    Download {
        /// The message id (from `messages`).
        message: i64,
        /// Which file of the message (from 0).
        #[arg(long, default_value_t = 0)]
        index: usize,
        /// Where to save it (default: its name, in the current folder; never overwritten).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Answer a message (its id from `messages`) with a text.
    Reply { message: i64, text: String },
    /// React to a message with an emoji, or take the reaction back with --remove.
    React {
        message: i64,
        emoji: String,
        #[arg(long)]
        remove: bool,
    },
    /// Replace the text of one of your messages for everyone.
    Edit { message: i64, text: String },
    /// Delete one of your messages for everyone.
    Delete { message: i64 },
    /// Fetch welcomes and new messages from the node.
    Sync,
    /// Conversations waiting for consent: someone you have not allowed started them.
    Requests,
    /// Accept a request: the conversation moves to your list and its inviter is allowed.
    Accept { conversation: String },
    /// Block a conversation's other person (a DM) or inviter (a group): it and everything else
    /// from them is hidden.
    Block { conversation: String },
    /// Make messages sent from now on disappear after SECONDS (or `off`), on every member's
    /// device.
    Disappearing {
        conversation: String,
        #[arg(value_name = "SECONDS|off")]
        after: String,
    },
    /// List conversations, most recently active first.
    Conversations,
    /// Show a conversation's messages (syncs first).
    Messages { conversation: String },
    /// Print new conversations and messages as they arrive, until interrupted.
    Stream,
    /// Start an embedded node on loopback and show two people talking in a group and a DM.
    Demo,
    /// Check a wallet's EIP-191 (personal_sign) signature of a text exactly as the engine does
    /// before publishing it; exits non-zero unless `address` made it.
    VerifySignature {
        /// The wallet address (0x…).
        #[arg(long)]
        address: String,
        /// The signature, 65 bytes as 0x-prefixed hex.
        #[arg(long)]
        signature: String,
        /// File holding the signed text (UTF-8, byte for byte).
        #[arg(long)]
        text_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// List this account's installations (this one is marked).
    List,
    /// Revoke another installation (a lost or stolen device) with this data dir's wallet,
    /// which must be the account's recovery wallet; it is removed from every conversation.
    Revoke { installation: String },
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// Create a group with members given by wallet address or inbox id.
    Create {
        #[arg(long)]
        name: Option<String>,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Add members (wallet addresses or inbox ids): every installation of each joins.
    Add {
        conversation: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Remove members (wallet addresses or inbox ids): every installation of each leaves.
    Remove {
        conversation: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// List a group's members (inbox, installation and role of each).
    Members { conversation: String },
    /// Rename a group (as its policy allows: admins by default).
    Rename { conversation: String, name: String },
    /// Set a group's description (empty to remove it).
    Describe {
        conversation: String,
        description: String,
    },
    /// Set who may add members, remove members and edit the profile: `everyone`, `admins` or
    /// `super-admins` (super admins).
    Policy {
        conversation: String,
        #[arg(long, value_name = "WHO", default_value = "admins")]
        add_members: String,
        #[arg(long, value_name = "WHO", default_value = "admins")]
        remove_members: String,
        #[arg(long, value_name = "WHO", default_value = "admins")]
        edit_profile: String,
    },
    /// Make a member a `member`, `admin` or `super-admin` (super admins).
    Role {
        conversation: String,
        member: String,
        #[arg(value_parser = ["member", "admin", "super-admin"])]
        role: String,
    },
    /// Leave a group: the members remove all of this inbox's installations.
    Leave { conversation: String },
}

async fn resolve_all(
    client: &Client,
    members: &[String],
) -> Result<Vec<arx_identity::InboxId>, CoreError> {
    let mut inboxes = Vec::with_capacity(members.len());
    for member in members {
        inboxes.push(client.resolve_member(member).await?);
    }
    Ok(inboxes)
}

fn conversation_id(text: &str) -> Result<Vec<u8>, CoreError> {
    hex::decode(text.trim())
        .ok()
        .filter(|id| !id.is_empty() && id.len() <= 64)
        .ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "{text:?} is not a conversation id (hex, from `arx conversations`)"
            ))
        })
}

fn verify_signature(
    address: &str,
    signature: &str,
    text_file: &std::path::Path,
) -> Result<serde_json::Value, CoreError> {
    let address: arx_identity::Address = address.trim().parse().map_err(|_| {
        CoreError::InvalidInput(format!("{address:?} is not a wallet address (0x + 40 hex)"))
    })?;
    let signature = hex::decode(signature.trim().trim_start_matches("0x"))
        .map_err(|_| CoreError::InvalidInput("the signature is not hex".into()))?;
    let text = std::fs::read_to_string(text_file).map_err(|e| {
        CoreError::InvalidInput(format!("cannot read {}: {e}", text_file.display()))
    })?;
    arx_core::verify_wallet_signature(&address, &text, &signature)?;
    Ok(json!({ "valid": true, "address": address.to_checksum(None) }))
}

fn wallet_path(args: &Args) -> PathBuf {
    args.data_dir.join("wallet.key")
}

fn load_wallet(args: &Args) -> Result<Option<LocalWallet>, CoreError> {
    let secret = secret_file::load(&wallet_path(args)).map_err(|e| CoreError::DataDir {
        path: args.data_dir.display().to_string(),
        reason: e.to_string(),
    })?;
    secret
        .map(|s| LocalWallet::from_bytes(&s).map_err(CoreError::from))
        .transpose()
}

async fn run(args: &Args) -> Result<serde_json::Value, CoreError> {
    if let Command::VerifySignature {
        address,
        signature,
        text_file,
    } = &args.command
    {
        return verify_signature(address, signature, text_file);
    }
    if let Command::Demo = args.command {
        return match demo::run().await {
            Ok(()) => Ok(json!({ "demo": "finished" })),
            Err(err) => Err(CoreError::InvalidInput(format!("demo failed: {err}"))),
        };
    }
    let transport = Arc::new(GrpcTransport::with_options(
        &args.node,
        &options::transport_options(args)?,
    )?);
    let client = Client::open(&args.data_dir, transport).await?;
    client.use_media(Arc::new(arx_media::KuboStore::new(&args.ipfs)?), None, None)?;
    match &args.command {
        Command::Init {
            import_key,
            import_key_file,
        } => {
            let import_key =
                options::imported_key(import_key.as_deref(), import_key_file.as_deref())?;
            let wallet = match (load_wallet(args)?, import_key) {
                (Some(_), Some(_)) => {
                    return Err(CoreError::DataDir {
                        path: args.data_dir.display().to_string(),
                        reason: "it already has a wallet key; use another --data-dir to import one"
                            .into(),
                    })
                }
                (Some(wallet), None) => wallet,
                (None, import) => {
                    let wallet = match import {
                        Some(hex_key) => {
                            let bytes = hex::decode(hex_key.trim().trim_start_matches("0x"))
                                .ok()
                                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                                .ok_or_else(|| {
                                    CoreError::InvalidInput(
                                        "--import-key needs 64 hex characters (32 bytes)".into(),
                                    )
                                })?;
                            LocalWallet::from_bytes(&bytes)?
                        }
                        None => LocalWallet::generate(),
                    };
                    secret_file::store(&wallet_path(args), &wallet.to_bytes()).map_err(|e| {
                        CoreError::DataDir {
                            path: args.data_dir.display().to_string(),
                            reason: e.to_string(),
                        }
                    })?;
                    wallet
                }
            };
            let registration = client.register(&LocalWalletSigner(wallet)).await?;
            Ok(json!({
                "wallet": registration.wallet.to_checksum(None),
                "inbox_id": registration.inbox_id.to_string(),
                "installation": registration.installation.to_string(),
                "created_inbox": registration.created_inbox,
            }))
        }
        Command::Devices(DevicesCommand::List) => {
            let devices = client.devices().await?;
            Ok(json!({
                "devices": devices.iter().map(|d| format!("{}{}", d.installation, if d.this_device { " (this device)" } else { "" })).collect::<Vec<_>>(),
            }))
        }
        Command::Devices(DevicesCommand::Revoke { installation }) => {
            let key = arx_identity::InstallationKey::from_str(installation.trim()).map_err(|_| {
                CoreError::InvalidInput(format!(
                    "{installation:?} is not an installation key (64 hex characters, from `arx devices list`)"
                ))
            })?;
            let wallet = load_wallet(args)?.ok_or_else(|| {
                CoreError::InvalidInput(
                    "this data dir has no wallet key to sign the revocation with".into(),
                )
            })?;
            let revoked = client
                .revoke_installation(&LocalWalletSigner(wallet), &key)
                .await?;
            Ok(json!({
                "revoked": key.to_string(),
                "removed_from": revoked.removed_from,
                "failed": revoked.failed.iter().map(|(id, why)| json!({"conversation": hex::encode(id), "reason": why})).collect::<Vec<_>>(),
            }))
        }
        Command::Skipped { limit } => {
            let skipped = client.skipped_envelopes(*limit).await?;
            Ok(json!({
                "skipped": skipped.iter().map(|s| format!("{} {}:{} [{}] {}", s.topic, s.originator_id, s.sequence_id, s.code, s.reason)).collect::<Vec<_>>(),
            }))
        }
        Command::Dm { member } => {
            let peer = client.resolve_member(member).await?;
            let id = client.dm(&peer).await?;
            Ok(json!({ "conversation": hex::encode(id), "peer": peer.to_string() }))
        }
        Command::Group(GroupCommand::Create { name, members }) => {
            let inboxes = resolve_all(&client, members).await?;
            let created = client.create_group(name.as_deref(), &inboxes).await?;
            Ok(json!({
                "conversation": hex::encode(&created.group_id),
                "failed": created.failed.iter().map(|(k, why)| json!({"installation": k.to_string(), "reason": why})).collect::<Vec<_>>(),
            }))
        }
        Command::Group(GroupCommand::Add {
            conversation,
            members,
        }) => {
            let inboxes = resolve_all(&client, members).await?;
            let failed = client
                .conversation(&conversation_id(conversation)?)
                .add_members(&inboxes)
                .await?;
            Ok(json!({
                "added": inboxes.len(),
                "failed": failed.iter().map(|(k, why)| json!({"installation": k.to_string(), "reason": why})).collect::<Vec<_>>(),
            }))
        }
        Command::Group(GroupCommand::Remove {
            conversation,
            members,
        }) => {
            let inboxes = resolve_all(&client, members).await?;
            client
                .conversation(&conversation_id(conversation)?)
                .remove_members(&inboxes)
                .await?;
            Ok(json!({ "removed": inboxes.len() }))
        }
        Command::Group(GroupCommand::Members { conversation }) => {
            client.sync().await?;
            let id = conversation_id(conversation)?;
            let members = client.conversation(&id).members().await?;
            let settings = client.conversation(&id).settings().await?;
            Ok(json!({
                "members": members.iter().map(|(inbox, key)| format!("{inbox} {key} {}", settings.role(inbox).as_str())).collect::<Vec<_>>(),
            }))
        }
        Command::Group(GroupCommand::Rename { conversation, name }) => {
            client
                .conversation(&conversation_id(conversation)?)
                .rename(name)
                .await?;
            Ok(json!({ "renamed": name }))
        }
        Command::Group(GroupCommand::Role {
            conversation,
            member,
            role,
        }) => {
            let inbox = client.resolve_member(member).await?;
            let role = match role.as_str() {
                "super-admin" => arx_core::Role::SuperAdmin,
                "admin" => arx_core::Role::Admin,
                _ => arx_core::Role::Member,
            };
            client
                .conversation(&conversation_id(conversation)?)
                .set_role(&inbox, role)
                .await?;
            Ok(json!({ "member": inbox.to_string(), "role": role.as_str() }))
        }
        Command::Group(GroupCommand::Leave { conversation }) => {
            client
                .conversation(&conversation_id(conversation)?)
                .leave()
                .await?;
            Ok(json!({ "leaving": conversation }))
        }
        Command::Send {
            conversation,
            text,
            files,
            markdown,
        } if !files.is_empty() => {
            let sources = files
                .iter()
                .map(|f| arx_core::FileSource::Path(f.clone()))
                .collect();
            let sent = client
                .conversation(&conversation_id(conversation)?)
                .send_files(sources, text.as_deref().unwrap_or(""), *markdown, None)
                .await?;
            if let Some(failure) = sent.failure {
                return Err(failure);
            }
            Ok(json!({
                "message_id": sent.message.id,
                "delivery": "sent",
                "files": sent.message.attachments.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
            }))
        }
        Command::Send {
            conversation,
            text: Some(text),
            ..
        } if text == "-" => {
            let group = conversation_id(conversation)?;
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| CoreError::InvalidInput(format!("standard input: {e}")))?;
            let mut last = None;
            let mut queued = 0usize;
            // Queued first (each durable on its own), then sent in order.
            for line in input.lines().filter(|l| !l.trim().is_empty()) {
                last = Some(client.conversation(&group).queue_text(line, false).await?);
                queued += 1;
            }
            client.conversation(&group).send_queued().await?;
            Ok(json!({ "sent": queued, "last_message_id": last, "delivery": "sent" }))
        }
        Command::Send {
            conversation,
            text,
            markdown,
            ..
        } => {
            let text = text.as_deref().ok_or_else(|| {
                CoreError::InvalidInput("nothing to send: give a text or --file".into())
            })?;
            let sent = client
                .conversation(&conversation_id(conversation)?)
                .send(text, *markdown)
                .await?;
            if let Some(failure) = sent.failure {
                return Err(failure);
            }
            Ok(json!({ "message_id": sent.message.id, "delivery": "sent" }))
        }
        Command::Download {
            message,
            index,
            out,
        } => messages::download(&client, *message, *index, out.as_deref()).await,
        Command::Reply { message, text } => {
            let group = client.message(*message).await?.group_id;
            let sent = client
                .conversation(&group)
                .reply(*message, text, false)
                .await?;
            messages::sent(sent)
        }
        Command::React {
            message,
            emoji,
            remove,
        } => {
            let group = client.message(*message).await?.group_id;
            let sent = client
                .conversation(&group)
                .react(*message, emoji, *remove)
                .await?;
            messages::sent(sent)
        }
        Command::Edit { message, text } => {
            let group = client.message(*message).await?.group_id;
            let sent = client
                .conversation(&group)
                .edit(*message, text, false)
                .await?;
            messages::sent(sent)
        }
        Command::Delete { message } => {
            let group = client.message(*message).await?.group_id;
            let sent = client
                .conversation(&group)
                .delete_for_everyone(*message)
                .await?;
            messages::sent(sent)
        }
        Command::Sync => {
            let s = client.sync().await?;
            Ok(json!({
                "groups_joined": s.groups_joined, "messages": s.messages,
                "commits": s.commits, "skipped": s.skipped,
            }))
        }
        Command::Conversations => {
            let list = client.conversations().await?;
            Ok(json!({
                "conversations": list.iter().filter(|c| c.consent != arx_core::Consent::Denied).map(|c| {
                    let request = if c.consent == arx_core::Consent::Unknown { " (request)" } else { "" };
                    match &c.dm_peer {
                        Some(peer) => format!("{} DM with {peer}{request}", hex::encode(&c.group_id)),
                        None => format!("{} {}{request}", hex::encode(&c.group_id), c.name.as_deref().unwrap_or("(unnamed group)")),
                    }
                }).collect::<Vec<_>>(),
            }))
        }
        Command::Requests => {
            client.sync().await?;
            let list = client.request_overviews().await?;
            Ok(json!({
                "requests": list.iter().map(|o| format!("{} {}", hex::encode(&o.conversation.group_id), o.title)).collect::<Vec<_>>(),
            }))
        }
        Command::Accept { conversation } => {
            client
                .conversation(&conversation_id(conversation)?)
                .accept()
                .await?;
            Ok(json!({ "accepted": conversation }))
        }
        Command::Block { conversation } => {
            client
                .conversation(&conversation_id(conversation)?)
                .block()
                .await?;
            Ok(json!({ "blocked": conversation }))
        }
        Command::Disappearing {
            conversation,
            after,
        } => {
            let after = match after.trim() {
                "off" | "0" => None,
                seconds => Some(std::time::Duration::from_secs(seconds.parse().map_err(
                    |_| {
                        CoreError::InvalidInput(format!(
                            "{seconds:?} is not a number of seconds or `off`"
                        ))
                    },
                )?)),
            };
            client
                .conversation(&conversation_id(conversation)?)
                .set_disappearing(after)
                .await?;
            Ok(json!({ "disappearing_after_seconds": after.map(|d| d.as_secs()) }))
        }
        Command::Group(GroupCommand::Describe {
            conversation,
            description,
        }) => {
            client
                .conversation(&conversation_id(conversation)?)
                .set_description(description)
                .await?;
            Ok(json!({ "description": description }))
        }
        Command::Group(GroupCommand::Policy {
            conversation,
            add_members,
            remove_members,
            edit_profile,
        }) => {
            let policy = |text: &str| {
                arx_core::Policy::parse(text).ok_or_else(|| {
                    CoreError::InvalidInput(format!(
                        "{text:?} is not `everyone`, `admins` or `super-admins`"
                    ))
                })
            };
            let policies = arx_core::Policies {
                add_members: policy(add_members)?,
                remove_members: policy(remove_members)?,
                update_profile: policy(edit_profile)?,
            };
            client
                .conversation(&conversation_id(conversation)?)
                .set_policies(policies)
                .await?;
            Ok(json!({
                "add_members": policies.add_members.as_str(),
                "remove_members": policies.remove_members.as_str(),
                "edit_profile": policies.update_profile.as_str(),
            }))
        }
        Command::Messages { conversation } => {
            let id = conversation_id(conversation)?;
            client.sync().await?;
            messages::list(&client, &id, args.json).await
        }
        Command::Stream => {
            let (tx, mut events) = tokio::sync::mpsc::channel(256);
            let json = args.json;
            let printer = tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    let (value, human) = stream_line(&event);
                    match (json, human) {
                        (true, _) => println!("{value}"),
                        (false, Line::Out(line)) => println!("{line}"),
                        (false, Line::Err(line)) => eprintln!("{line}"),
                    }
                }
            });
            tokio::select! {
                ended = client.stream(tx) => ended?,
                _ = tokio::signal::ctrl_c() => {}
            }
            let _ = printer.await;
            Ok(json!({ "event": "stopped" }))
        }
        Command::Demo | Command::VerifySignature { .. } => Err(CoreError::InvalidInput(
            "handled before the data dir is opened".into(),
        )),
        Command::Whoami => {
            let registration = client.registration().await?;
            let wallet = load_wallet(args)?.map(|w| w.address().to_checksum(None));
            let mut out = json!({
                "wallet": wallet,
                "installation": client.installation_key().to_string(),
                "registered": registration.is_some(),
                "inbox_id": registration.as_ref().map(|r| r.inbox_id.to_string()),
            });
            if let Some(registration) = registration {
                let state = client.association_state(&registration.inbox_id).await?;
                out["wallets"] = json!(state
                    .wallets()
                    .iter()
                    .map(|a| a.to_checksum(None))
                    .collect::<Vec<_>>());
                out["installations"] = json!(state
                    .installations()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>());
            }
            Ok(out)
        }
    }
}

/// Where a line of `arx stream`'s human output goes.
enum Line {
    Out(String),
    Err(String),
}

/// A stream event as a JSON line and as a line for people.
fn stream_line(event: &arx_core::StreamEvent) -> (serde_json::Value, Line) {
    let short = |text: &str, n: usize| text.get(..n).unwrap_or(text).to_owned();
    match event {
        arx_core::StreamEvent::Joined(c) => {
            let conversation = hex::encode(&c.group_id);
            let line = Line::Out(format!("joined {conversation}"));
            let value = json!({ "event": "joined", "conversation": conversation, "name": c.name });
            (value, line)
        }
        arx_core::StreamEvent::Message(m) => {
            let (conversation, sender) = (hex::encode(&m.group_id), m.sender_inbox.to_string());
            let line = format!(
                "[{}] {}: {}",
                short(&conversation, 8),
                short(&sender, 12),
                m.text
            );
            let value = json!({
                "event": "message", "conversation": conversation, "sender": sender, "text": m.text,
            });
            (value, Line::Out(line))
        }
        arx_core::StreamEvent::Changed(m) => {
            let conversation = hex::encode(&m.group_id);
            let line = format!("[{}] message {} changed", short(&conversation, 8), m.id);
            let value = json!({
                "event": "changed", "conversation": conversation, "message_id": m.id,
                "text": m.text, "deleted": m.deleted, "edited": m.edited_at_ns.is_some(),
            });
            (value, Line::Err(line))
        }
        arx_core::StreamEvent::Delivery(m) => {
            let conversation = hex::encode(&m.group_id);
            let delivery = m.delivery.as_str();
            let line = format!("[{}] message {} {delivery}", short(&conversation, 8), m.id);
            let value = json!({
                "event": "delivery", "conversation": conversation, "message_id": m.id,
                "delivery": delivery,
            });
            (value, Line::Err(line))
        }
        arx_core::StreamEvent::Connection { online: true, .. } => {
            (json!({ "event": "online" }), Line::Err("connected".into()))
        }
        arx_core::StreamEvent::Connection {
            online: false,
            detail,
        } => {
            let why = detail.as_deref().unwrap_or_default();
            let value = json!({ "event": "offline", "detail": detail });
            (
                value,
                Line::Err(format!("connection lost, retrying: {why}")),
            )
        }
    }
}

fn print_human(value: &serde_json::Value) {
    if let Some(map) = value.as_object() {
        for (key, value) in map {
            match value {
                serde_json::Value::String(s) => println!("{key}: {s}"),
                serde_json::Value::Null => println!("{key}: -"),
                serde_json::Value::Array(items) => {
                    println!("{key}:");
                    for item in items {
                        println!(
                            "  {}",
                            item.as_str().map(str::to_owned).unwrap_or(item.to_string())
                        );
                    }
                }
                other => println!("{key}: {other}"),
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ARX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(&args).await {
        Ok(value) => {
            if args.json {
                println!("{value}");
            } else {
                print_human(&value);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            if args.json {
                println!(
                    "{}",
                    json!({"error": {"code": err.code().as_str(), "message": err.to_string(), "retryable": err.retryable()}})
                );
            } else {
                eprintln!("arx: {err} [{}]", err.code());
            }
            ExitCode::FAILURE
        }
    }
}
