//! Foreman console: an operator console and embedded executor for fleets of local-LLM coding
//! agents, compatible with LLMKube's Foreman CRDs (`foreman.llmkube.dev/v1alpha1`).
//!
//! See ARCHITECTURE.md for the map. In dependency order (each module uses only those above it):
//!
//! - `api`: the four CRD types and the strict manifest loader.
//! - `fleet`: the pure domain every backend and daemon shares (task keys and states, reasons,
//!   status edits, scheduling rules and plan, host probes).
//! - `oai`: the streaming chat-completions client.
//! - `sandbox`: the policy every command the model causes runs under, and running one.
//! - `tools`: the six workspace-bound tools the model calls.
//! - `agent`: the native agent loop and its transcript journal.
//! - `workspace`: git2 clone, branch, commit (with hooks), diff and push.
//! - `github`: pull requests through the REST API.
//! - `executor`: one task end to end and its Result envelope.
//! - `config`: layered settings (file, environment, flags) and the keymap.
//! - `k8s`: the kube-rs side that knows no console: connect, CRDs, backoff, the `foreman agent`
//!   worker and the `foreman scheduler` daemon.
//! - `backend`: the console's protocol (events in, commands out) and its two backends,
//!   embedded (local state) and cluster (an apiserver).
//! - `console`: the terminal UI: event loop, state, input, drawing, transcript, diff, themes.
//! - `cli`: one file per subcommand.

// The console owns the terminal: no stray print may reach it from the library. The CLI
// subcommands, which own stdout and stderr, allow printing in src/cli.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod api;
pub mod backend;
pub mod cli;
pub mod config;
pub mod console;
pub mod executor;
pub mod fleet;
pub mod github;
pub mod k8s;
pub mod oai;
pub mod sandbox;
pub mod tools;
pub mod workspace;
