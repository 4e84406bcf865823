//! The embedded backend as tests and benches start it: this machine, no reachable model, no
//! remote, clocks that never tick on their own. One literal here, so a new `EmbeddedConfig`
//! field is set once. Benches include this file with `#[path]`, so it names only `foreman`.
#![allow(dead_code)]

use foreman::api::Limits;
use foreman::backend::embedded::{EmbeddedConfig, EmbeddedOptions};
use foreman::executor::run::TokenSource;
use foreman::workspace::{Identity, Token};
use std::path::Path;
use std::time::Duration;

/// The identity the tests commit as: `Foreman Bot <bot@example.com>`.
pub fn bot() -> Identity {
    Identity {
        name: "Foreman Bot".into(),
        email: "bot@example.com".into(),
    }
}

/// State in `state`, the model at `base_url`, `max` runs at once; no remote, GitHub
/// unreachable, a token that is never sent anywhere, the default sandbox and limits.
pub fn embedded_config(state: &Path, base_url: &str, max: usize) -> EmbeddedConfig {
    EmbeddedConfig {
        state_dir: state.to_path_buf(),
        base_url: base_url.to_string(),
        git_remote_url: None,
        identity: bot(),
        max_concurrent: max,
        auto_push: false,
        github_api_base: "http://127.0.0.1:9".into(),
        token: TokenSource::Given(Token::new("unused-for-local-remotes")),
        sandbox: Default::default(),
        node_name: "test-node".into(),
        limits: Limits::default(),
        agent_defaults: Default::default(),
    }
}

/// No inference probe and no scheduling, heartbeat, probe or refresh on a clock: only what
/// the caller sends happens.
pub fn still_options() -> EmbeddedOptions {
    let hour = Duration::from_secs(3600);
    EmbeddedOptions {
        probe_inference: false,
        schedule_every: hour,
        heartbeat_every: hour,
        probe_every: hour,
        refresh_every: hour,
    }
}
