//! What each command of the registry does once it is available, and the `:` command line.
//! Dangerous actions only open a confirm step ([`Intent`]); the confirmation sends them.

use super::commands::Action;
use super::pane::{Focus, View};
use super::state::{App, Effect, Intent, Level, Mode};
use crate::backend::Command;
use std::path::PathBuf;

impl App {
    /// What `action` does. Long because it is the one match over every command of the
    /// registry (each arm a line or a call).
    pub(super) fn run(&mut self, action: Action) -> Vec<Effect> {
        let key = self.selected_key().cloned();
        match action {
            Action::Quit => self.ask_quit(),
            Action::Help => {
                self.help_scroll = 0;
                self.mode = Mode::Help;
            }
            Action::Command => self.mode = Mode::Command(String::new()),
            Action::Search if self.focus == Focus::Queue => {
                self.mode = Mode::Filter(self.filter.clone());
            }
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
            Action::SortNext | Action::SortReverse => self.sort_queue(action),
            Action::NextPane => self.focus = next_focus(self.focus, 1),
            Action::PrevPane => self.focus = next_focus(self.focus, 2),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::HalfPageUp
            | Action::HalfPageDown
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
                if self.focus == Focus::Queue {
                    self.set_filter(String::new());
                } else if self.view == View::Diff {
                    self.view = View::Transcript;
                } else {
                    self.focus = Focus::Queue;
                }
            }
            Action::NextHunk
            | Action::PrevHunk
            | Action::NextFile
            | Action::PrevFile
            | Action::ScrollLeft
            | Action::ScrollRight => self.diff_key(action),
            Action::ViewDiff => return self.view_diff(),
            Action::ViewTranscript => self.view = View::Transcript,
            Action::ToggleExpand => {
                let notice = self.current_transcript_mut().and_then(|t| {
                    if t.selected().is_none() {
                        t.select_prev();
                    }
                    t.toggle_selected();
                    t.take_notice()
                });
                if let Some(n) = notice {
                    self.say(n, Level::Warn);
                }
            }
            Action::ExpandAll => {
                let notice = self.current_transcript_mut().and_then(|t| {
                    let all = t.all_expanded();
                    t.set_all_expanded(!all);
                    t.take_notice()
                });
                if let Some(n) = notice {
                    self.say(n, Level::Warn);
                }
            }
            Action::ApprovePush => self.confirm(key.map(Intent::ApprovePush)),
            Action::RejectPush => self.confirm(key.map(Intent::RejectPush)),
            Action::OpenPr => self.confirm(key.map(Intent::OpenPr)),
            Action::OpenPrUrl | Action::CopyPrUrl => return self.pr_url(action),
            Action::CancelTask => self.confirm(key.map(Intent::Cancel)),
            Action::WithdrawDecision => self.confirm(key.map(Intent::WithdrawDecision)),
            Action::NewFromIssue => return self.open_picker(),
            Action::PickerRepo
            | Action::PickerLabel
            | Action::PickerSearch
            | Action::PickerMore
            | Action::PickerPick
            | Action::PickerClose
            | Action::PickerUp
            | Action::PickerDown => return self.picker_action(action),
            Action::Note => self.mode = key.map_or(Mode::Normal, |k| Mode::Note(k, String::new())),
            Action::RequestChanges => self.open_feedback(),
            Action::PrevAttempt | Action::NextAttempt => return self.step_attempt(action),
            Action::SwitchDiffScope => return self.switch_diff_scope(),
            Action::ShowWorkloads
            | Action::WorkloadsUp
            | Action::WorkloadsDown
            | Action::WorkloadsOpen
            | Action::WorkloadsClose => return self.workloads_action(action),
            Action::RetryTask => {
                if let Some(k) = key {
                    self.forget_transcript(&k);
                    return vec![Effect::Send(Command::Requeue(k))];
                }
            }
        }
        Vec::new()
    }

    /// Opens the selected task's diff: at once when it is loaded, otherwise asked of the
    /// backend, which reads it where the workspace is (another node's too).
    fn view_diff(&mut self) -> Vec<Effect> {
        let Some(k) = self.selected_key().cloned() else {
            return Vec::new();
        };
        if let Some(fx) = self.earlier_diff() {
            return fx;
        }
        if !self.selected_has_change() {
            return Vec::new();
        }
        if self.attempts.diff_of.take().is_some() {
            // The open diff is an earlier attempt's: the current one is loaded anew.
            self.diff = None;
        }
        if self.diff.as_ref().is_some_and(|(dk, _)| *dk == k) {
            self.view = View::Diff;
            self.focus = Focus::Detail;
            return Vec::new();
        }
        self.say_progress(format!("{k}: loading diff…"));
        vec![Effect::Send(Command::LoadDiff(k))]
    }

    /// `s` sorts the queue by the next column, `S` reverses it; the selection stays on its task.
    fn sort_queue(&mut self, action: Action) {
        self.sort = if action == Action::SortNext {
            self.sort.next()
        } else {
            self.sort.reverse()
        };
        self.reorder();
        let s = self.sort;
        self.say(
            format!("queue sorted by {} {}", s.column.label(), s.arrow()),
            Level::Info,
        );
    }

    /// Applies a new queue filter (the selection stays on its task when that still shows).
    pub(super) fn set_filter(&mut self, f: String) {
        self.filter = f;
        self.reorder();
        self.selected = self.selected.min(self.mirror.order.len().saturating_sub(1));
    }

    /// The diff's own keys: hunks, files and horizontal scroll, whichever pane has the focus.
    fn diff_key(&mut self, action: Action) {
        let Some((_, d)) = self.diff.as_mut() else {
            return;
        };
        match action {
            Action::NextHunk => d.next_hunk(),
            Action::PrevHunk => d.prev_hunk(),
            Action::NextFile => d.next_file(),
            Action::PrevFile => d.prev_file(),
            Action::ScrollLeft => d.scroll_left(8),
            _ => d.scroll_right(8),
        }
    }

    /// Runs this console drives right now (running, with their transcript streaming here).
    pub(super) fn runs_in_flight(&self) -> usize {
        self.mirror
            .tasks
            .iter()
            .filter(|(k, t)| {
                t.facts().state == crate::fleet::TaskState::Running
                    && self.transcripts.contains_key(*k)
                    && !self.loaded.contains_key(*k)
            })
            .count()
    }

    /// Quit at once when nothing runs here; else ask first (the runs would be interrupted).
    fn ask_quit(&mut self) {
        match self.runs_in_flight() {
            0 => self.quit = true,
            runs => self.mode = Mode::Confirm(Intent::Quit { runs }),
        }
    }

    /// `o` opens the selected task's pull request in the browser, `y` copies its URL: only a
    /// well-formed http(s) URL of bounded length, never whatever a status field holds.
    fn pr_url(&mut self, action: Action) -> Vec<Effect> {
        let Some(url) = self.selected_pr_url() else {
            return Vec::new();
        };
        let ok = url.len() <= 2048
            && (url.starts_with("https://") || url.starts_with("http://"))
            && url.chars().all(|c| c.is_ascii_graphic());
        if !ok {
            self.say(
                "the recorded PR URL is not a plain http(s) URL; not opened",
                Level::Warn,
            );
            return Vec::new();
        }
        if action == Action::OpenPrUrl {
            self.say_progress(format!("opening {url}…"));
            vec![Effect::OpenUrl(url)]
        } else {
            self.say(format!("copied {url}"), Level::Info);
            vec![Effect::Copy(url)]
        }
    }

    /// A dangerous action on the selected task waits for the operator's `y`.
    fn confirm(&mut self, intent: Option<Intent>) {
        // The dialog shows the task's branch, commit and remote: never from a summary.
        if let Some(key) = self.selected_key().filter(|k| {
            self.mirror
                .tasks
                .get(*k)
                .is_some_and(crate::fleet::held::Held::is_summary)
        }) && !matches!(intent, None | Some(Intent::Quit { .. }))
        {
            let key = key.clone();
            return self.say(format!("{key} is still loading; try again"), Level::Warn);
        }
        if let Some(i) = intent {
            self.mode = Mode::Confirm(i);
        }
    }

    /// `:task NAME` (or NAMESPACE/NAME): selects that task, clearing a filter that hides it.
    fn jump_to(&mut self, name: &str) -> Vec<Effect> {
        let found = self
            .mirror
            .tasks
            .keys()
            .find(|k| k.name == name || k.to_string() == name)
            .cloned();
        let Some(k) = found else {
            self.say(
                format!(":task {name}: no such task (tab completes names)"),
                Level::Warn,
            );
            return Vec::new();
        };
        if !self.mirror.order.contains(&k) {
            self.set_filter(String::new());
        }
        if let Some(i) = self.mirror.order.iter().position(|o| *o == k) {
            self.selected = i;
        }
        if self.view == View::Diff {
            self.view = View::Transcript;
        }
        self.focus = Focus::Queue;
        self.ensure_transcript()
    }

    /// The `:` command line: `:submit [--replace] FILE` (`:s`), `:task NAME` (`:t`), `:q`
    /// (`:quit`); tab completes command and task names.
    pub(super) fn run_command_line(&mut self, line: &str) -> Vec<Effect> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "submit" | "s" if !rest.trim().is_empty() => {
                let (replace, file) = match rest.trim().strip_prefix("--replace") {
                    Some(f) if f.starts_with(' ') => (true, f.trim()),
                    _ => (false, rest.trim()),
                };
                vec![Effect::Send(Command::Submit {
                    path: PathBuf::from(expand_home(file)),
                    replace,
                })]
            }
            "task" | "t" if !rest.trim().is_empty() => self.jump_to(rest.trim()),
            "q" | "quit" => {
                self.ask_quit();
                Vec::new()
            }
            "" => Vec::new(),
            other => {
                self.say(
                    format!(
                        ":{other}: unknown command (try :submit [--replace] FILE, :task NAME or :q; tab completes)"
                    ),
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
