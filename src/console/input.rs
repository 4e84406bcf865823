//! The operator's keys and mouse: a key resolves through the keymap to a command of the
//! registry (refused with the reason and the key that helps when it does not apply), or answers the open confirm step or
//! text prompt; movement keys and the wheel go to the focused (or pointed-at) pane.

use super::commands::{self, Action};
use super::completion::Completion;
use super::pane::{Focus, View, queue_first_row};
use super::refusal::refusal;
use super::state::{App, Effect, Intent, Level, Mode};
use crate::backend::{Command, Job};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return Vec::new();
        }
        if self.mode == Mode::Normal && self.picker_typing() {
            return self.on_picker_prompt_key(key);
        }
        match self.mode.clone() {
            Mode::Help => {
                self.on_help_key(key);
                Vec::new()
            }
            Mode::Confirm(Intent::DiscardFeedback(fb)) => {
                self.on_discard_key(key, fb);
                Vec::new()
            }
            Mode::Confirm(intent) => self.on_confirm_key(key, intent),
            Mode::Search(text) => self.on_input_key(key, text, true),
            Mode::Command(text) => self.on_input_key(key, text, false),
            Mode::Filter(text) => self.on_filter_key(key, text),
            Mode::Note(task, text) => self.on_note_key(key, task, text),
            Mode::Feedback(fb) => self.on_feedback_key(key, fb),
            Mode::Normal => match commands::action_in(&self.keymap, &key, &self.context()) {
                Some(a) if commands::info(a).available(&self.context()) => self.run(a),
                Some(a) => {
                    if let Some(why) = refusal(a, &self.context(), &self.keymap) {
                        self.say(why, Level::Warn);
                    }
                    Vec::new()
                }
                None => Vec::new(),
            },
        }
    }

    /// The `?` overlay scrolls with the movement keys and closes on `q`, Esc or `?` (whatever
    /// they are bound to); other keys do nothing, so a stray key does not hide it.
    fn on_help_key(&mut self, key: KeyEvent) {
        let max = self.regions.help_max_scroll;
        let page = 10;
        let s = self.help_scroll.min(max);
        let action = commands::action_for(&self.keymap, &key);
        self.help_scroll = match (action, key.code) {
            (Some(Action::Up), _) | (_, KeyCode::Up) => s.saturating_sub(1),
            (Some(Action::Down), _) | (_, KeyCode::Down) => (s + 1).min(max),
            (Some(Action::PageUp | Action::HalfPageUp), _) => s.saturating_sub(page),
            (Some(Action::PageDown | Action::HalfPageDown), _) => (s + page).min(max),
            (Some(Action::Top), _) => 0,
            (Some(Action::Bottom), _) => max,
            (Some(Action::Help | Action::Quit | Action::Back), _) | (_, KeyCode::Esc) => {
                self.mode = Mode::Normal;
                0
            }
            _ => s,
        };
    }

    /// The confirm step: `y` or Enter carries the intent out (what its hint says), any other
    /// key cancels it.
    fn on_confirm_key(&mut self, key: KeyEvent, intent: Intent) -> Vec<Effect> {
        if let Intent::Quit { .. } = intent {
            // y/N: only `y` quits (and the shutdown interrupts the runs, re-queueable with R).
            self.mode = Mode::Normal;
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.quit = true,
                _ => self.say("not quitting; the runs go on", Level::Info),
            }
            return Vec::new();
        }
        let yes = match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => true,
            KeyCode::Enter => !intent.y_only(),
            _ => false,
        };
        match yes {
            true => {
                self.mode = Mode::Normal;
                let (cmd, job) = match intent {
                    // A commit that failed its gate asks once more, y/N.
                    Intent::ApprovePush(k) if self.gate_failed(&k) => {
                        self.mode = Mode::Confirm(Intent::ApproveFailedGate(k));
                        return Vec::new();
                    }
                    Intent::ApprovePush(k) | Intent::ApproveFailedGate(k) => {
                        (Command::ApprovePush(k.clone()), Some((k, Job::Push)))
                    }
                    Intent::RejectPush(k) => (Command::RejectPush(k), None),
                    Intent::OpenPr(k) => (Command::OpenPr(k.clone()), Some((k, Job::OpenPr))),
                    Intent::Cancel(k) => (Command::Cancel(k), None),
                    Intent::WithdrawDecision(k) => (Command::WithdrawDecision(k), None),
                    Intent::Quit { .. } | Intent::DiscardFeedback(_) => return Vec::new(),
                };
                if let Some(j) = job {
                    let doing = if j.1 == Job::Push {
                        "pushing"
                    } else {
                        "opening the pull request"
                    };
                    self.say_progress(format!("{}: {doing}…", j.0));
                    self.jobs.insert(j);
                }
                vec![Effect::Send(cmd)]
            }
            false => {
                self.mode = Mode::Normal;
                self.say("cancelled", Level::Info);
                Vec::new()
            }
        }
    }

    /// Whether `k`'s commit failed its coder gate (the run awaits approval all the same).
    fn gate_failed(&self, k: &crate::fleet::TaskKey) -> bool {
        self.mirror
            .task(k)
            .and_then(|t| crate::fleet::status::gate_run(&t))
            .is_some_and(|g| g.status == crate::api::gate::GateStatus::Failed)
    }

    /// Typing the queue filter: it applies as typed; Enter keeps it, Esc clears it.
    fn on_filter_key(&mut self, key: KeyEvent, mut text: String) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                self.set_filter(String::new());
            }
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Backspace | KeyCode::Char(_) => {
                if let KeyCode::Char(c) = key.code {
                    text.push(c);
                } else {
                    text.pop();
                }
                self.set_filter(text.clone());
                self.mode = Mode::Filter(text);
            }
            _ => {}
        }
        self.ensure_transcript()
    }

    fn on_input_key(&mut self, key: KeyEvent, mut text: String, search: bool) -> Vec<Effect> {
        if key.code == KeyCode::Tab && !search {
            self.complete(text);
            return Vec::new();
        }
        self.completion = None;
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                if search {
                    let n = self.current_transcript_mut().map_or(0, |t| t.search(&text));
                    let fx = self.search_journal();
                    let more = if fx.is_empty() {
                        ""
                    } else {
                        " so far; searching the rest of the journal …"
                    };
                    self.say(format!("/{text}: {n} matches{more}"), Level::Info);
                    return fx;
                } else {
                    return self.run_command_line(text.trim());
                }
            }
            KeyCode::Backspace => {
                text.pop();
                self.mode = if search {
                    Mode::Search(text)
                } else {
                    Mode::Command(text)
                };
            }
            KeyCode::Char(c) => {
                text.push(c);
                self.mode = if search {
                    Mode::Search(text)
                } else {
                    Mode::Command(text)
                };
            }
            _ => {}
        }
        Vec::new()
    }

    /// Tab on the `:` line: completes the command or task name, or shows the next candidate.
    fn complete(&mut self, text: String) {
        match self.completion.as_mut() {
            Some(c) => c.next(),
            None => {
                let names = self.mirror.tasks.keys().map(|k| k.name.as_str());
                self.completion = Completion::start(&text, names);
            }
        }
        let Some(c) = &self.completion else {
            return;
        };
        self.mode = Mode::Command(c.line());
        // A single candidate is done: the next tab completes afresh from here.
        if c.candidates.len() == 1 {
            self.completion = None;
        }
    }

    /// A movement (up, down, page, top, bottom) in the focused pane.
    pub(super) fn navigate(&mut self, action: Action) -> Vec<Effect> {
        match self.focus {
            Focus::Detail => {
                if self.view == View::Diff
                    && let Some((_, d)) = self.diff.as_mut()
                {
                    match action {
                        Action::Up => d.scroll_up(1),
                        Action::Down => d.scroll_down(1),
                        Action::PageUp => d.page_up(),
                        Action::PageDown => d.page_down(),
                        Action::HalfPageUp => d.half_page_up(),
                        Action::HalfPageDown => d.half_page_down(),
                        Action::Top => d.scroll_to_top(),
                        _ => d.scroll_to_bottom(),
                    }
                } else if let Some(t) = self.current_transcript_mut() {
                    match action {
                        Action::Up => t.scroll_up(1),
                        Action::Down => t.scroll_down(1),
                        Action::PageUp => t.page_up(),
                        Action::PageDown => t.page_down(),
                        Action::HalfPageUp => t.half_page_up(),
                        Action::HalfPageDown => t.half_page_down(),
                        Action::Top => t.scroll_to_top(),
                        _ => t.scroll_to_bottom(),
                    }
                }
                Vec::new()
            }
            Focus::Fleet => {
                let n = self.mirror.nodes.len();
                self.selected_node = step(self.selected_node, n, action);
                Vec::new()
            }
            Focus::Queue => {
                let before = self.selected;
                self.selected = step(self.selected, self.mirror.order.len(), action);
                if before != self.selected && self.view == View::Diff {
                    self.view = View::Transcript;
                }
                self.ensure_transcript()
            }
        }
    }

    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        // The picker covers the panes: a click or the wheel must not reach them under it.
        if self.picker.is_some() || self.workloads_pane.is_some() {
            return Vec::new();
        }
        let hit = |r: ratatui::layout::Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        let pane = if hit(self.regions.fleet) {
            Focus::Fleet
        } else if hit(self.regions.queue) {
            Focus::Queue
        } else if hit(self.regions.detail) {
            Focus::Detail
        } else {
            return Vec::new();
        };
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let saved = self.focus;
                self.focus = pane;
                let a = if m.kind == MouseEventKind::ScrollUp {
                    Action::Up
                } else {
                    Action::Down
                };
                let mut fx = Vec::new();
                for _ in 0..3 {
                    fx.extend(self.navigate(a));
                }
                self.focus = saved;
                fx
            }
            MouseEventKind::Down(_) => {
                self.focus = pane;
                if pane == Focus::Queue {
                    // Row 0 is the border, row 1 the header.
                    let row = m.row.saturating_sub(self.regions.queue.y + 2) as usize;
                    let first = queue_first_row(self.selected, self.regions.queue.height);
                    if first + row < self.mirror.order.len() {
                        self.selected = first + row;
                        return self.ensure_transcript();
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

fn step(cur: usize, len: usize, action: Action) -> usize {
    if len == 0 {
        return 0;
    }
    let last = len - 1;
    match action {
        Action::Up => cur.saturating_sub(1),
        Action::Down => (cur + 1).min(last),
        Action::PageUp => cur.saturating_sub(10),
        Action::PageDown => (cur + 10).min(last),
        Action::HalfPageUp => cur.saturating_sub(5),
        Action::HalfPageDown => (cur + 5).min(last),
        Action::Top => 0,
        _ => last,
    }
}
