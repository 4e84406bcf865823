//! The picker's own state, pure: which repository, labels and search, the issues read so far
//! (page by page), the selection, the one-line prompt being typed and the Agent choice. It
//! never fetches: opening, reloading and paging return a [`FetchRequest`] the event loop
//! carries out off the UI thread, and the answer comes back as a [`Loaded`] tagged with the
//! generation it was asked for, so an answer for a repository or label set the operator has
//! since left is dropped.

use crate::github::{Issue, IssuePage, IssueQuery};

/// Issues asked for per page (GitHub's default is 30, its maximum 100).
pub const PER_PAGE: u32 = 30;

/// What the one-line prompt edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `o`: the repository, `owner/repo` (or a remote URL).
    Repo,
    /// `l`: labels, comma-separated; all must match; empty clears.
    Label,
    /// `/`: words in the title or body of the issues read (applied as typed).
    Search,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
}

/// Which Agent runs the picked issue, asked when more than one could.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentChoice {
    pub issue: Issue,
    /// (namespace, name), in the mirror's order.
    pub agents: Vec<(String, String)>,
    pub selected: usize,
}

/// One page to read, for the event loop to carry out (`picker::fetch::run`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    pub generation: u64,
    pub api_base: String,
    pub query: IssueQuery,
}

/// A page read, or why it could not be (already in the operator's words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub generation: u64,
    pub result: Result<IssuePage, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    pub api_base: String,
    /// `owner/repo`; `None` until the operator names one (no remote configured).
    pub repo: Option<String>,
    pub labels: Vec<String>,
    pub search: String,
    /// Every issue read so far, pages appended in order.
    pub issues: Vec<Issue>,
    /// The page after the last one read; `None` once the last page is in.
    pub next_page: Option<u32>,
    pub loading: bool,
    /// Why the listing failed (shown in place of the list).
    pub error: Option<String>,
    /// A refusal or hint about the last key (shown above the list).
    pub notice: Option<String>,
    /// Index into [`Picker::visible`].
    pub selected: usize,
    pub prompt: Option<Prompt>,
    pub choice: Option<AgentChoice>,
    generation: u64,
}

impl Picker {
    pub fn new(api_base: String, repo: Option<String>) -> Picker {
        Picker {
            api_base,
            repo,
            labels: Vec::new(),
            search: String::new(),
            issues: Vec::new(),
            next_page: None,
            loading: false,
            error: None,
            notice: None,
            selected: 0,
            prompt: None,
            choice: None,
            generation: 0,
        }
    }

    /// Starts over at page 1 (new repository or labels): what was read is dropped and any
    /// answer still on its way is ignored. `None` (and a word why) without a repository.
    pub fn reload(&mut self) -> Option<FetchRequest> {
        self.issues.clear();
        self.next_page = None;
        self.selected = 0;
        self.error = None;
        self.generation += 1;
        if self.repo.is_none() {
            self.loading = false;
            self.error = Some(
                "no repository configured (git.remote_url): press o and type owner/repo".into(),
            );
            return None;
        }
        self.request(1)
    }

    /// The next page, appended when it comes; `Err` says why there is none to ask for.
    pub fn more(&mut self) -> Result<FetchRequest, &'static str> {
        if self.loading {
            return Err("still loading");
        }
        let Some(page) = self.next_page else {
            return Err("no more pages: every open issue is listed");
        };
        self.request(page).ok_or("no repository")
    }

    fn request(&mut self, page: u32) -> Option<FetchRequest> {
        let (owner, repo) = self.repo.as_deref()?.split_once('/')?;
        let mut query = IssueQuery::new(owner, repo);
        query.labels = self.labels.clone();
        query.page = page;
        query.per_page = PER_PAGE;
        self.loading = true;
        Some(FetchRequest {
            generation: self.generation,
            api_base: self.api_base.clone(),
            query,
        })
    }

    /// A fetch answered: its page is appended (an issue already listed is not repeated), or
    /// its error shown. Whether it applied (an answer of an older generation does not).
    pub fn on_loaded(&mut self, l: Loaded) -> bool {
        if l.generation != self.generation {
            return false;
        }
        self.loading = false;
        match l.result {
            Ok(page) => {
                self.error = None;
                for i in page.issues {
                    if !self.issues.iter().any(|o| o.number == i.number) {
                        self.issues.push(i);
                    }
                }
                self.next_page = page.next_page;
            }
            Err(e) => self.error = Some(e),
        }
        self.clamp();
        true
    }

    /// The issues read that match the search, in the order read.
    pub fn visible(&self) -> Vec<&Issue> {
        self.issues
            .iter()
            .filter(|i| i.matches(&self.search))
            .collect()
    }

    pub fn selected_issue(&self) -> Option<&Issue> {
        self.visible().get(self.selected).copied()
    }

    /// Moves the selection (or the Agent choice, when it is open) by one.
    pub fn step(&mut self, down: bool) {
        let visible = self.visible().len();
        let (cur, len) = match self.choice.as_mut() {
            Some(c) => (&mut c.selected, c.agents.len()),
            None => (&mut self.selected, visible),
        };
        *cur = if down {
            (*cur + 1).min(len.saturating_sub(1))
        } else {
            cur.saturating_sub(1)
        };
    }

    fn clamp(&mut self) {
        self.selected = self.selected.min(self.visible().len().saturating_sub(1));
    }

    /// Applies the search as typed (client-side, over what was read).
    pub fn set_search(&mut self, text: &str) {
        self.search = text.to_string();
        self.clamp();
    }

    /// `owner/repo`, or a remote URL it is read from; the listing starts over.
    pub fn set_repo(&mut self, text: &str) -> Result<Option<FetchRequest>, String> {
        let repo = parse_repo(text).ok_or_else(|| {
            format!(
                "{:?} is not a repository: type owner/repo, e.g. acme/fleet",
                text.trim()
            )
        })?;
        self.repo = Some(repo);
        Ok(self.reload())
    }

    /// Comma-separated labels (all must match; empty clears); the listing starts over.
    pub fn set_labels(&mut self, text: &str) -> Option<FetchRequest> {
        self.labels = text
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        self.reload()
    }
}

/// `owner/repo` from what the operator typed: `owner/repo` itself or a git remote URL.
pub fn parse_repo(text: &str) -> Option<String> {
    let t = text.trim();
    let plain = t.split_once('/').filter(|(o, r)| {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        ok(o) && ok(r)
    });
    match plain {
        Some((o, r)) => Some(format!("{o}/{}", r.strip_suffix(".git").unwrap_or(r))),
        None => crate::github::parse_remote(t).map(|(o, r)| format!("{o}/{r}")),
    }
}
