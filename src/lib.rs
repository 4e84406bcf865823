//! Foreman console: an operator console and embedded executor for fleets of local-LLM coding
//! agents, compatible with LLMKube's Foreman CRDs (`foreman.llmkube.dev/v1alpha1`).
//!
//! Layout: `api` (CRD types + strict loading) → `oai` (streaming chat client) → `tools` (the
//! six workspace-bound tools) → `agent` (the native loop + transcript) → `workspace` (git2
//! clone/branch/commit/push) → `executor` (one task end to end, the Result envelope).
//! `github` (pull requests), `config` and `ui_theme` serve the console.

pub mod agent;
pub mod api;
pub mod app;
pub mod backend;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod executor;
pub mod github;
pub mod oai;
pub mod sched;
pub mod tools;
pub mod ui;
pub mod ui_theme;
pub mod workspace;
