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
            .map(|t| crate::fleet::held::Held::keyed(summary(t)))
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
    assert!(!is_summary(&app.selected_task().unwrap()));
    app.on_key(key('a'));
    assert!(matches!(app.mode, Mode::Confirm(_)), "the approval opens");
}

/// The queue over packed summaries (`fleet::held`, how the store and the cluster console
/// hold finished runs) is the queue over the same summaries in full: every sort, its
/// reversal and the filter's words order, count and draw alike.
#[test]
fn packed_summaries_sort_filter_and_draw_as_the_same_summaries_in_full() {
    use crate::fleet::held::Held;
    let snapshot = |pack: bool| {
        let mut app = fixture("dark");
        app.on_backend(BackendEvent::Snapshot {
            tasks: fixture_tasks()
                .iter()
                .map(|t| {
                    let s = if crate::fleet::held::is_finished(t) {
                        summary(t)
                    } else {
                        t.clone()
                    };
                    if pack {
                        Held::compact(s)
                    } else {
                        Held::keyed(s)
                    }
                })
                .collect(),
            nodes: vec![fixture_node()],
            agents: vec![],
        });
        app
    };
    let (mut full, mut packed) = (snapshot(false), snapshot(true));
    let n_packed = packed
        .mirror
        .tasks
        .values()
        .filter(|h| matches!(h, Held::Packed(_)))
        .count();
    assert!(n_packed >= 2, "the finished fixtures pack: {n_packed}");
    let order =
        |app: &App| -> Vec<String> { app.mirror.order.iter().map(|k| k.name.clone()).collect() };
    for step in ['s', 's', 's', 's', 'S', 's'] {
        full.on_key(key(step));
        packed.on_key(key(step));
        assert_eq!(order(&packed), order(&full), "after {step}");
        assert_eq!(packed.mirror.awaiting, full.mirror.awaiting);
        assert_eq!(render(&mut packed, 120, 30), render(&mut full, 120, 30));
    }
    for f in ["m5-max", "interrupted", "go", "fix-", "workload:none"] {
        for app in [&mut full, &mut packed] {
            app.filter = f.into();
            app.reorder();
        }
        assert_eq!(order(&packed), order(&full), "filter {f}");
        assert_eq!(render(&mut packed, 120, 30), render(&mut full, 120, 30));
    }
}
