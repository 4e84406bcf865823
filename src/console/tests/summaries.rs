//! A Snapshot's finished tasks as summaries (`fleet::summary`): the queue draws them as they
//! are, the selected one is asked for in full once, and no dialog opens on a summary.

use super::*;
use crate::backend::Command;
use crate::console::state::{Effect, Mode};
use crate::fleet::summary::{is_summary, summary};

fn loads(fx: &[Effect]) -> Vec<TaskKey> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(Command::LoadTask(k)) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_selected_summary_is_loaded_in_full_once_and_no_dialog_opens_on_it() {
    let mut app = fixture("dark");
    let full = fixture_tasks();
    let mut fx = app.on_backend(BackendEvent::Snapshot {
        tasks: full
            .iter()
            .map(|t| std::sync::Arc::new(summary(t)))
            .collect(),
        nodes: vec![fixture_node()],
        agents: vec![],
    });
    let selected = app.selected_key().cloned().unwrap();
    assert_eq!(
        loads(&fx),
        vec![selected.clone()],
        "the shown one is asked for"
    );
    // Moving away and back does not ask again while the answer is on its way.
    fx = app.on_key(key('j'));
    let second = app.selected_key().cloned().unwrap();
    assert_eq!(loads(&fx), vec![second.clone()]);
    fx = app.on_key(key('k'));
    assert!(loads(&fx).is_empty(), "asked once: {fx:?}");
    // The awaiting one (selected first: the queue starts with it) is still a summary: `a`
    // says it is loading instead of opening the approval with no branch or commit.
    assert_eq!(selected, k("fix-typo-readme"));
    app.on_key(key('a'));
    assert!(
        !matches!(app.mode, Mode::Confirm(_)),
        "no dialog on a summary"
    );
    let said = &app.status.as_ref().unwrap().text;
    assert!(said.contains("still loading"), "{said}");
    // The full task arrives: the dialog opens, and nothing is asked again.
    let t = full
        .into_iter()
        .find(|t| TaskKey::of(t) == selected)
        .unwrap();
    fx = app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    assert!(loads(&fx).is_empty());
    assert!(!is_summary(app.selected_task().unwrap()));
    app.on_key(key('a'));
    assert!(matches!(app.mode, Mode::Confirm(_)), "the approval opens");
}
