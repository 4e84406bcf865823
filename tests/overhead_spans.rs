//! The spans `benches/overhead.rs` times a run by: one `oai.exchange` per chat request, one
//! `tool.run` per tool call that ran, each closed after it ends, in order — so the bench's
//! model and tool figures stay what their labels say.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{agent, bot, fix_then_go, fleet_repo, issue_task};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecutorConfig, execute};
use foreman::workspace::Token;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, filter};

type Closed = Arc<Mutex<Vec<(&'static str, Instant, Instant)>>>;

struct Timer(Closed);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Timer {
    fn on_new_span(&self, _: &tracing::span::Attributes<'_>, id: &tracing::Id, ctx: Context<S>) {
        if let Some(s) = ctx.span(id) {
            s.extensions_mut().insert(Instant::now());
        }
    }

    fn on_close(&self, id: tracing::Id, ctx: Context<S>) {
        if let Some(s) = ctx.span(&id)
            && let Some(t) = s.extensions().get::<Instant>()
        {
            self.0.lock().unwrap().push((s.name(), *t, Instant::now()));
        }
    }
}

/// The run's settings: `remote` cloned with `token`, the journal and workspace in `e`.
fn config(e: &common::FleetRepo, base_url: &str, remote: String, token: &str) -> ExecutorConfig {
    ExecutorConfig {
        base_url: base_url.to_string(),
        git_remote_url: Some(remote),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now: false,
        journal_path: e.root.join("journal.jsonl"),
        token: TokenSource::Given(Token::new(token)),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    }
}

// The loop runs on this thread (a current-thread runtime), where the subscriber is the default.
#[tokio::test(flavor = "current_thread")]
async fn a_run_reports_one_exchange_per_request_and_one_tool_span_per_call() {
    let closed = Closed::default();
    let only =
        filter::filter_fn(|m| m.is_span() && ["oai.exchange", "tool.run"].contains(&m.name()));
    let sub = tracing_subscriber::registry().with(Timer(closed.clone()).with_filter(only));
    let _default = tracing::subscriber::set_default(sub);

    let e = fleet_repo();
    let server = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let cfg = config(
        &e,
        &server.base_url(),
        e.bare.display().to_string(),
        "unused-for-local-remotes",
    );
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);

    let spans = closed.lock().unwrap().clone();
    let names: Vec<_> = spans.iter().map(|s| s.0).collect();
    // Two turns (the fix, then submit_result): request, its tool, request, its tool.
    assert_eq!(
        names,
        ["oai.exchange", "tool.run", "oai.exchange", "tool.run"]
    );
    for w in spans.windows(2) {
        assert!(w[0].2 <= w[1].1, "spans overlap: {spans:?}");
    }
    assert!(spans.iter().all(|(_, s, e)| s <= e));
}

// The clone runs beside the first request: a tool call that comes before the workspace is
// ready waits inside its `tool.run`, in one `workspace.wait` the bench counts as set-up.
#[tokio::test(flavor = "current_thread")]
async fn a_call_before_the_clone_ends_waits_in_one_workspace_wait_inside_its_tool_run() {
    const TOKEN: &str = "spans-token";
    let closed = Closed::default();
    let only = filter::filter_fn(|m| {
        m.is_span() && ["oai.exchange", "tool.run", "workspace.wait"].contains(&m.name())
    });
    let sub = tracing_subscriber::registry().with(Timer(closed.clone()).with_filter(only));
    let _default = tracing::subscriber::set_default(sub);

    let e = fleet_repo();
    let remote = common::GitServer::start_slow(&e.root, TOKEN, 250);
    let server = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let cfg = config(&e, &server.base_url(), remote.url("acme/fleet"), TOKEN);
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);

    let spans = closed.lock().unwrap().clone();
    let names: Vec<_> = spans.iter().map(|s| s.0).collect();
    // The wait closes first, inside the first call's tool.run; later calls do not wait.
    assert_eq!(
        names,
        [
            "oai.exchange",
            "workspace.wait",
            "tool.run",
            "oai.exchange",
            "tool.run"
        ]
    );
    let (wait, tool) = (spans[1], spans[2]);
    assert!(tool.1 <= wait.1 && wait.2 <= tool.2, "{spans:?}");
    assert!(
        wait.2 - wait.1 >= std::time::Duration::from_millis(200),
        "the call did not wait for the slow clone: {spans:?}"
    );
}
