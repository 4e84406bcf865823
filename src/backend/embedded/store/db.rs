//! The SQLite side of the store: schema, the connection settings, the global revision counter
//! and row access. WAL mode lets readers (a second console, `foreman get`) go on while one
//! writer commits; `BEGIN IMMEDIATE` takes the write lock before any read, so a transaction's
//! checks (does this name exist? is this still resourceVersion N?) hold until it commits, and
//! concurrent writers wait on `busy_timeout` instead of failing.

use super::StoreError;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::time::{Duration, Instant};

/// The database file in the state directory.
pub const DB_FILE: &str = "state.db";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rv INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE INDEX IF NOT EXISTS objects_rv ON objects (rv);
CREATE TABLE IF NOT EXISTS tombstones (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rv INTEGER NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS runs (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS attempts (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (namespace, name, attempt)
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS task_summaries (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rv INTEGER NOT NULL,
    summary TEXT NOT NULL,
    -- The summary's facts (`fleet::held::record`): NULL when written by a version before them.
    facts TEXT,
    PRIMARY KEY (namespace, name)
);
-- A task's summary is only ever as new as its manifest: any write of the object (by this
-- version, an older one, or sqlite3 by hand) drops a summary of another revision, so an open
-- can trust every summary it finds without reading the objects (summaries.rs).
CREATE TRIGGER IF NOT EXISTS task_summary_insert AFTER INSERT ON objects
WHEN NEW.kind = 'AgenticTask' BEGIN
    DELETE FROM task_summaries WHERE namespace = NEW.namespace AND name = NEW.name AND rv != NEW.rv;
END;
CREATE TRIGGER IF NOT EXISTS task_summary_update AFTER UPDATE ON objects
WHEN OLD.kind = 'AgenticTask' OR NEW.kind = 'AgenticTask' BEGIN
    DELETE FROM task_summaries WHERE namespace = OLD.namespace AND name = OLD.name AND (rv != NEW.rv OR NEW.kind != 'AgenticTask' OR NEW.namespace != OLD.namespace OR NEW.name != OLD.name);
    DELETE FROM task_summaries WHERE namespace = NEW.namespace AND name = NEW.name AND rv != NEW.rv;
END;
CREATE TRIGGER IF NOT EXISTS task_summary_delete AFTER DELETE ON objects
WHEN OLD.kind = 'AgenticTask' BEGIN
    DELETE FROM task_summaries WHERE namespace = OLD.namespace AND name = OLD.name;
END;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, value) VALUES (0, 0);
";

/// The kinds the store holds, by their manifest `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Task,
    Agent,
    Workload,
    Node,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "AgenticTask",
            Kind::Agent => "Agent",
            Kind::Workload => "Workload",
            Kind::Node => "FleetNode",
        }
    }
    fn parse(s: &str) -> Option<Kind> {
        [Kind::Task, Kind::Agent, Kind::Workload, Kind::Node]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One stored object (or, with `manifest` None, a deletion).
pub struct Row {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub rv: i64,
    pub manifest: Option<String>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Retries `f` while another process holds a lock SQLite does not wait on itself (switching
/// to WAL on a brand-new file), up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = Instant::now();
    loop {
        match f() {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5 + fastrand::u64(..20)));
            }
            r => return r,
        }
    }
}

/// Opens (creating) the database with WAL, full sync and the schema.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open(path)?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = retry_busy(|| c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Db(format!(
            "{}: cannot switch to WAL mode (got {mode}); put the state directory on a local filesystem",
            path.display()
        )));
    }
    // FULL: a commit is on disk before it is reported, as etcd fsyncs before it answers.
    c.pragma_update(None, "synchronous", "FULL")?;
    // One transaction for the whole schema: a new state is created whole or not at all, in
    // a few WAL frames rather than a commit per statement (which matters on a full disk).
    {
        let tx = write(&c)?;
        tx.execute_batch(SCHEMA)?;
        add_columns(&tx)?;
        tx.commit()?;
    }
    Ok(c)
}

/// The columns added to tables a state made by an older version already has (older
/// versions go on writing the rest: an added column is NULL in their rows).
fn add_columns(tx: &Transaction) -> Result<(), StoreError> {
    let has: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('task_summaries') WHERE name = 'facts')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        tx.execute("ALTER TABLE task_summaries ADD COLUMN facts TEXT", [])?;
    }
    Ok(())
}

/// A write transaction that holds the write lock from its first statement.
pub fn write(c: &Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(retry_busy(|| {
        Transaction::new_unchecked(c, TransactionBehavior::Immediate)
    })?)
}

/// The next resourceVersion: one counter for every kind, like etcd's revision.
pub fn bump(tx: &Transaction) -> Result<i64, StoreError> {
    Ok(tx.query_row(
        "UPDATE revision SET value = value + 1 RETURNING value",
        [],
        |r| r.get(0),
    )?)
}

/// The stored resourceVersion and manifest of one object.
pub fn get(
    c: &Connection,
    kind: Kind,
    namespace: &str,
    name: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    Ok(c.query_row(
        "SELECT rv, manifest FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
        params![kind.as_str(), namespace, name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Creates or overwrites an object (no check: callers decide).
pub fn put(
    tx: &Transaction,
    kind: Kind,
    ns: &str,
    name: &str,
    rv: i64,
    manifest: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO objects (kind, namespace, name, rv, manifest) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, namespace, name) DO UPDATE SET rv = excluded.rv, manifest = excluded.manifest",
        params![kind.as_str(), ns, name, rv, manifest],
    )?;
    tx.execute(
        "DELETE FROM tombstones WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
        params![kind.as_str(), ns, name],
    )?;
    Ok(())
}

/// Overwrites an object only if it is still at `expected`; false when it moved on or is gone.
pub fn compare_and_swap(
    tx: &Transaction,
    kind: Kind,
    ns: &str,
    name: &str,
    expected: i64,
    rv: i64,
    manifest: &str,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE objects SET rv = ?1, manifest = ?2 WHERE kind = ?3 AND namespace = ?4 AND name = ?5 AND rv = ?6",
        params![rv, manifest, kind.as_str(), ns, name, expected],
    )?;
    Ok(n == 1)
}

/// Deletes an object, leaving a tombstone at `rv` so other processes see the deletion.
pub fn remove(
    tx: &Transaction,
    kind: Kind,
    ns: &str,
    name: &str,
    rv: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
        params![kind.as_str(), ns, name],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO tombstones (kind, namespace, name, rv) VALUES (?1, ?2, ?3, ?4)",
        params![kind.as_str(), ns, name, rv],
    )?;
    if kind == Kind::Task {
        tx.execute(
            "DELETE FROM task_summaries WHERE namespace = ?1 AND name = ?2",
            params![ns, name],
        )?;
    }
    Ok(())
}

/// Every change after revision `since` (objects and deletions), oldest first.
pub fn changes_since(c: &Connection, since: i64) -> Result<Vec<Row>, StoreError> {
    let mut out = Vec::new();
    let mut q = c.prepare(
        "SELECT kind, namespace, name, rv, manifest FROM objects WHERE rv > ?1
         UNION ALL SELECT kind, namespace, name, rv, NULL FROM tombstones WHERE rv > ?1
         ORDER BY 4",
    )?;
    let rows = q.query_map([since], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    for row in rows {
        let (kind, namespace, name, rv, manifest) = row?;
        if let Some(kind) = Kind::parse(&kind) {
            out.push(Row {
                kind,
                namespace,
                name,
                rv,
                manifest,
            });
        }
    }
    Ok(out)
}

/// Every stored object but the tasks (those are read as summaries, `summaries.rs`). The kinds
/// are named so the primary key finds them: `kind != 'AgenticTask'` would read every task's
/// row on the way.
pub fn objects_except_tasks(c: &Connection) -> Result<Vec<Row>, StoreError> {
    let mut q = c.prepare(
        "SELECT kind, namespace, name, rv, manifest FROM objects WHERE kind IN ('Agent', 'Workload', 'FleetNode')",
    )?;
    let rows = q.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, namespace, name, rv, manifest) = row?;
        if let Some(kind) = Kind::parse(&kind) {
            out.push(Row {
                kind,
                namespace,
                name,
                rv,
                manifest: Some(manifest),
            });
        }
    }
    Ok(out)
}

/// A counter that moves whenever another connection commits (SQLite's `data_version`).
pub fn data_version(c: &Connection) -> Result<i64, StoreError> {
    Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

pub fn meta(c: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?,
    )
}

pub fn set_meta(tx: &Transaction, key: &str, value: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![key, value],
    )?;
    Ok(())
}
