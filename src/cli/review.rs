//! `foreman review TASK --request-changes FILE` and `foreman note TASK TEXT`: the console's
//! request changes (`c`) and steering note (`m`) for scripts, on the local state (a review on
//! a cluster is `review_cluster`; a note there stays refused). A review
//! runs the next attempt in this process as the console would ([`revise::prepare`], the same
//! executor settings), printing its transcript on stderr and its outcome on stdout. A note
//! waits in the state for the process running the task (a console, or a `foreman review`),
//! which hands it to the model before its next turn.

use super::common::{Exit, bad_input, cluster_selected, failed, settings};
use super::printer::Printer;
use super::{ConsoleArgs, console::embedded_config};
use crate::agent::Inbox;
use crate::backend::embedded::{Store, StoreError, revise};
use crate::executor::terminal::{Terminal, apply_terminal, envelope_of};
use crate::executor::{ExecEvent, RunReport};
use crate::fleet::TaskKey;
use crate::fleet::reasons::REASON_INTERRUPTED;
use crate::fleet::status::fail_with;
use crate::oai::terminal_safe;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct ReviewArgs {
    /// The task awaiting approval: NAME or NAMESPACE/NAME.
    pub task: String,
    /// The operator's feedback, from this file (`-`: standard input). Lines
    /// `path:LINE: comment` are comments on lines of the change.
    #[arg(long, value_name = "FILE")]
    pub request_changes: PathBuf,
    /// Only print the outcome (no live transcript).
    #[arg(long, short)]
    pub quiet: bool,
    /// On a cluster: write the request and return, without waiting for the node that ran
    /// the task to carry it out.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct NoteArgs {
    /// The running task: NAME or NAMESPACE/NAME.
    pub task: String,
    /// The note, as a user message before the model's next turn.
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    pub text: Vec<String>,
}

fn key_of(name: &str) -> TaskKey {
    match name.split_once('/') {
        Some((ns, n)) => TaskKey::new(ns, n),
        None => TaskKey::new("default", name),
    }
}

fn open_store(args: &ConsoleArgs, what: &str) -> Result<(Store, crate::config::Config), Exit> {
    if cluster_selected(args) {
        return Err(bad_input(format!(
            "foreman {what} acts on the local state; on a cluster a note cannot reach the run \
             (it is in its node's foreman agent): steer it from the console on that node"
        )));
    }
    let (cfg, warnings) = settings(args);
    for w in warnings {
        errln!("warning: {w}");
    }
    match Store::open(&cfg.workspace.state_dir) {
        Ok((s, _)) => Ok((s, cfg)),
        Err(e) => Err(failed(e)),
    }
}

fn read_feedback(path: &PathBuf) -> Result<String, String> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| format!("cannot read the feedback from {}: {e}", path.display()))?;
    Ok(text)
}

/// `foreman review`: exit 0 when the revision ran to an outcome (the Result says which), 2
/// when it was refused (nothing changed), 1 when it broke, 130 on Ctrl-C.
pub async fn review(args: &ConsoleArgs, r: &ReviewArgs) -> Exit {
    let feedback = match read_feedback(&r.request_changes) {
        Ok(f) => f,
        Err(e) => return bad_input(e),
    };
    if cluster_selected(args) {
        return super::review_cluster::review(args, r, &feedback).await;
    }
    let (mut store, cfg) = match open_store(args, "review") {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let ecfg = embedded_config(&cfg);
    let key = key_of(&r.task);
    let p = match revise::prepare(&mut store, &key, &feedback, &ecfg.node_name) {
        Ok(p) => p,
        Err(e) => return bad_input(format!("request changes: {e}")),
    };
    let exec = revise::exec_config(&ecfg, &store, &key, p.attempt);
    errln!(
        "{key}: review {} as attempt {} (journal {})",
        p.revision.iteration,
        p.attempt,
        exec.journal_path.display()
    );
    let mut printer = Printer::new();
    let quiet = r.quiet;
    let mut sink = |ev: ExecEvent| {
        if !quiet {
            printer.handle(&ev)
        }
    };
    let inbox = Inbox::default();
    let run = crate::executor::revise(
        &p.task,
        &p.agent,
        &exec,
        &p.revision,
        inbox.clone(),
        &mut sink,
    );
    let mut run = std::pin::pin!(run);
    let mut notes = tokio::time::interval(Duration::from_millis(500));
    let res = loop {
        tokio::select! {
            r = &mut run => break r.map_err(|e| e.to_string()),
            _ = notes.tick() => {
                for (_, text) in store.take_notes(std::slice::from_ref(&key)).unwrap_or_default() {
                    inbox.push(text);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                record(&mut store, &key, Err(String::new()));
                errln!("\ninterrupted: {key} is marked Interrupted (re-queue it with R)");
                return Exit::Interrupted;
            }
        }
    };
    let exit = report(&key, &res);
    record(&mut store, &key, res);
    exit
}

/// The outcome on the task in the state, as the console's `finished` writes it (an empty
/// error: interrupted).
fn record(store: &mut Store, key: &TaskKey, res: Result<RunReport, String>) {
    let _ = store.refresh();
    let Some(mut t) = store.task(key).cloned() else {
        return;
    };
    match res {
        Ok(rep) => apply_terminal(
            &mut t,
            &Terminal::Result {
                transcript_ref: Some(rep.journal.display().to_string()),
                result: Box::new(envelope_of(rep)),
            },
        ),
        Err(e) if e.is_empty() => fail_with(
            &mut t,
            REASON_INTERRUPTED,
            "foreman review was stopped while the revision ran; re-queue it with R",
        ),
        Err(e) => apply_terminal(&mut t, &Terminal::executor_error(e)),
    }
    if let Err(e) = store.save_task(&t) {
        errln!("error: cannot record the outcome of {key}: {e}");
    }
}

/// The outcome in a line or two on stdout; an executor error on stderr.
fn report(key: &TaskKey, res: &Result<RunReport, String>) -> Exit {
    match res {
        Ok(rep) => {
            let r = &rep.result;
            outln!("{key}: {} · {}", r.verdict, terminal_safe(&r.summary));
            if let Some(p) = &rep.pending_push {
                outln!(
                    "committed {} on {}: awaiting approval again (approve in the console, or \
                     `foreman push {}`)",
                    &p.sha[..p.sha.len().min(12)],
                    p.branch,
                    p.workspace.display()
                );
            }
            errln!("transcript: {}", rep.journal.display());
            Exit::Ok
        }
        Err(e) => {
            errln!("executor error: {}", terminal_safe(e));
            Exit::Failed
        }
    }
}

/// `foreman note`: exit 0 once queued, 2 for an empty note or an unknown task, 1 when the
/// task is not running.
pub fn note(args: &ConsoleArgs, n: &NoteArgs) -> Exit {
    let text = n.text.join(" ");
    if text.trim().is_empty() {
        return bad_input("an empty note is not sent");
    }
    let (mut store, _) = match open_store(args, "note") {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let key = key_of(&n.task);
    match store.queue_note(&key, text.trim()) {
        Ok(()) => {
            outln!(
                "note for {key} queued: the process running it hands it to the model before \
                 its next turn"
            );
            Exit::Ok
        }
        Err(e @ StoreError::NotFound(_)) => bad_input(e),
        Err(e) => failed(e),
    }
}
