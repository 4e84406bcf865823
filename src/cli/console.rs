//! `foreman` (no subcommand): the console, on the embedded backend (this machine's state
//! directory) or, with any cluster flag, on the cluster backend.

use super::ConsoleArgs;
use super::common::{Exit, cluster_selected, connect_cluster, failed, settings};
use crate::backend::cluster::{ClusterBackendConfig, start_cluster};
use crate::backend::embedded::{EmbeddedConfig, start_embedded};
use crate::backend::{BackendEvent, BackendHandle};
use crate::config::Config;
use crate::console::state::App;
use crate::console::theme::Theme;
use crate::executor::run::TokenSource;
use crate::k8s::Cluster;
use crate::workspace::Identity;

/// This machine's FleetNode name: `$FLEET_NODE_NAME` (as for `foreman agent`), else the
/// sanitized host name.
pub fn node_name() -> String {
    crate::fleet::host::local_node_name(std::env::var("FLEET_NODE_NAME").ok().as_deref())
}

/// The header line of a console on `cluster`.
fn cluster_label(args: &ConsoleArgs, cluster: &Cluster, node: &str) -> String {
    let at = args
        .context
        .clone()
        .unwrap_or_else(|| cluster.source.clone());
    let ns = if cluster.namespace.is_empty() {
        "all"
    } else {
        cluster.namespace.as_str()
    };
    format!("cluster {at} · ns {ns} · node {node} · ? for help")
}

/// The console's own executor on a cluster: the same worker as `foreman agent`, with the
/// console's identity, remote and state directory, pushing only on approval (unless
/// auto-push). `--inference-url` overrides every Agent's endpoint; otherwise an Agent's
/// InferenceService is used, and the configured URL serves Agents that name none.
fn console_worker(
    args: &ConsoleArgs,
    cfg: &Config,
    node: &str,
    cluster: &Cluster,
) -> crate::k8s::worker::WorkerConfig {
    use crate::k8s::worker::endpoint::EndpointConfig;
    use crate::k8s::worker::node::NodeConfig;
    let email = cfg
        .git
        .author_email
        .clone()
        .unwrap_or_else(|| format!("foreman@{node}.local"));
    let state = &cfg.workspace.state_dir;
    let mut w = crate::k8s::worker::WorkerConfig::new(
        NodeConfig {
            name: node.to_string(),
            roles: vec!["worker".into()],
            ..Default::default()
        },
        Identity {
            name: cfg.git.author_name.clone(),
            email,
        },
        state.join("workspaces"),
    );
    w.journal_dir = state.join("transcripts");
    w.task_namespace = (!cluster.namespace.is_empty()).then(|| cluster.namespace.clone());
    w.endpoint = EndpointConfig {
        base_url_override: args.base_url.clone(),
        host_override: args.inference_host_override.clone(),
        fallback_base_url: Some(cfg.inference.base_url.clone()),
    };
    w.git_remote_url = cfg.git.remote_url.clone();
    w.push_now = cfg.executor.auto_push;
    w.sandbox = cfg.sandbox.clone();
    w.github_api_base = Some(cfg.github.api_base.clone());
    w
}

async fn start_on_cluster(
    args: &ConsoleArgs,
    cfg: &Config,
    tx: tokio::sync::mpsc::UnboundedSender<BackendEvent>,
) -> Result<(BackendHandle, String), String> {
    let cluster = connect_cluster(args).await?;
    let node = node_name();
    let label = cluster_label(args, &cluster, &node);
    let ccfg = ClusterBackendConfig {
        node_name: node.clone(),
        git_remote_url: cfg.git.remote_url.clone(),
        github_api_base: cfg.github.api_base.clone(),
        token: TokenSource::Lookup,
        worker: (!args.no_worker).then(|| console_worker(args, cfg, &node, &cluster)),
        scheduler: args
            .scheduler
            .then(|| crate::k8s::scheduler::SchedulerConfig {
                task_namespace: (!cluster.namespace.is_empty()).then(|| cluster.namespace.clone()),
                // The same Lease as `foreman scheduler`'s default: never both place.
                lease: Some(crate::k8s::lease::LeaseConfig::new(
                    &cluster.namespace,
                    crate::k8s::lease::DEFAULT_NAME,
                    std::time::Duration::from_secs(15),
                )),
                ..Default::default()
            }),
    };
    let backend = start_cluster(cluster, ccfg, tx)
        .map_err(|e| format!("cannot start the cluster backend: {e}"))?;
    Ok((backend, label))
}

/// The embedded backend's settings from the effective config (the console's and those of
/// `foreman review`, which runs a revision the same way in its own process).
pub fn embedded_config(cfg: &Config) -> EmbeddedConfig {
    let email = cfg
        .git
        .author_email
        .clone()
        .unwrap_or_else(|| format!("foreman@{}.local", node_name()));
    EmbeddedConfig {
        state_dir: cfg.workspace.state_dir.clone(),
        base_url: cfg.inference.base_url.clone(),
        git_remote_url: cfg.git.remote_url.clone(),
        identity: Identity {
            name: cfg.git.author_name.clone(),
            email,
        },
        max_concurrent: cfg.executor.max_concurrent.max(1),
        auto_push: cfg.executor.auto_push,
        github_api_base: cfg.github.api_base.clone(),
        token: TokenSource::Lookup,
        sandbox: cfg.sandbox.clone(),
        node_name: node_name(),
        limits: cfg.limits.manifest(),
        agent_defaults: cfg.executor.agent_defaults(),
    }
}

fn start_on_state_dir(
    cfg: &Config,
    tx: tokio::sync::mpsc::UnboundedSender<BackendEvent>,
) -> Result<(BackendHandle, String), String> {
    let ecfg = embedded_config(cfg);
    let backend =
        start_embedded(ecfg, tx).map_err(|e| format!("cannot start the embedded backend: {e}"))?;
    let label = format!(
        "embedded · state {} · model {} · ? for help",
        cfg.workspace.state_dir.display(),
        cfg.inference.base_url
    );
    Ok((backend, label))
}

pub async fn console(args: ConsoleArgs) -> Exit {
    let (cfg, mut warnings) = settings(&args);
    let theme = match Theme::load(&cfg.ui.theme, Config::themes_dir().as_deref()) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!("theme: {e} (using the dark theme)"));
            Theme::builtin(crate::console::theme::DEFAULT_THEME).unwrap_or_else(|_| Theme::plain())
        }
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let started = if cluster_selected(&args) {
        start_on_cluster(&args, &cfg, tx).await
    } else {
        start_on_state_dir(&cfg, tx)
    };
    let (backend, label) = match started {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    let mut app = App::new(theme, cfg.keymap.clone(), cfg.ui.bell, label);
    app.journals.budget = cfg.ui.transcript_budget_mb.saturating_mul(1 << 20);
    app.intake = crate::console::picker::Intake::from_config(&cfg);
    if let Some(w) = warnings.first() {
        app.say(w.clone(), crate::console::state::Level::Warn);
    }
    for f in &args.submit {
        backend.send(crate::backend::Command::Submit {
            path: f.clone(),
            replace: false,
        });
    }
    // The sandbox probe starts a throwaway sandbox (~250 ms): the console draws meanwhile.
    let mode = cfg.sandbox.mode;
    let probe = move || sandbox_notice(crate::sandbox::status(mode));
    match crate::console::run(app, backend, rx, cfg.ui.mouse, probe).await {
        Ok(()) => Exit::Ok,
        Err(e) => failed(format!("terminal: {e}")),
    }
}

/// What the console header says about the sandbox: nothing while it confines.
fn sandbox_notice(status: crate::sandbox::Status) -> Option<String> {
    use crate::sandbox::Status;
    match status {
        Status::Ready(_) => None,
        Status::Off => Some("sandbox off".into()),
        Status::Unavailable(why) => Some(format!("sandbox unavailable: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::k8s::ClusterArgs;
    use clap::Parser;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("foreman").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_sandbox_notice_is_silent_only_while_it_confines() {
        use crate::sandbox::Status;
        assert_eq!(sandbox_notice(Status::Ready("bwrap".into())), None);
        assert_eq!(sandbox_notice(Status::Off).as_deref(), Some("sandbox off"));
        assert_eq!(
            sandbox_notice(Status::Unavailable("no bwrap".into())).as_deref(),
            Some("sandbox unavailable: no bwrap")
        );
    }

    #[tokio::test]
    async fn the_header_names_the_cluster_namespace_and_node() {
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kc");
        std::fs::write(
            &kc,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: one\n  context: {cluster: a, user: u, namespace: team-a}\ncurrent-context: one\n",
        )
        .unwrap();
        let args = parse(&["--kubeconfig", kc.to_str().unwrap(), "--context", "one"]).console;
        let c = crate::k8s::connect(&ClusterArgs {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            namespace: None,
        })
        .await
        .unwrap();
        assert_eq!(
            cluster_label(&args, &c, "m5"),
            "cluster one · ns team-a · node m5 · ? for help"
        );
        // An unreachable cluster is refused before the screen is taken, saying where from.
        let Err(e) = connect_cluster(&args).await else {
            panic!("an unreachable cluster connected")
        };
        assert!(
            e.contains("cannot reach the cluster") && e.contains("kc"),
            "{e}"
        );
    }
}
