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
use crate::fleet::held::{Held, Packed, read_record, record};
use crate::fleet::summary::summary;
use rusqlite::{Connection, Transaction, params};
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One task: what the scheduling pass and the console's queue see (the full task, or a
/// finished one packed), and the full task once loaded.
pub(super) struct Entry {
    pub(super) view: Held,
    full: OnceCell<Arc<AgenticTask>>,
}

impl Entry {
    pub(super) fn full(t: Arc<AgenticTask>) -> Entry {
        let full = OnceCell::new();
        let _ = full.set(t.clone());
        Entry {
            view: Held::Full(t),
            full,
        }
    }

    fn packed(p: Packed) -> Entry {
        Entry {
            view: Held::Packed(Arc::new(p)),
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
    let s = summary(t);
    let text = super::import::to_json(&s)?;
    tx.execute(
        "INSERT OR REPLACE INTO task_summaries (namespace, name, rv, summary, facts) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key.namespace, key.name, rv, text, record(&s)],
    )?;
    Ok(())
}

/// Writes the facts of the summaries an open found without a record of this version
/// ([`crate::fleet::held::FACTS_VERSION`]): a state written before records, or by a version with other rules.
/// Once: the next open reads them. A summary written since (another process) is left as it
/// is: its rv differs.
fn put_records(db: &Connection, records: &[(TaskKey, i64, String)]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let tx = db::write(db)?;
    {
        let mut q = tx.prepare(
            "UPDATE task_summaries SET facts = ?4 WHERE namespace = ?1 AND name = ?2 AND rv = ?3",
        )?;
        for (key, rv, facts) in records {
            q.execute(params![key.namespace, key.name, rv, facts])?;
        }
    }
    tx.commit()?;
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

/// Whether every task has a summary, once checked: a task without one makes the counts
/// differ (the triggers drop a summary with its object, so summaries never outnumber tasks),
/// and counting reads only the keys, not the manifests.
fn counts_match(db: &Connection) -> Result<bool, StoreError> {
    Ok(db.query_row(
        "SELECT (SELECT COUNT(*) FROM objects WHERE kind = 'AgenticTask') = (SELECT COUNT(*) FROM task_summaries)",
        [],
        |r| r.get(0),
    )?)
}

/// Writes the summaries a state lacks (one written before summaries, or by an older
/// version): once, then every open finds none. Returns whether tasks without a summary
/// remain: those whose manifest does not parse, which the open then names.
pub(super) fn backfill(db: &Connection) -> Result<bool, StoreError> {
    let checked = db::meta(db, CHECKED)?.is_some();
    if checked && counts_match(db)? {
        return Ok(false);
    }
    let any = format!("SELECT EXISTS ({})", stale("o.rv"));
    let missing: bool = db.query_row(&any, [], |r| r.get(0))?;
    if !missing && checked {
        return Ok(false);
    }
    let tx = db::write(db)?;
    let rows: Vec<(i64, String)> = {
        let mut q = tx.prepare(&stale("o.namespace, o.name, o.rv, o.manifest"))?;
        let rows = q.query_map([], |r| Ok((r.get(2)?, r.get(3)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut unparsed = false;
    for (rv, text) in rows {
        match serde_json::from_str::<AgenticTask>(&text) {
            Ok(t) => put(&tx, &t, rv)?,
            // Named when the store loads it in full.
            Err(_) => unparsed = true,
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
    Ok(unparsed)
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

/// Summary rows as one buffer: each row's namespace, name, summary and facts end at the
/// offsets in `ends` (one allocation per batch, not four per row), with its rv.
#[derive(Default)]
struct Batch {
    text: String,
    ends: Vec<([usize; COLS], i64)>,
}

/// The text columns of a summary row.
const COLS: usize = 4;

impl Batch {
    fn push(&mut self, cols: [&str; COLS], rv: i64) {
        let mut ends = [0; COLS];
        for (end, col) in ends.iter_mut().zip(cols) {
            self.text.push_str(col);
            *end = self.text.len();
        }
        self.ends.push((ends, rv));
    }

    /// Each row as ([namespace, name, summary, facts], rv); facts are empty when NULL.
    fn rows(&self) -> impl Iterator<Item = ([&str; COLS], i64)> {
        let mut at = 0;
        self.ends.iter().map(move |&(ends, rv)| {
            let row = ends.map(|end| {
                let col = &self.text[at..end];
                at = end;
                col
            });
            (row, rv)
        })
    }
}

/// What the reading thread read besides the summaries it handed over, in the same read
/// transaction, and the summaries it parsed itself.
struct Rest {
    others: Vec<db::Row>,
    max_rv: i64,
    parsed: Parsed,
}

/// Summaries parsed into entries, the keys of those to load in full, and the records to
/// write of those found without one.
#[derive(Default)]
struct Parsed {
    entries: Vec<(TaskKey, Entry)>,
    in_full: Vec<TaskKey>,
    records: Vec<(TaskKey, i64, String)>,
}

impl Parsed {
    /// A finished task packs from its record, its summary unparsed; one without a record of
    /// this version is packed from its parsed summary and its record kept to be written.
    fn parse(&mut self, b: &Batch) {
        for ([ns, name, text, facts], rv) in b.rows() {
            let key = TaskKey::new(ns, name);
            let packed = match read_record(facts) {
                Some((facts, rv)) => Packed::with(facts, rv, text),
                None => serde_json::from_str::<AgenticTask>(text)
                    .ok()
                    .and_then(|s| {
                        self.records.push((key.clone(), rv, record(&s)));
                        Packed::new(&s, text)
                    }),
            };
            match packed {
                Some(p) => self.entries.push((key, Entry::packed(p))),
                // In flight (the scheduling pass and recovery act on it), or unparseable.
                None => self.in_full.push(key),
            }
        }
    }
}

/// Reads every summary row, the other objects and the highest revision, all as of one read
/// transaction. A batch goes to `to_parser` when the opening thread has room for it, and is
/// parsed here otherwise: reading is the quicker half, so both threads end up parsing.
fn read(
    db: &Connection,
    to_parser: std::sync::mpsc::SyncSender<Batch>,
) -> Result<Rest, StoreError> {
    let mut parsed = Parsed::default();
    let tx = db.unchecked_transaction()?;
    {
        // Every summary is as new as its object (the triggers in `db.rs`): no join.
        let mut q = tx.prepare("SELECT namespace, name, summary, facts, rv FROM task_summaries")?;
        let mut rows = q.query([])?;
        let mut batch = Batch::default();
        while let Some(r) = rows.next()? {
            let col = |i| {
                r.get_ref(i)
                    .and_then(|v| Ok(v.as_str_or_null()?.unwrap_or("")))
            };
            batch.push([col(0)?, col(1)?, col(2)?, col(3)?], r.get(4)?);
            if batch.ends.len() == BATCH {
                hand_over(&to_parser, std::mem::take(&mut batch), &mut parsed);
            }
        }
        hand_over(&to_parser, batch, &mut parsed);
    }
    drop(to_parser);
    let others = db::objects_except_tasks(&tx)?;
    let max_rv: i64 = tx.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(rv) FROM objects), 0), COALESCE((SELECT MAX(rv) FROM tombstones), 0))",
        [],
        |r| r.get(0),
    )?;
    Ok(Rest {
        others,
        max_rv,
        parsed,
    })
}

/// Gives `batch` to the parsing thread if it has room, else parses it here.
fn hand_over(to_parser: &std::sync::mpsc::SyncSender<Batch>, batch: Batch, parsed: &mut Parsed) {
    if let Err(
        std::sync::mpsc::TrySendError::Full(b) | std::sync::mpsc::TrySendError::Disconnected(b),
    ) = to_parser.try_send(batch)
    {
        parsed.parse(&b);
    }
}

/// The page cache of the opening scan (negative: KiB), and SQLite's default after it.
const SCAN_CACHE_KIB: i64 = -128;
const DEFAULT_CACHE_KIB: i64 = -2000;

/// Every object: tasks as summaries (in full for the tasks not finished), the rest in full.
/// The work runs on two cores: a thread reads the rows and this one parses them, and the
/// reading thread parses every batch this one has no room for (parsing 10,000 summaries is
/// most of an open; reading them a fifth of it). `unsummarized`: [`backfill`] left tasks
/// without a summary, to be named.
pub(super) fn load(db: &mut Connection, unsummarized: bool) -> Result<Loaded, StoreError> {
    // Room for one batch: with more, the reader would run ahead queueing rows, not parsing.
    let (to_parser, batches) = std::sync::mpsc::sync_channel::<Batch>(1);
    let mut mine = Parsed::default();
    // The scan reads every page once, in order: a page cache grown to SQLite's default 2 MB
    // on it would only be memory the console keeps. Back to the default for what follows.
    db.pragma_update(None, "cache_size", SCAN_CACHE_KIB)?;
    let rest = std::thread::scope(|scope| {
        // The connection goes to the reading thread for the scope (it is Send, not Sync).
        let conn = &mut *db;
        let reader = scope.spawn(move || read(conn, to_parser));
        for b in batches {
            mine.parse(&b);
        }
        reader
            .join()
            .map_err(|_| StoreError::Db("the thread reading task summaries stopped".into()))?
    })?;
    db.pragma_update(None, "cache_size", DEFAULT_CACHE_KIB)?;
    let Parsed {
        mut entries,
        mut in_full,
        mut records,
    } = mine;
    entries.append(&mut { rest.parsed.entries });
    in_full.append(&mut { rest.parsed.in_full });
    records.append(&mut { rest.parsed.records });
    // Only quicker opens ride on it: a state that cannot be written now opens as before.
    if let Err(e) = put_records(db, &records) {
        tracing::warn!(
            "writing the facts of {} task summaries failed: {e}",
            records.len()
        );
    }
    let mut bad = Vec::new();
    for key in in_full {
        match full(db, &key) {
            Ok(t) => entries.push((key, Entry::full(Arc::new(t)))),
            Err(e) => bad.push(e),
        }
    }
    let tasks: BTreeMap<TaskKey, Entry> = entries.into_iter().collect();
    // A task whose manifest does not parse has no summary: name it as before summaries.
    if unsummarized {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A state whose `task_summaries` holds `n` finished tasks' summaries (and their objects).
    fn state(n: usize) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let db = db::open(&dir.path().join(DB_FILE)).unwrap();
        let tx = db::write(&db).unwrap();
        for i in 0..n {
            let name = format!("t-{i:05}");
            let yaml = format!(
                "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}, namespace: default}}\nspec: {{kind: issue-fix, payload: {{repo: a/b, issue: {}, prompt: p}}}}\nstatus: {{phase: Succeeded, verdict: GO}}\n",
                i + 1
            );
            let crate::api::Object::Task(mut t) =
                crate::api::load_str("t", &yaml).unwrap().remove(0)
            else {
                panic!("not a task")
            };
            let rv = db::bump(&tx).unwrap();
            // As the store writes it: the manifest carries its row's resourceVersion.
            t.metadata.resource_version = Some(rv.to_string());
            let text = super::super::import::to_json(&t).unwrap();
            db::put(&tx, Kind::Task, "default", &name, rv, &text).unwrap();
            put(&tx, &t, rv).unwrap();
        }
        tx.commit().unwrap();
        (dir, db)
    }

    #[test]
    fn a_reader_whose_parser_is_busy_parses_the_batches_itself_and_loses_none() {
        let n = 3 * BATCH + 17;
        let (_dir, db) = state(n);
        // Nobody takes from the channel while the reader runs: it fills the one slot and
        // parses every other batch, the last, short one included.
        let (to_parser, batches) = std::sync::mpsc::sync_channel::<Batch>(1);
        let rest = read(&db, to_parser).unwrap();
        let queued: Vec<Batch> = batches.iter().collect();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].ends.len(), BATCH);
        assert_eq!(rest.parsed.entries.len(), n - BATCH);
        assert!(rest.parsed.in_full.is_empty());
        let mut names: Vec<String> = queued[0]
            .rows()
            .map(|([_, name, ..], _)| name.to_string())
            .chain(rest.parsed.entries.iter().map(|(k, _)| k.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "every row once");
        assert!(rest.max_rv >= n as i64);
    }

    fn rv_of_row(db: &Connection, key: &TaskKey) -> Option<i64> {
        db.query_row(
            "SELECT rv FROM objects WHERE kind = 'AgenticTask' AND namespace = ?1 AND name = ?2",
            params![key.namespace, key.name],
            |r| r.get(0),
        )
        .ok()
    }

    fn facts_column(db: &Connection) -> Vec<Option<String>> {
        let mut q = db
            .prepare("SELECT facts FROM task_summaries ORDER BY name")
            .unwrap();
        q.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Each task's facts and rv as an open holds them.
    fn held_facts(loaded: &Loaded) -> Vec<(TaskKey, crate::fleet::held::Facts, Option<i64>)> {
        let facts = |e: &Entry| e.view.facts().into_owned();
        (loaded.tasks.iter())
            .map(|(k, e)| (k.clone(), facts(e), e.view.rv()))
            .collect()
    }

    #[test]
    fn summaries_without_records_of_this_version_open_the_same_and_get_them_once() {
        let n = BATCH + 5;
        let (_dir, mut db) = state(n);
        let written = facts_column(&db);
        assert!(
            written.iter().all(|f| f.is_some()),
            "a write writes the record"
        );
        let want = held_facts(&load(&mut db, false).unwrap());
        // As a version before records left them, and as one with other rules wrote them.
        db.execute(
            "UPDATE task_summaries SET facts = NULL WHERE name < 't-00100'",
            [],
        )
        .unwrap();
        db.execute(
            "UPDATE task_summaries SET facts = replace(facts, '\"v\":', '\"v\":9') WHERE name >= 't-00100'",
            [],
        )
        .unwrap();
        let loaded = load(&mut db, false).unwrap();
        assert_eq!(
            held_facts(&loaded),
            want,
            "derived again from the summaries"
        );
        assert_eq!(facts_column(&db), written, "and written back, once");
    }

    #[test]
    fn a_state_made_before_records_gets_the_column_and_older_writes_still_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE task_summaries (namespace TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, summary TEXT NOT NULL, PRIMARY KEY (namespace, name));
                 INSERT INTO task_summaries VALUES ('default', 'old', 1, '{}');",
            )
            .unwrap();
        let db = db::open(&path).unwrap();
        assert_eq!(facts_column(&db), [None], "the old row keeps its summary");
        // An older version's write names the columns it knows.
        db.execute(
            "INSERT OR REPLACE INTO task_summaries (namespace, name, rv, summary) VALUES ('default', 'old', 2, '{}')",
            [],
        )
        .unwrap();
        drop(db);
        let db = db::open(&path).unwrap();
        assert_eq!(facts_column(&db), [None], "a second open adds nothing");
    }

    #[test]
    fn an_open_packs_a_finished_task_from_its_record_without_parsing_the_summary() {
        let (_dir, mut db) = state(3);
        let want = held_facts(&load(&mut db, false).unwrap());
        db.execute(
            "UPDATE task_summaries SET summary = '{\"not\": \"a task\"' WHERE name = 't-00001'",
            [],
        )
        .unwrap();
        let loaded = load(&mut db, false).unwrap();
        assert_eq!(held_facts(&loaded), want, "the record says it all");
        let key = TaskKey::new("default", "t-00001");
        let e = &loaded.tasks[&key];
        assert!(
            e.view.task().is_none(),
            "the summary itself is read when shown"
        );
        assert!(
            e.get(&db, &key).is_some(),
            "and the full task from its manifest"
        );
    }

    #[test]
    fn an_open_of_several_batches_holds_every_task_once_with_its_own_summary() {
        let n = 4 * BATCH + 3;
        let (_dir, mut db) = state(n);
        let loaded = load(&mut db, false).unwrap();
        assert!(loaded.bad.is_empty(), "{:?}", loaded.bad);
        assert_eq!(loaded.tasks.len(), n);
        for (key, e) in &loaded.tasks {
            assert!(
                matches!(e.view, Held::Packed(_)),
                "{key}: a finished task is packed"
            );
            let t = e.view.task().unwrap();
            assert_eq!(TaskKey::of(&t), *key);
            let issue: usize = key.name[2..].parse().unwrap();
            assert_eq!(t.spec.payload.issue, Some(issue as i32 + 1), "{key}");
            assert!(crate::fleet::summary::is_summary(&t));
            assert_eq!(e.view.rv(), rv_of_row(&db, key), "{key}");
        }
    }
}
