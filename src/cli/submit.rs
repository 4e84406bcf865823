//! `foreman submit FILE…`: adds Agents and AgenticTasks to the local state directory (a
//! running console picks them up), or with a cluster flag creates them in the cluster.

use super::ConsoleArgs;
use super::common::{Exit, cluster_selected, connect_cluster, failed, settings};
use crate::backend::embedded::Store;
use std::path::PathBuf;

pub async fn submit(args: &ConsoleArgs, files: &[PathBuf]) -> Exit {
    if cluster_selected(args) {
        return submit_to_cluster(args, files).await;
    }
    let (cfg, _) = settings(args);
    let mut store = match Store::open(&cfg.workspace.state_dir) {
        Ok((s, warnings)) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            s
        }
        Err(e) => return failed(e),
    };
    let mut bad = false;
    for f in files {
        match crate::api::load_file(f)
            .map_err(|e| e.to_string())
            .and_then(|objs| store.submit(objs).map_err(|e| e.to_string()))
        {
            Ok(names) => {
                for n in names {
                    println!("{}: submitted task {n}", f.display());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad { Exit::BadInput } else { Exit::Ok }
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
            Ok(m) => println!("{}: {m}", f.display()),
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad { Exit::BadInput } else { Exit::Ok }
}
