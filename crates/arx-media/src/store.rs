//! Where sealed files live: the [`MediaStore`] trait and its one implementation, [`KuboStore`],
//! over the Kubo RPC API (`ipfs-api-backend-hyper`: add, cat, pin; its `id` call does not parse
//! Kubo ≥ 0.22 answers and is never used).

use std::{io::Read, pin::Pin};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use ipfs_api_backend_hyper::{request, IpfsApi, IpfsClient, TryFromUri};

use crate::{MediaError, MAX_CID_BYTES};

/// Bytes of a stored file as they arrive.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, MediaError>> + Send>>;

/// Content-addressed storage of sealed files.
#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// Where it is, for error messages.
    fn location(&self) -> String;
    /// Stores everything `body` yields and pins it; returns its CID.
    async fn add(&self, body: Box<dyn Read + Send + Sync + Unpin>) -> Result<String, MediaError>;
    /// The bytes stored under `cid`, fetched from the network when not held locally.
    fn cat(&self, cid: &str) -> ByteStream;
    /// Keeps `cid` (recursively) until unpinned.
    async fn pin(&self, cid: &str) -> Result<(), MediaError>;
    /// Stops keeping `cid` (the daemon collects it later); not pinned is not an error.
    async fn unpin(&self, cid: &str) -> Result<(), MediaError>;
}

/// A Kubo daemon's RPC API, e.g. `http://127.0.0.1:5001`.
pub struct KuboStore {
    client: IpfsClient,
    url: String,
}

impl KuboStore {
    pub fn new(url: &str) -> Result<Self, MediaError> {
        let client = IpfsClient::from_str(url).map_err(|e| MediaError::Unavailable {
            url: url.to_owned(),
            reason: format!("is not a usable URL: {e}"),
        })?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    fn unavailable(&self, what: &str, error: impl std::fmt::Display) -> MediaError {
        MediaError::Unavailable {
            url: self.url.clone(),
            reason: format!("failed to {what}: {error}"),
        }
    }
}

/// Checks a CID read from a message before it goes into a request: short, and only the
/// characters of base32/base58 CIDs (no path separators or query characters).
pub fn check_cid(cid: &str) -> Result<(), MediaError> {
    let ok = !cid.is_empty()
        && cid.len() <= MAX_CID_BYTES
        && cid.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(MediaError::InvalidAttachment(format!(
            "{:?} is not a CID",
            cid.chars().take(40).collect::<String>()
        )))
    }
}

#[async_trait::async_trait]
impl MediaStore for KuboStore {
    fn location(&self) -> String {
        self.url.clone()
    }

    async fn add(&self, body: Box<dyn Read + Send + Sync + Unpin>) -> Result<String, MediaError> {
        let options = request::Add {
            pin: Some(true),
            cid_version: Some(1),
            raw_leaves: Some(true),
            ..Default::default()
        };
        let added = self
            .client
            .add_with_options(body, options)
            .await
            .map_err(|e| self.unavailable("store the file", e))?;
        check_cid(&added.hash)?;
        Ok(added.hash)
    }

    fn cat(&self, cid: &str) -> ByteStream {
        if let Err(e) = check_cid(cid) {
            return Box::pin(futures::stream::once(async move { Err(e) }));
        }
        let url = self.url.clone();
        Box::pin(
            self.client
                .cat(cid)
                .map_err(move |e| MediaError::Unavailable {
                    url: url.clone(),
                    reason: format!("failed to deliver the file: {e}"),
                }),
        )
    }

    async fn pin(&self, cid: &str) -> Result<(), MediaError> {
        check_cid(cid)?;
        self.client
            .pin_add(cid, true)
            .await
            .map_err(|e| self.unavailable("pin the file", e))?;
        Ok(())
    }

    async fn unpin(&self, cid: &str) -> Result<(), MediaError> {
        check_cid(cid)?;
        match self.client.pin_rm(cid, true).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("not pinned") => Ok(()),
            Err(e) => Err(self.unavailable("unpin the file", e)),
        }
    }
}

/// Reads a whole small stored file (at most `limit` bytes), e.g. a group image.
pub async fn cat_bounded(
    store: &dyn MediaStore,
    cid: &str,
    limit: usize,
) -> Result<Vec<u8>, MediaError> {
    let mut stream = store.cat(cid);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Err(MediaError::DigestMismatch(format!(
                "more than the {limit} bytes announced"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_cids_go_into_requests() {
        assert!(check_cid("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy").is_ok());
        assert!(check_cid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG").is_ok());
        for bad in ["", "../../etc", "Qm?arg=x", "Qm x", &"a".repeat(200)] {
            assert!(check_cid(bad).is_err(), "{bad}");
        }
    }
}
