//! How this process learns what others wrote: every commit moves a revision counter and
//! SQLite's `data_version`; [`Store::refresh`] reads the rows past the last revision seen
//! (deletions as tombstones) into the in-memory copy and returns what changed, skipping this
//! process's own writes (already there at the same resourceVersion).

use super::db::{self, Kind};
use super::{DB_FILE, Store, StoreError, rv_of};
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::fleet::TaskKey;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// What changed in the database since the last [`Store::refresh`] by other processes.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub tasks: Vec<AgenticTask>,
    pub deleted_tasks: Vec<TaskKey>,
    pub agents: Vec<Agent>,
    pub deleted_agents: Vec<(String, String)>,
    pub workloads: Vec<Workload>,
    pub deleted_workloads: Vec<(String, String)>,
    pub nodes: Vec<FleetNode>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
            && self.deleted_tasks.is_empty()
            && self.agents.is_empty()
            && self.deleted_agents.is_empty()
            && self.workloads.is_empty()
            && self.deleted_workloads.is_empty()
            && self.nodes.is_empty()
    }
}

impl Store {
    /// Applies rows read from the database to the in-memory copy; returns what changed when
    /// `report` (rows this process wrote itself are already there) and rows that did not parse.
    pub(super) fn apply(&mut self, rows: Vec<db::Row>, report: bool) -> (Changes, Vec<String>) {
        let mut ch = Changes::default();
        let mut bad = Vec::new();
        for row in rows {
            self.seen = self.seen.max(row.rv);
            let key = (row.namespace.clone(), row.name.clone());
            let Some(text) = row.manifest else {
                match row.kind {
                    Kind::Task => {
                        let k = TaskKey::new(&row.namespace, &row.name);
                        if self.tasks.remove(&k).is_some() {
                            ch.deleted_tasks.push(k);
                        }
                    }
                    Kind::Agent if self.agents.remove(&key).is_some() => {
                        ch.deleted_agents.push(key)
                    }
                    Kind::Workload if self.workloads.remove(&key).is_some() => {
                        ch.deleted_workloads.push(key)
                    }
                    _ => {}
                }
                continue;
            };
            let same = |meta: Option<&ObjectMeta>| meta.is_some_and(|m| rv_of(m) == row.rv);
            let what = format!("{} {}/{}", row.kind.as_str(), row.namespace, row.name);
            let parsed = match row.kind {
                Kind::Task => {
                    let k = TaskKey::new(&row.namespace, &row.name);
                    if self.tasks.get(&k).and_then(|e| e.view.rv()) == Some(row.rv) {
                        continue;
                    }
                    serde_json::from_str::<AgenticTask>(&text).map(|t| {
                        if report {
                            ch.tasks.push(t.clone());
                        }
                        self.tasks
                            .insert(k, super::Entry::full(std::sync::Arc::new(t)));
                    })
                }
                Kind::Agent => {
                    if same(self.agents.get(&key).map(|a| &a.metadata)) {
                        continue;
                    }
                    serde_json::from_str::<Agent>(&text).map(|a| {
                        if report {
                            ch.agents.push(a.clone());
                        }
                        self.agents.insert(key, a);
                    })
                }
                Kind::Workload => {
                    if same(self.workloads.get(&key).map(|w| &w.metadata)) {
                        continue;
                    }
                    serde_json::from_str::<Workload>(&text).map(|w| {
                        if report {
                            ch.workloads.push(w.clone());
                        }
                        self.workloads.insert(key, w);
                    })
                }
                Kind::Node => {
                    if same(self.nodes.get(&row.name).map(|n| &n.metadata)) {
                        continue;
                    }
                    serde_json::from_str::<FleetNode>(&text).map(|n| {
                        if report {
                            ch.nodes.push(n.clone());
                        }
                        self.nodes.insert(row.name.clone(), n);
                    })
                }
            };
            if let Err(e) = parsed {
                bad.push(format!(
                    "{what} in {DB_FILE} does not parse ({e}); skipped — `foreman delete` it or fix it with sqlite3"
                ));
            }
        }
        (ch, bad)
    }

    /// What other processes committed since the last call (cheap when nothing did: one
    /// `PRAGMA data_version`). Unparseable rows come back as warnings.
    pub fn refresh(&mut self) -> Result<(Changes, Vec<String>), StoreError> {
        let v = db::data_version(&self.db)?;
        if v == self.data_version {
            return Ok((Changes::default(), Vec::new()));
        }
        self.data_version = v;
        let rows = db::changes_since(&self.db, self.seen)?;
        Ok(self.apply(rows, true))
    }
}
