//! OpenAI-compatible streaming chat client (llama.cpp first).

pub mod types;

pub use types::*;
