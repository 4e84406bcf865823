//! The fleet's domain, pure and shared by every backend and daemon: task identity and the
//! operator-facing state, condition reasons, status edits, the scheduling rules and plan, and
//! probes of this machine. Nothing here talks to an apiserver, a store or a terminal.

pub mod attempt;
pub mod condition;
pub mod decision;
pub mod extra;
pub mod held;
pub mod host;
pub mod key;
pub mod outcome;
pub mod patch;
pub mod reasons;
pub mod schedule;
pub mod state;
pub mod status;
pub mod summary;
pub mod workload;

pub use key::TaskKey;
pub use state::{TaskState, task_state};
