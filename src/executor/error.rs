//! The executor's own failures: what upstream reports as an "executor error" (the task fails
//! without a Result), apart from the run so every step can return it.

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
