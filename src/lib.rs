//! Foreman console: an operator console and embedded executor for fleets of local-LLM coding
//! agents, compatible with LLMKube's Foreman CRDs (`foreman.llmkube.dev/v1alpha1`).
//!
//! Layout: `api` (CRD types + strict loading) → `oai` (streaming chat client) → `tools` (the
//! six workspace-bound tools) → `agent` (the native loop + transcript) → `workspace` (git2
//! clone/branch/commit/push) → `executor` (one task end to end, the Result envelope).

pub mod agent;
pub mod api;
pub mod executor;
pub mod oai;
pub mod tools;
pub mod ui;
pub mod workspace;
