//! Command line: the clap types of every subcommand (one file each holds what it does), and
//! the Go-style flag rewriting in front of them. `run` is the headless executor; the console
//! and the cluster commands build on the same library.

// Subcommands own stdout (results) and stderr (progress, errors); the rest of the library
// must not print (Cargo.toml [lints]).
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// `println!` that never panics: on a closed stdout (`foreman doctor | head -1`) the process
/// exits quietly, as `cat` does ([`common::write_out`]).
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::common::write_out(format_args!("{}\n", format_args!($($t)*))) };
}
/// `print!` likewise.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::common::write_out(format_args!($($t)*)) };
}
/// `eprintln!` that never panics: a closed stderr loses the message, the work goes on.
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::common::write_err(format_args!("{}\n", format_args!($($t)*))) };
}

pub mod agent;
pub mod common;
pub mod completions;
pub mod console;
pub mod crds;
pub mod delete;
pub mod dispatch;
pub mod dispatch_watch;
pub mod dispatch_workload;
pub mod doctor;
pub mod export;
pub mod get;
pub mod goflags;
pub mod printer;
pub mod push;
pub mod review;
mod review_cluster;
pub mod run;
pub mod scheduler;
pub mod service;
pub mod submit;
pub mod validate;
#[cfg(test)]
mod vocabulary;

use crate::k8s::scheduler::{LabelSelector, SelectorError};
use clap::{Args, CommandFactory, Parser, Subcommand};
use common::{parse_go_duration, parse_whole_duration};
use goflags::parse_go_bool;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "foreman",
    version,
    about = "Operator console and executor for local-LLM coding agents (LLMKube Foreman compatible)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Console settings (also read by `submit` for the state directory).
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// Flags of the console (`foreman` with no subcommand). Each overrides the config file
/// (`~/.config/foreman/config.toml`, documented in config/default.toml) and the environment.
#[derive(Args, Debug, Clone, Default)]
pub struct ConsoleArgs {
    /// Local state directory (tasks, agents, results, transcripts, workspaces).
    #[arg(long, global = true, env = "FOREMAN_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    // Not global (given before a subcommand, `foreman --remote URL doctor`), so a
    // subcommand's help lists only its own flags and `run` may spell the same setting the
    // same way ([`vocabulary`]).
    /// Inference base URL including /v1.
    #[arg(
        long = "inference-base-url",
        aliases = ["inference-url", "base-url", "inference-base-url-override"],
        value_name = "URL"
    )]
    pub base_url: Option<String>,
    /// Clone and push URL for tasks.
    #[arg(long = "git-remote-url", alias = "remote", value_name = "URL")]
    pub git_remote_url: Option<String>,
    /// Author/committer email for the DCO sign-off.
    #[arg(
        long = "commit-author-email",
        alias = "author-email",
        value_name = "ADDR"
    )]
    pub commit_author_email: Option<String>,
    /// Runs at once on this machine.
    #[arg(long)]
    pub max_concurrent: Option<usize>,
    /// Push right after a GO commit instead of waiting for approval (upstream behaviour).
    #[arg(long)]
    pub auto_push: bool,
    /// Theme name (dark, light, high-contrast) or path to a theme file.
    #[arg(long)]
    pub theme: Option<String>,
    /// GitHub API base (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long)]
    pub github_api_base: Option<String>,
    /// Manifests to submit when the console starts.
    #[arg(long)]
    pub submit: Vec<PathBuf>,
    // Cluster flags: give them before any subcommand too.
    /// Open the console on a Kubernetes cluster instead of the local state directory
    /// (kubectl's lookup: --kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config). Implied by
    /// --kubeconfig, --context, --namespace and --all-namespaces.
    #[arg(long)]
    pub cluster: bool,
    /// Kubeconfig file of the cluster.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of the tasks and agents to show [default: the context's, else default].
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Show the tasks and agents of every namespace.
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// On a cluster: only watch; do not register this machine as a FleetNode or run tasks.
    #[arg(long)]
    pub no_worker: bool,
    /// On a cluster: also schedule Pending tasks onto fleet nodes (clusters without LLMKube's
    /// operator; see `foreman scheduler`).
    #[arg(long)]
    pub scheduler: bool,
    /// On a cluster: host for the Agents' InferenceService URLs, the port read live from its
    /// Endpoints (upstream's --inference-base-url-host-override, also accepted).
    #[arg(long, alias = "inference-base-url-host-override", value_name = "HOST")]
    pub inference_host_override: Option<String>,
    /// Run the model's commands and the commit hooks unconfined (the sandbox's mode "off";
    /// the console header then says "sandbox off"). Only for machines without user
    /// namespaces, and only with a model you trust.
    #[arg(long, global = true)]
    pub no_sandbox: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one AgenticTask headless: live transcript on stderr, Result envelope JSON on stdout.
    Run(RunArgs),
    /// Push a committed GO that `foreman run` left awaiting approval.
    Push(PushArgs),
    /// Add Agents and AgenticTasks to the local state, all files at once or none (a running
    /// console shows them within 1 s).
    Submit {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Replace objects whose name exists (a task a run holds is never replaced) instead of
        /// refusing them.
        #[arg(long)]
        replace: bool,
    },
    /// One AgenticTask per GitHub issue (the numbers given, or every open issue with the
    /// labels), with the title and body as the prompt, locally or on a cluster.
    Dispatch(dispatch::DispatchArgs),
    /// Check each dependency (model server and tool calls, git remote with the token, token,
    /// state dir) and say how to fix what fails.
    Doctor,
    /// Check manifests strictly (unknown fields, ranges, enums) without running anything.
    Validate {
        /// YAML files (multi-document allowed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the four CRD manifests as YAML for `kubectl apply -f -` (Kubernetes 1.20+).
    Crds,
    /// Headless cluster agent (drop-in for upstream foreman-agent): registers this machine's
    /// FleetNode, heartbeats, claims the tasks scheduled to it and runs them.
    Agent(Box<AgentCommand>),
    /// Export a run's JSONL journal as upstream's transcript.json + meta.json (1 MiB cut rule).
    ExportTranscript {
        /// The journal written by `foreman run`.
        journal: PathBuf,
        /// Directory to write transcript.json and meta.json into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Place Pending AgenticTasks on FleetNodes and mark silent nodes NotReady, for clusters
    /// without LLMKube's operator (watches the cluster; `--once` for one round).
    Scheduler(SchedulerArgs),
    /// Show tasks, agents, workloads or nodes of the local state as kubectl does (a table, or
    /// the full objects with -o yaml|json).
    Get {
        resource: get::Resource,
        /// One object: NAME or NAMESPACE/NAME.
        name: Option<String>,
        /// table (default), wide, yaml or json.
        #[arg(long, short = 'o', value_enum, default_value_t = get::Output::Table, hide_default_value = true)]
        output: get::Output,
    },
    /// Print a shell completion script (e.g. `foreman completions bash`); see the README.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `foreman man > foreman.1`, `foreman man run`, or every page
    /// with `foreman man --dir ~/.local/share/man/man1`.
    Man {
        /// A subcommand whose page to print (e.g. `run`, `agent`); the top-level page if none.
        command: Option<String>,
        /// Write foreman.1 and one foreman-SUBCOMMAND.1 per subcommand into this directory.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<std::path::PathBuf>,
    },
    /// Request changes on a GO awaiting approval: the next attempt resumes the conversation
    /// with the feedback and commits on top (as `c` in the console; on a cluster the node
    /// that ran the task runs it).
    Review(review::ReviewArgs),
    /// Send a note to a running task of this machine: a user message before its next turn
    /// (as `m` in the console).
    Note(review::NoteArgs),
    /// Delete tasks from the local state (their journals and workspaces stay on disk).
    Delete {
        resource: delete::Deletable,
        /// NAME or NAMESPACE/NAME.
        #[arg(required = true)]
        names: Vec<String>,
        /// Also delete a task that still shows a run (its process is gone).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// AgenticTask manifest.
    #[arg(long)]
    pub task: PathBuf,
    /// Agent manifest.
    #[arg(long)]
    pub agent: PathBuf,
    /// OpenAI-compatible base URL including /v1 (llama.cpp's llama-server listens on :8080).
    #[arg(
        long = "inference-base-url",
        aliases = ["base-url", "inference-url", "inference-base-url-override"],
        env = "FOREMAN_INFERENCE_BASE_URL",
        default_value = "http://127.0.0.1:8080/v1",
        value_name = "URL"
    )]
    pub base_url: String,
    /// Clone and push URL of the repository (the fork).
    #[arg(
        long,
        alias = "remote",
        env = "FOREMAN_GIT_REMOTE_URL",
        value_name = "URL"
    )]
    pub git_remote_url: Option<String>,
    /// Root of per-task clones [default: ~/foreman-workspaces].
    #[arg(long, env = "FOREMAN_WORKSPACE_DIR")]
    pub workspace_dir: Option<PathBuf>,
    /// Keep the clone after the run.
    #[arg(long)]
    pub keep_workspace: bool,
    #[arg(
        long,
        alias = "author-name",
        env = "FOREMAN_GIT_AUTHOR_NAME",
        default_value = "Foreman Bot"
    )]
    pub commit_author_name: String,
    /// Required: the DCO sign-off needs a real address.
    #[arg(
        long,
        alias = "author-email",
        env = "FOREMAN_GIT_AUTHOR_EMAIL",
        value_name = "ADDR"
    )]
    pub commit_author_email: String,
    /// Push right after a GO commit (upstream behaviour). Without it the run ends awaiting
    /// approval and `foreman push` pushes later.
    #[arg(long)]
    pub push: bool,
    /// Where to write the JSONL transcript [default: the data dir's transcripts/<ns>/<task>.jsonl].
    #[arg(long)]
    pub transcript: Option<PathBuf>,
    /// Namespace used in workspace paths when the task has none.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Only print the Result (no live transcript).
    #[arg(long, short)]
    pub quiet: bool,
    /// The global `--no-sandbox` (set by [`parse`]).
    #[arg(skip)]
    pub no_sandbox: bool,
}

#[derive(Args, Debug, Clone)]
pub struct PushArgs {
    /// The kept workspace of a GO run.
    pub workspace: PathBuf,
}

/// `foreman agent [FLAGS]`, or one of its service subcommands.
#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentCommand {
    #[command(subcommand)]
    pub service: Option<ServiceCommand>,
    #[command(flatten)]
    pub args: AgentArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ServiceCommand {
    /// Run `foreman agent FLAGS` as a user service (launchd on macOS, systemd on Linux).
    ///
    /// Started at login and restarted on every exit: a launchd LaunchAgent on macOS (log
    /// ~/Library/Logs/foreman-agent.log), a systemd user unit on Linux (journalctl --user -u
    /// foreman-agent). The token is not copied: the agent reads ~/.config/foreman/github-token.
    InstallService(InstallServiceArgs),
    /// Stop the service install-service made and remove its file.
    UninstallService,
}

#[derive(Args, Debug, Clone)]
pub struct InstallServiceArgs {
    /// Print the plist or unit instead of installing it.
    #[arg(long)]
    pub print: bool,
    /// The `foreman agent` flags the service runs with (e.g. --git-remote-url URL
    /// --commit-author-email ADDR), checked now as the agent checks them.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "AGENT_FLAGS"
    )]
    pub flags: Vec<String>,
}

// Flags of `foreman agent`, upstream's name for the worker daemon (plain comments: a doc
// comment here would be clap help text).
#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// Kubeconfig (else $KUBECONFIG, in-cluster, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub kube_context: Option<String>,
    /// FleetNode name [default: the sanitized hostname].
    #[arg(long, env = "FLEET_NODE_NAME")]
    pub fleet_node_name: Option<String>,
    /// Advertised in spec.tailscaleAddr.
    #[arg(long)]
    pub tailscale_addr: Option<String>,
    /// Per-task clone root [default: ~/foreman-workspaces].
    #[arg(long)]
    pub workspace_dir: Option<PathBuf>,
    /// Comma-separated roles (spec.roles).
    #[arg(long, default_value = "worker")]
    pub roles: String,
    /// metal, cuda, vulkan or none [default: detected].
    #[arg(long)]
    pub accelerator: Option<String>,
    /// Comma-separated model names.
    #[arg(long, default_value = "")]
    pub installed_models: String,
    /// Comma-separated k=v labels on the FleetNode (for nodeSelector).
    #[arg(long, default_value = "")]
    pub node_labels: String,
    #[arg(long, default_value = "30s", value_parser = parse_go_duration)]
    pub heartbeat_interval: Duration,
    /// Rescan period of the task watch cache (claims are driven by the watch itself).
    #[arg(long, default_value = "5s", value_parser = parse_go_duration)]
    pub task_poll_interval: Duration,
    /// Namespace of the tasks to run; empty = all namespaces (what upstream's chart documents).
    #[arg(long, default_value = "default")]
    pub task_namespace: String,
    #[arg(long, default_value = "10s", value_parser = parse_go_duration)]
    pub stub_sleep: Duration,
    #[arg(long, default_value_t = 0)]
    pub max_context_tokens: i64,
    #[arg(long, default_value_t = 0)]
    pub tokens_per_second: i64,
    /// RAM to advertise; 0 = read from the OS.
    #[arg(long, default_value_t = 0)]
    pub total_ram_gb: i64,
    /// native or stub.
    #[arg(long, default_value = "native")]
    pub agent_mode: String,
    /// Clone and push URL (the fork); unset, tasks that clone fail (GitRemoteNotConfigured).
    #[arg(
        long,
        alias = "remote",
        env = "FOREMAN_GIT_REMOTE_URL",
        value_name = "URL"
    )]
    pub git_remote_url: Option<String>,
    /// Full inference base URL including /v1 (skips the InferenceService lookup).
    #[arg(
        long = "inference-base-url",
        visible_alias = "inference-base-url-override",
        aliases = ["inference-url", "base-url"],
        value_name = "URL"
    )]
    pub inference_base_url_override: Option<String>,
    /// Host to put in the InferenceService URL; the port is read live from its Endpoints.
    #[arg(long)]
    pub inference_base_url_host_override: Option<String>,
    #[arg(long, alias = "author-name", default_value = "Foreman Bot")]
    pub commit_author_name: String,
    /// Author address for the DCO sign-off; unset, tasks that commit fail (upstream warns too).
    #[arg(
        long,
        alias = "author-email",
        env = "FOREMAN_GIT_AUTHOR_EMAIL",
        value_name = "ADDR"
    )]
    pub commit_author_email: Option<String>,
    /// Upstream HEAD: committer name; only the author's name is supported (the default).
    #[arg(long)]
    pub commit_committer_name: Option<String>,
    /// Upstream HEAD: committer address; only the author's is supported (the default).
    #[arg(long)]
    pub commit_committer_email: Option<String>,
    /// Keep each task's clone after its run.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = parse_go_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub keep_workspace: bool,
    /// Extension: do not push after a GO commit; the console's operator approves the push.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = parse_go_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub await_approval: bool,
    /// Print the live transcript of each run on stderr.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = parse_go_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub follow: bool,
    /// Accepted for compatibility; unused (as upstream).
    #[arg(long, hide = true)]
    pub opencode_bin: Option<String>,
    /// Accepted for compatibility; gate Jobs are not run by this agent.
    #[arg(long, hide = true)]
    pub foreman_namespace: Option<String>,
    /// Upstream HEAD, for its gate and coder Jobs: accepted, unused (no Jobs are run here).
    #[arg(long, hide = true, default_value = "")]
    pub gate_cache_pvc: String,
    #[arg(long, hide = true, default_value = "foreman-git-credentials")]
    pub coder_git_secret: String,
    #[arg(long, hide = true, default_value = "token")]
    pub coder_git_secret_key: String,
    /// Upstream HEAD's self-update from FleetNode status.updateRequest: accepted, never done.
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub self_update: bool,
    #[arg(long, hide = true)]
    pub install_root: Option<PathBuf>,
    /// controller-runtime logging flags: accepted and ignored (use RUST_LOG).
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub zap_devel: Option<String>,
    #[arg(long, hide = true)]
    pub zap_encoder: Option<String>,
    #[arg(long, hide = true)]
    pub zap_log_level: Option<String>,
    #[arg(long, hide = true)]
    pub zap_stacktrace_level: Option<String>,
    #[arg(long, hide = true)]
    pub zap_time_encoding: Option<String>,
    /// The global `--no-sandbox` (set by [`parse`]).
    #[arg(skip)]
    pub no_sandbox: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// Kubeconfig file [default: $KUBECONFIG, in-cluster service account, ~/.kube/config].
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig [default: its current context].
    #[arg(long = "kube-context")]
    pub kube_context: Option<String>,
    /// Namespace of the AgenticTasks (and their Agents) to schedule; empty = all namespaces.
    #[arg(
        long = "task-namespace",
        visible_alias = "namespace",
        default_value = ""
    )]
    pub task_namespace: String,
    /// Only place tasks on, and only mark stale, FleetNodes with these labels (k=v,k!=v,k,!k).
    #[arg(long, default_value = "", value_parser = parse_selector)]
    pub node_selector: LabelSelector,
    /// Only act on AgenticTasks with these labels (dependencies still resolve against all).
    #[arg(long, default_value = "", value_parser = parse_selector)]
    pub task_selector: LabelSelector,
    /// Never mark FleetNodes NotReady (leave heartbeat staleness to someone else).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = parse_go_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub no_stale_marking: bool,
    /// Pass at least this often without events (heartbeat staleness, re-checks): 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_whole_duration)]
    pub resync: Duration,
    /// Schedule what can be scheduled now, then exit (for scripts).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = parse_go_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub once: bool,
    /// Also fan Workloads out into AgenticTasks and roll their status up (off: LLMKube's
    /// operator does that where it runs, and the two would fight).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = parse_go_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub fan_out_workloads: bool,
    /// The coordination.k8s.io Lease replicas elect a leader through (in --task-namespace, or
    /// default); only its holder places tasks.
    #[arg(long, default_value = crate::k8s::lease::DEFAULT_NAME)]
    pub lease_name: String,
    /// How long a leader's claim lasts without renewal (whole seconds, at least 1s).
    #[arg(long, default_value = "15s", value_parser = parse_lease_duration)]
    pub lease_duration: Duration,
}

/// A Lease's `leaseDurationSeconds`: whole seconds, 1s to 1h.
fn parse_lease_duration(s: &str) -> Result<Duration, String> {
    let d = common::parse_whole_duration(s)?;
    if d.subsec_nanos() != 0 || d < Duration::from_secs(1) || d > Duration::from_secs(3600) {
        return Err(format!(
            "invalid lease duration {s:?}: whole seconds from 1s to 1h"
        ));
    }
    Ok(d)
}

/// `k=v,k!=v,k,!k` (Kubernetes' equality-based selector syntax).
fn parse_selector(s: &str) -> Result<LabelSelector, String> {
    s.parse().map_err(|e: SelectorError| e.to_string())
}

/// `foreman agent` parsed on its own, so its help lists only its flags (the console's are
/// global on [`Cli`]) and its Go spellings are rewritten against its own flag list.
#[derive(Parser, Debug)]
#[command(
    name = "foreman agent",
    bin_name = "foreman agent",
    version,
    about = "Headless cluster agent (drop-in for upstream foreman-agent): registers this machine's FleetNode, heartbeats, claims the tasks scheduled to it and runs them",
    args_conflicts_with_subcommands = true
)]
pub struct AgentOnly {
    #[command(subcommand)]
    pub service: Option<ServiceCommand>,
    #[command(flatten)]
    pub args: AgentArgs,
}

/// `foreman scheduler` parsed on its own, like [`AgentOnly`].
#[derive(Parser, Debug)]
#[command(
    name = "foreman scheduler",
    bin_name = "foreman scheduler",
    version,
    about = "Place Pending AgenticTasks on FleetNodes and mark silent nodes NotReady, for clusters without LLMKube's operator (watches the cluster; `--once` for one round)"
)]
pub struct SchedulerOnly {
    #[command(flatten)]
    pub args: SchedulerArgs,
}

/// The command line of this process.
pub fn parse() -> Cli {
    parse_from(std::env::args_os().collect())
}

/// `argv` parsed; `foreman agent` and `foreman scheduler` take Go spellings
/// ([`goflags`]) and show only their own flags.
pub fn parse_from(argv: Vec<OsString>) -> Cli {
    let daemon = |cmd: Command| Cli {
        command: Some(cmd),
        console: ConsoleArgs::default(),
    };
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("agent") => {
            let rest = goflags::normalize(&AgentOnly::command(), argv[1..].to_vec());
            let AgentOnly { service, args } = AgentOnly::parse_from(rest);
            daemon(Command::Agent(Box::new(AgentCommand { service, args })))
        }
        Some("scheduler") => {
            let rest = goflags::normalize(&SchedulerOnly::command(), argv[1..].to_vec());
            daemon(Command::Scheduler(SchedulerOnly::parse_from(rest).args))
        }
        _ => with_global_flags(Cli::parse_from(argv)),
    }
}

/// Hands the global `--no-sandbox` (parsed into the console's flags) to the subcommands that
/// run tasks, so each reads it from its own arguments.
pub fn with_global_flags(mut cli: Cli) -> Cli {
    let off = cli.console.no_sandbox;
    match &mut cli.command {
        Some(Command::Run(a)) => a.no_sandbox |= off,
        Some(Command::Agent(a)) => a.args.no_sandbox |= off,
        _ => {}
    }
    cli
}
