//! Console start-up and memory at fleet scale: a state dir with 1,000 tasks (finished runs
//! with results) and 100 fleet nodes; measures start (open the store, first Snapshot, first
//! full frame at 200x60) and the process RSS afterwards. Goals: first frame ≤ 150 ms,
//! RSS ≤ 60 MB.

use foreman::api::fleetnode::{
    FleetNodeCapability, FleetNodePhase, FleetNodeStatus, NodeAccelerator,
};
use foreman::api::{FleetNode, FleetNodeSpec, load_str};
#[path = "../tests/common/local.rs"]
mod local;

use foreman::backend::BackendEvent;
use foreman::backend::embedded::{Store, start_embedded_with};
use foreman::config::Config;
use foreman::console::draw::draw;
use foreman::console::state::App;
use foreman::console::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Instant;

const TASKS: usize = 1000;
const NODES: usize = 100;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut store, _) = Store::open(dir.path()).expect("store");
        let mut docs = String::new();
        for i in 0..TASKS {
            docs.push_str(&format!(
                "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: task-{i:04}, namespace: default}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: missing}}\n  payload: {{repo: acme/fleet, issue: {}, prompt: \"Fix the thing described in issue {i}\"}}\n",
                i + 1
            ));
        }
        let objs = load_str("bench", &docs).expect("load");
        store.submit(objs, false).expect("submit");
    }
    let nodes: Vec<FleetNode> = (0..NODES)
        .map(|i| {
            let name = format!("node-{i:03}");
            let mut n = FleetNode::new(
                &name,
                FleetNodeSpec {
                    node_name: name.clone(),
                    ..Default::default()
                },
            );
            n.status = Some(FleetNodeStatus {
                phase: Some(FleetNodePhase::Ready),
                capability: Some(FleetNodeCapability {
                    accelerator: Some(NodeAccelerator::Metal),
                    available_ram_gb: Some(64),
                    ..Default::default()
                }),
                ..Default::default()
            });
            n
        })
        .collect();
    let rss_before = rss_mb();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (first_frame, rss_after) = rt.block_on(async {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = local::embedded_config(dir.path(), "http://127.0.0.1:9/v1", 1);
        let opts = local::still_options();
        let _backend = start_embedded_with(cfg, opts, tx).expect("backend");
        let mut warnings = Vec::new();
        let c = Config::defaults(&mut warnings);
        let mut app = App::new(
            Theme::builtin("dark").expect("theme"),
            c.keymap.clone(),
            c.ui.bell,
            "bench".into(),
        );
        loop {
            let ev = rx.recv().await.expect("backend events");
            let snapshot = matches!(ev, BackendEvent::Snapshot { .. });
            app.on_backend(ev);
            if snapshot {
                break;
            }
        }
        for n in &nodes {
            app.on_backend(BackendEvent::NodeUpdated(Box::new(n.clone())));
        }
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        term.draw(|f| draw(f, &mut app)).expect("draw");
        let first = start.elapsed();
        // Steady frames with the full fleet loaded.
        let t = Instant::now();
        for _ in 0..100 {
            term.draw(|f| draw(f, &mut app)).expect("draw");
        }
        let per_frame = t.elapsed() / 100;
        println!(
            "  steady frame with {TASKS} tasks + {NODES} nodes (200x60): {:.3} ms",
            per_frame.as_secs_f64() * 1000.0
        );
        assert_eq!(app.mirror.order.len(), TASKS);
        (first, rss_mb())
    });
    println!("console: {TASKS} tasks, {NODES} nodes");
    println!(
        "  start to first full frame: {:.1} ms  (goal <= 150 ms)",
        first_frame.as_secs_f64() * 1000.0
    );
    println!(
        "  RSS: {rss_after:.1} MB after start ({rss_before:.1} MB before the backend)  (goal <= 60 MB)"
    );
}
