//! The operator console: one event loop over terminal input, backend events and background
//! job results; state updates are pure ([`state::App`]), drawing reads the state
//! ([`draw::draw`]), and redraws are coalesced to at most 60 per second.
//!
//! ```text
//! crossterm EventStream ─┐
//! backend (runner actor) ─┼─► App::on_* ─► Effects (backend commands, diff views to build,
//! background jobs ───────┘                 highlight jobs, bell) ─► draw when dirty, ≤ 60 FPS
//! ```
//!
//! Transcripts come from the backend (`Command::LoadTranscript` → `BackendEvent::Transcript`):
//! a local journal or a transcript ConfigMap, re-sent when it changes. So do diffs
//! (`Command::LoadDiff` → `BackendEvent::Diff`), computed where the task's workspace is; the
//! console parses and highlights them off the UI thread.

mod action;
mod attempt_select;
pub mod attempts;
pub mod cache_hits;
pub mod commands;
mod completion;
mod decision;
pub mod diff;
pub mod diff_scope;
mod diff_switch;
pub mod draw;
pub mod feedback;
mod input;
pub mod journal;
mod journals;
pub mod mirror;
mod note;
pub mod pacer;
pub mod pane;
pub mod picker;
mod reduce;
mod refusal;
pub mod sort;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod transcript;
pub mod workloads;

#[cfg(test)]
mod tests;

use crate::backend::{BackendEvent, BackendHandle, Command};
use crate::console::diff::{DiffView, Highlighted};
use crate::fleet::TaskKey;
use futures_util::StreamExt;
use state::{App, Effect};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The timer that moves the "waiting for the model" spinner and expires status messages.
const TICK: Duration = Duration::from_millis(250);
/// How long a status-line message stays.
const STATUS_TTL: Duration = Duration::from_secs(8);

/// Results of work done off the UI thread.
pub enum JobEvent {
    /// A task's diff, parsed into its view (not yet highlighted).
    Diff(TaskKey, DiffView),
    Highlighted(TaskKey, Highlighted),
    /// The browser opener's outcome (`Err` says what to install or do).
    Opened(Result<String, String>),
    /// A page of issues for the picker (or why not).
    Issues(picker::Loaded),
    /// A part of a finished run's transcript, built from its journal.
    Journal(Box<journal::JournalPart>),
    /// A journal search's answer ([`Effect::SearchJournal`]).
    SearchHits(Box<transcript::Hits>),
    /// What the header says about the sandbox, once its probe (a throwaway sandbox, ~250 ms)
    /// has answered: the first frame does not wait for it.
    Sandbox(Option<String>),
}

/// Runs the console until the operator quits. The backend is already started and sends its
/// events to `backend_rx`; `sandbox_probe` runs off the UI thread and its answer becomes the
/// header's sandbox notice.
pub async fn run(
    mut app: App,
    backend: BackendHandle,
    mut backend_rx: mpsc::UnboundedReceiver<BackendEvent>,
    mouse: bool,
    sandbox_probe: impl FnOnce() -> Option<String> + Send + 'static,
) -> std::io::Result<()> {
    let mut guard = terminal::TerminalGuard::enter(mouse)?;
    let (job_tx, mut job_rx) = mpsc::unbounded_channel::<JobEvent>();
    // The probe starts once the fleet's first full frame is drawn (or on the first tick when
    // the backend is slower), so it does not take a core from that frame.
    let mut probe = Some(sandbox_probe);
    let mut snapshot_in = false;
    let mut ticks = 0u32;
    let mut input = crossterm::event::EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut dirty = true;
    let mut pacer = pacer::Pacer::new(Instant::now());
    let mut tick = tokio::time::interval(TICK);
    let syntax = app.theme.syntax_theme.clone();

    loop {
        if dirty && pacer.due(Instant::now()) {
            expire_status(&mut app);
            guard.terminal.draw(|f| draw::draw(f, &mut app))?;
            pacer.drawn(Instant::now());
            dirty = false;
            if snapshot_in {
                start_probe(&mut probe, &job_tx);
            }
        }
        let wait = if dirty {
            pacer.wait(Instant::now())
        } else {
            Duration::from_secs(3600)
        };
        let mut effects = Vec::new();
        let mut changed = true;
        tokio::select! {
            ev = input.next() => effects = on_terminal(&mut app, ev),
            Some(ev) = backend_rx.recv() => {
                if matches!(ev, BackendEvent::Snapshot { .. }) {
                    pacer.hurry(Instant::now());
                    snapshot_in = true;
                }
                effects = on_backend_burst(&mut app, ev, &mut backend_rx);
            }
            Some(job) = job_rx.recv() => effects = on_job(&mut app, job, &job_tx, &syntax),
            _ = tick.tick() => {
                changed = app.on_tick();
                // The interval's first tick is at once; the second is a TICK in.
                ticks += 1;
                if ticks > 1 {
                    start_probe(&mut probe, &job_tx);
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = sigterm.recv() => app.quit = true,
            _ = tokio::signal::ctrl_c() => app.quit = true,
        }
        dirty |= changed;
        for e in effects {
            carry_out(e, &backend, &job_tx);
        }
        if app.quit {
            backend.send(Command::Shutdown);
            break;
        }
    }
    drop(guard);
    Ok(())
}

/// Runs the sandbox probe off the UI thread, once; its answer comes back as a [`JobEvent`].
fn start_probe<F>(probe: &mut Option<F>, job_tx: &mpsc::UnboundedSender<JobEvent>)
where
    F: FnOnce() -> Option<String> + Send + 'static,
{
    if let Some(p) = probe.take() {
        let tx = job_tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(JobEvent::Sandbox(p()));
        });
    }
}

/// Clears a status-line message shown longer than [`STATUS_TTL`] (not a progress message:
/// that one goes when its work answers).
fn expire_status(app: &mut App) {
    if app
        .status
        .as_ref()
        .is_some_and(|s| !s.progress && s.at.elapsed() > STATUS_TTL)
    {
        app.status = None;
    }
}

/// A terminal event: keys (not releases) and the mouse go to the state; the end of input quits.
fn on_terminal(app: &mut App, ev: Option<std::io::Result<crossterm::event::Event>>) -> Vec<Effect> {
    use crossterm::event::{Event, KeyEventKind};
    match ev {
        Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => app.on_key(k),
        Some(Ok(Event::Mouse(m))) => app.on_mouse(m),
        Some(Ok(_)) => Vec::new(),
        Some(Err(e)) => {
            app.say(format!("terminal input error: {e}"), state::Level::Error);
            Vec::new()
        }
        None => {
            app.quit = true;
            Vec::new()
        }
    }
}

/// A backend event and the burst queued behind it (streaming tokens), applied before one draw.
fn on_backend_burst(
    app: &mut App,
    first: BackendEvent,
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
) -> Vec<Effect> {
    let mut effects = app.on_backend(first);
    for _ in 0..256 {
        match rx.try_recv() {
            Ok(ev) => effects.extend(app.on_backend(ev)),
            Err(_) => break,
        }
    }
    effects
}

/// Work done off the UI thread came back: a loaded diff starts its highlighting (also off the
/// UI thread) and opens; highlighting lands in the diff it was made for.
fn on_job(
    app: &mut App,
    job: JobEvent,
    job_tx: &mpsc::UnboundedSender<JobEvent>,
    syntax: &str,
) -> Vec<Effect> {
    match job {
        JobEvent::Diff(k, view) => {
            let hj = view.highlight_job(syntax);
            let (tx, k2) = (job_tx.clone(), k.clone());
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(JobEvent::Highlighted(k2, hj.run()));
            });
            app.on_diff_loaded(k, view);
        }
        JobEvent::Opened(Ok(url)) => app.say(format!("opened {url}"), state::Level::Info),
        JobEvent::Opened(Err(e)) => app.say(e, state::Level::Error),
        JobEvent::Issues(l) => app.on_issues(l),
        JobEvent::Highlighted(k, h) => {
            if let Some((dk, d)) = app.diff.as_mut()
                && *dk == k
            {
                d.apply(h);
            }
        }
        JobEvent::Journal(part) => return app.on_journal_part(*part),
        JobEvent::SearchHits(hits) => app.on_search_hits(*hits),
        JobEvent::Sandbox(notice) => app.sandbox_notice = notice,
    }
    Vec::new()
}

/// Carries out one effect of an update.
fn carry_out(e: Effect, backend: &BackendHandle, job_tx: &mpsc::UnboundedSender<JobEvent>) {
    match e {
        Effect::Send(c) => backend.send(c),
        Effect::Bell => {
            let _ = std::io::stdout().write_all(b"\x07");
            let _ = std::io::stdout().flush();
        }
        Effect::OpenUrl(url) => {
            let tx = job_tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(JobEvent::Opened(open_in_browser(&url).map(|()| url)));
            });
        }
        Effect::Copy(text) => {
            use crossterm::clipboard::CopyToClipboard;
            let _ = crossterm::execute!(
                std::io::stdout(),
                CopyToClipboard::to_clipboard_from(text.as_bytes())
            );
        }
        Effect::FetchIssues(req) => {
            let tx = job_tx.clone();
            tokio::spawn(async move {
                let token = tokio::task::spawn_blocking(picker::fetch::token)
                    .await
                    .unwrap_or_default();
                let _ = tx.send(JobEvent::Issues(picker::fetch::run(req, token).await));
            });
        }
        Effect::LoadJournal(req) => {
            let tx = job_tx.clone();
            journal::spawn_load(req, move |p| {
                let _ = tx.send(JobEvent::Journal(Box::new(p)));
            });
        }
        Effect::DropTranscript(t) => journals::drop_off_thread(t),
        Effect::SearchJournal(job) => {
            let tx = job_tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(JobEvent::SearchHits(Box::new(job.run())));
            });
        }
        Effect::BuildDiff(k, files) => {
            let tx = job_tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(JobEvent::Diff(k, DiffView::new(files)));
            });
        }
    }
}

/// Opens `url` with the desktop's opener (`open` on macOS, `xdg-open` elsewhere), its output
/// kept off the console's screen.
fn open_in_browser(url: &str) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let status = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {opener} ({e}); copy the URL with y instead"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{opener} {url} failed ({status}); copy the URL with y instead"
        ))
    }
}
