//! `foreman run`: one AgenticTask headless. The live transcript goes to stderr, the Result
//! envelope JSON to stdout; a GO that is not pushed yet says how to push it.

use super::RunArgs;
use super::common::{Exit, bad_input, default_workspace_root};
use super::printer::Printer;
use crate::api::{self, Agent, AgenticTask, Object};
use crate::executor::{self, ExecEvent, ExecutorConfig, RunReport, run::TokenSource};
use crate::workspace::Identity;
use std::path::{Path, PathBuf};

/// Loads exactly one object of the wanted kind from a file.
fn load_one(path: &Path, kind: &str) -> Result<Object, String> {
    let objs = api::load_file(path).map_err(|e| e.to_string())?;
    let mut of_kind: Vec<Object> = objs.into_iter().filter(|o| o.kind() == kind).collect();
    match of_kind.len() {
        1 => Ok(of_kind.remove(0)),
        0 => Err(format!("{}: no {kind} in this file", path.display())),
        n => Err(format!(
            "{}: {n} {kind} manifests; pass a file with exactly one",
            path.display()
        )),
    }
}

fn default_journal(ns: &str, task: &str) -> PathBuf {
    let base = crate::config::project_dirs()
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".foreman"));
    base.join("transcripts")
        .join(ns)
        .join(format!("{task}.jsonl"))
}

pub async fn run(args: RunArgs) -> Exit {
    let (task, mut agent) = match manifests(&args) {
        Ok(m) => m,
        Err(exit) => return exit,
    };
    let settings = super::common::run_settings(args.no_sandbox);
    settings.agent_defaults.apply_to(&mut agent);
    let mut cfg = executor_config(&args, &task, settings.sandbox);
    cfg.github_api_base = Some(settings.github_api_base);
    let mut printer = Printer::new();
    let quiet = args.quiet;
    let mut sink = |ev: ExecEvent| {
        if !quiet {
            printer.handle(&ev)
        }
    };
    let run = executor::execute(&task, &agent, &cfg, &mut sink);
    let report = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => {
            errln!("\ninterrupted: the run was stopped; its journal is at {}", cfg.journal_path.display());
            return Exit::Interrupted;
        }
    };
    match report {
        Ok(rep) => print_report(rep),
        Err(e) => {
            // The error can quote the server's body or the model's words: no control
            // sequence of theirs reaches the terminal.
            errln!(
                "executor error: {}",
                crate::oai::terminal_safe(&e.to_string())
            );
            Exit::Failed
        }
    }
}

/// The task and the agent of the run, and a usable author address, or why not (said on
/// stderr).
fn manifests(args: &RunArgs) -> Result<(Box<AgenticTask>, Box<Agent>), Exit> {
    let task = match load_one(&args.task, "AgenticTask") {
        Ok(Object::Task(t)) => t,
        Ok(o) => {
            return Err(bad_input(format!(
                "expected an AgenticTask, found {}",
                o.kind()
            )));
        }
        Err(e) => return Err(bad_input(e)),
    };
    let agent = match load_one(&args.agent, "Agent") {
        Ok(Object::Agent(a)) => a,
        Ok(o) => return Err(bad_input(format!("expected an Agent, found {}", o.kind()))),
        Err(e) => return Err(bad_input(e)),
    };
    if args.commit_author_email.trim().is_empty() || !args.commit_author_email.contains('@') {
        return Err(bad_input(
            "--commit-author-email must be a real address: the DCO sign-off needs it",
        ));
    }
    Ok((task, agent))
}

/// What the executor needs for this run, from the flags and the task.
fn executor_config(
    args: &RunArgs,
    task: &AgenticTask,
    sandbox: crate::sandbox::Settings,
) -> ExecutorConfig {
    let ns = task
        .metadata
        .namespace
        .clone()
        .unwrap_or(args.namespace.clone());
    let name = task.metadata.name.clone().unwrap_or_default();
    ExecutorConfig {
        base_url: args.base_url.trim_end_matches('/').to_string(),
        git_remote_url: args.git_remote_url.clone(),
        workspace_root: args
            .workspace_dir
            .clone()
            .unwrap_or_else(default_workspace_root),
        namespace: ns.clone(),
        keep_workspace: args.keep_workspace,
        identity: Identity {
            name: args.commit_author_name.clone(),
            email: args.commit_author_email.clone(),
        },
        push_now: args.push,
        journal_path: args
            .transcript
            .clone()
            .unwrap_or_else(|| default_journal(&ns, &name)),
        token: TokenSource::Lookup,
        sandbox,
        provider_key: Default::default(),
        github_api_base: None,
    }
}

/// The Result on stdout; the transcript's path and, for a GO not pushed yet, how to push it
/// on stderr.
fn print_report(rep: RunReport) -> Exit {
    match serde_json::to_string_pretty(&rep.result) {
        Ok(json) => outln!("{json}"),
        Err(e) => return bad_input(format!("cannot encode the Result: {e}")),
    }
    errln!("transcript: {}", rep.journal.display());
    if let Some(p) = rep.pending_push {
        errln!(
            "GO committed {} on {} (workspace {}); push it with:\n  foreman push {}",
            &p.sha[..p.sha.len().min(12)],
            p.branch,
            p.workspace.display(),
            p.workspace.display()
        );
    }
    Exit::Ok
}
