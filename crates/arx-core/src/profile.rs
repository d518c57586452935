//! A group's profile (name, description, image), its policies (who adds and removes members
//! and edits the profile) and a conversation's disappearing timer. Each change is a commit
//! every member checks against the settings in force (`metadata::check_commit`).

use std::{path::PathBuf, time::Duration};

use arx_media::{picture, MediaError};
use prost::Message as _;

use crate::{
    conversation::ConversationHandle,
    db::intents::IntentKind,
    error::CoreError,
    media::FileSource,
    metadata::{
        Policies, MAX_DESCRIPTION_BYTES, MAX_DISAPPEAR_MS, MAX_IMAGE_BYTES, MIN_DISAPPEAR_MS,
    },
};

impl ConversationHandle<'_> {
    async fn update_settings(&self, change: arx_proto::SettingsChange) -> Result<(), CoreError> {
        self.change(IntentKind::UpdateSettings, &change.encode_to_vec())
            .await?;
        Ok(())
    }

    async fn require_profile_edit(&self) -> Result<(), CoreError> {
        self.require(
            |s, me| s.policies.update_profile.allows(s.role(me)),
            "edit its profile",
        )
        .await
    }

    /// Sets the group's description (empty: none).
    pub async fn set_description(&self, description: &str) -> Result<(), CoreError> {
        let description = description.trim();
        if description.len() > MAX_DESCRIPTION_BYTES {
            return Err(CoreError::InvalidInput(format!(
                "a description of {} bytes (at most {MAX_DESCRIPTION_BYTES})",
                description.len()
            )));
        }
        self.require_profile_edit().await?;
        self.update_settings(arx_proto::SettingsChange {
            description: Some(description.to_owned()),
            ..Default::default()
        })
        .await
    }

    /// Sets the group's image: re-encoded without metadata, sealed and stored on IPFS like a
    /// file (at most 5 MiB once re-encoded).
    pub async fn set_group_image(&self, image: FileSource) -> Result<(), CoreError> {
        self.require_profile_edit().await?;
        let bytes = match image {
            FileSource::Bytes { bytes, .. } => bytes,
            FileSource::Path(path) => {
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| MediaError::Unreadable {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?
            }
        };
        if picture::format_of(&bytes).is_none() {
            return Err(MediaError::InvalidImage("a group image must be a picture".into()).into());
        }
        let name = "group.jpg".to_owned();
        let media = self.client.media()?;
        let info = crate::media::upload_image(&media, name, bytes).await?;
        if info.size > MAX_IMAGE_BYTES {
            return Err(MediaError::TooLarge {
                name: "the group image".into(),
                size: info.size,
                limit: MAX_IMAGE_BYTES,
            }
            .into());
        }
        self.update_settings(arx_proto::SettingsChange {
            image: Some(crate::content::wire_attachment(&info)),
            ..Default::default()
        })
        .await
    }

    /// Removes the group's image.
    pub async fn clear_group_image(&self) -> Result<(), CoreError> {
        self.require_profile_edit().await?;
        self.update_settings(arx_proto::SettingsChange {
            clear_image: true,
            ..Default::default()
        })
        .await
    }

    /// The group's image, fetched through IPFS and opened into the media cache.
    pub async fn open_group_image(&self) -> Result<Option<PathBuf>, CoreError> {
        let Some(image) = self.settings().await?.image else {
            return Ok(None);
        };
        let media = self.client.media()?;
        Ok(Some(media.open(&image.sealed).await?))
    }

    /// Sets who may add members, remove members and edit the profile (super admins only).
    pub async fn set_policies(&self, policies: Policies) -> Result<(), CoreError> {
        self.require(
            |s, me| s.role(me) == crate::Role::SuperAdmin,
            "change who may do what (only super admins may)",
        )
        .await?;
        self.update_settings(arx_proto::SettingsChange {
            add_members: Some(policies.add_members.to_proto().into()),
            remove_members: Some(policies.remove_members.to_proto().into()),
            update_profile: Some(policies.update_profile.to_proto().into()),
            ..Default::default()
        })
        .await
    }

    /// Makes messages sent from now on disappear `after` they were sent, on every member's
    /// device (`None`: never). In a DM either person may; in a group, whoever may edit the
    /// profile.
    pub async fn set_disappearing(&self, after: Option<Duration>) -> Result<(), CoreError> {
        let ms = match after {
            None => 0,
            Some(d) => {
                let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                if !(MIN_DISAPPEAR_MS..=MAX_DISAPPEAR_MS).contains(&ms) {
                    return Err(CoreError::InvalidInput(
                        "a disappearing timer is from 10 seconds to a year".into(),
                    ));
                }
                ms
            }
        };
        if self.is_dm().await? {
            self.require_active().await?;
        } else {
            self.require_profile_edit().await?;
        }
        self.update_settings(arx_proto::SettingsChange {
            disappear_after_ms: Some(ms),
            ..Default::default()
        })
        .await
    }
}
