//! Steering a live run (issue 12): `m` on a running task opens a one-line prompt; Enter sends
//! the note to the backend, which queues it for the run's next chat turn (a turn streaming
//! now is not interrupted). The transcript shows it as the operator's when the loop adds it.

use super::state::{App, Effect, Level, Mode};
use crate::backend::Command;
use crate::fleet::TaskKey;
use crossterm::event::{KeyCode, KeyEvent};

impl App {
    pub(super) fn on_note_key(
        &mut self,
        key: KeyEvent,
        task: TaskKey,
        mut text: String,
    ) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                self.say("note dropped", Level::Info);
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                let text = text.trim().to_string();
                if text.is_empty() {
                    self.say("an empty note is not sent", Level::Warn);
                    return Vec::new();
                }
                self.say_progress(format!("{task}: sending the note…"));
                return vec![Effect::Send(Command::Note { task, text })];
            }
            KeyCode::Backspace => {
                text.pop();
                self.mode = Mode::Note(task, text);
            }
            KeyCode::Char(c) => {
                text.push(c);
                self.mode = Mode::Note(task, text);
            }
            _ => {}
        }
        Vec::new()
    }
}
