//! OpenAI-compatible streaming chat client (llama.cpp first).
//!
//! `sse` (bytes → `data:` payloads) and `aggregate` (payloads → one message) are pure;
//! `client` does the HTTP, timeouts and retries; `protocol` adapts how tools travel
//! (OpenAI `tools` or a JSON-schema-constrained reply).

pub mod aggregate;
pub mod client;
pub mod error;
pub mod protocol;
pub mod sse;
pub mod types;

pub use aggregate::{Aggregated, Aggregator};
pub use client::{Client, ClientConfig, StreamLimits};
pub use error::OaiError;
pub use sse::{SseError, SseParser};
pub use types::*;
