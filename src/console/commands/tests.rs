//! The registry's rules: default keys, availability from the context alone, labels.

use super::*;

#[test]
fn every_command_has_a_default_key() {
    let mut warnings = Vec::new();
    let cfg = crate::config::Config::defaults(&mut warnings);
    for c in COMMANDS {
        assert!(
            cfg.keymap.get(c.name).is_some(),
            "no default key for {}",
            c.name
        );
    }
    assert!(
        cfg.keymap.conflicts().is_empty(),
        "{:?}",
        cfg.keymap.conflicts()
    );
}

fn cx(task: Option<TaskState>) -> Context {
    Context {
        view: View::Transcript,
        focus: Focus::Queue,
        task,
        incomplete: false,
        has_change: false,
        has_pr: false,
        filtered: false,
        searching: false,
        following: true,
        picker: false,
        attempts: 1,
        diff_scopes: false,
        decision_pending: false,
        workloads: false,
        workloads_pane: false,
    }
}

fn available(c: &Context) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter(|i| i.available(c))
        .map(|i| i.name)
        .collect()
}

/// The footer names what `/` does where the keys go: filter in the queue, search in a
/// transcript.
#[test]
fn the_slash_label_follows_the_focus() {
    let mut warnings = Vec::new();
    let keymap = crate::config::Config::defaults(&mut warnings).keymap;
    let label = |c: &Context| {
        footer(c, &keymap)
            .into_iter()
            .find(|(k, _)| k == "/")
            .map(|(_, l)| l)
    };
    assert_eq!(label(&cx(Some(TaskState::Running))), Some("filter"));
    let detail = Context {
        focus: Focus::Detail,
        ..cx(Some(TaskState::Running))
    };
    assert_eq!(label(&detail), Some("search"));
}

#[test]
fn availability_reads_only_the_context() {
    let awaiting = available(&cx(Some(TaskState::AwaitingApproval)));
    assert!(awaiting.contains(&"approve_push") && awaiting.contains(&"reject_push"));
    assert!(!awaiting.contains(&"open_pr") && !awaiting.contains(&"view_diff"));
    assert!(awaiting.contains(&"request_changes"), "{awaiting:?}");
    let pushed = available(&Context {
        has_change: true,
        ..cx(Some(TaskState::Pushed))
    });
    assert!(pushed.contains(&"open_pr") && pushed.contains(&"view_diff"));
    assert!(!pushed.contains(&"approve_push") && !pushed.contains(&"retry_task"));
    assert!(!pushed.contains(&"request_changes"));
    // An off-target run that succeeded may be re-queued; with nothing selected, only the
    // task-free commands remain.
    let off = available(&Context {
        incomplete: true,
        ..cx(Some(TaskState::Succeeded))
    });
    assert!(off.contains(&"retry_task"), "{off:?}");
    let none = available(&cx(None));
    assert!(!none.contains(&"cancel_task") && !none.contains(&"search_next"));
    // `/` with the queue focused filters it, tasks or not.
    assert!(none.contains(&"search"));
    assert!(none.contains(&"quit") && none.contains(&"help"));
    let paused = available(&Context {
        following: false,
        ..cx(Some(TaskState::Running))
    });
    assert!(paused.contains(&"toggle_follow") && paused.contains(&"cancel_task"));
}
