//! `foreman submit FILE…`: adds Agents and AgenticTasks to the local state (a running console
//! picks them up within a second), or with a cluster flag creates them in the cluster.
//! Locally every file of one submit goes in one transaction: all objects or none.

use super::ConsoleArgs;
use super::common::{Exit, cluster_selected, connect_cluster, failed, settings};
use crate::backend::embedded::Store;
use std::path::PathBuf;

pub async fn submit(args: &ConsoleArgs, files: &[PathBuf], replace: bool) -> Exit {
    if cluster_selected(args) {
        if replace {
            return failed("--replace is for the local state; on a cluster use kubectl apply");
        }
        return submit_to_cluster(args, files).await;
    }
    let (cfg, _) = settings(args);
    let mut objects = Vec::new();
    for f in files {
        match crate::api::load_file_with(f, &cfg.limits.manifest()) {
            Ok(mut o) => objects.append(&mut o),
            Err(e) => {
                errln!("error: {e}");
                errln!("error: nothing was submitted");
                return Exit::BadInput;
            }
        }
    }
    let mut store = match Store::open(&cfg.workspace.state_dir) {
        Ok((s, warnings)) => {
            for w in warnings {
                errln!("warning: {w}");
            }
            s
        }
        Err(e) => return failed(e),
    };
    if let Some(note) = store.take_import_note() {
        errln!("{note}");
    }
    match store.submit(objects, replace) {
        Ok(done) => {
            for line in done.lines {
                outln!("{line}");
            }
            Exit::Ok
        }
        Err(e) => {
            errln!("error: {e}");
            errln!("error: nothing was submitted");
            Exit::BadInput
        }
    }
}

/// `foreman --namespace NS submit FILE…`: creates the objects in the cluster instead.
async fn submit_to_cluster(args: &ConsoleArgs, files: &[PathBuf]) -> Exit {
    let cluster = match connect_cluster(args).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let mut bad = false;
    for f in files {
        match crate::backend::cluster::submit_file(&cluster, f).await {
            Ok(m) => outln!("{}: {m}", f.display()),
            Err(e) => {
                errln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad { Exit::BadInput } else { Exit::Ok }
}
