//! `foreman dispatch --workload NAME`: the dispatched issues become one Workload (upstream's
//! issues shortcut, the `--agent` as its coder) instead of loose tasks. Into the local state
//! the Workload is fanned out at once (the embedded backend's own fan-out), so its tasks exist
//! before the command returns; on a cluster the Workload is created and its tasks come from
//! whoever fans Workloads out there (`foreman scheduler --fan-out-workloads`, or LLMKube's
//! operator).

use super::ConsoleArgs;
use super::common::{Exit, cluster_selected, connect_cluster, failed};
use super::dispatch_watch::Source;
use crate::api::{Object, Workload, WorkloadSpec};
use crate::backend::embedded::Store;
use crate::fleet::TaskKey;
use crate::github::Issue;

/// The flags of one dispatch that this file reads.
pub struct Flags<'a> {
    pub workload: Option<&'a str>,
    pub repo: &'a str,
    pub agent: Option<&'a str>,
    pub watch: bool,
}

/// The flags make sense together: a coder for the Workload, a valid name.
pub fn check(args: &ConsoleArgs, d: &Flags) -> Result<(), String> {
    let Some(name) = d.workload else {
        return Ok(());
    };
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        return Err(format!(
            "--workload {name:?}: a Workload name is lower-case letters, digits and '-' (at most 63)"
        ));
    }
    if d.agent.is_none_or(str::is_empty) {
        return Err("--workload needs --agent NAME: the Agent that fixes each issue (the Workload's coderAgentRef)".into());
    }
    if d.watch && cluster_selected(args) {
        return Err("--watch with --workload follows the local state only: on a cluster, watch with `kubectl get workload NAME -w`".into());
    }
    Ok(())
}

/// The Workload of the dispatched issues, labelled with the dispatch run.
pub fn workload(ns: &str, name: &str, d: &Flags, issues: &[Issue], run: &str) -> Workload {
    let numbers: Vec<i32> = issues.iter().map(|i| i.number as i32).collect();
    let list: Vec<String> = numbers.iter().map(|n| format!("#{n}")).collect();
    let spec: WorkloadSpec = serde_json::from_value(serde_json::json!({
        "intent": format!("fix issues {} of {}", list.join(", "), d.repo),
        "repo": d.repo,
        "issues": numbers,
        "coderAgentRef": {"name": d.agent.unwrap_or_default()},
    }))
    .expect("the fields of a WorkloadSpec");
    let mut w = Workload::new(name, spec);
    w.metadata.namespace = Some(ns.to_string());
    w.metadata.labels = Some(
        [(
            crate::github::DISPATCH_RUN_LABEL.to_string(),
            run.to_string(),
        )]
        .into(),
    );
    w
}

pub async fn dispatch(
    args: &ConsoleArgs,
    cfg: &crate::config::Config,
    d: &Flags<'_>,
    w: Workload,
) -> Exit {
    let name = w.metadata.name.clone().unwrap_or_default();
    let keys: Vec<TaskKey> = match crate::fleet::workload::plan(&w) {
        Ok(p) => p.tasks.iter().map(TaskKey::of).collect(),
        Err(e) => return failed(format!("workload {name} cannot be planned: {e}")),
    };
    let done = if cluster_selected(args) {
        to_cluster(args, &w).await
    } else {
        to_store(cfg, w)
    };
    let source = match done {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("error: nothing was dispatched");
            return Exit::Failed;
        }
    };
    let names: Vec<String> = keys.iter().map(|k| k.name.clone()).collect();
    println!(
        "created workload {name} ({} issue(s) -> agent {}): tasks {}",
        keys.len(),
        d.agent.unwrap_or_default(),
        names.join(", ")
    );
    if matches!(source, Source::Cluster(_)) {
        println!(
            "its tasks are created by whoever fans Workloads out on this cluster (`foreman scheduler --fan-out-workloads`, or LLMKube's operator)"
        );
    }
    if !d.watch {
        return Exit::Ok;
    }
    super::dispatch_watch::watch(source, keys, true).await
}

/// Into the local state, then fanned out at once (the console would on its next pass).
fn to_store(cfg: &crate::config::Config, w: Workload) -> Result<Source, String> {
    let (mut store, warnings) = Store::open(&cfg.workspace.state_dir).map_err(|e| e.to_string())?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    store
        .submit(vec![Object::Workload(Box::new(w))], false)
        .map_err(|e| e.to_string())?;
    let done = crate::backend::embedded::fanout::fan_out(&mut store);
    for e in &done.errors {
        eprintln!("warning: {e}");
    }
    Ok(Source::Store(Box::new(store)))
}

/// Into the cluster, through the same path as `foreman submit` (JSON is YAML).
async fn to_cluster(args: &ConsoleArgs, w: &Workload) -> Result<Source, String> {
    let cluster = connect_cluster(args).await?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let path = dir.path().join("workload.yaml");
    let json = serde_json::to_string(w).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::backend::cluster::submit_file(&cluster, &path).await?;
    let ns = w
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.namespace.clone());
    Ok(Source::Cluster(Box::new(kube::Api::namespaced(
        cluster.client.clone(),
        &ns,
    ))))
}
