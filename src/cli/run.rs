//! `foreman run`, `push`, `validate`, `export-transcript`.

use super::printer::Printer;
use super::{PushArgs, RunArgs};
use crate::agent::transcript::{self, CONFIGMAP_CAP, Record};
use crate::api::{self, Object};
use crate::executor::{self, ExecEvent, ExecutorConfig, PendingPush, run::TokenSource};
use crate::workspace::Identity;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for bad input (manifests, flags); executor errors use 1.
pub const EXIT_INPUT: u8 = 2;

fn input_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(EXIT_INPUT)
}

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

pub fn default_workspace_root() -> PathBuf {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().join("foreman-workspaces"))
        .unwrap_or_else(|| PathBuf::from("foreman-workspaces"))
}

fn default_journal(ns: &str, task: &str) -> PathBuf {
    let base = crate::config::project_dirs()
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".foreman"));
    base.join("transcripts")
        .join(ns)
        .join(format!("{task}.jsonl"))
}

pub async fn run(args: RunArgs) -> ExitCode {
    let task = match load_one(&args.task, "AgenticTask") {
        Ok(Object::Task(t)) => t,
        Ok(o) => return input_error(format!("expected an AgenticTask, found {}", o.kind())),
        Err(e) => return input_error(e),
    };
    let agent = match load_one(&args.agent, "Agent") {
        Ok(Object::Agent(a)) => a,
        Ok(o) => return input_error(format!("expected an Agent, found {}", o.kind())),
        Err(e) => return input_error(e),
    };
    if args.commit_author_email.trim().is_empty() || !args.commit_author_email.contains('@') {
        return input_error(
            "--commit-author-email must be a real address: the DCO sign-off needs it",
        );
    }
    let ns = task
        .metadata
        .namespace
        .clone()
        .unwrap_or(args.namespace.clone());
    let name = task.metadata.name.clone().unwrap_or_default();
    let cfg = ExecutorConfig {
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
    };
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
            eprintln!("\ninterrupted: the run was stopped; its journal is at {}", cfg.journal_path.display());
            return ExitCode::from(130);
        }
    };
    match report {
        Ok(rep) => {
            match serde_json::to_string_pretty(&rep.result) {
                Ok(json) => println!("{json}"),
                Err(e) => return input_error(format!("cannot encode the Result: {e}")),
            }
            eprintln!("transcript: {}", rep.journal.display());
            if let Some(p) = rep.pending_push {
                eprintln!(
                    "GO committed {} on {} (workspace {}); push it with:\n  foreman push {}",
                    &p.sha[..p.sha.len().min(12)],
                    p.branch,
                    p.workspace.display(),
                    p.workspace.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("executor error: {e}");
            ExitCode::from(1)
        }
    }
}

pub async fn push(args: PushArgs) -> ExitCode {
    let ws = args.workspace;
    let info = match pending_from_workspace(&ws) {
        Ok(p) => p,
        Err(e) => return input_error(e),
    };
    let token = crate::workspace::resolve_token().ok();
    eprintln!(
        "pushing {} ({}) to {}",
        info.branch,
        &info.sha[..info.sha.len().min(12)],
        info.remote
    );
    match executor::push_pending(&info, token).await {
        Ok(()) => {
            println!(
                "{}",
                serde_json::json!({"pushed": true, "branch": info.branch, "commitSHA": info.sha})
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn pending_from_workspace(ws: &Path) -> Result<PendingPush, String> {
    let repo = git2::Repository::open(ws)
        .map_err(|e| format!("{}: not a git workspace: {}", ws.display(), e.message()))?;
    let head = repo
        .head()
        .map_err(|e| format!("{}: no HEAD: {}", ws.display(), e.message()))?;
    let branch = head
        .shorthand()
        .ok()
        .filter(|_| head.is_branch())
        .ok_or_else(|| format!("{}: HEAD is not on a branch", ws.display()))?
        .to_string();
    let sha = head
        .target()
        .map(|o| o.to_string())
        .ok_or_else(|| format!("{}: HEAD has no commit", ws.display()))?;
    let remote = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(crate::workspace::auth::redact_url))
        .unwrap_or_else(|| "origin".into());
    Ok(PendingPush {
        workspace: ws.to_path_buf(),
        remote,
        branch,
        sha,
    })
}

pub fn validate(files: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for f in files {
        match api::load_file(f) {
            Ok(objs) => {
                for o in objs {
                    println!("{}: {} {} ok", f.display(), o.kind(), o.name());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn export_transcript(journal: &Path, out: &Path) -> ExitCode {
    let records = match transcript::read_journal(journal) {
        Ok(r) => r,
        Err(e) => return input_error(e),
    };
    let turns = records
        .iter()
        .filter_map(|r| match r {
            Record::Turn(t) => Some(t.turn),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let e = transcript::export(&transcript::messages_of(&records), turns, CONFIGMAP_CAP);
    let write = |name: &str, body: &str| std::fs::write(out.join(name), body);
    if let Err(err) = std::fs::create_dir_all(out)
        .and_then(|()| write("transcript.json", &e.transcript_json))
        .and_then(|()| write("meta.json", &e.meta_json))
    {
        return input_error(format!("{}: {err}", out.display()));
    }
    println!("{}", e.meta_json);
    ExitCode::SUCCESS
}
