//! The local state directory: every Agent and AgenticTask as a YAML file (the full object,
//! status included), written atomically so a crash leaves either the old or the new file,
//! never half of one. Layout: `agents/<ns>/<name>.yaml`, `tasks/<ns>/<name>.yaml`,
//! `transcripts/<ns>/<name>.jsonl`, `workspaces/`, `node.yaml`.

use crate::api::{Agent, AgenticTask, FleetNode, Object, TaskPhase, Verdict};
use crate::fleet::TaskKey;
use crate::fleet::reasons::REASON_INTERRUPTED;
use crate::fleet::status::{fail_with, now};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("task {0} already exists; delete its file under tasks/ or pick another name")]
    Duplicate(TaskKey),
    #[error("task {0} is not in the store")]
    NotFound(TaskKey),
    #[error(
        "task {key} cannot be re-queued while {state}; only failed, interrupted or INCOMPLETE tasks can"
    )]
    NotRequeueable { key: TaskKey, state: String },
    #[error("{0} has no metadata.name; give it one")]
    Unnamed(&'static str),
    #[error(
        "{kind} {name:?} cannot be submitted to the embedded backend (only Agents and AgenticTasks); this machine is its only FleetNode"
    )]
    Unsupported { kind: &'static str, name: String },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The state directory with an in-memory copy of what it holds (the runner is its only writer).
pub struct Store {
    root: PathBuf,
    tasks: BTreeMap<TaskKey, AgenticTask>,
    agents: BTreeMap<(String, String), Agent>,
}

impl Store {
    /// Opens (creating if needed) the state directory and loads every object in it. A file
    /// that no longer parses is skipped and named in the returned warnings, never fatal.
    pub fn open(root: &Path) -> Result<(Store, Vec<String>), StoreError> {
        for d in ["agents", "tasks", "transcripts", "workspaces"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| io_err(&root.join(d), e))?;
        }
        let mut store = Store {
            root: root.to_path_buf(),
            tasks: BTreeMap::new(),
            agents: BTreeMap::new(),
        };
        let mut warnings = Vec::new();
        for file in yaml_files(&root.join("tasks"))? {
            match read_yaml::<AgenticTask>(&file) {
                Ok(t) => {
                    store.tasks.insert(TaskKey::of(&t), t);
                }
                Err(e) => warnings.push(e),
            }
        }
        for file in yaml_files(&root.join("agents"))? {
            match read_yaml::<Agent>(&file) {
                Ok(a) => {
                    store.agents.insert(agent_key(&a), a);
                }
                Err(e) => warnings.push(e),
            }
        }
        Ok((store, warnings))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Adds AgenticTasks (phase Pending, creationTimestamp now) and upserts Agents. Other kinds
    /// are refused by name. Nothing is written unless every object is acceptable.
    pub fn submit(&mut self, objects: Vec<Object>) -> Result<Vec<TaskKey>, StoreError> {
        let mut new_tasks = Vec::new();
        let mut new_agents = Vec::new();
        for o in objects {
            match o {
                Object::Task(mut t) => {
                    if t.metadata.name.as_deref().unwrap_or("").is_empty() {
                        return Err(StoreError::Unnamed("an AgenticTask"));
                    }
                    if t.metadata.namespace.is_none() {
                        t.metadata.namespace = Some("default".into());
                    }
                    let key = TaskKey::of(&t);
                    if self.tasks.contains_key(&key) || new_tasks.iter().any(|(k, _)| *k == key) {
                        return Err(StoreError::Duplicate(key));
                    }
                    t.metadata.creation_timestamp = Some(now());
                    t.status = Some(crate::api::AgenticTaskStatus {
                        phase: Some(TaskPhase::Pending),
                        ..Default::default()
                    });
                    new_tasks.push((key, *t));
                }
                Object::Agent(mut a) => {
                    if a.metadata.name.as_deref().unwrap_or("").is_empty() {
                        return Err(StoreError::Unnamed("an Agent"));
                    }
                    if a.metadata.namespace.is_none() {
                        a.metadata.namespace = Some("default".into());
                    }
                    new_agents.push(*a);
                }
                other => {
                    return Err(StoreError::Unsupported {
                        kind: other.kind(),
                        name: other.name().to_string(),
                    });
                }
            }
        }
        for a in new_agents {
            let (ns, name) = agent_key(&a);
            write_atomic(
                &self
                    .root
                    .join("agents")
                    .join(&ns)
                    .join(format!("{name}.yaml")),
                &a,
            )?;
            self.agents.insert((ns, name), a);
        }
        let mut keys = Vec::new();
        for (key, t) in new_tasks {
            self.save_task(&t)?;
            keys.push(key);
        }
        Ok(keys)
    }

    pub fn tasks(&self) -> Vec<AgenticTask> {
        self.tasks.values().cloned().collect()
    }

    pub fn task(&self, key: &TaskKey) -> Option<&AgenticTask> {
        self.tasks.get(key)
    }

    pub fn agents(&self) -> Vec<Agent> {
        self.agents.values().cloned().collect()
    }

    pub fn agent(&self, namespace: &str, name: &str) -> Option<&Agent> {
        self.agents.get(&(namespace.to_string(), name.to_string()))
    }

    /// Writes the full task (status included) atomically and updates the in-memory copy.
    pub fn save_task(&mut self, t: &AgenticTask) -> Result<(), StoreError> {
        let key = TaskKey::of(t);
        write_atomic(&self.task_path(&key), t)?;
        self.tasks.insert(key, t.clone());
        Ok(())
    }

    pub fn save_node(&self, n: &FleetNode) -> Result<(), StoreError> {
        write_atomic(&self.root.join("node.yaml"), n)
    }

    fn task_path(&self, key: &TaskKey) -> PathBuf {
        self.root
            .join("tasks")
            .join(&key.namespace)
            .join(format!("{}.yaml", key.name))
    }

    /// The JSONL transcript of a task (the executor's journal).
    pub fn journal_path(&self, key: &TaskKey) -> PathBuf {
        self.root
            .join("transcripts")
            .join(&key.namespace)
            .join(format!("{}.jsonl", key.name))
    }

    /// The executor's workspace root (clones at `<root>/<ns>/<task>`).
    pub fn workspace_root(&self) -> PathBuf {
        self.root.join("workspaces")
    }

    /// After a restart: tasks left Scheduled or Running were cut short. They become Failed with
    /// reason Interrupted (re-queueable) so they are never silently lost. Returns them.
    pub fn recover(&mut self) -> Result<Vec<AgenticTask>, StoreError> {
        let cut: Vec<AgenticTask> = self
            .tasks
            .values()
            .filter(|t| {
                matches!(
                    t.status.as_ref().and_then(|s| s.phase),
                    Some(TaskPhase::Running | TaskPhase::Scheduled | TaskPhase::Verifying)
                )
            })
            .cloned()
            .collect();
        let mut out = Vec::new();
        for mut t in cut {
            fail_with(
                &mut t,
                REASON_INTERRUPTED,
                "the console stopped while this task ran; re-queue it with R",
            );
            self.save_task(&t)?;
            out.push(t);
        }
        Ok(out)
    }

    /// Failed, Interrupted or INCOMPLETE → Pending with a fresh status (nothing stale kept).
    pub fn requeue(&mut self, key: &TaskKey) -> Result<AgenticTask, StoreError> {
        let mut t = self
            .tasks
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        let status = t.status.clone().unwrap_or_default();
        let ok = status.phase == Some(TaskPhase::Failed)
            || (status.phase == Some(TaskPhase::Succeeded)
                && status.verdict == Some(Verdict::Incomplete));
        if !ok {
            return Err(StoreError::NotRequeueable {
                key: key.clone(),
                state: format!("{:?}", crate::fleet::task_state(&t)),
            });
        }
        t.status = Some(crate::api::AgenticTaskStatus {
            phase: Some(TaskPhase::Pending),
            ..Default::default()
        });
        self.save_task(&t)?;
        Ok(t)
    }
}

fn agent_key(a: &Agent) -> (String, String) {
    (
        a.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        a.metadata.name.clone().unwrap_or_default(),
    )
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    let Ok(namespaces) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for ns in namespaces.flatten() {
        let Ok(files) = std::fs::read_dir(ns.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read ({e}); skipped", path.display()))?;
    crate::api::yaml::from_str(&text).map_err(|e| {
        format!(
            "{}: not a valid object ({e}); skipped — fix or remove the file",
            path.display()
        )
    })
}

/// Write to a temp file in the same directory, fsync, then rename over the target.
fn write_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    use std::io::Write;
    let text = crate::api::yaml::to_string(value).map_err(|e| io_err(path, e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(text.as_bytes()).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}
