//! Scheduling: the rules (dependencies, fit, queue order) and the pure pass built on them
//! ([`plan::plan`]), used by `foreman scheduler` and the embedded backend alike.

mod concurrency;
pub mod plan;
pub mod rules;
pub mod selector;

pub use plan::{Action, Scope, Target, What, plan};
pub use selector::{LabelSelector, SelectorError};
