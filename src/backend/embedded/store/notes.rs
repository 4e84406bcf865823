//! Notes for live runs from other processes (`foreman note TASK TEXT`): there is no channel
//! between a shell and a running console, so the note waits in the `notes` table and the
//! process that owns the run takes it on its next refresh tick (every 250 ms) and hands it to
//! the run's inbox, as if typed in its console.

use super::{Store, StoreError, active, owner};
use crate::fleet::{TaskKey, task_state};
use rusqlite::params;

impl Store {
    /// Queues `text` for the task's live run. Refused (nothing written) when the task is not
    /// running or the process that ran it is gone.
    pub fn queue_note(&mut self, key: &TaskKey, text: &str) -> Result<(), StoreError> {
        let t = self
            .task(key)
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        let not_running = || StoreError::WrongState {
            key: key.clone(),
            state: format!("{:?}", task_state(t)),
            why: "not running here; a note reaches only a live run",
        };
        if !active(t) {
            return Err(not_running());
        }
        let run_owner: Option<String> = self
            .db
            .query_row(
                "SELECT owner FROM runs WHERE namespace = ?1 AND name = ?2",
                params![key.namespace, key.name],
                |r| r.get(0),
            )
            .ok();
        match run_owner {
            Some(o) if o == self.owner.id || owner::alive(&self.root, &o) => {}
            _ => return Err(not_running()),
        }
        self.db.execute(
            "INSERT INTO notes (namespace, name, text) VALUES (?1, ?2, ?3)",
            params![key.namespace, key.name, text],
        )?;
        Ok(())
    }

    /// Takes (and deletes) the queued notes of the runs in `mine`, oldest first. A cheap read
    /// when there are none (every refresh tick asks); a note two processes both read is
    /// delivered by the one whose delete removed it.
    pub fn take_notes(&mut self, mine: &[TaskKey]) -> Result<Vec<(TaskKey, String)>, StoreError> {
        let mut found = Vec::new();
        {
            let mut q = self.db.prepare(
                "SELECT id, text FROM notes WHERE namespace = ?1 AND name = ?2 ORDER BY id",
            )?;
            for key in mine {
                let rows = q.query_map(params![key.namespace, key.name], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, text) = row?;
                    found.push((id, key.clone(), text));
                }
            }
        }
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let tx = super::db::write(&self.db)?;
        let mut out = Vec::new();
        for (id, key, text) in found {
            if tx.execute("DELETE FROM notes WHERE id = ?1", params![id])? == 1 {
                out.push((key, text));
            }
        }
        tx.commit()?;
        Ok(out)
    }
}
