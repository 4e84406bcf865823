//! The picker's state through the console's keys (open, pages, labels, search, pick,
//! duplicates, errors) and its snapshots at 80x24 and 120x30.

use super::state::{FetchRequest, Loaded};
use crate::api::{Agent, AgenticTask, AgenticTaskStatus, Object, TaskPhase, load_str};
use crate::backend::{BackendEvent, Command};
use crate::config::Config;
use crate::console::state::{App, Effect};
use crate::console::theme::Theme;
use crate::github::{Issue, IssuePage};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn agent(name: &str) -> Agent {
    let yaml = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: {name}, namespace: default}}\nspec: {{role: coder, tools: [read_file]}}\n"
    );
    match load_str("a", &yaml).unwrap().remove(0) {
        Object::Agent(a) => *a,
        _ => panic!("not an agent"),
    }
}

fn issue(number: u64, title: &str, body: &str, labels: &[&str]) -> Issue {
    Issue {
        number,
        title: title.into(),
        body: body.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        html_url: format!("https://github.com/acme/fleet/issues/{number}"),
    }
}

fn page1() -> Vec<Issue> {
    vec![
        issue(
            12,
            "Fix the greeting",
            "The greeter says Helo.\n\nIt should say Hello. See greeter.py line 3.",
            &["good first issue"],
        ),
        issue(11, "Add tests for the parser", "", &["tests"]),
        issue(
            9,
            "Bump dependencies",
            "cargo update, then check the build.",
            &[],
        ),
    ]
}

/// A console with `agents`, the remote acme/fleet, and `tasks` in the queue.
fn app(agents: &[&str], tasks: Vec<AgenticTask>) -> App {
    let cfg = Config::defaults(&mut Vec::new());
    let mut app = App::new(
        Theme::builtin("dark").unwrap(),
        cfg.keymap.clone(),
        cfg.ui.bell,
        "embedded · test".into(),
    );
    app.clock = Some(1_800_000_000);
    app.intake.repo = Some("acme/fleet".into());
    app.on_backend(BackendEvent::Snapshot {
        tasks: tasks
            .into_iter()
            .map(crate::fleet::held::Held::keyed)
            .collect(),
        nodes: vec![],
        agents: agents.iter().map(|a| agent(a)).collect(),
    });
    app
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}
fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}
fn typed(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| app.on_key(key(c))).collect()
}

/// The one fetch among `fx`.
fn fetch(fx: Vec<Effect>) -> FetchRequest {
    let mut reqs: Vec<FetchRequest> = fx
        .into_iter()
        .filter_map(|e| match e {
            Effect::FetchIssues(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), 1, "one fetch expected");
    reqs.remove(0)
}

fn answer(app: &mut App, req: &FetchRequest, issues: Vec<Issue>, next: Option<u32>) {
    app.on_issues(Loaded {
        generation: req.generation,
        result: Ok(IssuePage {
            issues,
            next_page: next,
        }),
    });
}

/// `n` then the first page answered.
fn opened(app: &mut App) {
    let req = fetch(app.on_key(key('n')));
    answer(app, &req, page1(), Some(2));
}

fn created(fx: Vec<Effect>) -> AgenticTask {
    let mut out: Vec<AgenticTask> = fx
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send(Command::CreateTask(t)) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(out.len(), 1, "one CreateTask expected");
    out.remove(0)
}

fn render(app: &mut App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| crate::console::draw::draw(f, app)).unwrap();
    term.draw(|f| crate::console::draw::draw(f, app)).unwrap();
    format!("{}", term.backend())
}

fn running_task(name: &str, issue: i32, phase: TaskPhase) -> AgenticTask {
    let yaml = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {issue}, prompt: fix}}\n"
    );
    let Object::Task(mut t) = load_str("t", &yaml).unwrap().remove(0) else {
        panic!()
    };
    t.status = Some(AgenticTaskStatus {
        phase: Some(phase),
        ..Default::default()
    });
    *t
}

#[test]
fn n_opens_on_the_remotes_repository_and_pages_append() {
    let mut app = app(&["coder"], vec![]);
    let req = fetch(app.on_key(key('n')));
    assert_eq!(
        (req.query.owner.as_str(), req.query.repo.as_str()),
        ("acme", "fleet")
    );
    assert_eq!(req.query.page, 1);
    assert!(app.context().picker && app.picker.as_ref().unwrap().loading);
    answer(&mut app, &req, page1(), Some(2));
    let p = app.picker.as_ref().unwrap();
    assert!(!p.loading && p.issues.len() == 3);
    // `m`: the next page, appended (an issue seen on page 1 is not repeated).
    let more = fetch(app.on_key(key('m')));
    assert_eq!(more.query.page, 2);
    answer(
        &mut app,
        &more,
        vec![page1().remove(2), issue(4, "Old", "", &[])],
        None,
    );
    let numbers: Vec<u64> = app
        .picker
        .as_ref()
        .unwrap()
        .issues
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(numbers, vec![12, 11, 9, 4]);
    // The last page is in: `m` says so and asks nothing.
    assert!(app.on_key(key('m')).is_empty());
    let notice = app.picker.as_ref().unwrap().notice.clone().unwrap();
    assert!(notice.contains("no more pages"), "{notice}");
    // j/k move; esc closes; global keys (q) do nothing while it is open.
    app.on_key(key('j'));
    app.on_key(key('j'));
    assert_eq!(
        app.picker
            .as_ref()
            .unwrap()
            .selected_issue()
            .unwrap()
            .number,
        9
    );
    app.on_key(key('q'));
    assert!(!app.quit && app.picker.is_some());
    // Nor does the mouse reach the panes under it.
    let before = app.focus;
    let click = crossterm::event::MouseEvent {
        kind: crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
        column: 1,
        row: 1,
        modifiers: KeyModifiers::NONE,
    };
    app.regions.fleet = ratatui::layout::Rect::new(0, 0, 10, 5);
    assert!(app.on_mouse(click).is_empty() && app.focus == before);
    app.on_key(code(KeyCode::Esc));
    assert!(app.picker.is_none() && !app.context().picker);
}

#[test]
fn labels_refetch_and_an_older_answer_is_dropped() {
    let mut app = app(&["coder"], vec![]);
    let first = fetch(app.on_key(key('n')));
    app.on_key(key('l'));
    typed(&mut app, "good first issue, docs");
    let labelled = fetch(app.on_key(code(KeyCode::Enter)));
    assert_eq!(labelled.query.labels, vec!["good first issue", "docs"]);
    assert_eq!(labelled.query.page, 1);
    // The unlabelled page answers late: it is not shown.
    answer(&mut app, &first, page1(), Some(2));
    assert!(app.picker.as_ref().unwrap().issues.is_empty());
    answer(&mut app, &labelled, vec![page1().remove(0)], None);
    assert_eq!(app.picker.as_ref().unwrap().issues.len(), 1);
    // Closed and opened again, it starts with those labels.
    app.on_key(code(KeyCode::Esc));
    let again = fetch(app.on_key(key('n')));
    assert_eq!(again.query.labels, vec!["good first issue", "docs"]);
}

#[test]
fn search_filters_what_was_read_as_typed_and_esc_clears_it() {
    let mut app = app(&["coder"], vec![]);
    opened(&mut app);
    app.on_key(key('/'));
    assert!(typed(&mut app, "HELO").is_empty());
    let shown: Vec<u64> = app
        .picker
        .as_ref()
        .unwrap()
        .visible()
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(shown, vec![12]);
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.picker.as_ref().unwrap().visible().len(), 3);
}

#[test]
fn enter_creates_the_task_dispatch_would() {
    let mut app = app(&["coder"], vec![]);
    opened(&mut app);
    let t = created(app.on_key(code(KeyCode::Enter)));
    assert_eq!(t.metadata.name.as_deref(), Some("issue-12"));
    assert_eq!(t.metadata.namespace.as_deref(), Some("default"));
    let p = &t.spec.payload;
    assert_eq!((p.repo.as_deref(), p.issue), (Some("acme/fleet"), Some(12)));
    assert_eq!(
        p.prompt.as_deref(),
        Some(
            "Fix the greeting\n\nThe greeter says Helo.\n\nIt should say Hello. See greeter.py line 3."
        )
    );
    assert_eq!(t.spec.agent_ref.as_ref().unwrap().name, "coder");
    let labels = t.metadata.labels.unwrap();
    assert_eq!(labels[crate::github::DISPATCH_ISSUE_LABEL], "12");
    assert_eq!(labels[crate::github::DISPATCH_AGENT_LABEL], "coder");
    assert!(app.picker.is_none());
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("creating default/issue-12")
    );
}

#[test]
fn an_unfinished_task_for_the_issue_is_refused_a_finished_one_is_not() {
    let mut app = app(
        &["coder"],
        vec![running_task("fix-it", 12, TaskPhase::Running)],
    );
    opened(&mut app);
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    let notice = app.picker.as_ref().unwrap().notice.clone().unwrap();
    assert!(
        notice.contains("issue #12 of acme/fleet already has a task that is not finished: default/fix-it (Running)"),
        "{notice}"
    );
    // A failed earlier task for it holds the name issue-12: the new one is issue-12-2.
    let mut app = app_with_failed();
    opened(&mut app);
    let t = created(app.on_key(code(KeyCode::Enter)));
    assert_eq!(t.metadata.name.as_deref(), Some("issue-12-2"));
}

fn app_with_failed() -> App {
    app(
        &["coder"],
        vec![running_task("issue-12", 12, TaskPhase::Failed)],
    )
}

#[test]
fn several_agents_are_chosen_from_a_list_none_is_refused() {
    let mut app = app(&["coder", "reviewer"], vec![]);
    opened(&mut app);
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert!(app.picker.as_ref().unwrap().choice.is_some());
    insta::assert_snapshot!("picker_agents_80x24", render(&mut app, 80, 24));
    app.on_key(key('j'));
    let t = created(app.on_key(code(KeyCode::Enter)));
    assert_eq!(t.spec.agent_ref.unwrap().name, "reviewer");

    let mut none = self::app(&[], vec![]);
    opened(&mut none);
    assert!(none.on_key(code(KeyCode::Enter)).is_empty());
    let notice = none.picker.as_ref().unwrap().notice.clone().unwrap();
    assert!(notice.starts_with("no Agent to run it"), "{notice}");
}

#[test]
fn without_a_remote_o_asks_for_the_repository() {
    let mut app = app(&["coder"], vec![]);
    app.intake.repo = None;
    assert!(app.on_key(key('n')).is_empty());
    assert!(app.picker_typing());
    typed(&mut app, "not a repo");
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        app.picker
            .as_ref()
            .unwrap()
            .notice
            .as_ref()
            .unwrap()
            .contains("owner/repo")
    );
    for _ in 0.."not a repo".len() {
        app.on_key(code(KeyCode::Backspace));
    }
    typed(&mut app, "https://github.com/acme/other.git");
    let req = fetch(app.on_key(code(KeyCode::Enter)));
    assert_eq!(
        (req.query.owner.as_str(), req.query.repo.as_str()),
        ("acme", "other")
    );
    // The next `n` starts there.
    assert_eq!(app.intake.repo.as_deref(), Some("acme/other"));
}

#[test]
fn errors_are_said_in_words_and_issue_text_is_escaped() {
    use crate::github::{GitHubError, IssueQuery};
    let req = FetchRequest {
        generation: 1,
        api_base: "https://api.github.com".into(),
        query: IssueQuery::new("acme", "fleet"),
    };
    let api_base = "https://api.github.com".to_string();
    let anon = super::fetch::explain(
        &GitHubError::Unauthorized {
            api_base: api_base.clone(),
        },
        &req,
        true,
    );
    assert!(anon.contains("set a GitHub token"), "{anon}");
    let nf = GitHubError::NotFound {
        owner: "acme".into(),
        repo: "fleet".into(),
        api_base,
    };
    assert!(super::fetch::explain(&nf, &req, false).starts_with("no such repository: acme/fleet"));

    let mut app = app(&["coder"], vec![]);
    let req = fetch(app.on_key(key('n')));
    let evil = issue(
        5,
        "Title\x1b]52;c;ZXZpbA==\x07 here",
        "body \x1b[2J\x1b[31mred",
        &[],
    );
    answer(&mut app, &req, vec![evil], None);
    let screen = render(&mut app, 120, 30);
    assert!(
        !screen.contains('\x1b') && !screen.contains('\x07'),
        "{screen}"
    );
    assert!(
        screen.contains("Title here") && screen.contains("body red"),
        "{screen}"
    );
}

#[test]
fn snapshots_list_and_preview() {
    let mut app = app(&["coder"], vec![]);
    opened(&mut app);
    insta::assert_snapshot!("picker_list_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("picker_list_120x30", render(&mut app, 120, 30));
}

#[test]
fn snapshots_loading_and_error() {
    let mut app = app(&["coder"], vec![]);
    app.on_key(key('n'));
    insta::assert_snapshot!("picker_loading_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("picker_loading_120x30", render(&mut app, 120, 30));
    app.on_key(key('l'));
    typed(&mut app, "x");
    let req = fetch(app.on_key(code(KeyCode::Enter)));
    app.on_issues(Loaded {
        generation: req.generation,
        result: Err("GitHub rejected the token (HTTP 401): set a GitHub token (GITHUB_TOKEN or ~/.config/foreman/github-token) that is current and can read acme/fleet".into()),
    });
    insta::assert_snapshot!("picker_error_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("picker_error_120x30", render(&mut app, 120, 30));
}
