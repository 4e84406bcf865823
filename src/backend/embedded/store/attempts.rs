//! Attempt history: re-queueing a task starts attempt N+1 and keeps attempt N's status (its
//! Result, verdict, transcriptRef, branch and commit) here, so nothing a run produced is ever
//! overwritten. The current attempt's number is the task's `foreman.llmkube.dev/attempt`
//! annotation (absent: 1), so every reader of the task sees it without asking the store.

use super::StoreError;
use crate::api::AgenticTaskStatus;
use crate::fleet::TaskKey;
use rusqlite::{Connection, Transaction, params};

pub use crate::fleet::attempt::{ATTEMPT_ANNOTATION, attempt_of, set_attempt};

/// One finished attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub number: u32,
    pub status: AgenticTaskStatus,
}

pub(super) fn archive(
    tx: &Transaction,
    key: &TaskKey,
    n: u32,
    status: &AgenticTaskStatus,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO attempts (namespace, name, attempt, status) VALUES (?1, ?2, ?3, ?4)",
        params![key.namespace, key.name, n, super::to_json(status)?],
    )?;
    Ok(())
}

/// A task created anew (or deleted) has no history.
pub(super) fn forget(tx: &Transaction, key: &TaskKey) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM attempts WHERE namespace = ?1 AND name = ?2",
        params![key.namespace, key.name],
    )?;
    Ok(())
}

pub(super) fn list(c: &Connection, key: &TaskKey) -> Result<Vec<Attempt>, StoreError> {
    let mut q = c.prepare(
        "SELECT attempt, status FROM attempts WHERE namespace = ?1 AND name = ?2 ORDER BY attempt",
    )?;
    let rows = q.query_map(params![key.namespace, key.name], |r| {
        Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (number, text) = row?;
        let status = serde_json::from_str(&text).map_err(|e| {
            StoreError::Db(format!("attempt {number} of {key} does not parse: {e}"))
        })?;
        out.push(Attempt { number, status });
    }
    Ok(out)
}
