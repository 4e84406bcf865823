//! How a run's end is written into its task's status, once for both backends (the embedded
//! runner and the `foreman agent` worker). It lives in `executor` because it reads the Result
//! envelope and the run report, which are the executor's types; `fleet` sits below the
//! executor and cannot see them, and both backends sit above it.

use super::outcome::ResultEnvelope;
use super::run::RunReport;
use crate::api::{AgenticTask, TaskPhase};
use crate::fleet::extra::ResultExtra;
use crate::fleet::reasons::failure_reason_of;
use crate::fleet::status::{fail_with, now, set_condition, status_mut, verdict_of};

/// `Completed=True` reason of a run that produced a Result without a reason of its own.
pub const REASON_SUCCEEDED: &str = "ExecutorSucceeded";
/// `Completed=False` reason of a run that produced no Result (transport, journal, crash).
pub const REASON_EXECUTOR_ERROR: &str = "ExecutorError";

/// How a run ended, as the terminal status must say it.
#[derive(Clone, Debug)]
pub enum Terminal {
    /// The executor produced a Result (any verdict): `Succeeded`.
    Result {
        result: Box<ResultEnvelope>,
        transcript_ref: Option<String>,
    },
    /// No Result: `Failed`/INCOMPLETE with this condition reason and message.
    Failed { reason: String, message: String },
}

impl Terminal {
    pub fn executor_error(message: impl Into<String>) -> Terminal {
        Terminal::Failed {
            reason: REASON_EXECUTOR_ERROR.into(),
            message: message.into(),
        }
    }
}

/// The Result a console reads back: a committed GO waiting for approval carries what pushing
/// it later needs (`workspace`, `remote`, `branch`, `commitSHA`) and `pushed: false`.
pub fn envelope_of(rep: RunReport) -> ResultEnvelope {
    let mut env = rep.result;
    if let Some(p) = rep.pending_push {
        let waiting = ResultExtra {
            pushed: Some(false),
            ..p.extras()
        };
        env.extra = env.extra.merged(&waiting);
    }
    env
}

/// Applies the terminal outcome to a task's status (spec §3.1 + §11.2). Any Result is
/// `Succeeded` with its verdict and `Completed=True`, whose reason is the Result's own when it
/// has one (every INCOMPLETE does: `MaxTurnsExhausted`, `CloneFailed`, a model `ERROR`'s
/// `ModelReportedError`, ...) and `ExecutorSucceeded` otherwise; `status.branch` is the branch,
/// or the intended one when nothing was pushed. No Result is `Failed`/INCOMPLETE with
/// `Completed=False`. The claim's `Running=True`/`Claimed` condition is left as it is, as
/// upstream's watcher leaves it (P550 `watcher.go` writes only `Completed` at the end), so a
/// tool reading upstream's conditions sees the same on both.
pub fn apply_terminal(t: &mut AgenticTask, outcome: &Terminal) {
    match outcome {
        Terminal::Failed { reason, message } => fail_with(t, reason, message),
        Terminal::Result {
            result,
            transcript_ref,
        } => {
            let s = status_mut(t);
            s.phase = Some(TaskPhase::Succeeded);
            s.verdict = Some(verdict_of(&result.verdict));
            s.finished_at = Some(now());
            let extra = &result.extra;
            s.branch = extra.branch.clone().or(extra.intended_branch.clone());
            s.commit_sha = extra.commit_sha.clone();
            s.transcript_ref = transcript_ref.clone();
            s.result = serde_json::to_value(result.as_ref()).ok();
            // HEAD's watcher lifts the Result's failureReason; one written before it existed
            // is read from its INCOMPLETE `extra.reason` (old spellings included).
            s.failure_reason = result.failure_reason.or_else(|| {
                let incomplete = result.verdict == "INCOMPLETE";
                result
                    .reason()
                    .filter(|_| incomplete)
                    .and_then(failure_reason_of)
            });
            let reason = match result.reason() {
                Some(r) if result.verdict == "INCOMPLETE" && !r.is_empty() => r,
                _ => REASON_SUCCEEDED,
            };
            set_condition(t, "Completed", true, reason, &result.summary);
        }
    }
}

#[cfg(test)]
mod tests;
