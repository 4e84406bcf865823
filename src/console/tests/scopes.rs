//! Key scopes: one key serves actions of disjoint scopes, and the footer, the `?` overlay and
//! key resolution follow the focused pane (or the open picker).

use crate::config::Scope;
use crate::console::commands::{self, Action, COMMANDS, Context};
use crate::console::pane::{Focus, View};
use crate::fleet::TaskState;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn queue() -> Context {
    Context {
        view: View::Transcript,
        focus: Focus::Queue,
        task: Some(TaskState::Running),
        incomplete: false,
        has_change: false,
        has_pr: false,
        filtered: false,
        searching: true,
        following: true,
        picker: false,
        attempts: 1,
        diff_scopes: false,
        decision_pending: false,
        workloads: false,
        workloads_pane: false,
    }
}

#[test]
fn keys_footer_and_help_follow_the_focused_pane() {
    let keymap = crate::config::Config::defaults(&mut Vec::new()).keymap;
    let n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE);
    let queue = queue();
    let transcript = Context {
        focus: Focus::Detail,
        ..queue
    };
    assert_eq!(queue.scope(), Scope::Queue);
    assert_eq!(transcript.scope(), Scope::Transcript);
    assert_eq!(
        Context {
            view: View::Diff,
            ..transcript
        }
        .scope(),
        Scope::Diff
    );
    assert_eq!(
        commands::action_in(&keymap, &n, &queue),
        Some(Action::NewFromIssue)
    );
    assert_eq!(
        commands::action_in(&keymap, &n, &transcript),
        Some(Action::SearchNext)
    );
    let labels = |c: &Context| {
        commands::footer(c, &keymap)
            .into_iter()
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
    };
    assert!(labels(&queue).contains(&"filter") && !labels(&queue).contains(&"create task"));
    let on_now = |c: &Context, label: &str| {
        commands::help_rows(c, &keymap)
            .into_iter()
            .any(|(_, _, l, on)| on && l == label)
    };
    assert!(on_now(&transcript, "next match") && !on_now(&queue, "next match"));
    assert!(on_now(&queue, "new from issue") && !on_now(&transcript, "new from issue"));
    // The picker is modal: only its own commands apply; global ones (quit, help) do not.
    let picker = Context {
        picker: true,
        ..queue
    };
    assert_eq!(picker.scope(), Scope::Picker);
    let on: Vec<_> = COMMANDS
        .iter()
        .filter(|c| c.available(&picker))
        .map(|c| c.name)
        .collect();
    assert!(on.iter().all(|n| n.starts_with("picker_")), "{on:?}");
    assert!(on.contains(&"picker_pick") && on.contains(&"picker_repo"));
    assert!(labels(&picker).contains(&"create task") && !labels(&picker).contains(&"help"));
}

#[test]
fn every_scoped_action_is_a_command_with_a_default_key() {
    // A typo in the scope table would silently make a command global.
    let keymap = crate::config::Config::defaults(&mut Vec::new()).keymap;
    for name in [
        "search_next",
        "search_prev",
        "new_from_issue",
        "picker_repo",
        "picker_pick",
    ] {
        let c = COMMANDS.iter().find(|c| c.name == name).unwrap();
        assert_ne!(c.scope(), Scope::Global, "{name}");
        assert!(keymap.get(name).is_some(), "{name}");
    }
}

/// `u` withdraws a decision written for another node, only while one is pending.
#[test]
fn withdraw_is_offered_only_with_a_pending_decision() {
    let awaiting = Context {
        task: Some(TaskState::AwaitingApproval),
        searching: false,
        ..queue()
    };
    let offered = |c: &Context| {
        COMMANDS
            .iter()
            .any(|i| i.action == Action::WithdrawDecision && i.available(c))
    };
    assert!(!offered(&awaiting));
    assert!(offered(&Context {
        decision_pending: true,
        ..awaiting
    }));
    let keymap = crate::config::Config::defaults(&mut Vec::new()).keymap;
    assert_eq!(
        keymap
            .get("withdraw_decision")
            .map(|k| k.to_string())
            .as_deref(),
        Some("u")
    );
}
