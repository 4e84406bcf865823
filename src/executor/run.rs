//! The executor pipeline. git2 work runs on blocking threads; the loop runs on the caller's
//! runtime; every step is reported to one sink so the console and the headless printer see
//! the same run.

use super::outcome::{self, Incomplete, Precondition, ResultEnvelope, RunFacts};
use crate::agent::transcript::{Journal, Record, SCHEMA};
use crate::agent::{LoopConfig, LoopEnd, LoopEvent, prompt, run_loop};
use crate::api::{Agent, AgentRole, AgenticTask};
use crate::oai::{Client, ClientConfig, StreamEvent};
use crate::tools::{ModelVerdict, Registry, ToolOptions};
use crate::workspace::auth::redact_url;
use crate::workspace::{self, CommitOutcome, CommitRequest, Identity, PushError, Token};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the token comes from: the environment/file lookup (production) or given (tests).
#[derive(Clone, Debug)]
pub enum TokenSource {
    Lookup,
    Given(Token),
}

#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// Inference base URL including `/v1`.
    pub base_url: String,
    /// Clone and push URL (the fork).
    pub git_remote_url: Option<String>,
    /// Per-task clones live at `<root>/<namespace>/<task>`.
    pub workspace_root: PathBuf,
    pub namespace: String,
    pub keep_workspace: bool,
    pub identity: Identity,
    /// Push right after the commit (upstream); otherwise the run ends awaiting approval.
    pub push_now: bool,
    /// The JSONL journal of this run.
    pub journal_path: PathBuf,
    pub token: TokenSource,
}

/// What the executor reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecEvent {
    /// A pipeline step ("cloning …", "committing", …).
    Status(String),
    Loop(LoopEvent),
}

/// A committed GO waiting for the operator's push approval.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PendingPush {
    pub workspace: PathBuf,
    pub remote: String,
    pub branch: String,
    pub sha: String,
}

impl PendingPush {
    /// The `status.result.extra` fields a console reads back to push and open the PR
    /// (`backend::jobs::pending_push`).
    pub fn extras(&self) -> crate::fleet::extra::ResultExtra {
        crate::fleet::extra::ResultExtra {
            workspace: Some(self.workspace.display().to_string()),
            remote: Some(self.remote.clone()),
            branch: Some(self.branch.clone()),
            commit_sha: Some(self.sha.clone()),
            ..Default::default()
        }
    }
}

#[derive(Debug)]
pub struct RunReport {
    pub result: ResultEnvelope,
    pub pending_push: Option<PendingPush>,
    pub journal: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error(transparent)]
    Loop(#[from] crate::agent::LoopError),
    #[error("cannot write the transcript journal {path}: {source}")]
    Journal {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("workspace {path}: {message}")]
    Workspace { path: String, message: String },
    #[error("{0}")]
    Internal(String),
}

/// Runs `task` with `agent`. `Ok` carries a Result for every outcome upstream reports as a
/// Result; `Err` is upstream's "executor error" (the task fails without a Result).
pub async fn execute(
    task: &AgenticTask,
    agent: &Agent,
    cfg: &ExecutorConfig,
    sink: &mut (dyn FnMut(ExecEvent) + Send),
) -> Result<RunReport, ExecutorError> {
    let started = Instant::now();
    let elapsed = || started.elapsed().as_secs_f64();
    let task_name = task.metadata.name.clone().unwrap_or_default();
    let agent_name = agent.metadata.name.clone().unwrap_or_default();
    let report = |result: ResultEnvelope| RunReport {
        result,
        pending_push: None,
        journal: cfg.journal_path.clone(),
    };
    let fail = |reason: Precondition, msg: String| {
        Ok(report(outcome::precondition_failed(
            reason,
            &msg,
            elapsed(),
        )))
    };

    if let Some(r) = &task.spec.agent_ref
        && r.name != agent_name
    {
        return fail(
            Precondition::AgentNotFound,
            format!(
                "task references Agent {:?} but the supplied Agent is {agent_name:?}",
                r.name
            ),
        );
    }
    if cfg.base_url.trim().is_empty() {
        return fail(
            Precondition::InferenceServiceUnavailable,
            "no inference base URL: pass --base-url (e.g. http://127.0.0.1:8080/v1)".into(),
        );
    }

    let workspace = cfg.workspace_root.join(&cfg.namespace).join(&task_name);
    prepare_workspace(&workspace)?;
    let cleanup = WorkspaceGuard {
        path: workspace.clone(),
        keep: cfg.keep_workspace,
    };

    let Some(remote) = cfg.git_remote_url.clone().filter(|u| !u.trim().is_empty()) else {
        return fail(
            Precondition::GitRemoteURLNotConfigured,
            "foreman was not started with --git-remote-url; cannot clone".into(),
        );
    };
    let token = match resolve_token(&cfg.token, &remote) {
        Ok(t) => t,
        Err(msg) => return fail(Precondition::AuthUnavailable, msg),
    };

    sink(ExecEvent::Status(format!(
        "cloning {}",
        redact_url(&remote)
    )));
    let branch = {
        let (remote, ws, tok, spec, name) = (
            remote.clone(),
            workspace.clone(),
            token.clone(),
            task.spec.clone(),
            task_name.clone(),
        );
        let res = blocking(move || -> Result<Result<String, String>, String> {
            let repo = workspace::clone(&remote, &ws, tok.as_ref()).map_err(|e| e.to_string())?;
            Ok(workspace::branch_name(&name, &spec)
                .and_then(|b| workspace::create_branch(&repo, &b).map(|()| b))
                .map_err(|e| e.to_string()))
        })
        .await?;
        match res {
            Err(e) => return fail(Precondition::CloneFailed, format!("clone failed: {e}")),
            Ok(Err(e)) => {
                return fail(
                    Precondition::BranchCheckoutFailed,
                    format!("branch checkout failed: {e}"),
                );
            }
            Ok(Ok(b)) => b,
        }
    };
    sink(ExecEvent::Status(format!("on branch {branch}")));

    let opts = ToolOptions {
        bash_timeout: agent.spec.bash_timeout(),
        bash_env: identity_env(&cfg.identity),
    };
    let registry = match Registry::new(&workspace, &agent.spec.tools, opts) {
        Ok(r) => r,
        Err(e) => return fail(Precondition::ToolRegistryBuildFailed, e.to_string()),
    };
    let client = Client::new(ClientConfig {
        base_url: cfg.base_url.clone(),
        model: agent.spec.model.clone().unwrap_or_default(),
        temperature: agent.spec.temperature(),
        max_tokens: agent.spec.max_output_tokens.map(|n| n.max(1) as u32),
        stop: agent.spec.stop.clone().unwrap_or_default(),
        header_timeout: agent.spec.request_timeout(),
        max_retries: agent.spec.max_retries(),
        protocol: agent.spec.tool_protocol(),
    })
    .map_err(|e| ExecutorError::Internal(e.to_string()))?;

    let journal_err = |source| ExecutorError::Journal {
        path: cfg.journal_path.display().to_string(),
        source,
    };
    let mut journal = Journal::create(&cfg.journal_path).map_err(journal_err)?;
    journal
        .append(&Record::Meta {
            schema_version: SCHEMA.into(),
            task: task_name.clone(),
            agent: agent_name.clone(),
            model: agent.spec.model.clone().unwrap_or_default(),
            base_url: cfg.base_url.clone(),
            started_at: now_rfc3339(),
            max_turns: agent.spec.max_turns(),
        })
        .map_err(journal_err)?;

    let system = agent
        .spec
        .system_prompt
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| prompt::DEFAULT_SYSTEM_PROMPT.to_string());
    let few_shot = agent.spec.few_shot.clone().unwrap_or_default();
    let loop_cfg = LoopConfig {
        opening: prompt::opening(&system, &few_shot, prompt::user_prompt(&task.spec, &branch)),
        max_turns: agent.spec.max_turns(),
        converge_turns: agent.spec.converge_turns(),
        deadline: Some(tokio::time::Instant::now() + task.spec.timeout()),
    };
    sink(ExecEvent::Status(format!(
        "running the loop against {} (max {} turns)",
        cfg.base_url, loop_cfg.max_turns
    )));
    let mut journal_failure = None;
    let outcome = {
        let mut on_loop = |ev: LoopEvent| {
            let record = match &ev {
                LoopEvent::Message { turn, message } => Some(Record::Message {
                    turn: *turn,
                    message: message.clone(),
                }),
                LoopEvent::TurnFinished {
                    turn,
                    elapsed_ms,
                    attempts,
                    usage,
                    timings,
                } => Some(Record::Turn {
                    turn: *turn,
                    elapsed_ms: *elapsed_ms,
                    attempts: *attempts,
                    usage: *usage,
                    timings: *timings,
                }),
                LoopEvent::Stream {
                    turn,
                    event: StreamEvent::Retry { attempt, reason },
                } => Some(Record::Retry {
                    turn: *turn,
                    attempt: *attempt,
                    reason: reason.clone(),
                }),
                _ => None,
            };
            if let Some(r) = record
                && let Err(e) = journal.append(&r)
                && journal_failure.is_none()
            {
                journal_failure = Some(e);
            }
            sink(ExecEvent::Loop(ev));
        };
        run_loop(&client, &registry, &loop_cfg, &mut on_loop).await
    };
    if let Some(e) = journal_failure {
        tracing::warn!("transcript journal write failed: {e}");
    }

    let facts = |turns| RunFacts {
        transcript_ref: serde_json::Value::String(cfg.journal_path.display().to_string()),
        turn_count: turns,
        elapsed_sec: elapsed(),
    };
    let turns = outcome.turns;
    let end = outcome.result?;
    let sub = match end {
        LoopEnd::Submitted(sub) => sub,
        LoopEnd::MaxTurnsExhausted => {
            return finish(
                report(outcome::loop_incomplete(
                    Incomplete::MaxTurnsExhausted,
                    &facts(turns),
                )),
                &mut journal,
            );
        }
        LoopEnd::HallucinatedFinish => {
            return finish(
                report(outcome::loop_incomplete(
                    Incomplete::AssistantHallucinatedFinish,
                    &facts(turns),
                )),
                &mut journal,
            );
        }
        LoopEnd::BudgetExhausted => {
            return finish(
                report(outcome::loop_incomplete(
                    Incomplete::LoopBudgetExhausted,
                    &facts(turns),
                )),
                &mut journal,
            );
        }
    };
    if sub.verdict != ModelVerdict::Go || agent.spec.role == AgentRole::Reviewer {
        let r = outcome::model_decided(
            sub.verdict.as_str(),
            &sub.summary,
            sub.extra.clone(),
            &facts(turns),
        );
        return finish(report(r), &mut journal);
    }

    sink(ExecEvent::Status("committing".into()));
    let committed = {
        let (ws, identity, message, issue) = (
            workspace.clone(),
            cfg.identity.clone(),
            sub.commit_message.clone().unwrap_or_default(),
            fixes_issue(task),
        );
        blocking(move || -> Result<CommitOutcome, String> {
            let repo = git2::Repository::open(&ws).map_err(|e| e.to_string())?;
            workspace::commit_all(
                &repo,
                &CommitRequest {
                    identity: &identity,
                    message: &message,
                    fixes_issue: issue,
                },
            )
            .map_err(|e| e.to_string())
        })
        .await?
    };
    let sha = match committed {
        Err(e) => {
            return finish(
                report(outcome::commit_rejected(&branch, &e, &facts(turns))),
                &mut journal,
            );
        }
        Ok(CommitOutcome::NoChanges) => {
            return finish(
                report(outcome::no_changes(&branch, &sub.summary, &facts(turns))),
                &mut journal,
            );
        }
        Ok(CommitOutcome::Committed { sha, .. }) => sha,
    };
    sink(ExecEvent::Status(format!(
        "committed {}",
        &sha[..sha.len().min(12)]
    )));

    let pending = PendingPush {
        workspace: workspace.clone(),
        remote: redact_url(&remote),
        branch: branch.clone(),
        sha: sha.clone(),
    };
    if !cfg.push_now {
        cleanup.keep_for_approval();
        let r = outcome::go(
            &branch,
            &sha,
            &sub.summary,
            sub.extra.clone(),
            false,
            &facts(turns),
        );
        let mut rep = report(r);
        rep.pending_push = Some(pending);
        sink(ExecEvent::Status("awaiting push approval".into()));
        return finish(rep, &mut journal);
    }
    sink(ExecEvent::Status(format!("pushing {branch}")));
    let r = match push_pending(&pending, token).await {
        Ok(()) => outcome::go(
            &branch,
            &sha,
            &sub.summary,
            sub.extra.clone(),
            true,
            &facts(turns),
        ),
        Err(e) => outcome::push_failed(&branch, &sha, &e, &facts(turns)),
    };
    finish(report(r), &mut journal)
}

/// Pushes a pending GO (the operator's approval, or `--push`). The error text is safe to show.
pub async fn push_pending(p: &PendingPush, token: Option<Token>) -> Result<(), String> {
    let (ws, branch) = (p.workspace.clone(), p.branch.clone());
    blocking(move || -> Result<(), String> {
        let repo = git2::Repository::open(&ws)
            .map_err(|e| format!("cannot open workspace {}: {e}", ws.display()))?;
        workspace::push(&repo, &branch, token.as_ref()).map_err(|e| match e {
            PushError::Rejected { message } => format!("push rejected by the remote: {message}"),
            PushError::Auth { message } => format!("authentication failed: {message}"),
            PushError::Transport { message } => format!("push failed: {message}"),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

fn finish(rep: RunReport, journal: &mut Journal) -> Result<RunReport, ExecutorError> {
    if let Ok(v) = serde_json::to_value(&rep.result) {
        let _ = journal.append(&Record::End { result: v });
    }
    Ok(rep)
}

/// The issue a GO commit must reference (`Fixes #N`).
fn fixes_issue(task: &AgenticTask) -> Option<i32> {
    match task.spec.kind {
        crate::api::TaskKind::IssueFix => task.spec.payload.issue.filter(|n| *n > 0),
        _ => None,
    }
}

/// Token needed for HTTP(S) remotes; local paths and file:// need none.
fn resolve_token(src: &TokenSource, remote: &str) -> Result<Option<Token>, String> {
    let needs = remote.starts_with("http://") || remote.starts_with("https://");
    match src {
        TokenSource::Given(t) => Ok(Some(t.clone())),
        TokenSource::Lookup if needs => workspace::resolve_token()
            .map(Some)
            .map_err(|e| e.to_string()),
        TokenSource::Lookup => Ok(workspace::resolve_token().ok()),
    }
}

fn identity_env(id: &Identity) -> Vec<(String, String)> {
    [
        ("GIT_AUTHOR_NAME", &id.name),
        ("GIT_AUTHOR_EMAIL", &id.email),
        ("GIT_COMMITTER_NAME", &id.name),
        ("GIT_COMMITTER_EMAIL", &id.email),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect()
}

fn prepare_workspace(ws: &Path) -> Result<(), ExecutorError> {
    let err = |message: String| ExecutorError::Workspace {
        path: ws.display().to_string(),
        message,
    };
    if let Some(parent) = ws.parent() {
        std::fs::create_dir_all(parent).map_err(|e| err(format!("cannot create parent: {e}")))?;
    }
    match std::fs::remove_dir_all(ws) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(format!("cannot remove a leftover workspace: {e}"))),
    }
}

/// Removes the workspace when the run ends, unless asked to keep it or a push awaits approval.
struct WorkspaceGuard {
    path: PathBuf,
    keep: bool,
}

impl WorkspaceGuard {
    fn keep_for_approval(mut self) {
        self.keep = true;
    }
}

impl Drop for WorkspaceGuard {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ExecutorError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ExecutorError::Internal(format!("git worker failed: {e}")))
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
