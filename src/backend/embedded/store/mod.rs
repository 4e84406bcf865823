//! The local state: every Agent, AgenticTask, Workload and this machine's FleetNode as its
//! manifest (JSON, status included) in one SQLite database (`state.db`, WAL mode) with a
//! resourceVersion, as the apiserver keeps them in etcd. Every update is compare-and-swap on
//! that resourceVersion, every submit one transaction, so the console, `foreman submit`,
//! `foreman get/delete` and a second console can share one state directory: no write is lost
//! or mixed, and each process sees the others' changes through [`Store::refresh`].
//!
//! Beside the database: `transcripts/<ns>/<name>.jsonl` (journals, one per attempt),
//! `workspaces/`, `owners/` (one lock per live process, see [`owner`]).

mod attempts;
mod changes;
mod db;
mod import;
mod notes;
mod owner;
mod plan;
mod put;
mod revision;
mod summaries;
mod workloads;

pub use attempts::{ATTEMPT_ANNOTATION, Attempt, attempt_of};
pub use changes::Changes;
pub use db::{DB_FILE, Kind};

use crate::api::{Agent, AgenticTask, FleetNode, Object, TaskPhase, Verdict, Workload};
use crate::fleet::TaskKey;
use crate::fleet::held::Held;
use crate::fleet::reasons::REASON_INTERRUPTED;
use crate::fleet::status::{fail_with, now};
use import::to_json;
use put::{put_task, unreachable_kind, upsert_verb};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use summaries::Entry;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("state database: {0}")]
    Db(String),
    #[error(
        "task {0} already exists; pick another name, delete it (`foreman delete task NAME`) or submit with --replace"
    )]
    Duplicate(TaskKey),
    #[error(
        "{kind} {name} already exists with a different spec; submit with --replace to replace it"
    )]
    Exists { kind: &'static str, name: String },
    #[error("task {0} is not in the store")]
    NotFound(TaskKey),
    #[error(
        "task {key} was changed by another process (resourceVersion {expected} is now {current}); nothing was written, reload and retry"
    )]
    Conflict {
        key: TaskKey,
        expected: String,
        current: String,
    },
    #[error("task {key} is {state}; cancel it in the console first{hint}")]
    Active {
        key: TaskKey,
        state: String,
        hint: &'static str,
    },
    #[error(
        "task {key} cannot be re-queued while {state}; only failed, interrupted or INCOMPLETE tasks can"
    )]
    NotRequeueable { key: TaskKey, state: String },
    #[error("task {key} is {state}; {why}")]
    WrongState {
        key: TaskKey,
        state: String,
        why: &'static str,
    },
    #[error("{0} has no metadata.name; give it one")]
    Unnamed(&'static str),
    #[error(
        "{kind} {name:?} cannot be submitted to the embedded backend (only Agents, AgenticTasks and Workloads); this machine is its only FleetNode"
    )]
    Unsupported { kind: &'static str, name: String },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// What one submit wrote, a line per object ("task default/a created").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Submitted {
    /// The tasks created or replaced (Pending now).
    pub tasks: Vec<TaskKey>,
    pub lines: Vec<String>,
}

pub(crate) type NsName = (String, String);

/// The database with an in-memory copy of what it holds.
pub struct Store {
    root: PathBuf,
    db: Connection,
    owner: owner::Owner,
    /// Tasks in flight in full, finished ones packed and shared with the console's queue
    /// (`fleet::held`), full tasks on demand ([`summaries`]).
    tasks: BTreeMap<TaskKey, Entry>,
    agents: BTreeMap<NsName, Agent>,
    workloads: BTreeMap<NsName, Workload>,
    nodes: BTreeMap<String, FleetNode>,
    /// The highest resourceVersion read so far.
    seen: i64,
    data_version: i64,
    import_note: Option<String>,
}

fn ns_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> NsName {
    (
        meta.namespace.clone().unwrap_or_else(|| "default".into()),
        meta.name.clone().unwrap_or_default(),
    )
}

pub(super) fn rv_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> i64 {
    meta.resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Scheduled, Running or Verifying: a run holds the task.
pub(super) fn active(t: &AgenticTask) -> bool {
    matches!(
        t.status.as_ref().and_then(|s| s.phase),
        Some(TaskPhase::Running | TaskPhase::Scheduled | TaskPhase::Verifying)
    )
}

impl Store {
    /// Opens (creating if needed) the state directory and its database, imports a file-based
    /// state of an earlier version once, and loads every object. A row or legacy file that no
    /// longer parses is skipped and named in the returned warnings, never fatal.
    pub fn open(root: &Path) -> Result<(Store, Vec<String>), StoreError> {
        for d in ["transcripts", "workspaces"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| io_err(&root.join(d), e))?;
        }
        let db_path = root.join(DB_FILE);
        let db = db::open(&db_path).map_err(|e| match e {
            StoreError::Db(m) => StoreError::Db(format!("{}: {m}", db_path.display())),
            e => e,
        })?;
        let mut warnings = Vec::new();
        let imported = {
            let tx = db::write(&db)?;
            let imported = import::run(&tx, root)?;
            tx.commit()?;
            imported
        };
        let import_note = imported.map(|mut i| {
            warnings.append(&mut i.warnings);
            let kept = import::keep_files(root);
            format!(
                "imported {} task(s) and {} agent(s) from the file-based state into {DB_FILE}; the files are kept in {kept}",
                i.tasks, i.agents
            )
        });
        let owner = owner::Owner::take(root).map_err(|e| io_err(&root.join("owners"), e))?;
        let mut store = Store {
            root: root.to_path_buf(),
            db,
            owner,
            tasks: BTreeMap::new(),
            agents: BTreeMap::new(),
            workloads: BTreeMap::new(),
            nodes: BTreeMap::new(),
            seen: 0,
            data_version: 0,
            import_note,
        };
        store.data_version = db::data_version(&store.db)?;
        let unsummarized = summaries::backfill(&store.db)?;
        let loaded = summaries::load(&mut store.db, unsummarized)?;
        store.tasks = loaded.tasks;
        warnings.extend(loaded.bad);
        let (_, bad) = store.apply(loaded.others, false);
        warnings.extend(bad);
        store.seen = store.seen.max(loaded.max_rv);
        Ok((store, warnings))
    }

    /// Says once that this open imported a file-based state (None otherwise).
    pub fn take_import_note(&mut self) -> Option<String> {
        self.import_note.take()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Adds AgenticTasks (phase Pending, creationTimestamp now), Agents and Workloads in one
    /// transaction: every object or none. A name that exists is an error unless `replace`
    /// (an Agent or Workload identical to the stored one is left as it is); a task that a run
    /// holds is never replaced. Other kinds are refused by name.
    pub fn submit(&mut self, objects: Vec<Object>, replace: bool) -> Result<Submitted, StoreError> {
        let tx = db::write(&self.db)?;
        let mut out = Submitted::default();
        let mut written: Vec<(Kind, String)> = Vec::new();
        for o in objects {
            let (kind, label) = match &o {
                Object::Task(_) => (Kind::Task, "an AgenticTask"),
                Object::Agent(_) => (Kind::Agent, "an Agent"),
                Object::Workload(_) => (Kind::Workload, "a Workload"),
                other => {
                    return Err(StoreError::Unsupported {
                        kind: other.kind(),
                        name: other.name().to_string(),
                    });
                }
            };
            if o.name().is_empty() {
                return Err(StoreError::Unnamed(label));
            }
            let written_key = |ns: &str, name: &str| (kind, format!("{ns}/{name}"));
            match o {
                Object::Task(mut t) => {
                    let (ns, name) = ns_name(&t.metadata);
                    let key = TaskKey::new(&ns, &name);
                    if written.contains(&written_key(&ns, &name)) {
                        return Err(StoreError::Duplicate(key));
                    }
                    let verb = put_task(&tx, &mut t, &key, replace)?;
                    attempts::forget(&tx, &key)?;
                    written.push(written_key(&ns, &name));
                    out.lines.push(format!("task {key} {verb}"));
                    out.tasks.push(key);
                }
                Object::Agent(mut a) => {
                    let (ns, name) = ns_name(&a.metadata);
                    a.metadata.namespace = Some(ns.clone());
                    let old = db::get(&tx, Kind::Agent, &ns, &name)?
                        .and_then(|(_, text)| serde_json::from_str::<Agent>(&text).ok());
                    let verb =
                        upsert_verb(old.map(|o| o.spec == a.spec), replace, "Agent", &ns, &name)?;
                    if verb != "unchanged" {
                        let rv = db::bump(&tx)?;
                        a.metadata.creation_timestamp = Some(now());
                        a.metadata.resource_version = Some(rv.to_string());
                        db::put(&tx, Kind::Agent, &ns, &name, rv, &to_json(&*a)?)?;
                    }
                    written.push(written_key(&ns, &name));
                    out.lines.push(format!("agent {ns}/{name} {verb}"));
                }
                Object::Workload(mut w) => {
                    let (ns, name) = ns_name(&w.metadata);
                    w.metadata.namespace = Some(ns.clone());
                    let old = db::get(&tx, Kind::Workload, &ns, &name)?
                        .and_then(|(_, text)| serde_json::from_str::<Workload>(&text).ok());
                    let verb = upsert_verb(
                        old.map(|o| o.spec == w.spec),
                        replace,
                        "Workload",
                        &ns,
                        &name,
                    )?;
                    if verb != "unchanged" {
                        let rv = db::bump(&tx)?;
                        w.metadata.creation_timestamp = Some(now());
                        w.metadata.resource_version = Some(rv.to_string());
                        db::put(&tx, Kind::Workload, &ns, &name, rv, &to_json(&*w)?)?;
                    }
                    written.push(written_key(&ns, &name));
                    out.lines.push(format!("workload {ns}/{name} {verb}"));
                }
                Object::FleetNode(_) => unreachable_kind()?,
            }
        }
        let rows = db::changes_since(&tx, self.seen)?;
        tx.commit()?;
        self.apply(rows, false);
        Ok(out)
    }

    /// Every task in full (reads the manifests of finished tasks not loaded yet).
    pub fn tasks(&self) -> Vec<AgenticTask> {
        self.tasks
            .iter()
            .filter_map(|(k, e)| e.get(&self.db, k).cloned())
            .collect()
    }

    /// Every task as held, finished ones packed (`fleet::held`): the console's queue holds
    /// these same ones (it asks for the full task when it shows one, [`Store::task`]).
    pub fn held(&self) -> Vec<(TaskKey, Held)> {
        self.tasks
            .iter()
            .map(|(k, e)| (k.clone(), e.view.clone()))
            .collect()
    }

    /// The full task (its manifest read the first time a finished one is asked for).
    pub fn task(&self, key: &TaskKey) -> Option<&AgenticTask> {
        self.tasks.get(key)?.get(&self.db, key)
    }

    pub fn agents(&self) -> Vec<Agent> {
        self.agents.values().cloned().collect()
    }

    pub fn agent(&self, namespace: &str, name: &str) -> Option<&Agent> {
        self.agents.get(&(namespace.to_string(), name.to_string()))
    }

    pub fn workloads(&self) -> Vec<Workload> {
        self.workloads.values().cloned().collect()
    }

    pub fn nodes(&self) -> Vec<FleetNode> {
        self.nodes.values().cloned().collect()
    }

    /// Writes the full task (status included) if the stored copy is still at the task's
    /// resourceVersion, and returns it at its new one. A task changed or deleted by another
    /// process in between is a [`StoreError::Conflict`] and nothing is written. A task no run
    /// holds any more releases its run record.
    pub fn save_task(&mut self, t: &AgenticTask) -> Result<AgenticTask, StoreError> {
        self.write_task(t, false)
    }

    /// [`Store::save_task`] that also records this process as the one running the task (in
    /// the same transaction, so two consoles never both claim it).
    pub fn claim_task(&mut self, t: &AgenticTask) -> Result<AgenticTask, StoreError> {
        self.write_task(t, true)
    }

    fn write_task(&mut self, t: &AgenticTask, claim: bool) -> Result<AgenticTask, StoreError> {
        self.write_task_with(t, claim, |_| Ok(()))
    }

    /// The compare-and-swap of a task, with `also` in the same transaction.
    fn write_task_with(
        &mut self,
        t: &AgenticTask,
        claim: bool,
        also: impl FnOnce(&rusqlite::Transaction) -> Result<(), StoreError>,
    ) -> Result<AgenticTask, StoreError> {
        let key = TaskKey::of(t);
        let expected = rv_of(&t.metadata);
        let tx = db::write(&self.db)?;
        let rv = db::bump(&tx)?;
        let mut stored = t.clone();
        stored.metadata.namespace = Some(key.namespace.clone());
        stored.metadata.resource_version = Some(rv.to_string());
        let text = to_json(&stored)?;
        if !db::compare_and_swap(
            &tx,
            Kind::Task,
            &key.namespace,
            &key.name,
            expected,
            rv,
            &text,
        )? {
            let current = db::get(&tx, Kind::Task, &key.namespace, &key.name)?
                .map_or("deleted".to_string(), |(rv, _)| rv.to_string());
            return Err(StoreError::Conflict {
                key,
                expected: expected.to_string(),
                current,
            });
        }
        also(&tx)?;
        summaries::put(&tx, &stored, rv)?;
        if claim {
            tx.execute(
                "INSERT OR REPLACE INTO runs (namespace, name, owner) VALUES (?1, ?2, ?3)",
                rusqlite::params![key.namespace, key.name, self.owner.id],
            )?;
        } else if !active(&stored) {
            // The run is over: so are its record and any note it did not take.
            for table in ["runs", "notes"] {
                let sql = format!("DELETE FROM {table} WHERE namespace = ?1 AND name = ?2");
                tx.execute(&sql, rusqlite::params![key.namespace, key.name])?;
            }
        }
        tx.commit()?;
        self.seen_own(rv);
        self.tasks
            .insert(key, Entry::full(Arc::new(stored.clone())));
        Ok(stored)
    }

    /// Our own write at `rv`: when nothing else committed since the last read, skip re-reading it.
    fn seen_own(&mut self, rv: i64) {
        if rv == self.seen + 1 {
            self.seen = rv;
        }
    }

    /// Heartbeats: the node is this machine's alone, so the last write wins.
    pub fn save_node(&mut self, n: &FleetNode) -> Result<(), StoreError> {
        let name = n.metadata.name.clone().unwrap_or_default();
        let tx = db::write(&self.db)?;
        let rv = db::bump(&tx)?;
        let mut stored = n.clone();
        stored.metadata.resource_version = Some(rv.to_string());
        db::put(&tx, Kind::Node, "", &name, rv, &to_json(&stored)?)?;
        tx.commit()?;
        self.seen_own(rv);
        self.nodes.insert(name, stored);
        Ok(())
    }

    /// Deletes a task (its journals and workspace stay on disk). A task a run holds is refused
    /// unless `force` (its owner is gone, e.g. after kill -9 with no console since).
    pub fn delete_task(&mut self, key: &TaskKey, force: bool) -> Result<AgenticTask, StoreError> {
        let tx = db::write(&self.db)?;
        let Some((_, text)) = db::get(&tx, Kind::Task, &key.namespace, &key.name)? else {
            return Err(StoreError::NotFound(key.clone()));
        };
        let t: AgenticTask = serde_json::from_str(&text)
            .map_err(|e| StoreError::Db(format!("task {key} does not parse: {e}")))?;
        if active(&t) && !force {
            return Err(StoreError::Active {
                key: key.clone(),
                state: format!("{:?}", crate::fleet::task_state(&t)),
                hint: " (or delete with --force if no console runs it any more)",
            });
        }
        let rv = db::bump(&tx)?;
        db::remove(&tx, Kind::Task, &key.namespace, &key.name, rv)?;
        for table in ["runs", "notes"] {
            let sql = format!("DELETE FROM {table} WHERE namespace = ?1 AND name = ?2");
            tx.execute(&sql, rusqlite::params![key.namespace, key.name])?;
        }
        attempts::forget(&tx, key)?;
        tx.commit()?;
        self.seen_own(rv);
        self.tasks.remove(key);
        Ok(t)
    }

    /// The JSONL journal of a task's first attempt (the executor's journal); later attempts
    /// are [`Store::journal_path_of`].
    pub fn journal_path(&self, key: &TaskKey) -> PathBuf {
        self.journal_path_of(key, 1)
    }

    /// The journal of attempt `n` (1-based): `<name>.jsonl`, then `<name>.attempt-N.jsonl`.
    pub fn journal_path_of(&self, key: &TaskKey, n: u32) -> PathBuf {
        let file = if n <= 1 {
            format!("{}.jsonl", key.name)
        } else {
            format!("{}.attempt-{n}.jsonl", key.name)
        };
        self.root
            .join("transcripts")
            .join(&key.namespace)
            .join(file)
    }

    /// The executor's workspace root (clones at `<root>/<ns>/<task>`).
    pub fn workspace_root(&self) -> PathBuf {
        self.root.join("workspaces")
    }

    /// Tasks left Scheduled, Running or Verifying by a process that is gone (a crash, kill -9,
    /// a stop) become Failed with reason Interrupted (re-queueable), so they are never silently
    /// lost; runs of a live process (a second console) are left alone. Returns the tasks marked.
    pub fn recover(&mut self) -> Result<Vec<AgenticTask>, StoreError> {
        let owners: BTreeMap<TaskKey, String> = {
            let mut q = self.db.prepare("SELECT namespace, name, owner FROM runs")?;
            let rows = q.query_map([], |r| {
                Ok((
                    TaskKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get(2)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let cut: Vec<AgenticTask> = self
            .tasks
            .iter()
            .filter(|(_, e)| e.view.full().is_some_and(|t| active(t)))
            .filter(|(k, _)| match owners.get(*k) {
                Some(o) if *o == self.owner.id => false,
                Some(o) => !owner::alive(&self.root, o),
                None => true,
            })
            .filter_map(|(k, e)| e.get(&self.db, k).cloned())
            .collect();
        let mut out = Vec::new();
        for mut t in cut {
            fail_with(
                &mut t,
                REASON_INTERRUPTED,
                "the process running this task stopped; re-queue it with R",
            );
            match self.save_task(&t) {
                Ok(t) => out.push(t),
                // Someone else recovered or changed it first: theirs stands.
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Failed, Interrupted or INCOMPLETE → Pending with a fresh status, as attempt N+1: the
    /// finished attempt's status (Result, transcript, workspace) is kept in the attempt history
    /// ([`Store::attempts`]), never overwritten.
    pub fn requeue(&mut self, key: &TaskKey) -> Result<AgenticTask, StoreError> {
        let mut t = self
            .task(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        let status = t.status.clone().unwrap_or_default();
        // A rejected push can be tried again too (issue 12): the new attempt starts fresh.
        let ok = status.phase == Some(TaskPhase::Failed)
            || (status.phase == Some(TaskPhase::Succeeded)
                && status.verdict == Some(Verdict::Incomplete))
            || crate::fleet::task_state(&t) == crate::fleet::TaskState::Rejected;
        if !ok {
            return Err(StoreError::NotRequeueable {
                key: key.clone(),
                state: format!("{:?}", crate::fleet::task_state(&t)),
            });
        }
        let n = attempts::attempt_of(&t);
        t.status = Some(crate::api::AgenticTaskStatus {
            phase: Some(TaskPhase::Pending),
            ..Default::default()
        });
        attempts::set_attempt(&mut t, n + 1);
        self.write_task_with(&t, false, |tx| attempts::archive(tx, key, n, &status))
    }

    /// The earlier attempts of a task, oldest first (the current one is the task itself).
    pub fn attempts(&self, key: &TaskKey) -> Result<Vec<Attempt>, StoreError> {
        attempts::list(&self.db, key)
    }
}
