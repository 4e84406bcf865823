//! What each command of the registry does once it is available, and the `:` command line.
//! Dangerous actions only open a confirm step ([`Intent`]); the confirmation sends them.

use super::commands::Action;
use super::pane::{Focus, View};
use super::state::{App, Effect, Intent, Level, Mode};
use crate::backend::Command;
use std::path::PathBuf;

impl App {
    pub(super) fn run(&mut self, action: Action) -> Vec<Effect> {
        let key = self.selected_key().cloned();
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.mode = Mode::Help,
            Action::Command => self.mode = Mode::Command(String::new()),
            Action::Search => {
                self.focus = Focus::Detail;
                self.mode = Mode::Search(String::new());
            }
            Action::SearchNext => {
                if let Some(t) = self.current_transcript_mut() {
                    t.search_next();
                }
            }
            Action::SearchPrev => {
                if let Some(t) = self.current_transcript_mut() {
                    t.search_prev();
                }
            }
            Action::NextPane => self.focus = next_focus(self.focus, 1),
            Action::PrevPane => self.focus = next_focus(self.focus, 2),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                return self.navigate(action);
            }
            Action::ToggleFollow => {
                if let Some(t) = self.current_transcript_mut() {
                    t.resume_follow();
                }
            }
            Action::OpenDetail => self.focus = Focus::Detail,
            Action::Back => {
                if self.view == View::Diff {
                    self.view = View::Transcript;
                } else {
                    self.focus = Focus::Queue;
                }
            }
            Action::ViewDiff => {
                if let (Some(k), Some((ws, sha))) = (key, self.selected_commit()) {
                    if self.diff.as_ref().is_some_and(|(dk, _)| *dk == k) {
                        self.view = View::Diff;
                        self.focus = Focus::Detail;
                    } else {
                        self.say("loading diff…", Level::Info);
                        return vec![Effect::LoadDiff(k, ws, sha)];
                    }
                }
            }
            Action::ViewTranscript => self.view = View::Transcript,
            Action::ToggleExpand => {
                if let Some(t) = self.current_transcript_mut() {
                    if t.selected().is_none() {
                        t.select_prev();
                    }
                    t.toggle_selected();
                }
            }
            Action::ExpandAll => {
                if let Some(t) = self.current_transcript_mut() {
                    let all = t.all_expanded();
                    t.set_all_expanded(!all);
                }
            }
            Action::ApprovePush => {
                if let Some(k) = key {
                    self.mode = Mode::Confirm(Intent::ApprovePush(k));
                }
            }
            Action::RejectPush => {
                if let Some(k) = key {
                    self.mode = Mode::Confirm(Intent::RejectPush(k));
                }
            }
            Action::OpenPr => {
                if let Some(k) = key {
                    self.mode = Mode::Confirm(Intent::OpenPr(k));
                }
            }
            Action::CancelTask => {
                if let Some(k) = key {
                    self.mode = Mode::Confirm(Intent::Cancel(k));
                }
            }
            Action::RetryTask => {
                if let Some(k) = key {
                    self.forget_transcript(&k);
                    return vec![Effect::Send(Command::Requeue(k))];
                }
            }
        }
        Vec::new()
    }

    /// The `:` command line: `:submit FILE` (`:s`), `:q` (`:quit`).
    pub(super) fn run_command_line(&mut self, line: &str) -> Vec<Effect> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "submit" | "s" if !rest.trim().is_empty() => {
                vec![Effect::Send(Command::Submit(PathBuf::from(expand_home(
                    rest.trim(),
                ))))]
            }
            "q" | "quit" => {
                self.quit = true;
                Vec::new()
            }
            "" => Vec::new(),
            other => {
                self.say(
                    format!(":{other}: unknown command (try :submit FILE or :q)"),
                    Level::Warn,
                );
                Vec::new()
            }
        }
    }
}

/// The pane `by` steps after `f` in the cycle fleet → queue → detail.
fn next_focus(f: Focus, by: usize) -> Focus {
    let all = [Focus::Fleet, Focus::Queue, Focus::Detail];
    let i = all.iter().position(|x| *x == f).unwrap_or(0);
    all[(i + by) % 3]
}

fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(b)) => b.home_dir().join(rest).display().to_string(),
        _ => p.to_string(),
    }
}
