//! The request-changes engine (issue 12): attempt N+1 of a GO awaiting approval, in its kept
//! workspace, on its branch, from its commit. The model gets its previous conversation (read
//! from the reviewed attempt's journal, copied into this attempt's so the transcript is whole)
//! and the operator's feedback as a user message; its next GO is committed on top, gated, and
//! awaits approval again. Both backends call [`revise`].

use super::super::git::{WorkspaceGuard, blocking};
use super::super::review::{self, REVIEW_BASE, REVIEW_ITERATION, Revision};
use super::rounds::Round;
use super::{After, ExecEvent, ExecutorConfig, ExecutorError, Halt, Run, RunReport, finish};
use crate::agent::transcript::{Record, read_journal};
use crate::agent::{Inbox, Resume};
use crate::api::{Agent, AgenticTask};
use crate::oai::Message;
use std::path::Path;
use std::sync::Arc;

/// Runs the operator's `rev` on `task`: the entry of request changes for every backend.
/// `cfg.journal_path` is the new attempt's journal (it may be the reviewed one's: that is read
/// first). The Result carries `extra.reviewIteration` and `extra.reviewBase`. The caller checks
/// the limit ([`review::check_limit`]) before; a workspace no longer at the reviewed commit is
/// an executor error here (callers can ask [`review::ready`] first to refuse cleanly).
pub async fn revise(
    task: &AgenticTask,
    agent: &Agent,
    cfg: &ExecutorConfig,
    rev: &Revision,
    notes: Inbox,
    sink: &mut (dyn FnMut(ExecEvent) + Send),
) -> Result<RunReport, ExecutorError> {
    revise_pinned(task, agent, cfg, rev, notes, None, sink).await
}

/// [`revise`] pinned to a server slot (see [`super::execute_pinned`]).
pub async fn revise_pinned(
    task: &AgenticTask,
    agent: &Agent,
    cfg: &ExecutorConfig,
    rev: &Revision,
    notes: Inbox,
    id_slot: Option<u32>,
    sink: &mut (dyn FnMut(ExecEvent) + Send),
) -> Result<RunReport, ExecutorError> {
    let mut run = Run::new(task, agent, cfg);
    run.notes = notes;
    run.id_slot = id_slot;
    run.workspace = rev.pending.workspace.clone();
    match run.revise_steps(rev, sink).await {
        Ok(rep) => Ok(rep),
        Err(Halt::Report(rep)) => Ok(*rep),
        Err(Halt::Error(e)) => Err(e),
    }
}

impl Run<'_> {
    async fn revise_steps(
        &self,
        rev: &Revision,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<RunReport, Halt> {
        let endpoint = self.check_preconditions()?;
        self.check_sandbox()?;
        let p = rev.pending.clone();
        let ws_err = |message: String| ExecutorError::Workspace {
            path: p.workspace.display().to_string(),
            message,
        };
        let probe = p.clone();
        blocking(move || review::ready(&probe))
            .await?
            .map_err(ws_err)?;
        let cleanup = WorkspaceGuard::kept(&p.workspace);
        let remote = (self.cfg.git_remote_url.clone())
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| p.remote.clone());
        let token = self.token(&remote)?;
        let registry = self.tools()?;
        let client = self.client(&endpoint)?;
        let previous = previous_conversation(&rev.previous_journal)?;
        let mut journal = self.open_journal(&endpoint)?;
        for (turn, message) in &previous {
            journal.append_or_warn(&Record::Message {
                turn: *turn,
                message: message.clone(),
            });
        }
        sink(ExecEvent::Status(format!(
            "review {}: resuming from {} on {}",
            rev.iteration,
            &p.sha[..p.sha.len().min(12)],
            p.branch
        )));
        let ctx = After {
            branch: &p.branch,
            remote: &remote,
            sandbox: Arc::clone(registry.sandbox()),
            issue_prompt: None,
            // The reviewed attempt's fork → upstream facts stay on the new attempt's Result.
            route: super::super::route::Route::of(self.task, &remote)
                .extras(&p.branch, self.task.spec.payload.base_branch.as_deref()),
        };
        let max = self.agent.spec.max_review_iterations();
        let first = Round {
            opening: vec![Message::user(review::feedback_message(rev, max))],
            resume: Resume {
                turns: previous.iter().map(|(t, _)| *t).max().unwrap_or(0),
                history: previous.into_iter().map(|(_, m)| m).collect(),
                notes: Some(self.notes.clone()),
            },
        };
        let last = Some(p.sha.clone());
        let end =
            (self.rounds_from(&client, &registry, &ctx, first, last, &mut journal, sink)).await?;
        let mut rep = (self.commit_and_push(end, &ctx, token, cleanup, sink)).await?;
        let other = &mut rep.result.extra.other;
        other.insert(REVIEW_ITERATION.into(), rev.iteration.into());
        other.insert(REVIEW_BASE.into(), p.sha.clone().into());
        Ok(finish(rep, &mut journal))
    }
}

/// The conversation of the reviewed attempt, with each message's turn.
fn previous_conversation(path: &Path) -> Result<Vec<(u32, crate::oai::Message)>, ExecutorError> {
    let records = read_journal(path).map_err(|e| {
        ExecutorError::Internal(format!(
            "cannot resume the reviewed attempt's conversation: {e}"
        ))
    })?;
    Ok(records
        .into_iter()
        .filter_map(|r| match r {
            Record::Message { turn, message } => Some((turn, message)),
            _ => None,
        })
        .collect())
}
