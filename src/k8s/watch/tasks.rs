//! One AgenticTask watch per process. Inside the console, its backend, its worker and its
//! scheduler each used to open their own (three watches, three initial lists, two caches of
//! every task); now each subscribes to one [`TaskWatch`] before it starts, picking from every
//! step only what it needs, and the worker and scheduler read one shared cache. The standalone
//! daemons (`foreman agent`, `foreman scheduler`) start a watch of their own the same way.
//!
//! The watch decodes leniently: a task our types cannot read is left out of the cache (and
//! shown to subscribers as [`Lenient::Bad`]), instead of failing every list for everyone.

use super::{Lenient, config, paged, slim};
use crate::api::{AgenticTask, AgenticTaskPayload, AgenticTaskSpec, TaskKind};
use crate::k8s::backoff::WatchBackoff;
use futures_util::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One step of the watch, as every subscriber sees it.
pub type Step = Result<Event<Lenient<AgenticTask>>, watcher::Error>;

/// Hands a step to one subscriber; false once the subscriber is gone.
type Subscriber = Box<dyn FnMut(&Step) -> bool + Send>;

/// The watch before it starts: subscribe everything that reads tasks, then [`start`](Self::start).
pub struct TaskWatch {
    api: Api<Lenient<AgenticTask>>,
    fanout: Fanout,
    config: watcher::Config,
}

impl TaskWatch {
    /// A watch of the tasks in `namespace` ("" = all namespaces), its initial list served from
    /// the watch cache in one response ([`config`]).
    pub fn new(client: Client, namespace: &str) -> TaskWatch {
        let api = if namespace.is_empty() {
            Api::all(client)
        } else {
            Api::namespaced(client, namespace)
        };
        TaskWatch {
            api,
            fanout: Fanout::new(),
            config: config(),
        }
    }

    /// A watch whose initial list comes in pages of `page` tasks ([`paged`]): a fleet's worth
    /// of tasks never sits in memory twice (one response body and its decoded list) while
    /// subscribers that keep less (the console's summaries) take them a page at a time.
    pub fn paged(client: Client, namespace: &str, page: u32) -> TaskWatch {
        TaskWatch {
            config: paged(page),
            ..TaskWatch::new(client, namespace)
        }
    }

    /// A subscriber that receives `pick` of every step (`None`: nothing for it) and reads the
    /// shared cache ([`Feed::store`]). `pick` runs on the watch's task after the cache took the
    /// step in, so it should be quick.
    pub fn subscribe<T: Send + 'static>(
        &mut self,
        pick: impl FnMut(&Step) -> Option<T> + Send + 'static,
    ) -> Feed<T> {
        self.fanout.keep = true;
        self.fanout.subscribe(pick)
    }

    /// A subscriber that keeps what it needs from the steps itself: unless another subscriber
    /// reads it, the watch keeps no cache (no full copy of every task held for nobody), and
    /// this feed's [`Feed::store`] stays empty.
    pub fn subscribe_steps<T: Send + 'static>(
        &mut self,
        pick: impl FnMut(&Step) -> Option<T> + Send + 'static,
    ) -> Feed<T> {
        self.fanout.subscribe(pick)
    }

    /// Starts watching (on the current runtime) until every subscriber is gone or the handle
    /// drops. A lost connection resumes, a `410 Gone` re-lists, behind kube's backoff.
    pub fn start(self) -> WatchHandle {
        let stream = watcher::watcher(self.api, self.config).backoff(WatchBackoff::new());
        WatchHandle(tokio::spawn(self.fanout.run(stream)))
    }
}

/// A running watch; dropping it stops the watch.
pub struct WatchHandle(JoinHandle<()>);

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What one subscriber reads: its picks, in watch order, and the shared cache of every
/// readable task (already updated by the time a pick arrives).
pub struct Feed<T> {
    store: Store<AgenticTask>,
    rx: mpsc::UnboundedReceiver<T>,
    /// A watch of its own, kept running as long as this feed.
    own: Option<WatchHandle>,
}

impl<T> Feed<T> {
    /// The next pick; `None` once the watch has stopped.
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.recv().await
    }

    pub fn store(&self) -> &Store<AgenticTask> {
        &self.store
    }

    /// Keeps `watch` (this feed's own) running as long as the feed.
    pub fn owning(mut self, watch: WatchHandle) -> Feed<T> {
        self.own = Some(watch);
        self
    }
}

impl<T> Stream for Feed<T> {
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

/// The cache and the subscribers: each step goes to the cache first (when a subscriber reads
/// it), then to every subscriber.
struct Fanout {
    store: Store<AgenticTask>,
    writer: Writer<AgenticTask>,
    /// Some subscriber reads the cache.
    keep: bool,
    subscribers: Vec<Subscriber>,
}

impl Fanout {
    fn new() -> Fanout {
        let (store, writer) = reflector::store();
        Fanout {
            store,
            writer,
            keep: false,
            subscribers: Vec::new(),
        }
    }

    fn subscribe<T: Send + 'static>(
        &mut self,
        mut pick: impl FnMut(&Step) -> Option<T> + Send + 'static,
    ) -> Feed<T> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers
            .push(Box::new(move |step| match pick(step) {
                Some(v) => tx.send(v).is_ok(),
                None => !tx.is_closed(),
            }));
        Feed {
            store: self.store.clone(),
            rx,
            own: None,
        }
    }

    async fn run(mut self, steps: impl Stream<Item = Step>) {
        let mut steps = std::pin::pin!(steps);
        while let Some(step) = steps.next().await {
            if !self.step(step.map(|ev| ev.modify(slim))) {
                break;
            }
        }
    }

    /// One step into the cache and out to the subscribers; false when none is left.
    fn step(&mut self, step: Step) -> bool {
        if self.keep
            && let Ok(ev) = &step
            && let Some(ev) = readable(ev)
        {
            self.writer.apply_watcher_event(&ev);
        }
        self.subscribers.retain_mut(|s| s(&step));
        !self.subscribers.is_empty()
    }
}

/// The step as the cache takes it: unreadable tasks are left out, and one that becomes
/// unreadable leaves the cache (so nobody acts on its last readable version).
fn readable(ev: &Event<Lenient<AgenticTask>>) -> Option<Event<AgenticTask>> {
    Some(match ev {
        Event::Init => Event::Init,
        Event::InitDone => Event::InitDone,
        Event::InitApply(Lenient::Ok(t)) => Event::InitApply(t.clone()),
        Event::InitApply(Lenient::Bad { .. }) => return None,
        Event::Apply(Lenient::Ok(t)) => Event::Apply(t.clone()),
        Event::Delete(Lenient::Ok(t)) => Event::Delete(t.clone()),
        Event::Apply(Lenient::Bad { meta, .. }) | Event::Delete(Lenient::Bad { meta, .. }) => {
            Event::Delete(tombstone(meta))
        }
    })
}

/// A task with only the identity of `meta`: enough for the cache to find and drop it.
fn tombstone(meta: &ObjectMeta) -> AgenticTask {
    let spec = AgenticTaskSpec {
        kind: TaskKind::Freeform,
        model_ref: None,
        agent_ref: None,
        required_capability: None,
        payload: AgenticTaskPayload::default(),
        timeout_seconds: None,
        depends_on: None,
        priority: None,
        gate_profile: None,
        verdict_policy: None,
        mcp_enabled: None,
        gate: None,
    };
    let mut t = AgenticTask::new(meta.name.as_deref().unwrap_or_default(), spec);
    t.metadata.namespace = meta.namespace.clone();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn task(name: &str, rv: &str) -> AgenticTask {
        let yaml = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  kind: freeform\n  payload: {{prompt: x}}\n"
        );
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", &yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        t.metadata.resource_version = Some(rv.into());
        *t
    }

    fn bad(name: &str) -> Lenient<AgenticTask> {
        Lenient::Bad {
            meta: Box::new(task(name, "9").metadata),
            error: "spec.kind: unknown variant".into(),
        }
    }

    fn names(store: &Store<AgenticTask>) -> Vec<String> {
        let mut v: Vec<String> = store
            .state()
            .iter()
            .map(|t| t.metadata.name.clone().unwrap())
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn every_subscriber_gets_its_picks_after_the_cache_took_the_step() {
        let mut f = Fanout::new();
        f.keep = true;
        let store = f.store.clone();
        // What the cache held when each pick ran.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let mut all = f.subscribe(move |s: &Step| {
            seen2.lock().unwrap().push(names(&store));
            Some(matches!(s, Ok(Event::Apply(_))))
        });
        let mut applied = f.subscribe(|s: &Step| match s {
            Ok(Event::Apply(Lenient::Ok(t))) => t.metadata.name.clone(),
            _ => None,
        });
        for step in [
            Ok(Event::Init),
            Ok(Event::InitApply(Lenient::Ok(task("a", "1")))),
            Ok(Event::InitDone),
            Ok(Event::Apply(Lenient::Ok(task("b", "2")))),
        ] {
            assert!(f.step(step));
        }
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                vec![],
                vec![],
                vec!["a".to_string()],
                vec!["a".into(), "b".into()]
            ]
        );
        for want in [false, false, false, true] {
            assert_eq!(all.recv().await, Some(want));
        }
        assert_eq!(applied.recv().await.as_deref(), Some("b"));
        assert!(applied.rx.try_recv().is_err(), "nothing else was picked");
        assert_eq!(names(all.store()), vec!["a", "b"]);
    }

    #[test]
    fn unreadable_tasks_stay_out_of_the_cache_and_leave_it_when_they_turn_unreadable() {
        let mut f = Fanout::new();
        f.keep = true;
        let _keep = f.subscribe(|_: &Step| Some(()));
        for step in [
            Ok(Event::Init),
            Ok(Event::InitApply(Lenient::Ok(task("good", "1")))),
            Ok(Event::InitApply(Lenient::Ok(task("turns-bad", "2")))),
            Ok(Event::InitApply(bad("bad"))),
            Ok(Event::InitDone),
        ] {
            f.step(step);
        }
        assert_eq!(names(&f.store), vec!["good", "turns-bad"]);
        f.step(Ok(Event::Apply(bad("turns-bad"))));
        assert_eq!(names(&f.store), vec!["good"]);
        f.step(Ok(Event::Delete(Lenient::Ok(task("good", "3")))));
        assert!(names(&f.store).is_empty());
    }

    #[tokio::test]
    async fn no_cache_is_kept_when_no_subscriber_reads_it() {
        let mut f = Fanout::new();
        let mut steps = f.subscribe(|s: &Step| match s {
            Ok(Event::InitApply(Lenient::Ok(t))) => t.metadata.name.clone(),
            _ => None,
        });
        for step in [
            Ok(Event::Init),
            Ok(Event::InitApply(Lenient::Ok(task("a", "1")))),
            Ok(Event::InitDone),
        ] {
            assert!(f.step(step));
        }
        assert_eq!(steps.recv().await.as_deref(), Some("a"));
        assert!(names(&f.store).is_empty(), "nobody reads the cache");
    }

    #[test]
    fn the_watch_ends_when_every_subscriber_is_gone() {
        let mut f = Fanout::new();
        let a = f.subscribe(|_: &Step| Some(()));
        let b = f.subscribe(|_: &Step| None::<()>);
        assert!(f.step(Ok(Event::Init)));
        drop(a);
        assert!(f.step(Ok(Event::Init)), "b is still there");
        drop(b);
        assert!(!f.step(Ok(Event::Init)));
    }
}
