//! The selected task's decision, atop its transcript (issue 13 §1): one written from a console
//! for the node that ran the task waits for that node ("decision waits for node X, gone 5m"
//! when its heartbeat stopped, with `u` to withdraw it), and a decision that node could not
//! carry out says why.

use super::state::App;
use crate::fleet::decision::{Progress, Stage, gone_for, waiting_line};
use ratatui::style::Color;

/// The line and its colour, if the selected task has an open or failed decision. Every part
/// was written by another console or node, so control characters are made visible.
pub(crate) fn note(app: &App) -> Option<(String, Color)> {
    line(app).map(|(s, c)| (crate::oai::terminal_safe(&s).into_owned(), c))
}

fn line(app: &App) -> Option<(String, Color)> {
    let t = app.selected_task()?;
    let node = t.status.as_ref()?.assigned_node.clone()?;
    match Stage::of(&t) {
        Stage::Pending(d) => {
            let gone = gone_for(app.mirror.nodes.get(&node), app.now());
            let color = match gone {
                Some(_) => app.theme.status.warn,
                None => app.theme.status.ok,
            };
            Some((format!("◷ {}", waiting_line(&d, &node, gone)), color))
        }
        Stage::Taken(d) => Some((
            format!("◷ node {node} is carrying out: {}", d.describe()),
            app.theme.status.ok,
        )),
        Stage::Ended(d, m) if m.stage == Progress::Failed => Some((
            format!(
                "✗ {} failed on {}: {}",
                d.action.label(),
                m.node,
                m.message.unwrap_or_default()
            ),
            app.theme.status.error,
        )),
        Stage::None(Some(e)) => Some((format!("✗ {e}"), app.theme.status.error)),
        _ => None,
    }
}
