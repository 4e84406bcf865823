//! A task's identity across the stores, the events, the daemons and the UI.

use crate::api::AgenticTask;

/// A task's identity across the store, the events and the UI.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
    pub namespace: String,
    pub name: String,
}

impl TaskKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> TaskKey {
        TaskKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
    /// The key of a task; an unset namespace is `default`, as kubectl would apply it.
    pub fn of(t: &AgenticTask) -> TaskKey {
        TaskKey::new(
            t.metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            t.metadata.name.clone().unwrap_or_default(),
        )
    }
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
