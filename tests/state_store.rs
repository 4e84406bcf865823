//! The embedded state as a database shared by processes: compare-and-swap, create vs
//! `--replace`, one transaction per submit, the import of a file-based state, recovery that
//! leaves a live process's runs alone, attempt history, and real concurrency: 50 `foreman
//! submit` processes at once, and a console backend that sees another process's submit.

mod common;

use foreman::api::{AgenticTask, Object, TaskPhase, load_str};
use foreman::backend::BackendEvent;
use foreman::backend::embedded::{EmbeddedOptions, Store, StoreError, start_embedded_with};
use foreman::fleet::{TaskKey, TaskState, task_state};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: shared-coder}\nspec:\n  role: coder\n  tools: [read_file, submit_result]\n";

fn task_yaml(name: &str, prompt: &str) -> String {
    format!(
        "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: shared-coder}}\n  payload: {{repo: acme/fleet, issue: 7, prompt: \"{prompt}\"}}\n"
    )
}

fn objects(text: &str) -> Vec<Object> {
    load_str("test", text).unwrap()
}

fn key(name: &str) -> TaskKey {
    TaskKey::new("default", name)
}

fn prompt_of(store: &Store, name: &str) -> String {
    store
        .task(&key(name))
        .unwrap()
        .spec
        .payload
        .prompt
        .clone()
        .unwrap_or_default()
}

#[test]
fn every_update_is_compare_and_swap_on_the_resource_version() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, _) = Store::open(dir.path()).unwrap();
    let (mut b, _) = Store::open(dir.path()).unwrap();
    a.submit(objects(&format!("{AGENT}{}", task_yaml("t", "one"))), false)
        .unwrap();
    b.refresh().unwrap();
    let mut from_a = a.task(&key("t")).unwrap().clone();
    let mut from_b = b.task(&key("t")).unwrap().clone();
    assert_eq!(
        from_a.metadata.resource_version,
        from_b.metadata.resource_version
    );

    from_a.status.as_mut().unwrap().phase = Some(TaskPhase::Failed);
    let saved = a.save_task(&from_a).unwrap();
    assert_ne!(
        saved.metadata.resource_version,
        from_a.metadata.resource_version
    );
    // b still holds the old version: its write is refused, nothing of it lands.
    from_b.status.as_mut().unwrap().phase = Some(TaskPhase::Succeeded);
    let err = b.save_task(&from_b).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(
        err.to_string().contains("changed by another process"),
        "{err}"
    );
    let (fresh, _) = Store::open(dir.path()).unwrap();
    assert_eq!(
        fresh
            .task(&key("t"))
            .unwrap()
            .status
            .as_ref()
            .unwrap()
            .phase,
        Some(TaskPhase::Failed)
    );
}

#[test]
fn create_of_an_existing_name_needs_replace_and_a_submit_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Store::open(dir.path()).unwrap();
    s.submit(objects(&format!("{AGENT}{}", task_yaml("t", "one"))), false)
        .unwrap();
    // The same Agent again is no conflict: it is unchanged.
    let done = s
        .submit(objects(&format!("{AGENT}{}", task_yaml("u", "two"))), false)
        .unwrap();
    assert_eq!(
        done.lines,
        vec![
            "agent default/shared-coder unchanged",
            "task default/u created"
        ]
    );
    // A batch with one existing name writes nothing at all.
    let err = s
        .submit(
            objects(&format!("{}{}", task_yaml("new", "x"), task_yaml("t", "y"))),
            false,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    let (fresh, _) = Store::open(dir.path()).unwrap();
    assert!(
        fresh.task(&key("new")).is_none(),
        "the failed submit left nothing"
    );
    // A different Agent under the same name is refused, then replaced with --replace.
    let changed = AGENT.replace("role: coder", "role: reviewer");
    let err = s.submit(objects(&changed), false).unwrap_err();
    assert!(
        err.to_string()
            .contains("Agent default/shared-coder already exists"),
        "{err}"
    );
    let done = s
        .submit(
            objects(&format!("{changed}{}", task_yaml("t", "three"))),
            true,
        )
        .unwrap();
    assert_eq!(
        done.lines,
        vec![
            "agent default/shared-coder replaced",
            "task default/t replaced"
        ]
    );
    assert_eq!(prompt_of(&s, "t"), "three");
    // A task a run holds is never replaced.
    let mut t = s.task(&key("t")).unwrap().clone();
    t.status.as_mut().unwrap().phase = Some(TaskPhase::Running);
    s.save_task(&t).unwrap();
    let err = s
        .submit(objects(&task_yaml("t", "four")), true)
        .unwrap_err();
    assert!(
        err.to_string().contains("cancel it in the console first"),
        "{err}"
    );
    assert_eq!(prompt_of(&s, "t"), "three");
}

#[test]
fn refresh_reports_other_processes_changes_and_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let (mut console, _) = Store::open(dir.path()).unwrap();
    let (mut cli, _) = Store::open(dir.path()).unwrap();
    assert!(console.refresh().unwrap().0.is_empty());
    cli.submit(objects(&format!("{AGENT}{}", task_yaml("t", "one"))), false)
        .unwrap();
    let (ch, bad) = console.refresh().unwrap();
    assert!(bad.is_empty());
    assert_eq!(ch.tasks.len(), 1);
    assert_eq!(ch.agents.len(), 1);
    assert!(
        console.refresh().unwrap().0.is_empty(),
        "each change is reported once"
    );
    cli.delete_task(&key("t"), false).unwrap();
    let (ch, _) = console.refresh().unwrap();
    assert_eq!(ch.deleted_tasks, vec![key("t")]);
    assert!(console.task(&key("t")).is_none());
    let err = cli.delete_task(&key("t"), false).unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

#[test]
fn a_file_based_state_is_imported_once_and_its_files_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("tasks/default")).unwrap();
    std::fs::create_dir_all(root.join("agents/default")).unwrap();
    let mut t = objects(&task_yaml("old", "from the files"));
    let Object::Task(t) = t.remove(0) else {
        unreachable!()
    };
    let mut t = *t;
    t.status = Some(foreman::api::AgenticTaskStatus {
        phase: Some(TaskPhase::Succeeded),
        ..Default::default()
    });
    std::fs::write(
        root.join("tasks/default/old.yaml"),
        foreman::api::yaml::to_string(&t).unwrap(),
    )
    .unwrap();
    std::fs::write(root.join("agents/default/shared-coder.yaml"), AGENT).unwrap();
    std::fs::write(root.join("tasks/default/bad.yaml"), "kind: [").unwrap();

    let (mut s, warnings) = Store::open(root).unwrap();
    let note = s.take_import_note().unwrap();
    assert!(note.contains("imported 1 task(s) and 1 agent(s)"), "{note}");
    assert!(note.contains("tasks.imported/"), "{note}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("bad.yaml") && w.contains("the file is kept")),
        "{warnings:?}"
    );
    assert_eq!(
        task_state(s.task(&key("old")).unwrap()),
        TaskState::Succeeded
    );
    assert_eq!(s.agents().len(), 1);
    assert!(root.join("tasks.imported/default/old.yaml").exists());
    assert!(
        root.join("tasks.imported/default/bad.yaml").exists(),
        "nothing is lost"
    );
    drop(s);
    let (mut again, _) = Store::open(root).unwrap();
    assert!(
        again.take_import_note().is_none(),
        "the import is said once"
    );
    assert_eq!(again.tasks().len(), 1);
}

#[test]
fn recovery_leaves_a_live_process_run_and_marks_a_dead_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut owner, _) = Store::open(dir.path()).unwrap();
    owner
        .submit(
            objects(&format!(
                "{AGENT}{}{}",
                task_yaml("mine", "a"),
                task_yaml("orphan", "b")
            )),
            false,
        )
        .unwrap();
    for name in ["mine", "orphan"] {
        let mut t = owner.task(&key(name)).unwrap().clone();
        t.status.as_mut().unwrap().phase = Some(TaskPhase::Running);
        owner.claim_task(&t).unwrap();
    }
    // "orphan"'s run record names a process that is gone.
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    db.execute("UPDATE runs SET owner = '1-dead' WHERE name = 'orphan'", [])
        .unwrap();

    let (mut second, _) = Store::open(dir.path()).unwrap();
    let cut = second.recover().unwrap();
    assert_eq!(
        cut.iter().map(|t| TaskKey::of(t).name).collect::<Vec<_>>(),
        vec!["orphan"]
    );
    assert_eq!(
        task_state(second.task(&key("orphan")).unwrap()),
        TaskState::Interrupted
    );
    assert_eq!(
        task_state(second.task(&key("mine")).unwrap()),
        TaskState::Running
    );
    // Once the owner is gone too, its run is recovered.
    drop(owner);
    let cut = second.recover().unwrap();
    assert_eq!(cut.len(), 1);
    assert_eq!(
        task_state(second.task(&key("mine")).unwrap()),
        TaskState::Interrupted
    );
}

#[test]
fn requeue_starts_attempt_n_plus_one_and_keeps_the_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Store::open(dir.path()).unwrap();
    s.submit(objects(&format!("{AGENT}{}", task_yaml("t", "a"))), false)
        .unwrap();
    for n in 1..=2u32 {
        let mut t = s.task(&key("t")).unwrap().clone();
        assert_eq!(foreman::backend::embedded::store::attempt_of(&t), n);
        let st = t.status.as_mut().unwrap();
        st.phase = Some(TaskPhase::Failed);
        st.transcript_ref = Some(s.journal_path_of(&key("t"), n).display().to_string());
        st.result = Some(serde_json::json!({"summary": format!("attempt {n}")}));
        s.save_task(&t).unwrap();
        s.requeue(&key("t")).unwrap();
    }
    let t = s.task(&key("t")).unwrap();
    assert_eq!(foreman::backend::embedded::store::attempt_of(t), 3);
    assert_eq!(t.status.as_ref().unwrap().phase, Some(TaskPhase::Pending));
    let earlier = s.attempts(&key("t")).unwrap();
    assert_eq!(
        earlier.iter().map(|a| a.number).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        earlier[1].status.result.as_ref().unwrap()["summary"],
        "attempt 2"
    );
    assert!(
        earlier[0]
            .status
            .transcript_ref
            .as_deref()
            .unwrap()
            .ends_with("t.jsonl")
    );
    assert!(
        earlier[1]
            .status
            .transcript_ref
            .as_deref()
            .unwrap()
            .ends_with("t.attempt-2.jsonl")
    );
}

#[test]
fn a_rejected_push_can_be_requeued_and_an_awaiting_one_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Store::open(dir.path()).unwrap();
    s.submit(objects(&format!("{AGENT}{}", task_yaml("t", "a"))), false)
        .unwrap();
    let mut t = s.task(&key("t")).unwrap().clone();
    let st = t.status.as_mut().unwrap();
    st.phase = Some(TaskPhase::Succeeded);
    st.verdict = Some(foreman::api::Verdict::Go);
    st.result = Some(serde_json::json!({"verdict": "GO", "summary": "s",
        "extra": {"branch": "b", "commitSHA": "abc", "pushed": false}}));
    s.save_task(&t).unwrap();
    assert_eq!(
        task_state(s.task(&key("t")).unwrap()),
        TaskState::AwaitingApproval
    );
    assert!(
        s.requeue(&key("t")).is_err(),
        "awaiting approval is not re-queued"
    );
    let mut t = s.task(&key("t")).unwrap().clone();
    t.status.as_mut().unwrap().result.as_mut().unwrap()["extra"]["pushDecision"] =
        serde_json::json!("rejected");
    s.save_task(&t).unwrap();
    assert_eq!(task_state(s.task(&key("t")).unwrap()), TaskState::Rejected);
    let again = s.requeue(&key("t")).unwrap();
    assert_eq!(again.status.unwrap().phase, Some(TaskPhase::Pending));
}

fn foreman_cmd(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_foreman"));
    c.env("FOREMAN_STATE_DIR", state)
        .env("HOME", state)
        .env_remove("XDG_CONFIG_HOME");
    c
}

/// 50 processes at once: 25 distinct names, 25 on one shared name, every file also carrying the
/// shared Agent. Exactly one winner per name, every loser told why, the stored task is the
/// winner's.
#[test]
fn fifty_parallel_submits_have_one_winner_per_name() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut children = Vec::new();
    for i in 0..50 {
        let name = if i % 2 == 0 {
            format!("own-{i}")
        } else {
            "shared".to_string()
        };
        let file = dir.path().join(format!("m{i}.yaml"));
        std::fs::write(
            &file,
            format!(
                "{AGENT}{}",
                task_yaml(&name, &format!("from submitter {i}"))
            ),
        )
        .unwrap();
        let child = foreman_cmd(&state)
            .arg("submit")
            .arg(&file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        children.push((i, name, child));
    }
    let mut shared_winners = Vec::new();
    for (i, name, child) in children {
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if name == "shared" {
            if out.status.success() {
                assert!(stdout.contains("task default/shared created"), "{stdout}");
                shared_winners.push(i);
            } else {
                assert!(
                    stderr.contains("task default/shared already exists"),
                    "loser {i} told why: {stderr}"
                );
                assert!(stderr.contains("nothing was submitted"), "{stderr}");
            }
        } else {
            assert!(out.status.success(), "distinct name {name}: {stderr}");
            assert!(
                stdout.contains(&format!("task default/{name} created")),
                "{stdout}"
            );
        }
    }
    assert_eq!(
        shared_winners.len(),
        1,
        "exactly one winner: {shared_winners:?}"
    );
    let (store, warnings) = Store::open(&state).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(store.tasks().len(), 26);
    assert_eq!(store.agents().len(), 1);
    assert_eq!(
        prompt_of(&store, "shared"),
        format!("from submitter {}", shared_winners[0])
    );
}

/// A console backend on the state picks up a `foreman submit` by another process within 1 s.
#[tokio::test]
async fn a_console_sees_another_process_submit_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = common::local::embedded_config(&state, "http://127.0.0.1:9/v1", 1);
    let opts = EmbeddedOptions {
        probe_inference: false,
        schedule_every: Duration::from_secs(3600),
        heartbeat_every: Duration::from_secs(3600),
        probe_every: Duration::from_secs(3600),
        ..EmbeddedOptions::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let h = start_embedded_with(cfg, opts, tx).unwrap();
    while !matches!(rx.recv().await, Some(BackendEvent::Snapshot { .. })) {}
    let file = dir.path().join("t.yaml");
    // No agent: the console fails the task at once, which shows it saw it.
    std::fs::write(&file, task_yaml("from-cli", "hello")).unwrap();
    let out = foreman_cmd(&state)
        .arg("submit")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let submitted = Instant::now();
    let seen = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match rx.recv().await {
                Some(BackendEvent::TaskUpdated(t)) if TaskKey::of(&t) == key("from-cli") => {
                    return *t;
                }
                Some(_) => {}
                None => panic!("backend stopped"),
            }
        }
    })
    .await
    .expect("the console saw the other process's submit within 1 s");
    assert!(submitted.elapsed() < Duration::from_secs(1));
    assert_eq!(seen.spec.payload.prompt.as_deref(), Some("hello"));
    h.send(foreman::backend::Command::Shutdown);
    h.stopped().await;
}

/// A state at `dir` holding the Agent and `tasks` (name, prompt), those in `failed` ended.
fn with_failed(dir: &Path, tasks: &[(&str, &str)], failed: &[&str]) {
    let (mut s, _) = Store::open(dir).unwrap();
    let docs: String = tasks.iter().map(|(n, p)| task_yaml(n, p)).collect();
    s.submit(objects(&format!("{AGENT}{docs}")), false).unwrap();
    for name in failed {
        let mut t = s.task(&key(name)).unwrap().clone();
        t.status.as_mut().unwrap().phase = Some(TaskPhase::Failed);
        s.save_task(&t).unwrap();
    }
}

/// Every task as the store holds it, packed ones inflated (what the console's queue reads).
fn views(s: &Store) -> Vec<AgenticTask> {
    s.held()
        .into_iter()
        .map(|(_, h)| h.task().expect("a held task inflates").into_owned())
        .collect()
}

/// A reopened state holds finished tasks as their summaries and reads a full manifest only
/// when asked; a state written before summaries gets them on its next open.
#[test]
fn finished_tasks_open_as_summaries_and_load_in_full_on_demand() {
    use foreman::fleet::summary::is_summary;
    let dir = tempfile::tempdir().unwrap();
    with_failed(
        dir.path(),
        &[("done", "long prompt"), ("todo", "p")],
        &["done"],
    );
    for round in ["with summaries", "summaries dropped (an older state)"] {
        let (s, warnings) = Store::open(dir.path()).unwrap();
        assert!(warnings.is_empty(), "{round}: {warnings:?}");
        let views = views(&s);
        let view = |n: &str| views.iter().find(|t| TaskKey::of(t) == key(n)).unwrap();
        assert!(is_summary(view("done")), "{round}: finished → summary");
        assert!(!is_summary(view("todo")), "{round}: pending → in full");
        assert_eq!(view("done").spec.payload.prompt, None);
        assert_eq!(task_state(view("done")), TaskState::Failed);
        assert_eq!(
            prompt_of(&s, "done"),
            "long prompt",
            "{round}: full on demand"
        );
        assert!(s.tasks().iter().all(|t| !is_summary(t)));
        drop(s);
        let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
        db.execute("DELETE FROM task_summaries", []).unwrap();
    }
}

/// A summary is never older than its manifest: a write that knows nothing of summaries (an
/// older version, sqlite3 by hand) drops the summary in the same statement (the schema's
/// triggers), so the next open reads the changed manifest instead of trusting a stale summary
/// — and it does so without comparing every summary with its object.
#[test]
fn a_write_behind_the_stores_back_is_never_hidden_by_an_old_summary() {
    use foreman::fleet::summary::is_summary;
    let dir = tempfile::tempdir().unwrap();
    with_failed(
        dir.path(),
        &[("done", "p"), ("gone", "p")],
        &["done", "gone"],
    );
    // Opened once with summaries for both; now an older writer changes one and deletes one.
    drop(Store::open(dir.path()).unwrap());
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let summaries = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT COUNT(*) FROM task_summaries", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(summaries(&db), 2);
    db.execute(
        "UPDATE objects SET manifest = json_set(manifest, '$.spec.priority', 7), rv = rv + 100 WHERE name = 'done'",
        [],
    )
    .unwrap();
    db.execute("DELETE FROM objects WHERE name = 'gone'", [])
        .unwrap();
    assert_eq!(summaries(&db), 0, "each write dropped its task's summary");
    drop(db);
    let (s, warnings) = Store::open(dir.path()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let views = views(&s);
    assert_eq!(views.len(), 1, "the deleted task is gone");
    assert_eq!(TaskKey::of(&views[0]), key("done"));
    assert_eq!(
        views[0].spec.priority,
        Some(7),
        "the changed manifest, not the old summary"
    );
    assert!(is_summary(&views[0]), "its summary was written again");
    drop(s);
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    assert_eq!(summaries(&db), 1);
}

/// A task whose manifest no longer parses (edited by hand) loses its summary and is named at
/// every open with what to do, while the others open as before.
#[test]
fn an_unparseable_manifest_is_named_at_every_open_and_the_rest_opens() {
    let dir = tempfile::tempdir().unwrap();
    with_failed(dir.path(), &[("ok", "p"), ("bad", "p")], &["ok", "bad"]);
    drop(Store::open(dir.path()).unwrap());
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    db.execute(
        "UPDATE objects SET manifest = '{\"not\": ', rv = rv + 100 WHERE name = 'bad'",
        [],
    )
    .unwrap();
    drop(db);
    for round in 0..2 {
        let (s, warnings) = Store::open(dir.path()).unwrap();
        assert_eq!(warnings.len(), 1, "{round}: {warnings:?}");
        assert!(
            warnings[0].contains("AgenticTask default/bad")
                && warnings[0].contains("does not parse"),
            "{round}: {warnings:?}"
        );
        let names: Vec<TaskKey> = s.held().into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, [key("ok")], "{round}");
    }
}

/// The scheduling pass plans over the tasks in flight and, inflated, only the packed ones
/// they depend on: a queue of finished runs costs it nothing, and a dependency on one still
/// resolves against its phase.
#[test]
fn the_plan_reads_tasks_in_flight_and_the_finished_ones_they_depend_on() {
    use foreman::fleet::held::Held;
    let dir = tempfile::tempdir().unwrap();
    with_failed(
        dir.path(),
        &[("base", "p"), ("other", "p"), ("next", "p")],
        &["base", "other"],
    );
    {
        let (mut s, _) = Store::open(dir.path()).unwrap();
        let mut t = s.task(&key("next")).unwrap().clone();
        t.spec.depends_on = Some(vec!["base".into()]);
        s.save_task(&t).unwrap();
    }
    let (s, warnings) = Store::open(dir.path()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let held: Vec<_> = s.held();
    let packed = |n: &str| {
        held.iter()
            .any(|(k, h)| *k == key(n) && matches!(h, Held::Packed(_)))
    };
    assert!(
        packed("base") && packed("other"),
        "finished ones open packed"
    );
    assert!(!packed("next"), "the pending one is held in full");
    let mut plan: Vec<(String, TaskState)> = s
        .planning()
        .iter()
        .map(|t| (t.metadata.name.clone().unwrap(), task_state(t)))
        .collect();
    plan.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        plan,
        [
            ("base".to_string(), TaskState::Failed),
            ("next".to_string(), TaskState::Pending)
        ],
        "the dependency inflated, the unrelated finished run left packed"
    );
}
