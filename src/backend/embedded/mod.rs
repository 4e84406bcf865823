//! The embedded backend: a local state directory holds Agents, AgenticTasks, results and
//! transcripts; this machine is the one FleetNode; tasks are scheduled first-fit with
//! `dependsOn` and run by the embedded executor, several at once up to `max_concurrent`, each
//! in its own workspace. A restart recovers everything: finished runs, pending approvals, and
//! interrupted runs (marked, re-queueable).

mod attempts;
pub mod fanout;
mod intake;
pub mod node;
pub mod revise;
mod runner;
mod schedule;
mod slots;
pub mod store;

pub use store::{Changes, Kind, Store, StoreError, Submitted};

use super::{BackendError, BackendEvent, BackendHandle};
use crate::executor::run::TokenSource;
use crate::workspace::Identity;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    pub state_dir: PathBuf,
    /// Inference base URL including `/v1`.
    pub base_url: String,
    pub git_remote_url: Option<String>,
    pub identity: Identity,
    pub max_concurrent: usize,
    /// Push right after a GO commit instead of waiting for approval.
    pub auto_push: bool,
    pub github_api_base: String,
    pub token: TokenSource,
    /// The operator's sandbox settings for every run (README "Containment").
    pub sandbox: crate::sandbox::Settings,
    /// This machine's FleetNode name (`fleet::host::local_node_name`).
    pub node_name: String,
    /// Bounds of one submitted manifest file (config `[limits]`).
    pub limits: crate::api::Limits,
    /// The operator's defaults for what an Agent leaves unset (config `[executor]`).
    pub agent_defaults: crate::config::AgentDefaults,
}

/// Timing knobs; the defaults are the product's, tests shorten them.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// Ask the inference server for `/props` and `/models` (off when it is a scripted peer
    /// that answers every request from one queue).
    pub probe_inference: bool,
    pub schedule_every: Duration,
    pub heartbeat_every: Duration,
    pub probe_every: Duration,
    /// How often to look for changes other processes made to the state (one cheap query).
    pub refresh_every: Duration,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            probe_inference: true,
            schedule_every: Duration::from_secs(2),
            heartbeat_every: Duration::from_secs(5),
            probe_every: Duration::from_secs(60),
            refresh_every: Duration::from_millis(250),
        }
    }
}

/// Starts the backend actor on the current tokio runtime with the default options.
pub fn start_embedded(
    cfg: EmbeddedConfig,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> Result<BackendHandle, BackendError> {
    start_embedded_with(cfg, EmbeddedOptions::default(), events)
}

/// [`start_embedded`] with explicit options.
pub fn start_embedded_with(
    cfg: EmbeddedConfig,
    opts: EmbeddedOptions,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> Result<BackendHandle, BackendError> {
    let rt = tokio::runtime::Handle::try_current().map_err(|e| {
        BackendError::Other(format!("the embedded backend needs a tokio runtime: {e}"))
    })?;
    let (mut store, warnings) = Store::open(&cfg.state_dir).map_err(|e| BackendError::State {
        path: cfg.state_dir.display().to_string(),
        message: e.to_string(),
    })?;
    let recovered = store.recover().map_err(|e| BackendError::State {
        path: cfg.state_dir.display().to_string(),
        message: e.to_string(),
    })?;
    for w in warnings {
        let _ = events.send(BackendEvent::Error(w));
    }
    if let Some(note) = store.take_import_note() {
        let _ = events.send(BackendEvent::Notice(note));
    }
    if !recovered.is_empty() {
        let _ = events.send(BackendEvent::Notice(format!(
            "{} task(s) were interrupted by the last stop; re-queue them with R",
            recovered.len()
        )));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let runner = runner::Runner::new(cfg, opts, store, events);
    rt.spawn(async move {
        runner.run(rx).await;
        let _ = done_tx.send(true);
    });
    Ok(BackendHandle::new(tx, done_rx))
}
