//! The six workspace-bound tools of the native agent loop (`read_file`, `write_file`,
//! `str_replace`, `grep`, `bash`, `submit_result`) and the [`Registry`] that advertises and
//! dispatches them.
//!
//! Semantics follow upstream P550 (spec §2.3–2.4) minus its known bugs (§11.6, §11.7, §11.13):
//! the shell never sees the GitHub token, bash output keeps head *and* tail, grep's `truncated`
//! is exact and its paths are relative to the resolved workspace, and path containment also
//! re-checks not-yet-existing paths through their deepest existing ancestor. `bash` runs in
//! the [`crate::sandbox`], and the writers refuse `.git` (issue 9).

mod args;
mod bash;
mod grep;
mod path;
mod read_file;
mod ready;
mod registry;
mod str_replace;
mod submit_result;
mod write_file;

pub use bash::ExecResult;
pub use ready::{ReadyGate, ReadySignal, ready_gate};
pub use registry::{Registry, RegistryError};

use std::time::Duration;

/// Per-task knobs for the tools, set by the executor from the Agent spec.
#[derive(Clone, Debug)]
pub struct ToolOptions {
    /// Wall-clock limit of one `bash` call; the whole process group is SIGKILLed after it.
    pub bash_timeout: Duration,
    /// Extra environment for `bash` (e.g. `GIT_AUTHOR_NAME`). Secret-looking names are refused
    /// by [`Registry::new`] so the token can never reach the model's shell.
    pub bash_env: Vec<(String, String)>,
}

impl Default for ToolOptions {
    fn default() -> Self {
        ToolOptions {
            bash_timeout: Duration::from_secs(30),
            bash_env: Vec::new(),
        }
    }
}

/// What a successful tool call returns: the JSON the model sees, plus the terminal submission
/// when the tool was `submit_result`.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutput {
    pub output: serde_json::Value,
    pub submission: Option<Submission>,
}

impl ToolOutput {
    fn data(output: serde_json::Value) -> Self {
        ToolOutput {
            output,
            submission: None,
        }
    }
}

/// The model's final answer, carried from `submit_result` to the executor.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub verdict: ModelVerdict,
    pub summary: String,
    pub commit_message: Option<String>,
    pub extra: Option<serde_json::Value>,
}

/// The verdict the model may submit (the CRD maps `Error` to INCOMPLETE, spec §11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelVerdict {
    Go,
    NoGo,
    Error,
}

impl ModelVerdict {
    /// The wire spelling used in the tool schema and in the result envelope.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelVerdict::Go => "GO",
            ModelVerdict::NoGo => "NO-GO",
            ModelVerdict::Error => "ERROR",
        }
    }

    /// Parses the wire spelling; exact match only, so the model learns the enum.
    pub fn parse(s: &str) -> Option<ModelVerdict> {
        match s {
            "GO" => Some(ModelVerdict::Go),
            "NO-GO" => Some(ModelVerdict::NoGo),
            "ERROR" => Some(ModelVerdict::Error),
            _ => None,
        }
    }
}

/// A failed tool call. The message starts with `"<tool>: "` and is shown to the model as
/// `{"error": message}` so it can correct itself on the next turn.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    fn new(tool: &str, msg: impl std::fmt::Display) -> Self {
        ToolError(format!("{tool}: {msg}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_round_trips_its_wire_spelling() {
        for v in [ModelVerdict::Go, ModelVerdict::NoGo, ModelVerdict::Error] {
            assert_eq!(ModelVerdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(ModelVerdict::parse("go"), None);
        assert_eq!(ModelVerdict::parse("NOGO"), None);
    }

    #[test]
    fn default_options_are_thirty_seconds_and_no_env() {
        let o = ToolOptions::default();
        assert_eq!(o.bash_timeout, Duration::from_secs(30));
        assert!(o.bash_env.is_empty());
    }
}
