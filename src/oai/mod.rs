//! OpenAI-compatible streaming chat client (llama.cpp first).
//!
//! `sse` (bytes → `data:` payloads) and `aggregate` (payloads → one message) are pure;
//! `client` does the HTTP, timeouts and retries; `protocol` adapts how tools travel
//! (OpenAI `tools` or a JSON-schema-constrained reply); `terminal` makes what the model and
//! servers send safe to print; `http` holds the process's shared HTTP clients.

pub mod aggregate;
mod body;
pub mod client;
pub mod error;
pub mod http;
pub mod key;
pub mod protocol;
pub mod sse;
pub mod terminal;
pub mod types;

pub use aggregate::{Aggregated, Aggregator};
pub use client::{Client, ClientConfig, StreamLimits};
pub use error::OaiError;
pub use key::ApiKey;
pub use sse::{SseError, SseParser};
pub use terminal::terminal_safe;
pub use types::*;
