//! `foreman delete task NAME [--force]`: removes a task from the local state (one
//! transaction; a running console drops it within a second). Its journals and workspace stay
//! on disk. A task a run holds is refused unless `--force` (for a run whose process is gone).

use super::ConsoleArgs;
use super::common::{Exit, bad_input, failed, settings};
use crate::backend::embedded::{Store, StoreError};
use crate::fleet::TaskKey;

/// What `delete` removes (only tasks: Agents are shared by tasks, the node is this machine).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletable {
    #[value(alias = "tasks", alias = "agentictask", alias = "at")]
    Task,
}

pub fn delete(args: &ConsoleArgs, _what: Deletable, names: &[String], force: bool) -> Exit {
    if super::common::cluster_selected(args) {
        return bad_input(
            "foreman delete acts on the local state; on a cluster use kubectl delete",
        );
    }
    let (cfg, _) = settings(args);
    let mut store = match Store::open(&cfg.workspace.state_dir) {
        Ok((s, _)) => s,
        Err(e) => return failed(e),
    };
    let mut exit = Exit::Ok;
    for name in names {
        let key = match name.split_once('/') {
            Some((ns, n)) => TaskKey::new(ns, n),
            None => TaskKey::new("default", name),
        };
        match store.delete_task(&key, force) {
            Ok(_) => outln!("task {key} deleted (its journals stay under transcripts/)"),
            Err(e @ (StoreError::NotFound(_) | StoreError::Active { .. })) => {
                errln!("error: {e}");
                exit = Exit::BadInput;
            }
            Err(e) => return failed(e),
        }
    }
    exit
}
