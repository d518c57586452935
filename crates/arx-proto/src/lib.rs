#![doc = include_str!("../README.md")]

/// Version 1 of the ARX wire protocol (`package arx.v1`).
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/arx.v1.rs"));
}

/// Encoded `FileDescriptorSet` of every ARX .proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/arx_descriptor.bin"));

pub use v1::*;
