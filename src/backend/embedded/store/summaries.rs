//! Tasks in memory as their summaries (`fleet::summary`), full on demand. Each task write
//! also writes its summary into `task_summaries` in the same transaction, so opening a state
//! with 10,000 finished tasks reads 10,000 small rows instead of parsing 10,000 manifests; a
//! finished task's manifest is read and parsed the first time someone asks for it
//! ([`Store::task`]). Tasks still in flight are held in full from the start (the scheduling
//! pass and recovery act on them).

use super::db::{self, Kind};
use super::{DB_FILE, StoreError};
use crate::api::AgenticTask;
use crate::fleet::TaskKey;
use crate::fleet::summary::summary;
use rusqlite::{Connection, Transaction, params};
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One task: what the scheduling pass and the console's queue see (the full task or its
/// summary), and the full task once loaded.
pub(super) struct Entry {
    pub(super) view: Arc<AgenticTask>,
    full: OnceCell<Arc<AgenticTask>>,
}

impl Entry {
    pub(super) fn full(t: Arc<AgenticTask>) -> Entry {
        let full = OnceCell::new();
        let _ = full.set(t.clone());
        Entry { view: t, full }
    }

    fn summary(s: AgenticTask) -> Entry {
        Entry {
            view: Arc::new(s),
            full: OnceCell::new(),
        }
    }

    /// The full task, read from the database the first time (None: gone or unparseable).
    pub(super) fn get(&self, db: &Connection, key: &TaskKey) -> Option<&AgenticTask> {
        if let Some(t) = self.full.get() {
            return Some(t);
        }
        let (_, text) = db::get(db, Kind::Task, &key.namespace, &key.name).ok()??;
        let t: AgenticTask = serde_json::from_str(&text).ok()?;
        Some(self.full.get_or_init(|| Arc::new(t)))
    }
}

/// Writes `t`'s summary at `rv` (call in the transaction that writes its manifest).
pub(super) fn put(tx: &Transaction, t: &AgenticTask, rv: i64) -> Result<(), StoreError> {
    let key = TaskKey::of(t);
    let text = super::import::to_json(&summary(t))?;
    tx.execute(
        "INSERT OR REPLACE INTO task_summaries (namespace, name, rv, summary) VALUES (?1, ?2, ?3, ?4)",
        params![key.namespace, key.name, rv, text],
    )?;
    Ok(())
}

/// The tasks whose summary is missing or older than their object (`{cols}`: what to read,
/// so the checks at every open leave the manifests' overflow pages unread).
const STALE: &str = "SELECT {cols} FROM objects o
    LEFT JOIN task_summaries s ON s.namespace = o.namespace AND s.name = o.name
    WHERE o.kind = 'AgenticTask' AND (s.rv IS NULL OR s.rv != o.rv)";

fn stale(cols: &str) -> String {
    STALE.replace("{cols}", cols)
}

/// Writes the summaries a state lacks (one written before summaries, or by an older
/// version): once, then every open finds none.
pub(super) fn backfill(db: &Connection) -> Result<(), StoreError> {
    let any = format!("SELECT EXISTS ({})", stale("o.rv"));
    let missing: bool = db.query_row(&any, [], |r| r.get(0))?;
    if !missing {
        return Ok(());
    }
    let tx = db::write(db)?;
    let rows: Vec<(i64, String)> = {
        let mut q = tx.prepare(&stale("o.namespace, o.name, o.rv, o.manifest"))?;
        let rows = q.query_map([], |r| Ok((r.get(2)?, r.get(3)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (rv, text) in rows {
        // One that does not parse is named when the store loads it in full.
        if let Ok(t) = serde_json::from_str::<AgenticTask>(&text) {
            put(&tx, &t, rv)?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// What an open reads, as of one read of the database.
pub(super) struct Loaded {
    pub(super) tasks: BTreeMap<TaskKey, Entry>,
    /// Agents, Workloads and nodes, in full.
    pub(super) others: Vec<db::Row>,
    /// The highest revision in the database.
    pub(super) max_rv: i64,
    /// Rows that do not parse.
    pub(super) bad: Vec<String>,
}

/// Every object: tasks as summaries (in full for the tasks not finished), the rest in full.
pub(super) fn load(db: &Connection) -> Result<Loaded, StoreError> {
    let tx = db.unchecked_transaction()?;
    let mut out = BTreeMap::new();
    let mut bad = Vec::new();
    {
        let mut q = tx.prepare(
            "SELECT s.namespace, s.name, s.summary FROM task_summaries s JOIN objects o
             ON o.kind = 'AgenticTask' AND o.namespace = s.namespace AND o.name = s.name AND o.rv = s.rv",
        )?;
        let rows = q.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (ns, name, text) = row?;
            let key = TaskKey::new(&ns, &name);
            match serde_json::from_str::<AgenticTask>(&text) {
                Ok(s) if finished(&s) => {
                    out.insert(key, Entry::summary(s));
                }
                _ => match full(&tx, &key) {
                    Ok(t) => {
                        out.insert(key, Entry::full(Arc::new(t)));
                    }
                    Err(e) => bad.push(e),
                },
            }
        }
    }
    // A task whose manifest does not parse has no summary: name it as before summaries.
    let mut q = tx.prepare(&stale("o.namespace, o.name"))?;
    for r in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (ns, name) = r?;
        if let Err(e) = full(&tx, &TaskKey::new(&ns, &name)) {
            bad.push(e);
        }
    }
    drop(q);
    let others = db::objects_except_tasks(&tx)?;
    let max_rv: i64 = tx.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(rv) FROM objects), 0), COALESCE((SELECT MAX(rv) FROM tombstones), 0))",
        [],
        |r| r.get(0),
    )?;
    Ok(Loaded {
        tasks: out,
        others,
        max_rv,
        bad,
    })
}

fn finished(t: &AgenticTask) -> bool {
    t.status
        .as_ref()
        .and_then(|s| s.phase)
        .is_some_and(|p| p.is_terminal())
}

/// The full task of `key` from the database, or the warning that says it does not parse.
fn full(c: &Connection, key: &TaskKey) -> Result<AgenticTask, String> {
    let text = db::get(c, Kind::Task, &key.namespace, &key.name)
        .ok()
        .flatten()
        .map(|(_, t)| t)
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "AgenticTask {key} in {DB_FILE} does not parse ({e}); skipped — `foreman delete` it or fix it with sqlite3"
        )
    })
}
