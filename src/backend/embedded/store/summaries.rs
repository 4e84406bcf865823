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

/// Set once an open has checked every summary against its object with the triggers in
/// place (`db.rs`): from then on a summary is never older than its object.
const CHECKED: &str = "summaries_checked";

/// Whether some task may lack a summary: once checked, a task without one makes the counts
/// differ (the triggers drop a summary with its object, so summaries never outnumber tasks),
/// and counting reads only the keys, not the manifests.
fn may_be_stale(db: &Connection) -> Result<bool, StoreError> {
    if db::meta(db, CHECKED)?.is_none() {
        return Ok(true);
    }
    let same: bool = db.query_row(
        "SELECT (SELECT COUNT(*) FROM objects WHERE kind = 'AgenticTask') = (SELECT COUNT(*) FROM task_summaries)",
        [],
        |r| r.get(0),
    )?;
    Ok(!same)
}

/// Writes the summaries a state lacks (one written before summaries, or by an older
/// version): once, then every open finds none.
pub(super) fn backfill(db: &Connection) -> Result<(), StoreError> {
    if !may_be_stale(db)? {
        return Ok(());
    }
    let any = format!("SELECT EXISTS ({})", stale("o.rv"));
    let missing: bool = db.query_row(&any, [], |r| r.get(0))?;
    let checked = db::meta(db, CHECKED)?.is_some();
    if !missing && checked {
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
    // Summaries of tasks gone before the triggers (an older version's delete).
    tx.execute(
        "DELETE FROM task_summaries WHERE NOT EXISTS (SELECT 1 FROM objects o
         WHERE o.kind = 'AgenticTask' AND o.namespace = task_summaries.namespace AND o.name = task_summaries.name AND o.rv = task_summaries.rv)",
        [],
    )?;
    db::set_meta(&tx, CHECKED, "1")?;
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

/// Rows per batch the reading thread hands over.
const BATCH: usize = 512;

/// Summary rows as one buffer: each row's namespace, name and summary end at the offsets in
/// `ends` (one allocation per batch, not three per row).
#[derive(Default)]
struct Batch {
    text: String,
    ends: Vec<[usize; 3]>,
}

impl Batch {
    fn push(&mut self, cols: [&str; 3]) {
        let mut ends = [0; 3];
        for (end, col) in ends.iter_mut().zip(cols) {
            self.text.push_str(col);
            *end = self.text.len();
        }
        self.ends.push(ends);
    }

    /// Each row as (namespace, name, summary).
    fn rows(&self) -> impl Iterator<Item = [&str; 3]> {
        let mut at = 0;
        self.ends.iter().map(move |&[a, b, c]| {
            let row = [&self.text[at..a], &self.text[a..b], &self.text[b..c]];
            at = c;
            row
        })
    }
}

/// What the reading thread read besides the summaries, in the same read transaction.
struct Rest {
    others: Vec<db::Row>,
    max_rv: i64,
}

/// Reads every summary row (handing batches to `to_parser`), the other objects and the
/// highest revision, all as of one read transaction.
fn read(
    db: &Connection,
    to_parser: std::sync::mpsc::SyncSender<Batch>,
) -> Result<Rest, StoreError> {
    let tx = db.unchecked_transaction()?;
    {
        // Every summary is as new as its object (the triggers in `db.rs`): no join.
        let mut q = tx.prepare("SELECT namespace, name, summary FROM task_summaries")?;
        let mut rows = q.query([])?;
        let mut batch = Batch::default();
        while let Some(r) = rows.next()? {
            let col = |i| r.get_ref(i).and_then(|v| Ok(v.as_str()?));
            batch.push([col(0)?, col(1)?, col(2)?]);
            if batch.ends.len() == BATCH && to_parser.send(std::mem::take(&mut batch)).is_err() {
                break;
            }
        }
        let _ = to_parser.send(batch);
    }
    drop(to_parser);
    let others = db::objects_except_tasks(&tx)?;
    let max_rv: i64 = tx.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(rv) FROM objects), 0), COALESCE((SELECT MAX(rv) FROM tombstones), 0))",
        [],
        |r| r.get(0),
    )?;
    Ok(Rest { others, max_rv })
}

/// Every object: tasks as summaries (in full for the tasks not finished), the rest in full.
/// Reading and parsing run on two cores: a thread reads the rows while this one parses them
/// (each is about half of an open of 10,000 finished tasks), and what this thread keeps is
/// allocated here, not in that thread's arena.
pub(super) fn load(db: &mut Connection) -> Result<Loaded, StoreError> {
    let (to_parser, batches) = std::sync::mpsc::sync_channel::<Batch>(4);
    let mut entries = Vec::new();
    let mut in_full = Vec::new();
    let rest = std::thread::scope(|scope| {
        // The connection goes to the reading thread for the scope (it is Send, not Sync).
        let conn = &mut *db;
        let reader = scope.spawn(move || read(conn, to_parser));
        for b in batches {
            for [ns, name, text] in b.rows() {
                let key = TaskKey::new(ns, name);
                match serde_json::from_str::<AgenticTask>(text) {
                    Ok(s) if finished(&s) => entries.push((key, Entry::summary(s))),
                    // In flight (the scheduling pass and recovery act on it), or unparseable.
                    _ => in_full.push(key),
                }
            }
        }
        reader
            .join()
            .map_err(|_| StoreError::Db("the thread reading task summaries stopped".into()))?
    })?;
    let mut bad = Vec::new();
    for key in in_full {
        match full(db, &key) {
            Ok(t) => entries.push((key, Entry::full(Arc::new(t)))),
            Err(e) => bad.push(e),
        }
    }
    let tasks: BTreeMap<TaskKey, Entry> = entries.into_iter().collect();
    // A task whose manifest does not parse has no summary: name it as before summaries.
    if may_be_stale(db)? {
        let mut q = db.prepare(&stale("o.namespace, o.name"))?;
        for r in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (ns, name) = r?;
            if let Err(e) = full(db, &TaskKey::new(&ns, &name)) {
                bad.push(e);
            }
        }
    }
    Ok(Loaded {
        tasks,
        others: rest.others,
        max_rv: rest.max_rv,
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
