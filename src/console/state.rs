//! The console's state: [`App`] and the types that say what the operator sees (focus, view,
//! mode, the status line). Pure: inputs are key/mouse/backend events, outputs are [`Effect`]s
//! the event loop carries out (backend commands, background jobs, the bell). Drawing reads this
//! state and never mutates it (except the panes' layout caches, which `prepare` fills before
//! each frame).
//!
//! The update rules live beside it, one file per kind of input: `reduce.rs` (backend events),
//! `input.rs` (keys and mouse), `action.rs` (what a command does); the fleet it mirrors is
//! `mirror.rs`, the panes' focus and view `pane.rs`.

use super::commands::Context;
use super::completion::Completion;
use super::mirror::Mirror;
use super::pane::{Focus, View};
use super::sort::QueueSort;
use crate::api::AgenticTask;
use crate::backend::{Command, Job, jobs};
use crate::config::{Bell, Keymap};
use crate::console::diff::DiffView;
use crate::console::theme::Theme;
use crate::console::transcript::Transcript;
use crate::fleet::TaskKey;
use crate::fleet::TaskState;
use crate::fleet::held::Facts;
use crate::fleet::task_state;
use crate::workspace::FileDiff;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// A dangerous action waiting for the operator's confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    ApprovePush(TaskKey),
    RejectPush(TaskKey),
    OpenPr(TaskKey),
    Cancel(TaskKey),
    /// Withdraw the decision written for the node that ran the task (issue 13).
    WithdrawDecision(TaskKey),
    /// Quit while this console runs `runs` tasks: they are ended and marked Interrupted.
    Quit {
        runs: usize,
    },
    /// The second confirmation of a push whose commit failed the coder gate (issue 12).
    ApproveFailedGate(TaskKey),
    /// Esc in the request-changes editor with feedback typed: `y` drops it, any other key
    /// returns to it.
    DiscardFeedback(Feedback),
}

impl Intent {
    /// Confirmed by `y` alone (y/N): Enter, the habit of the usual confirm, cancels these.
    pub fn y_only(&self) -> bool {
        matches!(
            self,
            Intent::Quit { .. } | Intent::ApproveFailedGate(_) | Intent::DiscardFeedback(_)
        )
    }
}

/// The request-changes editor's state while it is open (`feedback.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feedback {
    pub task: TaskKey,
    pub text: String,
    /// The review this feedback starts (1 for the first).
    pub iteration: u32,
    /// The Agent's `maxReviewIterations`, when the console knows the Agent.
    pub max: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Confirm(Intent),
    Search(String),
    /// Typing the queue's filter (applied as typed; Enter keeps it, Esc clears it).
    Filter(String),
    Command(String),
    /// Typing a note to the running task (`m`): Enter sends it, Esc drops it.
    Note(TaskKey, String),
    /// Writing the feedback of a request for changes (`c`): multi-line, ctrl-s sends it.
    Feedback(Feedback),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// The status line's one message. A new message replaces the old one; a progress message
/// ("loading diff…") stays until its work answers ([`App::done`]) or another message comes,
/// any other one expires after a few seconds.
#[derive(Clone, Debug)]
pub struct Status {
    pub text: String,
    pub level: Level,
    pub at: Instant,
    pub progress: bool,
}

/// What the event loop must do after an update.
#[derive(Debug)]
pub enum Effect {
    /// A backend command (transcripts and diffs too: [`Command::LoadTranscript`],
    /// [`Command::LoadDiff`]).
    Send(Command),
    /// Build the diff view of a task's change (parsing, then highlighting) off the UI thread,
    /// then open it.
    BuildDiff(TaskKey, Vec<FileDiff>),
    /// Open a URL in the browser (xdg-open / open) off the UI thread; the outcome comes back
    /// as a job event.
    OpenUrl(String),
    /// Put text on the terminal's clipboard (OSC 52).
    Copy(String),
    Bell,
    /// Read a page of issues for the picker off the UI thread; the answer comes back as
    /// a job event.
    FetchIssues(super::picker::FetchRequest),
    /// Read a finished run's journal off the UI thread, tail first ([`super::journal`]).
    LoadJournal(super::journals::JournalRequest),
    /// Free a replaced or evicted transcript off the UI thread (millions of allocations).
    DropTranscript(Box<Transcript>),
    /// Search the hidden parts of a journal-built transcript's tool results off the UI
    /// thread; the answer comes back as a job event ([`App::on_search_hits`]).
    SearchJournal(Box<super::transcript::JournalSearch>),
}

/// Screen regions of the last frame, for mouse hit-testing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regions {
    pub fleet: ratatui::layout::Rect,
    pub queue: ratatui::layout::Rect,
    pub detail: ratatui::layout::Rect,
    /// The `?` overlay's largest scroll offset at the last frame's size.
    pub help_max_scroll: u16,
    /// The transcript's own area (journals are laid out for it off the UI thread).
    pub transcript: ratatui::layout::Rect,
}

/// What a loaded transcript was built from, so a re-sent one that only grew is appended to
/// the open view (scroll position and follow mode kept) instead of replacing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub records: usize,
    pub items: usize,
    pub hash: u64,
}

pub struct App {
    /// The fleet as the backend reported it, and the queue order.
    pub mirror: Mirror,
    /// The queue's filter (`/` in the queue): tasks whose name, state, node, verdict or
    /// failure reason contain it; empty shows all.
    pub filter: String,
    /// The queue's sort (`s` steps the column, `S` reverses it).
    pub sort: QueueSort,
    /// Index into `mirror.order`.
    pub selected: usize,
    pub selected_node: usize,
    pub focus: Focus,
    pub view: View,
    pub mode: Mode,
    /// The `:` line's tab cycle, while one runs.
    pub completion: Option<Completion>,
    /// First line of the `?` overlay shown (it scrolls when the screen is short).
    pub help_scroll: u16,
    pub transcripts: HashMap<TaskKey, Transcript>,
    /// Latest turn n/max per task seen live.
    pub turns: HashMap<TaskKey, (u32, u32)>,
    /// Latest generation speed seen live (tok/s), per node that ran the turn: on a cluster
    /// only this machine's runs stream here, and other nodes keep their advertised figure.
    pub live_tps: HashMap<String, f64>,
    /// Tasks whose current turn has had no token yet, and when (unix seconds) it started: the
    /// detail pane shows "waiting for the model · 12 s" with a spinner meanwhile.
    pub waiting: HashMap<TaskKey, i64>,
    /// The prompt processed so far (tokens, of the total) of a waiting turn, where the server
    /// streams it (llama.cpp's `return_progress`): the waiting line draws it as a bar.
    pub prompt_progress: HashMap<TaskKey, (u64, u64)>,
    /// The coder gate's latest run seen live per task (pending while it runs); a finished
    /// task's is in its result (`extra.gate`).
    pub gates: HashMap<TaskKey, crate::api::gate::GateRun>,
    /// Ticks of the event loop's timer, for the spinner's frame.
    pub tick: u64,
    pub diff: Option<(TaskKey, DiffView)>,
    /// The last diff answer in both scopes (whole change, latest attempt; `v`).
    pub diff_scopes: super::diff_scope::DiffScopes,
    pub status: Option<Status>,
    pub jobs: HashSet<(TaskKey, Job)>,
    pub loading: HashSet<TaskKey>,
    /// Transcripts that came from the backend (not streamed live here), and what from.
    pub loaded: HashMap<TaskKey, Loaded>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub bell: Bell,
    pub backend_label: String,
    /// "sandbox off" / "sandbox unavailable: <why>": shown in the error colour on every
    /// frame while the model's commands are not confined (`None` while they are).
    pub sandbox_notice: Option<String>,
    pub regions: Regions,
    /// Fixed "now" (unix seconds) for reproducible frames in tests; `None` = the real clock.
    pub clock: Option<i64>,
    pub quit: bool,
    /// The issue picker, while it is open (`n` in the queue).
    pub picker: Option<super::picker::Picker>,
    /// Where the picker starts: the remote's owner/repo and the GitHub API base.
    pub intake: super::picker::Intake,
    /// The attempt selector (`<` / `>`): which attempt each task shows, and the earlier
    /// attempts loaded.
    pub attempts: super::attempts::Attempts,
    /// Recent prompt-cache hits per node that ran the turns (the fleet pane's CACHE).
    pub live_cache: HashMap<String, super::cache_hits::CacheHits>,
    /// The Workloads pane (`w`), while it is open: the selected row.
    pub workloads_pane: Option<usize>,
    /// Who holds the scheduler Lease, as this console's scheduler last heard (the fleet
    /// pane's title); `None`: this console runs no scheduler, or none leads yet.
    pub leader: Option<String>,
    /// Journal-built transcripts: loads under way, sizes, the budget ([`super::journal`]).
    pub journals: super::journals::Journals,
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, bell: Bell, backend_label: String) -> App {
        App {
            mirror: Mirror::default(),
            filter: String::new(),
            sort: QueueSort::default(),
            selected: 0,
            selected_node: 0,
            focus: Focus::Queue,
            view: View::Transcript,
            mode: Mode::Normal,
            completion: None,
            help_scroll: 0,
            transcripts: HashMap::new(),
            turns: HashMap::new(),
            live_tps: HashMap::new(),
            waiting: HashMap::new(),
            prompt_progress: HashMap::new(),
            gates: HashMap::new(),
            tick: 0,
            diff: None,
            diff_scopes: Default::default(),
            status: None,
            jobs: HashSet::new(),
            loading: HashSet::new(),
            loaded: HashMap::new(),
            theme,
            keymap,
            bell,
            backend_label,
            sandbox_notice: None,
            regions: Regions::default(),
            clock: None,
            quit: false,
            picker: None,
            intake: super::picker::Intake {
                api_base: "https://api.github.com".into(),
                ..Default::default()
            },
            attempts: Default::default(),
            live_cache: HashMap::new(),
            workloads_pane: None,
            leader: None,
            journals: Default::default(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock
            .unwrap_or_else(|| jiff::Timestamp::now().as_second())
    }

    pub fn say(&mut self, msg: impl Into<String>, level: Level) {
        self.status = Some(Status {
            text: msg.into(),
            level,
            at: Instant::now(),
            progress: false,
        });
    }

    /// Work has started that will answer ([`App::done`] clears this when it does).
    pub fn say_progress(&mut self, msg: impl Into<String>) {
        self.say(msg, Level::Info);
        if let Some(s) = self.status.as_mut() {
            s.progress = true;
        }
    }

    /// The work a progress message announced has answered: the message goes.
    pub fn done(&mut self) {
        if self.status.as_ref().is_some_and(|s| s.progress) {
            self.status = None;
        }
    }

    /// The event loop's timer ticked: the spinner moves. Whether the frame changed (a turn
    /// is waiting, or a message may expire), so an idle console does not redraw.
    pub fn on_tick(&mut self) -> bool {
        self.tick = self.tick.wrapping_add(1);
        !self.waiting.is_empty()
            || self.status.is_some()
            || self.picker.as_ref().is_some_and(|p| p.loading)
    }

    // ---- queries used by commands and drawing ------------------------------------------

    /// What the command registry needs to tell which commands apply now.
    pub fn context(&self) -> Context {
        Context {
            view: self.view,
            focus: self.focus,
            task: self.selected_state(),
            incomplete: self.selected_incomplete(),
            has_change: self.selected_has_change(),
            has_pr: self.selected_pr_url().is_some(),
            filtered: !self.filter.is_empty(),
            searching: self.has_search(),
            following: self.transcript_following(),
            picker: self.picker.is_some(),
            attempts: self.shown_attempt().map_or(0, |(_, total)| total),
            diff_scopes: self.diff_switchable().is_some(),
            decision_pending: self.selected_task().is_some_and(|t| {
                matches!(
                    crate::fleet::decision::Stage::of(&t),
                    crate::fleet::decision::Stage::Pending(_)
                )
            }),
            workloads: !self.mirror.workloads.is_empty(),
            workloads_pane: self.workloads_pane.is_some(),
        }
    }

    pub fn selected_key(&self) -> Option<&TaskKey> {
        self.mirror.order.get(self.selected)
    }
    pub fn selected_task(&self) -> Option<Cow<'_, AgenticTask>> {
        self.selected_key().and_then(|k| self.mirror.task(k))
    }
    fn selected_state(&self) -> Option<TaskState> {
        self.selected_task().map(|t| task_state(&t))
    }
    /// A finished run that did not reach its goal (INCOMPLETE or NO-GO): may be re-queued.
    fn selected_incomplete(&self) -> bool {
        self.selected_task()
            .and_then(|t| t.status.as_ref()?.verdict)
            .is_some_and(|v| !v.is_on_target())
            && self.selected_state() == Some(TaskState::Succeeded)
    }
    /// The selected task has a change the backend can diff (a kept workspace and a commit);
    /// an earlier attempt shown, a diff answer (its files or why they are gone).
    pub fn selected_has_change(&self) -> bool {
        if let Some((_, e)) = self.earlier_shown() {
            return e.is_some_and(|e| e.diff.is_some());
        }
        self.selected_task()
            .is_some_and(|t| jobs::change_of(&t).is_ok())
    }
    /// The selected task's pull request (`extra.prUrl`, kept across restarts).
    pub fn selected_pr_url(&self) -> Option<String> {
        self.selected_task()
            .and_then(|t| crate::fleet::status::result_extra(&t).pr_url)
    }
    fn has_search(&self) -> bool {
        self.current_transcript()
            .is_some_and(|t| t.search_status().is_some())
    }
    fn transcript_following(&self) -> bool {
        self.current_transcript().is_none_or(|t| t.is_following())
    }
    /// The shown transcript: the selected task's live one, or the earlier attempt's.
    pub fn current_transcript(&self) -> Option<&Transcript> {
        if let Some((_, e)) = self.earlier_shown() {
            return e?.transcript.as_ref().ok()?.as_ref();
        }
        self.selected_key().and_then(|k| self.transcripts.get(k))
    }
    pub(super) fn current_transcript_mut(&mut self) -> Option<&mut Transcript> {
        if self.earlier_shown().is_some() {
            return self.earlier_transcript_mut();
        }
        let key = self.selected_key()?.clone();
        self.transcripts.get_mut(&key)
    }

    /// Re-sorts the queue ([`Mirror::reorder`], by the operator's sort) and applies the filter, keeping the selected
    /// task selected.
    pub(super) fn reorder(&mut self) {
        let keep = self.selected_key().cloned();
        self.mirror.reorder(self.sort);
        if !self.filter.is_empty() {
            let f = self.filter.to_lowercase();
            let tasks = &self.mirror.tasks;
            self.mirror.order.retain(|k| {
                tasks
                    .get(k)
                    .is_some_and(|t| filter_matches(k, &t.facts(), &f))
            });
        }
        if let Some(k) = keep
            && let Some(i) = self.mirror.order.iter().position(|o| *o == k)
        {
            self.selected = i;
        }
        self.selected = self.selected.min(self.mirror.order.len().saturating_sub(1));
    }
}

/// The queue filter's rule: `f` (lower case) is in the task's name, state, node, verdict or
/// failure reason; `workload:NAME` keeps the tasks of that Workload (`enter` in its pane).
fn filter_matches(key: &TaskKey, t: &Facts, f: &str) -> bool {
    if let Some(wl) = f.strip_prefix(super::pane::FILTER_PREFIX) {
        return super::pane::in_workload(t, wl);
    }
    let words = [
        key.name.as_str(),
        t.label,
        t.node.as_deref().unwrap_or_default(),
        t.verdict.map_or("", |v| v.as_str()),
        t.failure.as_deref().unwrap_or_default(),
    ];
    words.iter().any(|w| w.to_lowercase().contains(f))
}
