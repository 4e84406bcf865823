//! Request changes (issue 12): `c` on a GO awaiting approval opens a multi-line editor for the
//! operator's feedback; Enter is a newline, ctrl-s sends it to the backend, which starts the
//! next attempt from the GO commit; Esc drops it (after a y/N when something was typed). From
//! the diff view the editor starts with `file:line: ` of the line at the top of the view, the
//! form the review rules read as a comment on that line ([`review::line_comments`]). Over the
//! Agent's `maxReviewIterations` the console says so and sends nothing.

use super::pane::View;
use super::state::{App, Effect, Feedback, Intent, Level, Mode};
use crate::backend::Command;
use crate::executor::review;
use crate::fleet::TaskKey;
use crate::fleet::status::result_extra;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Longest feedback the editor takes (characters): far more than a review needs, and a bound
/// on what one keystroke-driven buffer may hold.
pub const MAX_FEEDBACK_CHARS: usize = 32 * 1024;

impl App {
    /// `c`: opens the editor on the selected task, unless its Agent's bound is reached.
    pub(super) fn open_feedback(&mut self) {
        let Some(task) = self.selected_key().cloned() else {
            return;
        };
        let (iteration, max) = match self.review_round(&task) {
            Ok(r) => r,
            Err(why) => return self.say(format!("request changes: {why}"), Level::Warn),
        };
        let mut text = String::new();
        if self.view == View::Diff
            && let Some((k, d)) = &self.diff
            && *k == task
            && let Some((file, line)) = d.anchor()
        {
            text = format!("{file}:{line}: ");
        }
        self.mode = Mode::Feedback(Feedback {
            task,
            text,
            iteration,
            max,
        });
    }

    /// The review a request on `task` would be, and the Agent's bound; `Err` says why the
    /// bound forbids it. An Agent the console has not seen is left to the backend to check.
    fn review_round(&self, task: &TaskKey) -> Result<(u32, Option<u32>), String> {
        let t = self.mirror.task(task).ok_or("the task is gone")?;
        let iteration = review::next_iteration(&result_extra(&t).other);
        let agent = t.spec.agent_ref.as_ref().and_then(|r| {
            self.mirror
                .agents
                .get(&(task.namespace.clone(), r.name.clone()))
        });
        let Some(agent) = agent else {
            return Ok((iteration, None));
        };
        review::check_limit(agent, iteration)?;
        Ok((iteration, Some(agent.spec.max_review_iterations())))
    }

    pub(super) fn on_feedback_key(&mut self, key: KeyEvent, mut fb: Feedback) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('s') if ctrl => return self.send_feedback(fb),
            KeyCode::Esc if fb.text.trim().is_empty() => {
                self.mode = Mode::Normal;
                self.say("request changes dropped", Level::Info);
                return Vec::new();
            }
            KeyCode::Esc => {
                self.mode = Mode::Confirm(Intent::DiscardFeedback(fb));
                return Vec::new();
            }
            KeyCode::Enter => {
                push_char(&mut fb.text, '\n');
            }
            KeyCode::Backspace => {
                fb.text.pop();
            }
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                let full = !push_char(&mut fb.text, c);
                if full {
                    self.say(
                        format!("feedback is limited to {MAX_FEEDBACK_CHARS} characters"),
                        Level::Warn,
                    );
                }
            }
            _ => {}
        }
        self.mode = Mode::Feedback(fb);
        Vec::new()
    }

    /// ctrl-s: the feedback goes to the backend, unless it is empty (the editor stays open) or
    /// the bound was reached meanwhile (the editor closes, nothing is sent).
    fn send_feedback(&mut self, fb: Feedback) -> Vec<Effect> {
        let text = fb.text.trim().to_string();
        if text.is_empty() {
            self.say(
                "empty feedback is not sent; say what to change",
                Level::Warn,
            );
            self.mode = Mode::Feedback(fb);
            return Vec::new();
        }
        self.mode = Mode::Normal;
        if let Err(why) = self.review_round(&fb.task) {
            self.say(format!("request changes: {why}"), Level::Warn);
            return Vec::new();
        }
        // The diff shown is the reviewed attempt's; the next one has its own commit.
        if self.diff.as_ref().is_some_and(|(k, _)| *k == fb.task) {
            self.diff = None;
            self.view = View::Transcript;
        }
        self.say_progress(format!("{}: requesting changes…", fb.task));
        vec![Effect::Send(Command::RequestChanges {
            task: fb.task,
            feedback: text,
        })]
    }

    /// The y/N over a discarded draft: `y` drops it, any other key goes back to editing.
    pub(super) fn on_discard_key(&mut self, key: KeyEvent, fb: Feedback) {
        if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
            self.mode = Mode::Normal;
            self.say("feedback discarded", Level::Info);
        } else {
            self.mode = Mode::Feedback(fb);
        }
    }
}

/// Appends `c` unless the text is full; whether it was added.
fn push_char(text: &mut String, c: char) -> bool {
    if text.chars().count() >= MAX_FEEDBACK_CHARS {
        return false;
    }
    text.push(c);
    true
}
