//! The console on a cluster at fleet scale, against a real kube-apiserver: 20,000 AgenticTasks
//! (finished, running and queued, with realistic status and Result envelopes) and 500
//! FleetNodes, seeded with concurrent creates. Measures:
//!
//! - the apiserver's own paginated list of those objects (kube `Api::list`, 500 per page with
//!   continue tokens, both kinds one after the other, decoded): the median of three, in this
//!   process before the console starts;
//! - in a fresh child process (so seeding does not inflate the figures), a watch-only console:
//!   from the backend's start (connect + start_cluster) to the first drawn full table, the
//!   Snapshot applied to `App` and drawn at 200x60 through ratatui's `Terminal` and crossterm
//!   into a counting sink (buffer diff and escape sequences written, as on screen) — goal ≤
//!   1.5× the paginated list;
//! - that process's RSS after the frame (VmRSS, and its peak VmHWM) — goal: the peak ≤ 200 MB;
//! - a status merge-patch made with the kube client until the frame that shows it (the patched
//!   node name found in the drawn buffer), 20 patches on rows on screen — goal: median ≤ 100 ms.
//!
//! Uses FOREMAN_E2E_KUBECONFIG when set, else starts an apiserver with scripts/k8s.sh on free
//! ports in 20200-20300 (and stops it). Without one it says why and exits 2; over a goal, 1.
//!
//!   cargo bench --bench cluster_console

use foreman::api::fleetnode::{
    FleetNodeCapability, FleetNodePhase, FleetNodeStatus, NodeAccelerator,
};
use foreman::api::{AgenticTask, FleetNode, FleetNodeSpec, Object, load_str};
use foreman::backend::BackendEvent;
use foreman::backend::cluster::{ClusterBackendConfig, start_cluster};
use foreman::config::Config;
use foreman::console::draw::draw;
use foreman::console::state::App;
use foreman::console::theme::Theme;
use foreman::executor::run::TokenSource;
use foreman::k8s::{ClusterArgs, connect};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TASKS: usize = 20_000;
const NODES: usize = 500;
const CHANGES: usize = 20;
const PAGE: u32 = 500;
/// Seeding writes in flight.
const SEED_PARALLEL: usize = 32;
const GOAL_FIRST_OVER_LIST: f64 = 1.5;
const GOAL_RSS_MB: f64 = 200.0;
const GOAL_CHANGE_MS: f64 = 100.0;
const CHILD: &str = "FOREMAN_BENCH_CLUSTER_CHILD";
const BENCH_LABEL: &str = "foreman.llmkube.dev/bench";

/// `VmRSS` or `VmHWM` (the peak) of this process, in MB.
fn proc_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        return child(&spec);
    }
    let mut started: Option<(tempfile::TempDir, PathBuf)> = None;
    let kubeconfig = match std::env::var_os("FOREMAN_E2E_KUBECONFIG") {
        Some(p) => PathBuf::from(p),
        None => match start_apiserver() {
            Ok((dir, kc)) => {
                let kc2 = kc.clone();
                started = Some((dir, kc));
                kc2
            }
            Err(why) => {
                // No figure without the peer: a missing apiserver is a failure, not a pass.
                println!("cluster console bench: no apiserver: {why}");
                std::process::exit(2);
            }
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // FOREMAN_BENCH_REUSE=<id> measures an earlier seed kept with FOREMAN_BENCH_KEEP=1.
    let reuse = std::env::var("FOREMAN_BENCH_REUSE").ok();
    let keep = reuse.is_some() || std::env::var_os("FOREMAN_BENCH_KEEP").is_some();
    let id = reuse
        .clone()
        .unwrap_or_else(|| format!("bench-{:06x}", fastrand::u32(..0xffffff)));
    let seeded = match reuse {
        Some(_) => Ok(Duration::ZERO),
        None => rt.block_on(seed(&kubeconfig, &id)),
    };
    let failed;
    match seeded {
        Ok(took) => {
            println!(
                "cluster console: seeded {TASKS} AgenticTasks + {NODES} FleetNodes in {:.1} s",
                took.as_secs_f64()
            );
            let reference = rt.block_on(reference_list(&kubeconfig, &id));
            // The measurement runs in a fresh process, like a console starting.
            let out = reference.and_then(|list_ms| {
                Command::new(std::env::current_exe().expect("own path"))
                    .env(CHILD, format!("{}\n{id}\n{list_ms}", kubeconfig.display()))
                    .output()
                    .map_err(|e| format!("cannot run the measurement process: {e}"))
            });
            match out {
                Ok(o) => {
                    print!("{}", String::from_utf8_lossy(&o.stdout));
                    if std::env::var_os("RUST_LOG").is_some() {
                        eprint!("{}", String::from_utf8_lossy(&o.stderr));
                    }
                    failed = !o.status.success();
                    // Exit 1 is the child's "over goal" (it printed which); else it broke.
                    if failed && o.status.code() != Some(1) {
                        println!(
                            "  measurement failed ({}): {}",
                            o.status,
                            String::from_utf8_lossy(&o.stderr)
                        );
                    }
                }
                Err(e) => {
                    failed = true;
                    println!("  {e}");
                }
            }
        }
        Err(why) => {
            failed = true;
            println!("cluster console bench: cannot seed the cluster: {why}");
        }
    }
    if keep {
        println!("  kept the seed: FOREMAN_BENCH_REUSE={id}");
    } else if let Err(e) = rt.block_on(cleanup(&kubeconfig, &id)) {
        println!("  (cleanup: {e})");
    }
    if let Some((dir, _)) = started {
        let _ = Command::new(script()).arg("stop").arg(dir.path()).status();
    }
    if failed {
        std::process::exit(1);
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s.sh")
}

/// A private apiserver on free ports in 20200-20300.
fn start_apiserver() -> Result<(tempfile::TempDir, PathBuf), String> {
    let free = |skip: &[u16]| {
        (20200u16..20300).find(|p| {
            !skip.contains(p)
                && !skip.contains(&(p + 1))
                && std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", *p + 1)).is_ok()
        })
    };
    let kube = free(&[]).ok_or("no free port in 20200-20300")?;
    let etcd = free(&[kube]).ok_or("no free port pair in 20200-20300")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Command::new(script())
        .arg("start")
        .arg(dir.path())
        .env("KUBE_PORT", kube.to_string())
        .env("ETCD_PORT", etcd.to_string())
        .output()
        .map_err(|e| format!("cannot run scripts/k8s.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/k8s.sh start failed: {}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let kc = dir.path().join("kubeconfig");
    Ok((dir, kc))
}

async fn client(kc: &Path, ns: Option<&str>) -> Result<foreman::k8s::Cluster, String> {
    connect(&ClusterArgs {
        kubeconfig: Some(kc.to_path_buf()),
        context: None,
        namespace: ns.map(str::to_string),
    })
    .await
    .map_err(|e| e.to_string())
}

fn task(i: usize) -> AgenticTask {
    let yaml = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: task-{i:05}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {}, prompt: \"Fix the problem described in issue {i}: the greeting is misspelled in three places and the tests do not cover it\"}}\n",
        i + 1
    );
    match load_str("bench", &yaml).expect("task").remove(0) {
        Object::Task(t) => *t,
        _ => unreachable!(),
    }
}

/// Status like a real fleet's: mostly finished runs with a Result, some running, some queued.
fn status(i: usize, id: &str) -> serde_json::Value {
    let node = format!("{id}-node-{:03}", i % NODES);
    let t = |s: i64| {
        jiff::Timestamp::from_second(1_800_000_000 - (TASKS as i64 - i as i64) * 60 + s)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_string()
    };
    match i % 10 {
        0 => json!({"phase": "Pending"}),
        1 => json!({"phase": "Running", "assignedNode": node, "claimedAt": t(0), "startedAt": t(0),
            "conditions": [{"type": "Running", "status": "True", "reason": "Claimed",
                "message": format!("claimed by {node}"), "lastTransitionTime": t(0)}]}),
        _ => {
            let go = i % 10 != 9;
            let verdict = if go { "GO" } else { "NO-GO" };
            json!({
                "phase": "Succeeded", "assignedNode": node, "claimedAt": t(0), "startedAt": t(0),
                "finishedAt": t(300), "verdict": verdict,
                "result": {
                    "schemaVersion": "foreman.v1", "kind": "native-agent-loop", "verdict": verdict,
                    "summary": format!("Fixed the misspelled greeting in greeter.py, greeter_test.py and README.md for issue {}; added a regression test covering all three call sites.", i + 1),
                    "extra": {
                        "branch": format!("foreman/issue-{}", i + 1),
                        "commitSHA": format!("{:040x}", i as u128 * 7_919_000_001),
                        "transcriptRef": {"kind": "ConfigMap", "apiVersion": "v1",
                            "name": format!("foreman-transcript-task-{i:05}")},
                        "turnCount": 7 + i % 20,
                        "pushed": i.is_multiple_of(3),
                        "modelExtra": {"filesChanged": ["greeter.py", "greeter_test.py", "README.md"]}
                    },
                    "elapsedSec": 281.4
                },
                "conditions": [{"type": "Completed", "status": "True",
                    "reason": if go { "Go" } else { "NoGo" },
                    "message": "the run finished", "lastTransitionTime": t(300)}]
            })
        }
    }
}

fn node(name: &str, id: &str) -> FleetNode {
    let mut n = FleetNode::new(
        name,
        FleetNodeSpec {
            node_name: name.into(),
            roles: Some(vec!["worker".into()]),
            ..Default::default()
        },
    );
    n.metadata.labels = Some([(BENCH_LABEL.to_string(), id.to_string())].into());
    n.status = Some(FleetNodeStatus {
        phase: Some(FleetNodePhase::Ready),
        capability: Some(FleetNodeCapability {
            accelerator: Some(NodeAccelerator::Cuda),
            total_ram_gb: Some(128),
            available_ram_gb: Some(64),
            max_context_tokens: Some(131072),
            tokens_per_second: Some(60),
            ..Default::default()
        }),
        ..Default::default()
    });
    n
}

async fn seed(kc: &Path, id: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let c = client(kc, None).await?;
    foreman::backend::cluster::probe(&c).await.or_else(|e| {
        if e.contains("CRDs") {
            Ok(String::new())
        } else {
            Err(e)
        }
    })?;
    install_crds(&c.client).await?;
    let pp = PostParams::default();
    let nss: Api<Namespace> = Api::all(c.client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some(id.into());
    nss.create(&pp, &ns).await.map_err(|e| e.to_string())?;
    let tasks: Api<AgenticTask> = Api::namespaced(c.client.clone(), id);
    let errors: Vec<String> = futures_util::stream::iter(0..TASKS)
        .map(|i| {
            let tasks = tasks.clone();
            let pp = pp.clone();
            let id = id.to_string();
            async move {
                let t = task(i);
                tasks.create(&pp, &t).await.map_err(|e| e.to_string())?;
                let name = t.metadata.name.clone().unwrap_or_default();
                tasks
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": status(i, &id)})),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            }
        })
        .buffer_unordered(SEED_PARALLEL)
        .filter_map(|r| async move { r.err() })
        .collect()
        .await;
    if let Some(e) = errors.first() {
        return Err(format!("{} task(s) failed, first: {e}", errors.len()));
    }
    let nodes: Api<FleetNode> = Api::all(c.client.clone());
    let errors: Vec<String> = futures_util::stream::iter(0..NODES)
        .map(|i| {
            let nodes = nodes.clone();
            let pp = pp.clone();
            let n = node(&format!("{id}-node-{i:03}"), id);
            async move {
                let name = n.metadata.name.clone().unwrap_or_default();
                nodes.create(&pp, &n).await.map_err(|e| e.to_string())?;
                let st = json!({"status": {"phase": "Ready", "lastHeartbeatTime": jiff::Timestamp::now().to_string(),
                    "capability": n.status.as_ref().and_then(|s| s.capability.clone())}});
                nodes
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(st))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            }
        })
        .buffer_unordered(SEED_PARALLEL)
        .filter_map(|r| async move { r.err() })
        .collect()
        .await;
    if let Some(e) = errors.first() {
        return Err(format!("{} node(s) failed, first: {e}", errors.len()));
    }
    Ok(start.elapsed())
}

async fn install_crds(client: &kube::Client) -> Result<(), String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("foreman-bench").force();
    for crd in foreman::k8s::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .map_err(|e| format!("cannot install CRD {name}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let c = api.get(&name).await.map_err(|e| e.to_string())?;
            let established = c.status.and_then(|s| s.conditions).is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("CRD {name} not Established within 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// All pages of one list, `PAGE` objects each, decoded: how many objects.
async fn list_pages<K>(api: &Api<K>, lp: ListParams) -> Result<usize, String>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut lp = lp.limit(PAGE);
    let mut n = 0;
    loop {
        let page = api.list(&lp).await.map_err(|e| e.to_string())?;
        n += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => return Ok(n),
        }
    }
}

/// The apiserver's own paginated list of the seeded objects (tasks, then nodes), the median of
/// three, in ms; also the tasks' one-response list from the watch cache, for comparison.
async fn reference_list(kc: &Path, id: &str) -> Result<f64, String> {
    let c = client(kc, None).await?;
    let tasks: Api<AgenticTask> = Api::namespaced(c.client.clone(), id);
    let nodes: Api<FleetNode> = Api::all(c.client.clone());
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let nt = list_pages(&tasks, ListParams::default()).await?;
        let nn = list_pages(
            &nodes,
            ListParams::default().labels(&format!("{BENCH_LABEL}={id}")),
        )
        .await?;
        runs.push(t.elapsed().as_secs_f64() * 1e3);
        if (nt, nn) != (TASKS, NODES) {
            return Err(format!(
                "listed {nt} tasks and {nn} nodes, not {TASKS} and {NODES}"
            ));
        }
    }
    let each: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
    runs.sort_by(|a, b| a.total_cmp(b));
    let t = Instant::now();
    let lp = ListParams::default().match_any();
    let one = tasks.list(&lp).await.map_err(|e| e.to_string())?;
    let cached = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "  apiserver paginated list ({PAGE} per page, {TASKS} tasks then {NODES} nodes, kube Api::list decoded): \
         {:.0} ms median ({} ms); the tasks in one response from the watch cache: {cached:.0} ms",
        runs[1],
        each.join(", ")
    );
    drop(one);
    Ok(runs[1])
}

async fn cleanup(kc: &Path, id: &str) -> Result<(), String> {
    let c = client(kc, None).await?;
    let dp = DeleteParams::default();
    let tasks: Api<AgenticTask> = Api::namespaced(c.client.clone(), id);
    tasks
        .delete_collection(&dp, &ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    let nodes: Api<FleetNode> = Api::all(c.client.clone());
    nodes
        .delete_collection(
            &dp,
            &ListParams::default().labels(&format!("{BENCH_LABEL}={id}")),
        )
        .await
        .map_err(|e| e.to_string())?;
    let nss: Api<Namespace> = Api::all(c.client.clone());
    let _ = nss.delete(id, &dp).await;
    Ok(())
}

/// A writer that only counts: the bytes a real terminal would receive.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(b.len(), Ordering::Relaxed);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type SinkTerminal = Terminal<CrosstermBackend<Counting>>;

fn sink_terminal(w: u16, h: u16) -> SinkTerminal {
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
    };
    Terminal::with_options(CrosstermBackend::new(Counting::default()), options).expect("a terminal")
}

/// The text of a drawn buffer, a line per row.
fn screen(b: &Buffer) -> String {
    let w = b.area.width as usize;
    let mut out = String::new();
    for (i, c) in b.content().iter().enumerate() {
        out.push_str(c.symbol());
        if (i + 1) % w == 0 {
            out.push('\n');
        }
    }
    out
}

/// Draws one frame through the terminal; its text.
fn frame(term: &mut SinkTerminal, app: &mut App) -> String {
    let done = term.draw(|f| draw(f, app)).expect("draw");
    screen(done.buffer)
}

/// Applies a backend event as the console's loop does: its commands go to the backend.
fn apply(app: &mut App, backend: &foreman::backend::BackendHandle, ev: BackendEvent) {
    for fx in app.on_backend(ev) {
        if let foreman::console::state::Effect::Send(c) = fx {
            backend.send(c);
        }
    }
}

/// The measured console: a fresh process.
fn child(spec: &str) {
    let mut parts = spec.split('\n');
    let (kc, id, list_ms) = (
        PathBuf::from(parts.next().expect("kubeconfig")),
        parts.next().expect("id").to_string(),
        parts
            .next()
            .and_then(|m| m.parse::<f64>().ok())
            .expect("list ms"),
    );
    let id = id.as_str();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let rss_before = proc_mb("VmRSS:");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let start = Instant::now();
        let cluster = client(&kc, Some(id)).await.expect("connect");
        let patcher: Api<AgenticTask> = Api::namespaced(cluster.client.clone(), id);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = ClusterBackendConfig {
            node_name: format!("{id}-console"),
            git_remote_url: None,
            github_api_base: "http://127.0.0.1:9".into(),
            token: TokenSource::Lookup,
            worker: None,
            scheduler: None,
        };
        let backend = start_cluster(cluster, cfg, tx).expect("backend");
        let mut warnings = Vec::new();
        let c = Config::defaults(&mut warnings);
        let mut app = App::new(
            Theme::builtin("dark").expect("theme"),
            c.keymap.clone(),
            c.ui.bell,
            "bench".into(),
        );
        let snapshot_at;
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(120), rx.recv())
                .await
                .expect("a Snapshot within 120 s")
                .expect("backend events");
            let snap = matches!(ev, BackendEvent::Snapshot { .. });
            if let BackendEvent::Error(e) = &ev {
                eprintln!("backend error: {e}");
            }
            apply(&mut app, &backend, ev);
            if snap {
                snapshot_at = start.elapsed();
                break;
            }
        }
        let mut term = sink_terminal(200, 60);
        let text = frame(&mut term, &mut app);
        let first = start.elapsed();
        let (rss, hwm) = (proc_mb("VmRSS:"), proc_mb("VmHWM:"));
        let ours = app.mirror.nodes.keys().filter(|n| n.starts_with(id)).count();
        assert_eq!(app.mirror.order.len(), TASKS, "every task in the table");
        assert_eq!(ours, NODES, "every node in the fleet pane");
        assert!(
            text.contains(&format!("Queue ({TASKS})")),
            "the frame shows the full table:\n{text}"
        );
        // The rows on screen: the first ones of the queue.
        let on_screen: Vec<String> = app
            .mirror
            .order
            .iter()
            .take(10)
            .map(|k| k.name.clone())
            .filter(|n| text.contains(n.as_str()))
            .collect();
        assert!(!on_screen.is_empty(), "no queue row on screen:\n{text}");

        // Status changes until drawn: a new node name on a row on screen.
        let mut lat = Vec::with_capacity(CHANGES);
        for n in 0..CHANGES {
            let name = &on_screen[n % on_screen.len()];
            let node = format!("mv{n:02}{:04x}", fastrand::u16(..));
            let t0 = Instant::now();
            patcher
                .patch_status(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"assignedNode": node}})),
                )
                .await
                .expect("patch");
            loop {
                let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                    .await
                    .expect("the change within 10 s")
                    .expect("backend events");
                apply(&mut app, &backend, ev);
                if frame(&mut term, &mut app).contains(node.as_str()) {
                    break;
                }
            }
            lat.push(t0.elapsed());
        }
        lat.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ratio = ms(first) / list_ms;
        let med = ms(lat[lat.len() / 2]);
        println!("  console: {TASKS} tasks, {NODES} nodes (plus any other FleetNodes of the cluster), watch-only");
        println!(
            "  backend start to the first drawn full table (connect, watch lists, Snapshot, App, frame through ratatui + crossterm at 200x60): \
             {:.0} ms = {ratio:.2}× the paginated list (goal ≤ {GOAL_FIRST_OVER_LIST}×; Snapshot at {:.0} ms)",
            ms(first),
            ms(snapshot_at)
        );
        println!(
            "  status merge-patch to the frame showing it ({CHANGES} patches): median {med:.1} ms, max {:.1} ms  (goal: median ≤ {GOAL_CHANGE_MS} ms)",
            ms(lat[lat.len() - 1])
        );
        println!(
            "  RSS after the first frame: {rss:.1} MB, peak (VmHWM) {hwm:.1} MB ({rss_before:.1} MB at process start)  (goal: peak ≤ {GOAL_RSS_MB} MB)"
        );
        let over: Vec<&str> = [
            (ratio > GOAL_FIRST_OVER_LIST, "first frame"),
            (med > GOAL_CHANGE_MS, "status change"),
            (hwm > GOAL_RSS_MB, "RSS"),
        ]
        .into_iter()
        .filter_map(|(over, what)| over.then_some(what))
        .collect();
        drop(backend);
        if !over.is_empty() {
            println!("  OVER goal: {}", over.join(", "));
            std::process::exit(1);
        }
    });
}
