//! Command line (clap). `run` is the headless executor; the console and cluster commands
//! build on the same library.

pub mod agent;
pub mod console;
pub mod doctor;
pub mod printer;
pub mod run;
pub mod scheduler;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
    /// Inference base URL including /v1.
    #[arg(long = "inference-url", global = true)]
    pub base_url: Option<String>,
    /// Clone and push URL for tasks.
    #[arg(long = "remote", global = true)]
    pub git_remote_url: Option<String>,
    /// Author/committer email for the DCO sign-off.
    #[arg(long = "author-email", global = true)]
    pub commit_author_email: Option<String>,
    /// Runs at once on this machine.
    #[arg(long, global = true)]
    pub max_concurrent: Option<usize>,
    /// Push right after a GO commit instead of waiting for approval (upstream behaviour).
    #[arg(long, global = true)]
    pub auto_push: bool,
    /// Theme name (dark, light, high-contrast) or path to a theme file.
    #[arg(long, global = true)]
    pub theme: Option<String>,
    /// GitHub API base (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, global = true)]
    pub github_api_base: Option<String>,
    /// Manifests to submit when the console starts.
    #[arg(long, global = true)]
    pub submit: Vec<PathBuf>,
    // Cluster flags: not global, so they never clash with a subcommand's own flags
    // (`foreman run --namespace`); give them before any subcommand.
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
    /// Endpoints (upstream's --inference-base-url-host-override).
    #[arg(long, value_name = "HOST")]
    pub inference_host_override: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one AgenticTask headless: live transcript on stderr, Result envelope JSON on stdout.
    Run(RunArgs),
    /// Push a committed GO that `foreman run` left awaiting approval.
    Push(PushArgs),
    /// Add Agents and AgenticTasks to the local state directory (the console picks them up).
    Submit {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
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
    Agent(Box<agent::AgentArgs>),
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
    Scheduler(scheduler::SchedulerArgs),
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
        long,
        env = "FOREMAN_INFERENCE_BASE_URL",
        default_value = "http://127.0.0.1:8080/v1"
    )]
    pub base_url: String,
    /// Clone and push URL of the repository (the fork).
    #[arg(long, env = "FOREMAN_GIT_REMOTE_URL")]
    pub git_remote_url: Option<String>,
    /// Root of per-task clones [default: ~/foreman-workspaces].
    #[arg(long, env = "FOREMAN_WORKSPACE_DIR")]
    pub workspace_dir: Option<PathBuf>,
    /// Keep the clone after the run.
    #[arg(long)]
    pub keep_workspace: bool,
    #[arg(long, env = "FOREMAN_GIT_AUTHOR_NAME", default_value = "Foreman Bot")]
    pub commit_author_name: String,
    /// Required: the DCO sign-off needs a real address.
    #[arg(long, env = "FOREMAN_GIT_AUTHOR_EMAIL")]
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
}

#[derive(Args, Debug, Clone)]
pub struct PushArgs {
    /// The kept workspace of a GO run.
    pub workspace: PathBuf,
}
