//! The file-based state of earlier versions (`tasks/<ns>/<name>.yaml`, `agents/<ns>/<name>.yaml`)
//! read into the database once, in the transaction that first creates the schema, so a crash
//! imports all or nothing and a second process never imports twice. The files are kept: the
//! folders are renamed to `tasks.imported/` and `agents.imported/` after the commit.

use super::StoreError;
use super::db::{self, Kind};
use crate::api::{Agent, AgenticTask};
use rusqlite::Transaction;
use std::path::{Path, PathBuf};

/// The meta key that says the import ran (its value: when).
const IMPORTED: &str = "imported_files";

/// What an import did: counts for the one notice, and files it could not read.
#[derive(Default)]
pub struct Imported {
    pub tasks: usize,
    pub agents: usize,
    pub warnings: Vec<String>,
}

/// Imports the legacy files unless done before. Returns None when there was nothing to do.
pub fn run(tx: &Transaction, root: &Path) -> Result<Option<Imported>, StoreError> {
    if db::meta(tx, IMPORTED)?.is_some() {
        return Ok(None);
    }
    db::set_meta(tx, IMPORTED, &crate::fleet::status::now().0.to_string())?;
    let tasks = yaml_files(&root.join("tasks"));
    let agents = yaml_files(&root.join("agents"));
    if tasks.is_empty() && agents.is_empty() {
        return Ok(None);
    }
    let mut out = Imported::default();
    for file in tasks {
        match read_yaml::<AgenticTask>(&file) {
            Ok(mut t) => {
                let ns = t
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                let name = t.metadata.name.clone().unwrap_or_default();
                let rv = db::bump(tx)?;
                t.metadata.namespace = Some(ns.clone());
                t.metadata.resource_version = Some(rv.to_string());
                db::put(tx, Kind::Task, &ns, &name, rv, &to_json(&t)?)?;
                out.tasks += 1;
            }
            Err(e) => out.warnings.push(e),
        }
    }
    for file in agents {
        match read_yaml::<Agent>(&file) {
            Ok(mut a) => {
                let ns = a
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                let name = a.metadata.name.clone().unwrap_or_default();
                let rv = db::bump(tx)?;
                a.metadata.namespace = Some(ns.clone());
                a.metadata.resource_version = Some(rv.to_string());
                db::put(tx, Kind::Agent, &ns, &name, rv, &to_json(&a)?)?;
                out.agents += 1;
            }
            Err(e) => out.warnings.push(e),
        }
    }
    Ok(Some(out))
}

/// After the commit: the imported folders are renamed so nobody edits files no longer read.
pub fn keep_files(root: &Path) -> String {
    let mut kept = Vec::new();
    for d in ["tasks", "agents"] {
        let (from, to) = (root.join(d), root.join(format!("{d}.imported")));
        if from.is_dir() && !to.exists() && std::fs::rename(&from, &to).is_ok() {
            kept.push(format!("{d}.imported/"));
        }
    }
    kept.join(" and ")
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Db(format!("cannot encode an object: {e}")))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(namespaces) = std::fs::read_dir(dir) else {
        return out;
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
    out
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: cannot read ({e}); not imported, the file is kept",
            path.display()
        )
    })?;
    crate::api::yaml::from_str(&text).map_err(|e| {
        format!(
            "{}: not a valid object ({e}); not imported, the file is kept — fix it and submit it",
            path.display()
        )
    })
}
