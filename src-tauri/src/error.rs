//! What a command returns on failure: a stable code the UI branches on, a message for people,
//! and whether trying again later can help.

use arx_core::CoreError;
use serde::Serialize;
use ts_rs::TS;

/// A failed command, as the UI receives it.
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[error("{message} [{code}]")]
pub struct CommandError {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: false,
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::new("input.invalid", message)
    }
}

impl From<CoreError> for CommandError {
    fn from(err: CoreError) -> Self {
        Self {
            code: err.code(),
            message: err.to_string(),
            retryable: err.retryable(),
        }
    }
}

impl From<arx_identity::IdentityError> for CommandError {
    fn from(err: arx_identity::IdentityError) -> Self {
        CoreError::from(err).into()
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
