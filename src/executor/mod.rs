//! One AgenticTask end to end (spec §3.2): preconditions, fresh clone, branch, the loop,
//! commit with DCO sign-off, and — immediately or after the operator approves — the push.
//! The outcome is always a Result envelope; only transport failures are executor errors.

pub mod error;
pub mod gate;
mod git;
pub mod issue_prompt;
mod loop_setup;
pub mod outcome;
pub mod pr;
pub mod provider;
pub mod review;
pub mod route;
pub mod run;
pub mod terminal;

pub use git::remote_has;
pub use outcome::ResultEnvelope;
pub use run::{
    ExecEvent, ExecutorConfig, ExecutorError, PendingPush, RunReport, execute, execute_pinned,
    execute_with, push_pending, revise, revise_pinned,
};
