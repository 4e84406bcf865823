//! `foreman get tasks|agents|workloads|nodes [NAME] [-o yaml|json|wide]`: the local state the
//! way `kubectl get` shows a cluster. The table's columns are the CRDs' own printer columns
//! (one definition for both), plus the console's task state; `wide` adds what the console
//! shows in its detail pane (attempt, branch, commit, reason).

use super::ConsoleArgs;
use super::common::{Exit, bad_input, failed, settings};
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::backend::embedded::Store;
use crate::backend::embedded::store::attempt_of;
use kube::CustomResourceExt;
use serde_json::Value;

/// What `get` lists (kubectl's plural, singular and short names are accepted).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    #[value(
        alias = "task",
        alias = "agentictasks",
        alias = "agentictask",
        alias = "at"
    )]
    Tasks,
    #[value(alias = "agent")]
    Agents,
    #[value(alias = "workload", alias = "wl")]
    Workloads,
    #[value(
        alias = "node",
        alias = "fleetnodes",
        alias = "fleetnode",
        alias = "fn"
    )]
    Nodes,
}

/// `-o`: a table (default), a wider table, or the full objects.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    #[default]
    Table,
    Wide,
    Yaml,
    Json,
}

/// One object as `get` needs it: its JSON, its namespace/name, and the wide extras.
struct Row {
    namespace: String,
    name: String,
    json: Value,
    extra: Vec<String>,
}

pub fn get(args: &ConsoleArgs, what: Resource, name: Option<&str>, output: Output) -> Exit {
    if super::common::cluster_selected(args) {
        return bad_input(
            "foreman get reads the local state; on a cluster use kubectl get agentictasks",
        );
    }
    let (cfg, _) = settings(args);
    let store = match Store::open(&cfg.workspace.state_dir) {
        Ok((s, warnings)) => {
            for w in warnings {
                errln!("warning: {w}");
            }
            s
        }
        Err(e) => return failed(e),
    };
    let mut rows = rows(&store, what);
    if let Some(n) = name {
        rows.retain(|r| r.name == n || format!("{}/{}", r.namespace, r.name) == n);
        if rows.is_empty() {
            return failed(format!(
                "{} \"{n}\" not found in {}",
                singular(what),
                cfg.workspace.state_dir.display()
            ));
        }
    }
    let text = match output {
        Output::Table | Output::Wide => table(what, &rows, output == Output::Wide),
        Output::Json | Output::Yaml => {
            let doc = match (name, rows.len()) {
                (Some(_), 1) => rows.remove(0).json,
                _ => serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": rows.into_iter().map(|r| r.json).collect::<Vec<_>>(),
                }),
            };
            let r = if output == Output::Json {
                serde_json::to_string_pretty(&doc)
                    .map(|s| s + "\n")
                    .map_err(|e| e.to_string())
            } else {
                crate::api::yaml::to_string(&doc).map_err(|e| e.to_string())
            };
            match r {
                Ok(t) => t,
                Err(e) => return failed(format!("cannot encode the objects: {e}")),
            }
        }
    };
    out!("{text}");
    Exit::Ok
}

fn singular(what: Resource) -> &'static str {
    match what {
        Resource::Tasks => "task",
        Resource::Agents => "agent",
        Resource::Workloads => "workload",
        Resource::Nodes => "node",
    }
}

fn row<T: serde::Serialize>(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    obj: &T,
    extra: Vec<String>,
) -> Row {
    Row {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        json: serde_json::to_value(obj).unwrap_or(Value::Null),
        extra,
    }
}

fn rows(store: &Store, what: Resource) -> Vec<Row> {
    match what {
        Resource::Tasks => store
            .tasks()
            .iter()
            .map(|t| row(&t.metadata, t, task_extra(t)))
            .collect(),
        Resource::Agents => store
            .agents()
            .iter()
            .map(|a| row(&a.metadata, a, vec![a.spec.tools.join(",")]))
            .collect(),
        Resource::Workloads => store
            .workloads()
            .iter()
            .map(|w| row(&w.metadata, w, workload_extra(w)))
            .collect(),
        Resource::Nodes => store
            .nodes()
            .iter()
            .map(|n| {
                row(
                    &n.metadata,
                    n,
                    vec![n.spec.roles.clone().unwrap_or_default().join(",")],
                )
            })
            .collect(),
    }
}

/// Mode, stages and incomplete tasks (always shown: the CRD's columns have only the
/// succeeded and failed counts of the rollup), then the wide columns of a Workload.
fn workload_extra(w: &Workload) -> Vec<String> {
    use crate::fleet::workload::{Mode, plan};
    let incomplete = w.status.as_ref().and_then(|s| s.incomplete_tasks);
    vec![
        Mode::of(w).as_str().to_string(),
        plan(w).map_or("-".into(), |p| p.tasks.len().to_string()),
        incomplete.map_or("<none>".into(), |n| n.to_string()),
        w.spec.repo.clone().unwrap_or_default(),
    ]
}

/// State (always shown) then the wide columns of a task.
fn task_extra(t: &AgenticTask) -> Vec<String> {
    let s = t.status.clone().unwrap_or_default();
    let reason = s
        .conditions
        .as_ref()
        .and_then(|c| c.last())
        .map(|c| c.reason.clone());
    vec![
        format!("{:?}", crate::fleet::task_state(t)),
        attempt_of(t).to_string(),
        s.branch.unwrap_or_default(),
        s.commit_sha
            .map(|c| c.chars().take(12).collect())
            .unwrap_or_default(),
        reason.unwrap_or_default(),
    ]
}

/// The CRD's printer columns (name, type, JSON path) of a kind.
fn crd_columns(what: Resource) -> Vec<(String, String, String)> {
    let crd = match what {
        Resource::Tasks => AgenticTask::crd(),
        Resource::Agents => Agent::crd(),
        Resource::Workloads => Workload::crd(),
        Resource::Nodes => FleetNode::crd(),
    };
    crd.spec
        .versions
        .first()
        .and_then(|v| v.additional_printer_columns.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.name.to_uppercase(), c.type_, c.json_path))
        .collect()
}

/// Wide-only column names after the CRD's (tasks also get STATE in every table).
fn extra_columns(what: Resource) -> &'static [&'static str] {
    match what {
        Resource::Tasks => &["ATTEMPT", "BRANCH", "COMMIT", "REASON"],
        Resource::Agents => &["TOOLS"],
        Resource::Workloads => &["REPO"],
        Resource::Nodes => &["ROLES"],
    }
}

/// Columns always shown right after NAME (from each row's `extra`, before the wide ones).
fn lead_columns(what: Resource) -> &'static [&'static str] {
    match what {
        Resource::Tasks => &["STATE"],
        Resource::Workloads => &["MODE", "STAGES", "INCOMPLETE"],
        _ => &[],
    }
}

fn table(what: Resource, rows: &[Row], wide: bool) -> String {
    if rows.is_empty() {
        return "No resources found.\n".into();
    }
    let namespaced = what != Resource::Nodes && rows.iter().any(|r| r.namespace != "default");
    let cols = crd_columns(what);
    let mut header: Vec<String> = Vec::new();
    if namespaced {
        header.push("NAMESPACE".into());
    }
    header.push("NAME".into());
    header.extend(lead_columns(what).iter().map(|s| s.to_string()));
    header.extend(cols.iter().map(|c| c.0.clone()));
    if wide {
        header.extend(extra_columns(what).iter().map(|s| s.to_string()));
    }
    let now = jiff::Timestamp::now();
    let mut lines = vec![header];
    for r in rows {
        let mut line = Vec::new();
        if namespaced {
            line.push(r.namespace.clone());
        }
        line.push(r.name.clone());
        let mut extra = r.extra.iter().cloned();
        for _ in lead_columns(what) {
            line.push(extra.next().unwrap_or_default());
        }
        for (_, ty, path) in &cols {
            line.push(cell(pointer(&r.json, path), ty, now));
        }
        if wide {
            line.extend(extra.map(|e| if e.is_empty() { "<none>".into() } else { e }));
        }
        lines.push(line);
    }
    align(&lines)
}

/// `.a.b.c` of a printer column in the object's JSON.
fn pointer<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_start_matches('.')
        .split('.')
        .try_fold(v, |v, k| v.get(k))
}

/// A value as kubectl prints it: `<none>` when absent, ages for dates.
fn cell(v: Option<&Value>, ty: &str, now: jiff::Timestamp) -> String {
    match v {
        None | Some(Value::Null) => "<none>".into(),
        Some(Value::String(s)) if ty == "date" => match s.parse::<jiff::Timestamp>() {
            Ok(t) => age(now.as_second() - t.as_second()),
            Err(_) => s.clone(),
        },
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// kubectl's short ages: 45s, 12m, 5h, 3d.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Columns padded to their widest cell, three spaces apart (kubectl's layout).
pub(super) fn align(lines: &[Vec<String>]) -> String {
    let n = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            lines
                .iter()
                .filter_map(|l| l.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in lines {
        let mut s = String::new();
        for (i, c) in l.iter().enumerate() {
            if i + 1 == l.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(-3), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(61), "1m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(3 * 86400 + 5), "3d");
    }

    #[test]
    fn columns_come_from_the_crd_and_absent_values_say_none() {
        let cols = crd_columns(Resource::Tasks);
        let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["PHASE", "KIND", "NODE", "VERDICT", "AGE"]);
        let v = serde_json::json!({"status": {"phase": "Pending"}});
        assert_eq!(
            cell(
                pointer(&v, ".status.phase"),
                "string",
                jiff::Timestamp::now()
            ),
            "Pending"
        );
        assert_eq!(
            cell(
                pointer(&v, ".status.verdict"),
                "string",
                jiff::Timestamp::now()
            ),
            "<none>"
        );
        let t = align(&[
            vec!["NAME".into(), "PHASE".into()],
            vec!["a-long-name".into(), "x".into()],
        ]);
        assert_eq!(t, "NAME          PHASE\na-long-name   x\n");
    }
}
