//! `foreman dispatch --repo OWNER/REPO [--label L]... [--agent NAME] [N...]`: one AgenticTask
//! per issue (the numbers given, or every open issue with the labels), titled and described
//! from GitHub, with upstream's dispatch labels and names (`dispatch-<N>-<run>`), into the
//! local state or, with a cluster flag, the cluster; `--watch` then follows them
//! (dispatch_watch.rs).

use super::ConsoleArgs;
use super::common::{Exit, cluster_selected, connect_cluster, failed, settings};
use super::dispatch_watch::Source;
use crate::api::Object;
use crate::backend::embedded::Store;
use crate::fleet::TaskKey;
use crate::github::{GitHubClient, GitHubConfig, Issue, IssueQuery};

/// How many pages of 100 open issues a label query reads at most.
const MAX_PAGES: u32 = 10;

#[derive(clap::Args, Debug, Clone)]
pub struct DispatchArgs {
    /// The repository whose issues to dispatch (`owner/name`).
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: String,
    /// Only open issues with this label (repeat for several; all must match).
    #[arg(long = "label", value_name = "L")]
    pub labels: Vec<String>,
    /// The Agent to run the tasks (any Agent matching the capability when unset).
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// Then follow the tasks: a line per outcome, a summary table at the end; exit 0 only
    /// when every task ended GO (Ctrl-C stops watching, not the tasks).
    #[arg(long)]
    pub watch: bool,
    /// Make the issues one Workload of this name (upstream's issues shortcut, the --agent as
    /// its coder) instead of loose tasks: its tasks are NAME-code-N, rolled up on the Workload.
    #[arg(long, value_name = "NAME")]
    pub workload: Option<String>,
    /// Issue numbers; without them, every open issue with the labels.
    pub issues: Vec<u64>,
}

pub async fn dispatch(args: &ConsoleArgs, d: &DispatchArgs) -> Exit {
    let Some((owner, repo)) = d
        .repo
        .split_once('/')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
    else {
        eprintln!(
            "error: --repo {:?}: expected OWNER/REPO, e.g. acme/fleet",
            d.repo
        );
        return Exit::BadInput;
    };
    let flags = super::dispatch_workload::Flags {
        workload: d.workload.as_deref(),
        repo: &d.repo,
        agent: d.agent.as_deref(),
        watch: d.watch,
    };
    if let Err(e) = super::dispatch_workload::check(args, &flags) {
        eprintln!("error: {e}");
        return Exit::BadInput;
    }
    let (cfg, _) = settings(args);
    let token = crate::workspace::resolve_token()
        .map(|t| t.expose().to_string())
        .unwrap_or_default();
    let client = match GitHubClient::new(GitHubConfig {
        api_base: cfg.github.api_base.clone(),
        token,
    }) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let issues = match fetch(&client, owner, repo, d).await {
        Ok(i) if i.is_empty() => return failed(format!("no open issues in {}", d.repo)),
        Ok(i) => i,
        Err(e) => return failed(e),
    };
    let run = crate::github::new_run_id();
    let ns = args.namespace.clone().unwrap_or_else(|| "default".into());
    if let Some(name) = flags.workload {
        let w = super::dispatch_workload::workload(&ns, name, &flags, &issues, &run);
        return super::dispatch_workload::dispatch(args, &cfg, &flags, w).await;
    }
    let mut tasks = Vec::new();
    for i in &issues {
        let name = crate::github::dispatch_task_name(i.number, &run);
        match crate::github::issue_task(&ns, &name, &d.repo, i, d.agent.as_deref(), Some(&run)) {
            Ok(t) => tasks.push(t),
            Err(e) => return failed(e),
        }
    }
    let keys: Vec<TaskKey> = tasks.iter().map(TaskKey::of).collect();
    let done = if cluster_selected(args) {
        to_cluster(args, &tasks).await
    } else {
        to_store(&cfg, tasks)
    };
    let source = match done {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("error: nothing was dispatched");
            return Exit::Failed;
        }
    };
    for i in &issues {
        println!(
            "created {} (issue #{} -> agent {})",
            crate::github::dispatch_task_name(i.number, &run),
            i.number,
            d.agent.as_deref().unwrap_or("any")
        );
    }
    println!(
        "dispatched {} task(s); list them with label {}={run}",
        issues.len(),
        crate::github::DISPATCH_RUN_LABEL
    );
    if !d.watch {
        return Exit::Ok;
    }
    let local = matches!(source, Source::Store(_));
    super::dispatch_watch::watch(source, keys, local).await
}

/// The issues named, or every open issue with the labels (pull requests left out).
async fn fetch(
    client: &GitHubClient,
    owner: &str,
    repo: &str,
    d: &DispatchArgs,
) -> Result<Vec<Issue>, crate::github::GitHubError> {
    if !d.issues.is_empty() {
        let mut out = Vec::new();
        for n in &d.issues {
            out.push(client.get_issue(owner, repo, *n).await?);
        }
        return Ok(out);
    }
    let mut q = IssueQuery::new(owner, repo);
    q.labels = d.labels.clone();
    q.per_page = 100;
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = client.list_issues(&q).await?;
        out.extend(page.issues);
        match page.next_page {
            Some(n) if n > q.page => q.page = n,
            _ => break,
        }
    }
    Ok(out)
}

/// Into the local state, all tasks in one transaction (a running console picks them up).
fn to_store(
    cfg: &crate::config::Config,
    tasks: Vec<crate::api::AgenticTask>,
) -> Result<Source, String> {
    let (mut store, warnings) = Store::open(&cfg.workspace.state_dir).map_err(|e| e.to_string())?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let objects = tasks
        .into_iter()
        .map(|t| Object::Task(Box::new(t)))
        .collect();
    store.submit(objects, false).map_err(|e| e.to_string())?;
    Ok(Source::Store(Box::new(store)))
}

/// Into the cluster, through the same path as `foreman submit` (one manifest per task; JSON
/// is YAML).
async fn to_cluster(
    args: &ConsoleArgs,
    tasks: &[crate::api::AgenticTask],
) -> Result<Source, String> {
    let cluster = connect_cluster(args).await?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    for t in tasks {
        let name = t.metadata.name.clone().unwrap_or_default();
        let path = dir.path().join(format!("{name}.yaml"));
        let json = serde_json::to_string(t).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
        crate::backend::cluster::submit_file(&cluster, &path).await?;
    }
    let ns = tasks
        .first()
        .and_then(|t| t.metadata.namespace.clone())
        .unwrap_or_else(|| cluster.namespace.clone());
    Ok(Source::Cluster(Box::new(kube::Api::namespaced(
        cluster.client.clone(),
        &ns,
    ))))
}
