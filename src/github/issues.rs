//! Reading a repository's open issues (the console's issue picker and `foreman dispatch`):
//! one page at a time, following GitHub's `Link` header; pull requests, which the issues
//! API lists too, are left out.
//!
//! Text search is client-side, over the title and body of the pages read: the search API
//! (`/search/issues`) has its own, much lower rate limit, is often disabled or lagging on
//! GHE, and would give a picker two different listings to page through.

use reqwest::{Method, Url};
use serde::Deserialize;

use super::client::{GitHubClient, GitHubError, server_message, validation_messages};

/// One open issue as the picker and the dispatch show it and the prompt is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    /// Empty when the issue has no description.
    pub body: String,
    pub labels: Vec<String>,
    pub html_url: String,
}

impl Issue {
    /// The task's prompt from the issue (upstream's dispatch: the title, a blank line, the
    /// body).
    pub fn prompt(&self) -> String {
        if self.body.trim().is_empty() {
            self.title.clone()
        } else {
            format!("{}\n\n{}", self.title, self.body.trim_end())
        }
    }

    /// Client-side text search: every word of `text` is in the title or body (any case).
    pub fn matches(&self, text: &str) -> bool {
        let hay = format!("{} {}", self.title, self.body).to_lowercase();
        text.split_whitespace()
            .all(|w| hay.contains(&w.to_lowercase()))
    }
}

/// Which issues to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueQuery {
    pub owner: String,
    pub repo: String,
    /// Only issues carrying all of these labels (GitHub's `labels=a,b`).
    pub labels: Vec<String>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl IssueQuery {
    pub fn new(owner: &str, repo: &str) -> IssueQuery {
        IssueQuery {
            owner: owner.into(),
            repo: repo.into(),
            labels: Vec::new(),
            page: 1,
            per_page: 30,
        }
    }
}

/// One page of issues and the page after it (from the `Link` header; `None` on the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuePage {
    pub issues: Vec<Issue>,
    pub next_page: Option<u32>,
}

#[derive(Deserialize)]
struct WireLabel {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireIssue {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<WireLabel>,
    #[serde(default)]
    html_url: String,
    /// Present on pull requests, which the issues API lists too.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl WireIssue {
    fn into_issue(self) -> Issue {
        Issue {
            number: self.number,
            title: self.title,
            body: self.body.unwrap_or_default(),
            labels: self.labels.into_iter().filter_map(|l| l.name).collect(),
            html_url: self.html_url,
        }
    }
}

impl GitHubClient {
    /// One page of the open issues of `q.owner/q.repo` (pull requests left out).
    pub async fn list_issues(&self, q: &IssueQuery) -> Result<IssuePage, GitHubError> {
        let mut url = self.url(&["repos", &q.owner, &q.repo, "issues"]);
        {
            let mut p = url.query_pairs_mut();
            p.append_pair("state", "open");
            if !q.labels.is_empty() {
                p.append_pair("labels", &q.labels.join(","));
            }
            p.append_pair("per_page", &q.per_page.to_string());
            p.append_pair("page", &q.page.to_string());
        }
        let (raw, link) = self.send_linked(Method::GET, url, None).await?;
        if raw.status != 200 {
            return Err(self.issue_error(raw, &q.owner, &q.repo, None));
        }
        let wire: Vec<WireIssue> =
            serde_json::from_value(raw.body).map_err(|e| self.bad_response(e))?;
        Ok(IssuePage {
            issues: wire
                .into_iter()
                .filter(|w| w.pull_request.is_none())
                .map(WireIssue::into_issue)
                .collect(),
            next_page: link.as_deref().and_then(next_page),
        })
    }

    /// One issue by number; a pull request's number is refused as not an issue.
    pub async fn get_issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Issue, GitHubError> {
        let url = self.url(&["repos", owner, repo, "issues", &number.to_string()]);
        let (raw, _) = self.send_linked(Method::GET, url, None).await?;
        if raw.status != 200 {
            return Err(self.issue_error(raw, owner, repo, Some(number)));
        }
        let w: WireIssue = serde_json::from_value(raw.body).map_err(|e| self.bad_response(e))?;
        if w.pull_request.is_some() {
            return Err(self.not_an_issue(owner, repo, number, 200));
        }
        Ok(w.into_issue())
    }

    fn not_an_issue(&self, owner: &str, repo: &str, number: u64, status: u16) -> GitHubError {
        GitHubError::IssueNotFound {
            owner: owner.into(),
            repo: repo.into(),
            number,
            status,
            api_base: self.cfg.api_base.clone(),
        }
    }

    fn issue_error(
        &self,
        raw: super::RawResponse,
        owner: &str,
        repo: &str,
        number: Option<u64>,
    ) -> GitHubError {
        match (raw.status, number) {
            (404 | 410, Some(n)) => self.not_an_issue(owner, repo, n, raw.status),
            (422, _) => GitHubError::BadIssueQuery {
                owner: owner.into(),
                repo: repo.into(),
                messages: validation_messages(&raw.body)
                    .iter()
                    .map(|m| self.redact(m))
                    .collect(),
            },
            (401 | 403 | 404, _) => self.status_error(raw, owner, repo, "", ""),
            (status, _) => GitHubError::Unexpected {
                status,
                message: self.redact(&server_message(&raw.body)),
            },
        }
    }
}

/// The `page` of the `rel="next"` link of a `Link` header
/// (`<https://api.github.com/repositories/1/issues?page=2>; rel="next", <…>; rel="last"`).
fn next_page(link: &str) -> Option<u32> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let url = Url::parse(target.trim().strip_prefix('<')?.strip_suffix('>')?).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_reads_githubs_link_header() {
        let h = "<https://api.github.com/repositories/1/issues?state=open&page=3>; rel=\"next\", \
                 <https://api.github.com/repositories/1/issues?page=9>; rel=\"last\"";
        assert_eq!(next_page(h), Some(3));
        let last = "<https://api.github.com/r/issues?page=1>; rel=\"prev\", \
                    <https://api.github.com/r/issues?page=1>; rel=\"first\"";
        assert_eq!(next_page(last), None);
        assert_eq!(next_page("garbage"), None);
        assert_eq!(next_page("<not a url>; rel=\"next\""), None);
    }

    #[test]
    fn prompt_is_title_then_body_and_search_needs_every_word() {
        let i = Issue {
            number: 7,
            title: "Fix the greeting".into(),
            body: "It says Helo.\n".into(),
            labels: vec![],
            html_url: String::new(),
        };
        assert_eq!(i.prompt(), "Fix the greeting\n\nIt says Helo.");
        assert!(i.matches("GREETING helo") && i.matches(""));
        assert!(!i.matches("greeting world"));
        let bare = Issue {
            body: "  ".into(),
            ..i
        };
        assert_eq!(bare.prompt(), "Fix the greeting");
    }
}
