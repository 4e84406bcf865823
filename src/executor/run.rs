//! The executor pipeline. git2 work runs on blocking threads; the loop runs on the caller's
//! runtime; every step is reported to one sink so the console and the headless printer see
//! the same run.

pub use super::error::ExecutorError;
pub use super::git::{PendingPush, TokenSource, push_pending};
use super::git::{WorkspaceGuard, blocking, identity_env, resolve_token};
use super::loop_setup::journal_record;
use super::outcome::{self, Incomplete, Precondition, ResultEnvelope, RunFacts};
use super::provider::Endpoint;
pub use super::provider::ProviderKey;
use super::route::Route;
use crate::agent::transcript::{Journal, Record, SCHEMA};
use crate::agent::{Inbox, LoopEnd, LoopEvent, run_loop_from};
use crate::api::gate::GateRun;
use crate::api::{Agent, AgenticTask};
use crate::oai::Message;
use crate::oai::{Client, ClientConfig, StreamLimits};
use crate::sandbox::{self, Sandbox};
use crate::tools::{Registry, Submission, ToolOptions, ready_gate};
use crate::workspace::auth::redact_url;
use crate::workspace::{self, CommitOutcome, CommitRequest, Identity, Token};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

mod base;
mod overlap;
mod preflight;
mod revise;
mod rounds;
use overlap::{overlap, relay};
pub use revise::{revise, revise_pinned};
use rounds::{Committed, Round};

/// `status.result.extra` key of the note that the workspace's `.git/config` changed after
/// the clone (the approval dialog shows it).
pub const GIT_CONFIG_CHANGED: &str = "gitConfigChanged";

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
    /// The operator's `[sandbox]` settings; the Agent's `spec.sandbox` is merged into them.
    pub sandbox: sandbox::Settings,
    /// Where a cloud-proxy Agent's API key is read from.
    pub provider_key: ProviderKey,
    /// The GitHub API an issue-fix task with an empty prompt reads its issue from (#571);
    /// `None` leaves such a prompt as it is.
    pub github_api_base: Option<String>,
}

/// What the executor reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecEvent {
    /// A pipeline step ("cloning …", "committing", …).
    Status(String),
    Loop(LoopEvent),
    /// The coder gate started (pending) or ended on a GO commit (issue 12).
    Gate(GateRun),
}

#[derive(Debug)]
pub struct RunReport {
    pub result: ResultEnvelope,
    pub pending_push: Option<PendingPush>,
    pub journal: PathBuf,
}

/// Runs `task` with `agent`. `Ok` carries a Result for every outcome upstream reports as a
/// Result; `Err` is upstream's "executor error" (the task fails without a Result).
pub async fn execute(
    task: &AgenticTask,
    agent: &Agent,
    cfg: &ExecutorConfig,
    sink: &mut (dyn FnMut(ExecEvent) + Send),
) -> Result<RunReport, ExecutorError> {
    execute_with(task, agent, cfg, Inbox::default(), sink).await
}

/// [`execute`] with the inbox the operator's notes to this run arrive in (`m` in the
/// console, `foreman note`): each is a user message before the next chat turn.
pub async fn execute_with(
    task: &AgenticTask,
    agent: &Agent,
    cfg: &ExecutorConfig,
    notes: Inbox,
    sink: &mut (dyn FnMut(ExecEvent) + Send),
) -> Result<RunReport, ExecutorError> {
    execute_pinned(task, agent, cfg, notes, None, sink).await
}

/// [`execute_with`] pinned to server slot `id_slot`: runs sharing a server keep their caches.
pub async fn execute_pinned(
    task: &AgenticTask,
    agent: &Agent,
    cfg: &ExecutorConfig,
    notes: Inbox,
    id_slot: Option<u32>,
    sink: &mut (dyn FnMut(ExecEvent) + Send),
) -> Result<RunReport, ExecutorError> {
    let mut run = Run::new(task, agent, cfg);
    run.notes = notes;
    run.id_slot = id_slot;
    match run.steps(sink).await {
        Ok(rep) => Ok(rep),
        Err(Halt::Report(rep)) => Ok(*rep),
        Err(Halt::Error(e)) => Err(e),
    }
}

/// Why a step ends the run early: a Result to report, or an executor error.
enum Halt {
    Report(Box<RunReport>),
    Error(ExecutorError),
}

impl From<ExecutorError> for Halt {
    fn from(e: ExecutorError) -> Halt {
        Halt::Error(e)
    }
}

/// One run's fixed inputs, so each step takes what it needs from one place.
struct Run<'a> {
    task: &'a AgenticTask,
    agent: &'a Agent,
    cfg: &'a ExecutorConfig,
    task_name: String,
    agent_name: String,
    workspace: PathBuf,
    started: Instant,
    /// The task's budget, over every round of the loop.
    deadline: tokio::time::Instant,
    notes: Inbox,
    /// This run's server slot (`id_slot`), used on the backend's own server only.
    id_slot: Option<u32>,
}

/// What the steps after the loop share: the branch, the configured remote, and the sandbox
/// the model's commands ran in (the commit hooks run in it too).
struct After<'a> {
    branch: &'a str,
    remote: &'a str,
    sandbox: Arc<Sandbox>,
    /// The issue's text read for an empty `payload.prompt` (#571), the first round's prompt.
    issue_prompt: Option<&'a str>,
    /// The fork → upstream facts a GO carries (`upstream`, `prHead`, `baseBranch`).
    route: crate::fleet::extra::ResultExtra,
}

/// The submission the loop ended with, and the turns it took.
struct Submitted {
    sub: Submission,
    turns: u32,
}

impl<'a> Run<'a> {
    fn new(task: &'a AgenticTask, agent: &'a Agent, cfg: &'a ExecutorConfig) -> Run<'a> {
        let task_name = task.metadata.name.clone().unwrap_or_default();
        Run {
            task,
            agent,
            cfg,
            workspace: cfg.workspace_root.join(&cfg.namespace).join(&task_name),
            task_name,
            agent_name: agent.metadata.name.clone().unwrap_or_default(),
            started: Instant::now(),
            deadline: tokio::time::Instant::now() + super::loop_setup::loop_budget(task, agent),
            notes: Inbox::default(),
            id_slot: None,
        }
    }

    /// The pipeline, step by step; a step that decides the outcome halts it. On the
    /// operator's own server the clone runs beside the first chat request (the opening
    /// prompt needs no tree; the tools wait for it), so a run takes the longer of the two
    /// rather than their sum.
    async fn steps(&self, sink: &mut (dyn FnMut(ExecEvent) + Send)) -> Result<RunReport, Halt> {
        let endpoint = self.check_preconditions()?;
        self.check_sandbox()?;
        let cleanup = self.fresh_workspace()?;
        let remote = self.remote()?;
        let token = self.token(&remote)?;
        let issue_prompt = self.issue_prompt(&token, sink).await?;
        let route = Route::of(self.task, &remote);
        let branch = self.branch_name()?;
        let (signal, gate) = ready_gate();
        let registry = self.tools()?.gated(gate);
        let client = self.client(&endpoint)?;
        let mut journal = self.open_journal(&endpoint)?;
        let mut ctx = After {
            branch: &branch,
            remote: &remote,
            sandbox: Arc::clone(registry.sandbox()),
            issue_prompt: issue_prompt.as_deref(),
            route: Default::default(),
        };
        let (base, end) = {
            let shared = std::sync::Mutex::new(&mut *sink);
            let mut set_up_sink = |ev| relay(&shared, ev);
            let mut rounds_sink = |ev| relay(&shared, ev);
            let set_up = self.set_up(&remote, &route, &branch, &token, signal, &mut set_up_sink);
            let rounds = self.rounds(&client, &registry, &ctx, &mut journal, &mut rounds_sink);
            // A cloud proxy bills the tokens of a request a failed clone would waste.
            let beside = endpoint.base_url == self.cfg.base_url;
            overlap(set_up, rounds, beside).await
        };
        let base = match base {
            Ok(base) => base,
            // The rounds were dropped where they were; the journal says how the run ended.
            Err(Halt::Report(rep)) => return Ok(finish(*rep, &mut journal)),
            Err(e) => return Err(e),
        };
        ctx.route = route.extras(&branch, base.as_deref());
        let end = end.ok_or_else(|| ExecutorError::Internal("the rounds did not run".into()))??;
        let rep = self
            .commit_and_push(end, &ctx, token, cleanup, sink)
            .await?;
        // The live transcript said it; the journal keeps it for replay and export.
        if let Some(note) = rep.result.extra.other.get(GIT_CONFIG_CHANGED)
            && let Some(message) = note.as_str()
        {
            journal.append_or_warn(&Record::Warning {
                message: message.to_string(),
            });
        }
        Ok(finish(rep, &mut journal))
    }

    /// After the rounds: the push of the GO commit (now or on approval), with the gate's
    /// last run recorded.
    async fn commit_and_push(
        &self,
        end: Result<Committed, RunReport>,
        ctx: &After<'_>,
        token: Option<Token>,
        cleanup: WorkspaceGuard,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<RunReport, ExecutorError> {
        let Committed {
            sub,
            turns,
            sha,
            gate,
        } = match end {
            Ok(c) => c,
            Err(rep) => return Ok(rep),
        };
        let (branch, remote) = (ctx.branch, ctx.remote);
        let pending = PendingPush {
            workspace: self.workspace.clone(),
            remote: redact_url(remote),
            branch: branch.to_string(),
            sha,
        };
        let note = self.git_config_note(sink);
        let mut rep = if self.cfg.push_now {
            self.push(&sub, &pending, token, turns, sink).await
        } else {
            cleanup.keep_for_approval();
            self.await_approval(&sub, pending, turns, sink)
        };
        rep.result.extra = rep.result.extra.merged(&ctx.route);
        if let Some(n) = note {
            rep.result
                .extra
                .other
                .insert(GIT_CONFIG_CHANGED.into(), n.into());
        }
        rounds::record_gate(&mut rep.result, gate.as_ref());
        Ok(rep)
    }

    /// Whether `.git/config` is still as cloned; a change (only possible with the sandbox
    /// off) is said in the transcript and carried in the Result for the approval dialog.
    fn git_config_note(&self, sink: &mut (dyn FnMut(ExecEvent) + Send)) -> Option<String> {
        let note = workspace::pin::config_note(&self.workspace.join(".git"))?;
        sink(ExecEvent::Status(format!("warning: {note}")));
        Some(note)
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn report(&self, result: ResultEnvelope) -> RunReport {
        RunReport {
            result,
            pending_push: None,
            journal: self.cfg.journal_path.clone(),
        }
    }

    /// `EXECUTOR-PRECONDITION-FAILED` with `reason`: the run ends before the loop.
    fn precondition(&self, reason: Precondition, msg: &str) -> Halt {
        Halt::Report(Box::new(self.report(outcome::precondition_failed(
            reason,
            msg,
            self.elapsed(),
        ))))
    }

    fn facts(&self, turns: u32) -> RunFacts {
        RunFacts {
            transcript_ref: serde_json::Value::String(self.cfg.journal_path.display().to_string()),
            turn_count: turns,
            elapsed_sec: self.elapsed(),
        }
    }

    /// An empty workspace directory, removed again when the run ends unless kept. It exists
    /// before the clone, so the tools can be bound to it while the clone runs.
    fn fresh_workspace(&self) -> Result<WorkspaceGuard, ExecutorError> {
        let guard = WorkspaceGuard::fresh(&self.workspace, self.cfg.keep_workspace)?;
        std::fs::create_dir(&self.workspace).map_err(|e| ExecutorError::Workspace {
            path: self.workspace.display().to_string(),
            message: format!("cannot create the workspace: {e}"),
        })?;
        Ok(guard)
    }

    fn remote(&self) -> Result<String, Halt> {
        let remote = self.cfg.git_remote_url.clone();
        remote.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            self.precondition(
                Precondition::GitRemoteNotConfigured,
                "foreman was not started with --git-remote-url; cannot clone",
            )
        })
    }

    fn token(&self, remote: &str) -> Result<Option<Token>, Halt> {
        resolve_token(&self.cfg.token, remote)
            .map_err(|msg| self.precondition(Precondition::AuthUnavailable, &msg))
    }

    /// The sandbox can confine on this machine, unless the operator turned it off: a run
    /// whose every command would be refused ends before the clone, saying how to fix it.
    fn check_sandbox(&self) -> Result<(), Halt> {
        match sandbox::status(self.cfg.sandbox.mode) {
            sandbox::Status::Unavailable(why) => Err(self.precondition(
                Precondition::ToolRegistryBuildFailed,
                &sandbox::SandboxError::Unavailable(why).to_string(),
            )),
            sandbox::Status::Ready(_) | sandbox::Status::Off => Ok(()),
        }
    }

    /// The Agent's tools, bound to the workspace, in the sandbox the operator's settings and
    /// the Agent's `spec.sandbox` resolve to (a refused allow path ends the run here).
    fn tools(&self) -> Result<Registry, Halt> {
        let opts = ToolOptions {
            bash_timeout: self.agent.spec.bash_timeout(),
            bash_env: identity_env(&self.cfg.identity),
        };
        Registry::sandboxed(
            &self.workspace,
            &self.agent.spec.tools,
            opts,
            &self.cfg.sandbox,
            self.agent.spec.sandbox.as_ref(),
        )
        .map_err(|e| self.precondition(Precondition::ToolRegistryBuildFailed, &e.to_string()))
    }

    fn client(&self, endpoint: &Endpoint) -> Result<Client, ExecutorError> {
        let spec = &self.agent.spec;
        let limits = StreamLimits {
            max_reply_bytes: spec.max_reply_bytes(),
        };
        Client::with_limits(
            ClientConfig {
                base_url: endpoint.base_url.clone(),
                model: endpoint.model.clone(),
                temperature: spec.temperature(),
                max_tokens: spec.max_output_tokens(),
                stop: spec.stop.clone().unwrap_or_default(),
                header_timeout: spec.request_timeout(),
                max_retries: spec.max_retries(),
                protocol: spec.tool_protocol(),
                chat_template_kwargs: spec
                    .chat_template_kwargs
                    .as_ref()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                api_key: endpoint.api_key.clone(),
                // A cloud proxy has its own slots (or none): pin only on our server.
                id_slot: self
                    .id_slot
                    .filter(|_| endpoint.base_url == self.cfg.base_url),
            },
            limits,
        )
        .map_err(|e| ExecutorError::Internal(e.to_string()))
    }

    /// The run's journal, opened with its `meta` line.
    fn open_journal(&self, endpoint: &Endpoint) -> Result<Journal, ExecutorError> {
        let journal_err = |source| ExecutorError::Journal {
            path: self.cfg.journal_path.display().to_string(),
            source,
        };
        let mut journal = Journal::create(&self.cfg.journal_path).map_err(journal_err)?;
        journal
            .append(&Record::Meta {
                schema_version: SCHEMA.into(),
                task: self.task_name.clone(),
                agent: self.agent_name.clone(),
                model: endpoint.model.clone(),
                base_url: redact_url(&endpoint.base_url),
                started_at: jiff::Timestamp::now().to_string(),
                max_turns: self.agent.spec.max_turns(),
            })
            .map_err(journal_err)?;
        Ok(journal)
    }

    /// The agent loop, journalled and reported. `Ok(Err(report))`: it ended without a
    /// submission (LOOP-INCOMPLETE); `Err`: the chat failed (an executor error).
    async fn agent_loop(
        &self,
        client: &Client,
        registry: &Registry,
        round: Round,
        journal: &mut Journal,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<(Result<Submitted, RunReport>, Vec<Message>), ExecutorError> {
        let loop_cfg = super::loop_setup::loop_config(self.agent, round.opening, self.deadline);
        sink(ExecEvent::Status(format!(
            "running the loop against {} (max {} turns)",
            redact_url(&client.config().base_url),
            loop_cfg.max_turns
        )));
        let mut journal_failure = None;
        let outcome = {
            let mut on_loop = |ev: LoopEvent| {
                if let Some(r) = journal_record(&ev)
                    && let Err(e) = journal.append(&r)
                    && journal_failure.is_none()
                {
                    journal_failure = Some(e);
                }
                sink(ExecEvent::Loop(ev));
            };
            run_loop_from(client, registry, &loop_cfg, round.resume, &mut on_loop).await
        };
        if let Some(e) = journal_failure {
            tracing::warn!("transcript journal write failed: {e}");
        }
        let turns = outcome.turns;
        let facts = self.facts(turns);
        let result = match outcome.result? {
            LoopEnd::Submitted(sub) => {
                return Ok((Ok(Submitted { sub, turns }), outcome.transcript));
            }
            LoopEnd::MaxTurnsExhausted => {
                outcome::loop_incomplete(Incomplete::MaxTurnsExhausted, &facts)
            }
            LoopEnd::HallucinatedFinish => {
                outcome::loop_incomplete(Incomplete::AssistantHallucinatedFinish, &facts)
            }
            LoopEnd::BudgetExhausted => outcome::loop_budget_exhausted(turns, &facts),
            LoopEnd::Stuck(stuck) => outcome::stuck_loop(&stuck, &facts),
        };
        Ok((Err(self.report(result)), outcome.transcript))
    }

    /// NO-GO, ERROR, or any verdict of a reviewer: the model decided, nothing is committed.
    fn model_decided(&self, sub: &Submission, turns: u32) -> RunReport {
        self.report(outcome::model_decided(
            sub.verdict.as_str(),
            &sub.summary,
            sub.extra.clone(),
            &self.facts(turns),
        ))
    }

    /// Commits the workspace with DCO sign-off. `Ok(Err(report))`: nothing to commit, or the
    /// commit was refused (hooks); the run ends NO-GO.
    async fn commit(
        &self,
        sub: &Submission,
        ctx: &After<'_>,
        turns: u32,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<Result<String, RunReport>, ExecutorError> {
        sink(ExecEvent::Status("committing".into()));
        let (ws, identity, message, issue, sandbox) = (
            self.workspace.clone(),
            self.cfg.identity.clone(),
            sub.commit_message.clone().unwrap_or_default(),
            super::git::fixes_issue(self.task),
            Arc::clone(&ctx.sandbox),
        );
        let committed = blocking(move || -> Result<CommitOutcome, String> {
            let repo = git2::Repository::open(&ws).map_err(|e| e.to_string())?;
            let req = CommitRequest {
                identity: &identity,
                message: &message,
                fixes_issue: issue,
            };
            workspace::commit_all_in(&repo, &req, &sandbox).map_err(|e| e.to_string())
        })
        .await?;
        let (facts, branch) = (self.facts(turns), ctx.branch);
        Ok(match committed {
            Err(e) => Err(self.report(outcome::commit_rejected(branch, &e, &facts))),
            Ok(CommitOutcome::NoChanges) => {
                Err(self.report(outcome::no_changes(branch, &sub.summary, &facts)))
            }
            Ok(CommitOutcome::Committed { sha, .. }) => {
                sink(ExecEvent::Status(format!(
                    "committed {}",
                    &sha[..sha.len().min(12)]
                )));
                Ok(sha)
            }
        })
    }

    /// GO with the push waiting for the operator; the workspace stays for it.
    fn await_approval(
        &self,
        sub: &Submission,
        pending: PendingPush,
        turns: u32,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> RunReport {
        let r = self.go(sub, &pending, false, turns);
        let mut rep = self.report(r);
        rep.pending_push = Some(pending);
        sink(ExecEvent::Status("awaiting push approval".into()));
        rep
    }

    /// Pushes right away (`--push`, upstream): GO, or PUSH-FAILED.
    async fn push(
        &self,
        sub: &Submission,
        pending: &PendingPush,
        token: Option<Token>,
        turns: u32,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> RunReport {
        sink(ExecEvent::Status(format!("pushing {}", pending.branch)));
        let r = match push_pending(pending, token).await {
            Ok(()) => self.go(sub, pending, true, turns),
            Err(e) => outcome::push_failed(&pending.branch, &pending.sha, &e, &self.facts(turns)),
        };
        self.report(r)
    }

    fn go(&self, sub: &Submission, p: &PendingPush, pushed: bool, turns: u32) -> ResultEnvelope {
        outcome::go(
            &p.branch,
            &p.sha,
            &sub.summary,
            sub.extra.clone(),
            pushed,
            &self.facts(turns),
        )
    }
}

/// The journal's last line: how the run ended. A journal short of records (a write failed,
/// this one included) is said in the Result: `extra.journalIncomplete: true`.
fn finish(mut rep: RunReport, journal: &mut Journal) -> RunReport {
    if journal.failed_writes() > 0 {
        rep.result.extra.journal_incomplete = Some(true);
    }
    let ended = serde_json::to_value(&rep.result)
        .map_err(std::io::Error::other)
        .and_then(|v| journal.append(&Record::End { result: v }));
    if ended.is_err() {
        rep.result.extra.journal_incomplete = Some(true);
    }
    rep
}
