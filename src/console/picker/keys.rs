//! The picker inside the console: `n` opens it; its keys (the registry's `picker_*`
//! commands, modal) move, filter, page and pick; its one-line prompts take typed text. A
//! picked issue becomes exactly the task `foreman dispatch` builds (`github::issue_task`),
//! named `issue-<N>`, sent to whichever backend runs: the backend creates it.

use super::state::{AgentChoice, Loaded, Picker, Prompt, PromptKind};
use crate::backend::Command;
use crate::console::commands::Action;
use crate::console::state::{App, Effect, Level};
use crate::fleet::TaskKey;
use crate::github::Issue;
use crossterm::event::{KeyCode, KeyEvent};

/// Where the picker starts: the configured remote's repository and the GitHub API base.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intake {
    /// `owner/repo` of `git.remote_url`; the last one chosen with `o` once changed.
    pub repo: Option<String>,
    /// The labels last applied with `l` (the next `n` starts with them).
    pub labels: Vec<String>,
    pub api_base: String,
}

impl Intake {
    /// From the configuration: the remote's owner/repo (when it is a GitHub-style URL).
    pub fn from_config(cfg: &crate::config::Config) -> Intake {
        Intake {
            repo: cfg
                .git
                .remote_url
                .as_deref()
                .and_then(crate::github::parse_remote)
                .map(|(o, r)| format!("{o}/{r}")),
            labels: Vec::new(),
            api_base: cfg.github.api_base.clone(),
        }
    }
}

impl App {
    /// `n`: the picker opens on the default repository and starts reading its first page
    /// (or asks for a repository when none is configured).
    pub(in crate::console) fn open_picker(&mut self) -> Vec<Effect> {
        let mut p = Picker::new(self.intake.api_base.clone(), self.intake.repo.clone());
        p.labels = self.intake.labels.clone();
        let fx = p.reload().map(Effect::FetchIssues).into_iter().collect();
        if p.repo.is_none() {
            p.prompt = Some(Prompt {
                kind: PromptKind::Repo,
                text: String::new(),
            });
        }
        self.picker = Some(p);
        fx
    }

    /// A prompt of the picker is open: typed keys go to it.
    pub(in crate::console) fn picker_typing(&self) -> bool {
        self.picker.as_ref().is_some_and(|p| p.prompt.is_some())
    }

    /// A fetch answered (dropped when the picker closed or moved on).
    pub fn on_issues(&mut self, l: Loaded) {
        if let Some(p) = self.picker.as_mut() {
            p.on_loaded(l);
        }
    }

    /// One of the registry's picker commands; with the Agent list open, the movement, pick
    /// and close keys work that list.
    pub(in crate::console) fn picker_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(p) = self.picker.as_mut() else {
            return Vec::new();
        };
        p.notice = None;
        let prompt = |kind, text: String| Some(Prompt { kind, text });
        match a {
            Action::PickerUp | Action::PickerDown => p.step(a == Action::PickerDown),
            Action::PickerClose if p.choice.is_some() => p.choice = None,
            Action::PickerPick if p.choice.is_some() => return self.pick_agent(),
            _ if p.choice.is_some() => {}
            Action::PickerClose => self.picker = None,
            Action::PickerPick => return self.pick(),
            Action::PickerRepo => {
                p.prompt = prompt(PromptKind::Repo, p.repo.clone().unwrap_or_default())
            }
            Action::PickerLabel => p.prompt = prompt(PromptKind::Label, p.labels.join(", ")),
            Action::PickerSearch => p.prompt = prompt(PromptKind::Search, p.search.clone()),
            Action::PickerMore => match p.more() {
                Ok(r) => return vec![Effect::FetchIssues(r)],
                Err(why) => p.notice = Some(why.into()),
            },
            _ => {}
        }
        Vec::new()
    }

    /// Typing in a prompt: Enter applies it (a repository or labels start the listing over;
    /// the search applies as typed), Esc leaves it (clearing the search).
    pub(in crate::console) fn on_picker_prompt_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(p) = self.picker.as_mut() else {
            return Vec::new();
        };
        let Some(mut prompt) = p.prompt.take() else {
            return Vec::new();
        };
        let search = prompt.kind == PromptKind::Search;
        match key.code {
            KeyCode::Esc if search => p.set_search(""),
            KeyCode::Esc => {}
            KeyCode::Enter => match prompt.kind {
                PromptKind::Search => {}
                PromptKind::Label => {
                    let req = p.set_labels(&prompt.text);
                    self.intake.labels = p.labels.clone();
                    return req.map(Effect::FetchIssues).into_iter().collect();
                }
                PromptKind::Repo => match p.set_repo(&prompt.text) {
                    Ok(req) => {
                        self.intake.repo = p.repo.clone();
                        return req.map(Effect::FetchIssues).into_iter().collect();
                    }
                    Err(why) => {
                        p.notice = Some(why);
                        p.prompt = Some(prompt);
                    }
                },
            },
            KeyCode::Backspace | KeyCode::Char(_) => {
                match key.code {
                    KeyCode::Char(c) => prompt.text.push(c),
                    _ => drop(prompt.text.pop()),
                }
                if search {
                    p.set_search(&prompt.text);
                }
                p.prompt = Some(prompt);
            }
            _ => p.prompt = Some(prompt),
        }
        Vec::new()
    }

    /// Enter on an issue: refused while a task for it is not finished; else the Agent (the
    /// only one, or the operator's choice among several) and the task.
    fn pick(&mut self) -> Vec<Effect> {
        let Some(p) = self.picker.as_ref() else {
            return Vec::new();
        };
        let (Some(issue), Some(repo)) = (p.selected_issue().cloned(), p.repo.clone()) else {
            return Vec::new();
        };
        if let Some(why) = crate::github::duplicate_of(
            // Only a task in flight can be a duplicate: a packed one is finished.
            self.mirror
                .tasks
                .values()
                .filter_map(|t| t.full().map(|t| &**t)),
            &repo,
            issue.number,
        ) {
            return self.refuse(why);
        }
        let agents: Vec<(String, String)> = self.mirror.agents.keys().cloned().collect();
        match agents.as_slice() {
            [] => self.refuse(
                "no Agent to run it: submit one first (:submit agent.yaml or foreman submit)"
                    .into(),
            ),
            [one] => {
                let one = one.clone();
                self.create(&repo, &issue, one)
            }
            _ => {
                if let Some(p) = self.picker.as_mut() {
                    p.choice = Some(AgentChoice {
                        issue,
                        agents,
                        selected: 0,
                    });
                }
                Vec::new()
            }
        }
    }

    /// Enter in the Agent list.
    fn pick_agent(&mut self) -> Vec<Effect> {
        let Some(p) = self.picker.as_mut() else {
            return Vec::new();
        };
        let (Some(c), Some(repo)) = (p.choice.take(), p.repo.clone()) else {
            return Vec::new();
        };
        match c.agents.get(c.selected).cloned() {
            Some(agent) => self.create(&repo, &c.issue, agent),
            None => Vec::new(),
        }
    }

    /// The task for `issue`, in the Agent's namespace, to the backend; the picker closes and
    /// the status line waits for the backend's answer.
    fn create(&mut self, repo: &str, issue: &Issue, (ns, agent): (String, String)) -> Vec<Effect> {
        let tasks = &self.mirror.tasks;
        let name = crate::github::picker_task_name(issue.number, |n| {
            tasks.contains_key(&TaskKey::new(&ns, n))
        });
        match crate::github::issue_task(&ns, &name, repo, issue, Some(&agent), None) {
            Ok(t) => {
                self.picker = None;
                self.say_progress(format!(
                    "creating {ns}/{name} for issue #{} of {repo} (agent {agent})…",
                    issue.number
                ));
                vec![Effect::Send(Command::CreateTask(Box::new(t)))]
            }
            Err(e) => self.refuse(e),
        }
    }

    /// A pick that cannot be done: said in the overlay and on the status line.
    fn refuse(&mut self, why: String) -> Vec<Effect> {
        if let Some(p) = self.picker.as_mut() {
            p.notice = Some(why.clone());
        }
        self.say(why, Level::Warn);
        Vec::new()
    }
}
