#![doc = include_str!("../README.md")]

pub mod admission;
pub mod error;
pub mod keyfile;
pub mod publisher;
pub mod server;
pub mod service;
pub mod store;
pub mod subscription;
pub mod validate;

pub use error::{error_detail, NodeError};
pub use server::{start, start_with, NodeConfig, RunningNode, StartError, TlsFiles};
pub use service::{RateLimit, ServiceConfig};
pub use validate::Limits;
