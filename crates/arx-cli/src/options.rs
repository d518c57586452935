//! Options read from the command line: how to reach the node, and the key to import.

use arx_core::{CoreError, TransportOptions};

use crate::Args;

/// The key text to import: the flag's value, standard input for `-`, or the file's content.
pub(crate) fn imported_key(
    flag: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Option<String>, CoreError> {
    match (flag, file) {
        (Some("-"), _) => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| CoreError::InvalidInput(format!("standard input: {e}")))?;
            Ok(Some(text))
        }
        (Some(text), _) => Ok(Some(text.to_owned())),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(|e| CoreError::InvalidInput(format!("cannot read {}: {e}", path.display()))),
        (None, None) => Ok(None),
    }
}

/// How to reach the node, from the flags.
pub(crate) fn transport_options(args: &Args) -> Result<TransportOptions, CoreError> {
    let ca_pem = args
        .node_ca_file
        .as_ref()
        .map(|path| {
            std::fs::read(path).map_err(|e| {
                CoreError::InvalidInput(format!(
                    "cannot read --node-ca-file {}: {e}",
                    path.display()
                ))
            })
        })
        .transpose()?;
    let trusted_nodes = args
        .trust_nodes
        .iter()
        .map(|key| {
            hex::decode(key.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    CoreError::InvalidInput(format!(
                        "--trust-node {key:?} is not a node public key (64 hex characters)"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TransportOptions {
        ca_pem,
        allow_plaintext: args.allow_plaintext,
        trusted_nodes,
        ..TransportOptions::default()
    })
}
