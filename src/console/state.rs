//! Console state and its update rules. Pure: inputs are key/mouse/backend events, outputs are
//! [`Effect`]s the event loop carries out (backend commands, background jobs, the bell).
//! Drawing reads this state and never mutates it (except the panes' layout caches, which
//! `prepare` fills before each frame).

use super::commands::{self, Action};
use crate::agent::LoopEvent;
use crate::agent::transcript::Record;
use crate::api::{Agent, AgenticTask, FleetNode, TaskPhase, Workload};
use crate::backend::{BackendEvent, Command, Job};
use crate::config::{Bell, Keymap};
use crate::console::diff::DiffView;
use crate::console::theme::Theme;
use crate::console::transcript::{JournalItem, Transcript};
use crate::executor::ExecEvent;
use crate::fleet::TaskKey;
use crate::fleet::TaskState;
use crate::fleet::task_state;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Fleet,
    Queue,
    Detail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Transcript,
    Diff,
}

/// A dangerous action waiting for the operator's confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    ApprovePush(TaskKey),
    RejectPush(TaskKey),
    OpenPr(TaskKey),
    Cancel(TaskKey),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Confirm(Intent),
    Search(String),
    Command(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// What the event loop must do after an update.
#[derive(Debug)]
pub enum Effect {
    /// A backend command (transcripts too: [`Command::LoadTranscript`]).
    Send(Command),
    LoadDiff(TaskKey, PathBuf, String),
    Bell,
}

/// Screen regions of the last frame, for mouse hit-testing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regions {
    pub fleet: ratatui::layout::Rect,
    pub queue: ratatui::layout::Rect,
    pub detail: ratatui::layout::Rect,
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
    pub tasks: BTreeMap<TaskKey, AgenticTask>,
    pub nodes: BTreeMap<String, FleetNode>,
    /// Agents and Workloads by (namespace, name).
    pub agents: BTreeMap<(String, String), Agent>,
    pub workloads: BTreeMap<(String, String), Workload>,
    pub order: Vec<TaskKey>,
    pub selected: usize,
    pub selected_node: usize,
    pub focus: Focus,
    pub view: View,
    pub mode: Mode,
    pub transcripts: HashMap<TaskKey, Transcript>,
    /// Latest turn n/max per task seen live.
    pub turns: HashMap<TaskKey, (u32, u32)>,
    /// Latest generation speed seen live (tok/s), per node that ran the turn: on a cluster
    /// only this machine's runs stream here, and other nodes keep their advertised figure.
    pub live_tps: HashMap<String, f64>,
    pub diff: Option<(TaskKey, DiffView)>,
    pub status: Option<(String, Level, Instant)>,
    pub jobs: HashSet<(TaskKey, Job)>,
    pub loading: HashSet<TaskKey>,
    /// Transcripts that came from the backend (not streamed live here), and what from.
    pub loaded: HashMap<TaskKey, Loaded>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub bell: Bell,
    pub backend_label: String,
    pub regions: Regions,
    /// Fixed "now" (unix seconds) for reproducible frames in tests; `None` = the real clock.
    pub clock: Option<i64>,
    pub quit: bool,
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, bell: Bell, backend_label: String) -> App {
        App {
            tasks: BTreeMap::new(),
            nodes: BTreeMap::new(),
            agents: BTreeMap::new(),
            workloads: BTreeMap::new(),
            order: Vec::new(),
            selected: 0,
            selected_node: 0,
            focus: Focus::Queue,
            view: View::Transcript,
            mode: Mode::Normal,
            transcripts: HashMap::new(),
            turns: HashMap::new(),
            live_tps: HashMap::new(),
            diff: None,
            status: None,
            jobs: HashSet::new(),
            loading: HashSet::new(),
            loaded: HashMap::new(),
            theme,
            keymap,
            bell,
            backend_label,
            regions: Regions::default(),
            clock: None,
            quit: false,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock
            .unwrap_or_else(|| jiff::Timestamp::now().as_second())
    }

    pub fn say(&mut self, msg: impl Into<String>, level: Level) {
        self.status = Some((msg.into(), level, Instant::now()));
    }

    // ---- queries used by commands and drawing ------------------------------------------

    pub fn selected_key(&self) -> Option<&TaskKey> {
        self.order.get(self.selected)
    }
    pub fn selected_task(&self) -> Option<&AgenticTask> {
        self.selected_key().and_then(|k| self.tasks.get(k))
    }
    pub fn selected_state(&self) -> Option<TaskState> {
        self.selected_task().map(task_state)
    }
    /// A finished run that did not reach its goal (INCOMPLETE or NO-GO): may be re-queued.
    pub fn selected_incomplete(&self) -> bool {
        self.selected_task()
            .and_then(|t| t.status.as_ref()?.verdict)
            .is_some_and(|v| !v.is_on_target())
            && self.selected_state() == Some(TaskState::Succeeded)
    }
    /// (workspace, commit) of the selected task's change, when it has one.
    pub fn selected_commit(&self) -> Option<(PathBuf, String)> {
        let extra = self
            .selected_task()?
            .status
            .as_ref()?
            .result
            .as_ref()?
            .get("extra")?;
        let ws = extra.get("workspace")?.as_str()?;
        let sha = extra
            .get("commitSHA")
            .and_then(|v| v.as_str())
            .map(str::to_string)?;
        Some((PathBuf::from(ws), sha))
    }
    pub fn has_search(&self) -> bool {
        self.current_transcript()
            .is_some_and(|t| t.search_status().is_some())
    }
    pub fn transcript_following(&self) -> bool {
        self.current_transcript().is_none_or(|t| t.is_following())
    }
    pub fn current_transcript(&self) -> Option<&Transcript> {
        self.selected_key().and_then(|k| self.transcripts.get(k))
    }
    fn current_transcript_mut(&mut self) -> Option<&mut Transcript> {
        let key = self.selected_key()?.clone();
        self.transcripts.get_mut(&key)
    }

    // ---- backend events ------------------------------------------------------------------

    pub fn on_backend(&mut self, ev: BackendEvent) -> Vec<Effect> {
        let mut fx = Vec::new();
        match ev {
            BackendEvent::Snapshot {
                tasks,
                nodes,
                agents,
            } => {
                self.tasks = tasks.into_iter().map(|t| (key_of(&t), t)).collect();
                self.nodes = nodes
                    .into_iter()
                    .map(|n| (n.metadata.name.clone().unwrap_or_default(), n))
                    .collect();
                self.agents = agents
                    .into_iter()
                    .map(|a| (ns_name(&a.metadata), a))
                    .collect();
                self.reorder();
                fx.extend(self.ensure_transcript());
            }
            BackendEvent::TaskUpdated(t) => {
                let key = key_of(&t);
                let before = self.tasks.get(&key).map(task_state);
                let after = task_state(&t);
                let requeued = self.tasks.get(&key).is_some_and(is_finished) && !is_finished(&t);
                self.tasks.insert(key.clone(), *t);
                if requeued {
                    // Re-queued (here or by another console): the old run's transcript is stale.
                    self.forget_transcript(&key);
                }
                if before != Some(after) && !self.transcripts.contains_key(&key) {
                    // Nothing was recorded when last asked; the new state may have a transcript.
                    self.loaded.remove(&key);
                }
                if before != Some(after) {
                    let bell = match after {
                        TaskState::AwaitingApproval => {
                            self.say(format!("{key} is awaiting push approval"), Level::Warn);
                            self.bell.on_approval()
                        }
                        TaskState::Failed => {
                            let why = failure_message(self.tasks.get(&key));
                            self.say(format!("{key} failed: {why}"), Level::Error);
                            self.bell.on_finish()
                        }
                        TaskState::Succeeded => self.bell.on_finish(),
                        _ => false,
                    };
                    if bell {
                        fx.push(Effect::Bell);
                    }
                }
                self.reorder();
                fx.extend(self.ensure_transcript());
            }
            BackendEvent::TaskDeleted(key) => {
                if self.tasks.remove(&key).is_some() {
                    self.forget_transcript(&key);
                    self.loading.remove(&key);
                    self.jobs.retain(|(k, _)| *k != key);
                    if self.diff.as_ref().is_some_and(|(k, _)| *k == key) {
                        self.diff = None;
                        self.view = View::Transcript;
                    }
                    self.reorder();
                    fx.extend(self.ensure_transcript());
                }
            }
            BackendEvent::NodeUpdated(n) => {
                self.nodes
                    .insert(n.metadata.name.clone().unwrap_or_default(), *n);
            }
            BackendEvent::NodeDeleted(name) => {
                self.nodes.remove(&name);
                self.selected_node = self.selected_node.min(self.nodes.len().saturating_sub(1));
            }
            BackendEvent::AgentUpdated(a) => {
                self.agents.insert(ns_name(&a.metadata), *a);
            }
            BackendEvent::AgentDeleted { namespace, name } => {
                self.agents.remove(&(namespace, name));
            }
            BackendEvent::WorkloadUpdated(w) => {
                self.workloads.insert(ns_name(&w.metadata), *w);
            }
            BackendEvent::WorkloadDeleted { namespace, name } => {
                self.workloads.remove(&(namespace, name));
            }
            BackendEvent::Transcript { task, records } => {
                self.on_transcript_loaded(task, records);
            }
            BackendEvent::Run { task, event } => self.on_run(task, event),
            BackendEvent::JobDone { task, job, outcome } => {
                self.jobs.remove(&(task.clone(), job));
                match (job, outcome) {
                    (Job::Push, Ok(m)) => self.say(format!("{task}: pushed. {m}"), Level::Info),
                    (Job::OpenPr, Ok(url)) => {
                        self.say(format!("{task}: pull request {url}"), Level::Info)
                    }
                    (_, Err(e)) => self.say(format!("{task}: {e}"), Level::Error),
                }
            }
            BackendEvent::Notice(m) => self.say(m, Level::Info),
            BackendEvent::Error(m) => self.say(m, Level::Error),
        }
        fx
    }

    fn on_run(&mut self, task: TaskKey, event: ExecEvent) {
        // Streaming here from now on: later stored copies must not replace the live view.
        self.loaded.remove(&task);
        let node = self
            .tasks
            .get(&task)
            .and_then(|t| t.status.as_ref())
            .and_then(|s| s.assigned_node.clone());
        let window = self.context_window(&task);
        let t = self.transcripts.entry(task.clone()).or_default();
        if window.is_some() && t.context_fill().is_none() {
            t.set_context_window(window);
        }
        match event {
            ExecEvent::Status(s) => t.status(&s),
            ExecEvent::Loop(ev) => match ev {
                LoopEvent::TurnStarted { turn, max_turns } => {
                    t.turn_started(turn, max_turns);
                    self.turns.insert(task, (turn, max_turns));
                }
                LoopEvent::Stream { event, .. } => t.stream(&event),
                LoopEvent::Message { message, .. } => t.push_message(&message),
                LoopEvent::TurnFinished(stats) => {
                    if let Some(tps) = stats.timings.and_then(|t| t.predicted_per_second)
                        && let Some(node) = node
                    {
                        self.live_tps.insert(node, tps);
                    }
                    t.turn_finished(stats);
                }
            },
        }
    }

    /// Context window of the node running `task` (its `maxContextTokens`), for the fill meter.
    fn context_window(&self, task: &TaskKey) -> Option<u64> {
        let node = self
            .tasks
            .get(task)?
            .status
            .as_ref()?
            .assigned_node
            .clone()?;
        let cap = self
            .nodes
            .get(&node)?
            .status
            .as_ref()?
            .capability
            .as_ref()?;
        cap.max_context_tokens.filter(|n| *n > 0).map(|n| n as u64)
    }

    /// A task's stored transcript from the backend (a finished run's journal, a transcript
    /// ConfigMap), first load or update. An update that only grew is appended to the open view,
    /// which keeps its scroll position and follow mode; a rewritten one replaces it. A
    /// transcript streaming live in this console is never replaced by a stored copy.
    pub fn on_transcript_loaded(&mut self, key: TaskKey, result: Result<Vec<Record>, String>) {
        self.loading.remove(&key);
        let records = match result {
            Ok(r) => r,
            Err(e) => return self.say(e, Level::Warn),
        };
        if self.transcripts.contains_key(&key) && !self.loaded.contains_key(&key) {
            return;
        }
        let items = journal_items(&records);
        if let Some((turn, max)) = items.iter().rev().find_map(|i| match i {
            JournalItem::TurnStarted { turn, max_turns } => Some((*turn, *max_turns)),
            _ => None,
        }) {
            self.turns.insert(key.clone(), (turn, max));
        }
        let mark = Loaded {
            records: records.len(),
            items: items.len(),
            hash: records_hash(&records),
        };
        let grown = match (self.loaded.get(&key), self.transcripts.get_mut(&key)) {
            (Some(prev), Some(tr))
                if records.len() >= prev.records
                    && items.len() >= prev.items
                    && records_hash(&records[..prev.records]) == prev.hash =>
            {
                for item in &items[prev.items..] {
                    tr.apply(item);
                }
                true
            }
            _ => false,
        };
        if !grown {
            if records.is_empty() {
                self.transcripts.remove(&key);
            } else {
                self.transcripts
                    .insert(key.clone(), Transcript::replay(items.iter()));
            }
        }
        self.loaded.insert(key, mark);
    }

    /// Drops what the console holds of a task's transcript (a re-queue or a deletion).
    fn forget_transcript(&mut self, key: &TaskKey) {
        self.transcripts.remove(key);
        self.turns.remove(key);
        self.loaded.remove(key);
    }

    pub fn on_diff_loaded(&mut self, key: TaskKey, result: Result<DiffView, String>) {
        match result {
            Ok(view) => {
                self.diff = Some((key, view));
                self.view = View::Diff;
                self.focus = Focus::Detail;
            }
            Err(e) => self.say(e, Level::Error),
        }
    }

    /// Queue order: running and awaiting first, then pending, then finished; newest first.
    fn reorder(&mut self) {
        let keep = self.selected_key().cloned();
        let rank = |s: TaskState| match s {
            TaskState::AwaitingApproval => 0,
            TaskState::Running => 1,
            TaskState::Scheduled => 2,
            TaskState::Pending | TaskState::Waiting => 3,
            _ => 4,
        };
        let mut keys: Vec<(u8, i64, TaskKey)> = self
            .tasks
            .iter()
            .map(|(k, t)| {
                let created = t
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map_or(0, |c| c.0.as_second());
                (rank(task_state(t)), -created, k.clone())
            })
            .collect();
        keys.sort();
        self.order = keys.into_iter().map(|(_, _, k)| k).collect();
        if let Some(k) = keep
            && let Some(i) = self.order.iter().position(|o| *o == k)
        {
            self.selected = i;
        }
        self.selected = self.selected.min(self.order.len().saturating_sub(1));
    }

    /// Asks the backend for the selected task's transcript when it is not in memory and the
    /// task has one (a finished run's reference) or may be recording one (running elsewhere).
    /// An answer of "nothing yet" is remembered until the task changes state; meanwhile the
    /// backend sends the transcript by itself when it appears.
    fn ensure_transcript(&mut self) -> Option<Effect> {
        let key = self.selected_key()?.clone();
        if self.transcripts.contains_key(&key)
            || self.loading.contains(&key)
            || self.loaded.contains_key(&key)
        {
            return None;
        }
        if !may_have_transcript(self.tasks.get(&key)?) {
            return None;
        }
        self.loading.insert(key.clone());
        Some(Effect::Send(Command::LoadTranscript(key)))
    }

    // ---- input ---------------------------------------------------------------------------

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return Vec::new();
        }
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Mode::Confirm(intent) => self.on_confirm_key(key, intent),
            Mode::Search(text) => self.on_input_key(key, text, true),
            Mode::Command(text) => self.on_input_key(key, text, false),
            Mode::Normal => match commands::action_for(&self.keymap, &key) {
                Some(a) if commands::info(a).available(self) => self.run(a),
                Some(a) => {
                    let label = commands::info(a).label;
                    self.say(format!("{label}: not available for this task"), Level::Warn);
                    Vec::new()
                }
                None => Vec::new(),
            },
        }
    }

    fn on_confirm_key(&mut self, key: KeyEvent, intent: Intent) -> Vec<Effect> {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                self.mode = Mode::Normal;
                let (cmd, job) = match intent {
                    Intent::ApprovePush(k) => {
                        (Command::ApprovePush(k.clone()), Some((k, Job::Push)))
                    }
                    Intent::RejectPush(k) => (Command::RejectPush(k), None),
                    Intent::OpenPr(k) => (Command::OpenPr(k.clone()), Some((k, Job::OpenPr))),
                    Intent::Cancel(k) => (Command::Cancel(k), None),
                };
                if let Some(j) = job {
                    self.say(format!("{}: working…", j.0), Level::Info);
                    self.jobs.insert(j);
                }
                vec![Effect::Send(cmd)]
            }
            _ => {
                self.mode = Mode::Normal;
                self.say("cancelled", Level::Info);
                Vec::new()
            }
        }
    }

    fn on_input_key(&mut self, key: KeyEvent, mut text: String, search: bool) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                if search {
                    let n = self.current_transcript_mut().map_or(0, |t| t.search(&text));
                    self.say(format!("/{text}: {n} matches"), Level::Info);
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

    fn run_command_line(&mut self, line: &str) -> Vec<Effect> {
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

    fn run(&mut self, action: Action) -> Vec<Effect> {
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

    fn navigate(&mut self, action: Action) -> Vec<Effect> {
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
                        Action::Top => d.prev_file(),
                        _ => d.next_file(),
                    }
                } else if let Some(t) = self.current_transcript_mut() {
                    match action {
                        Action::Up => t.scroll_up(1),
                        Action::Down => t.scroll_down(1),
                        Action::PageUp => t.page_up(),
                        Action::PageDown => t.page_down(),
                        Action::Top => t.scroll_to_top(),
                        _ => t.scroll_to_bottom(),
                    }
                }
                Vec::new()
            }
            Focus::Fleet => {
                let n = self.nodes.len();
                self.selected_node = step(self.selected_node, n, action);
                Vec::new()
            }
            Focus::Queue => {
                let before = self.selected;
                self.selected = step(self.selected, self.order.len(), action);
                if before != self.selected && self.view == View::Diff {
                    self.view = View::Transcript;
                }
                self.ensure_transcript().into_iter().collect()
            }
        }
    }

    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
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
                    if first + row < self.order.len() {
                        self.selected = first + row;
                        return self.ensure_transcript().into_iter().collect();
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// First queue row drawn in a pane of `height` (borders and header take 3 rows) so that the
/// selected row stays visible; shared by drawing and mouse hit-testing.
pub fn queue_first_row(selected: usize, height: u16) -> usize {
    let visible = height.saturating_sub(3).max(1) as usize;
    selected.saturating_sub(visible - 1)
}

fn next_focus(f: Focus, by: usize) -> Focus {
    let all = [Focus::Fleet, Focus::Queue, Focus::Detail];
    let i = all.iter().position(|x| *x == f).unwrap_or(0);
    all[(i + by) % 3]
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
        Action::Top => 0,
        _ => last,
    }
}

/// The message of a failed task's last condition (what went wrong and what to do).
fn failure_message(t: Option<&AgenticTask>) -> String {
    t.and_then(|t| t.status.as_ref()?.conditions.as_ref()?.last().cloned())
        .map(|c| format!("{}: {}", c.reason, c.message))
        .unwrap_or_else(|| "see the transcript".into())
}

pub fn key_of(t: &AgenticTask) -> TaskKey {
    TaskKey {
        namespace: t
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        name: t.metadata.name.clone().unwrap_or_default(),
    }
}

fn ns_name(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        m.namespace.clone().unwrap_or_else(|| "default".into()),
        m.name.clone().unwrap_or_default(),
    )
}

/// Phase Succeeded or Failed.
fn is_finished(t: &AgenticTask) -> bool {
    t.status
        .as_ref()
        .and_then(|s| s.phase)
        .is_some_and(|p| p.is_terminal())
}

/// A finished run that points at its transcript (status.transcriptRef, or the Result's
/// extra.transcriptRef as upstream writes it), or a run in progress.
fn may_have_transcript(t: &AgenticTask) -> bool {
    let Some(s) = t.status.as_ref() else {
        return false;
    };
    let extra_ref = s
        .result
        .as_ref()
        .and_then(|r| r.get("extra"))
        .and_then(|e| e.get("transcriptRef"))
        .is_some_and(|v| !v.is_null());
    s.transcript_ref.is_some()
        || extra_ref
        || matches!(s.phase, Some(TaskPhase::Running | TaskPhase::Verifying))
}

/// Fingerprint of journal records (their JSON), to tell "grew" from "rewritten".
fn records_hash(records: &[Record]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in records {
        h.write(&serde_json::to_vec(r).unwrap_or_default());
        h.write_u8(b'\n');
    }
    h.finish()
}

fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(b)) => b.home_dir().join(rest).display().to_string(),
        _ => p.to_string(),
    }
}

/// The journal's records as the transcript pane's replay items.
pub fn journal_items(records: &[Record]) -> Vec<JournalItem> {
    let mut out = Vec::with_capacity(records.len());
    let mut last_turn = 0;
    let mut max_turns = 0;
    for r in records {
        match r {
            Record::Meta { max_turns: m, .. } => max_turns = *m,
            Record::Message { turn, message } => {
                if *turn > last_turn {
                    last_turn = *turn;
                    out.push(JournalItem::TurnStarted {
                        turn: *turn,
                        max_turns,
                    });
                }
                out.push(JournalItem::Message {
                    turn: *turn,
                    message: message.clone(),
                });
            }
            Record::Turn(stats) => out.push(JournalItem::TurnFinished(*stats)),
            Record::Retry {
                turn,
                attempt,
                reason,
            } => out.push(JournalItem::Retry {
                turn: *turn,
                attempt: *attempt,
                reason: reason.clone(),
            }),
            Record::End { result } => {
                let verdict = result["verdict"].as_str().unwrap_or("?");
                let summary = result["summary"].as_str().unwrap_or("");
                out.push(JournalItem::Status(format!(
                    "result: {verdict} — {summary}"
                )));
            }
        }
    }
    out
}
