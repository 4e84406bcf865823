//! Where a run's git goes (upstream HEAD #875): it clones the fork (the configured remote,
//! `origin`), starts from `payload.baseBranch` fetched from the upstream `payload.repo` when
//! that is another repository, pushes to the fork only, and its PR is opened on the upstream
//! with head `forkowner:branch`.

use crate::api::AgenticTask;
use crate::fleet::extra::ResultExtra;
use crate::workspace::auth::redact_url;

/// A run's remotes and base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The fork: cloned, and the only remote that is pushed to.
    pub fork: String,
    /// The upstream, when `payload.repo` names another repository than the fork.
    pub upstream: Option<Upstream>,
    /// `payload.baseBranch`; `None`: the upstream's default branch, or the fork's HEAD.
    pub base: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// Its git URL (the fork's host and form, see [`crate::workspace::upstream::upstream_url`]).
    pub url: String,
    /// `owner/name`: where the PR is opened.
    pub repo: String,
    /// The fork's owner, the `forkowner:` of the PR head (`None`: the URL has none).
    pub fork_owner: Option<String>,
}

impl Route {
    pub fn of(task: &AgenticTask, fork: &str) -> Route {
        let p = &task.spec.payload;
        let upstream = p.repo.as_deref().and_then(|repo| {
            let url = crate::workspace::upstream::upstream_url(fork, repo)?;
            Some(Upstream {
                url,
                repo: repo.trim().trim_end_matches(".git").to_string(),
                fork_owner: crate::github::parse_remote(fork).map(|(o, _)| o),
            })
        });
        let base = p.base_branch.as_deref().map(str::trim);
        Route {
            fork: fork.to_string(),
            upstream,
            base: base.filter(|b| !b.is_empty()).map(str::to_string),
        }
    }

    /// The PR's head: `forkowner:branch` across a fork, else `branch`.
    pub fn pr_head(&self, branch: &str) -> String {
        match self.upstream.as_ref().and_then(|u| u.fork_owner.as_ref()) {
            Some(owner) => format!("{owner}:{branch}"),
            None => branch.to_string(),
        }
    }

    /// What the Result carries for the approval dialog and the PR: the upstream, the head
    /// and the base the branch was cut from (`base`: as resolved at run time).
    pub fn extras(&self, branch: &str, base: Option<&str>) -> ResultExtra {
        ResultExtra {
            upstream: self.upstream.as_ref().map(|u| u.repo.clone()),
            pr_head: self.upstream.as_ref().map(|_| self.pr_head(branch)),
            base_branch: base.map(str::to_string),
            ..Default::default()
        }
    }

    /// The status line of the base fetch.
    pub fn fetching(&self, base: Option<&str>) -> Option<String> {
        let u = self.upstream.as_ref()?;
        Some(format!(
            "fetching {} from upstream {}",
            base.unwrap_or("the default branch"),
            redact_url(&u.url)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(repo: Option<&str>, base: Option<&str>) -> AgenticTask {
        let mut t: AgenticTask = serde_json::from_value(serde_json::json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "AgenticTask",
            "metadata": {"name": "t"}, "spec": {"kind": "freeform", "payload": {}}
        }))
        .unwrap();
        t.spec.payload.repo = repo.map(str::to_string);
        t.spec.payload.base_branch = base.map(str::to_string);
        t
    }

    #[test]
    fn a_fork_pushes_to_itself_and_opens_the_pr_on_the_upstream() {
        let r = Route::of(
            &task(Some("defilantech/LLMKube"), Some("release")),
            "https://github.com/Defilan/LLMKube.git",
        );
        let u = r.upstream.clone().unwrap();
        assert_eq!(u.url, "https://github.com/defilantech/LLMKube.git");
        assert_eq!(u.repo, "defilantech/LLMKube");
        assert_eq!(r.fork, "https://github.com/Defilan/LLMKube.git");
        assert_eq!(r.pr_head("foreman/issue-7"), "Defilan:foreman/issue-7");
        let x = r.extras("foreman/issue-7", Some("release"));
        assert_eq!(x.upstream.as_deref(), Some("defilantech/LLMKube"));
        assert_eq!(x.pr_head.as_deref(), Some("Defilan:foreman/issue-7"));
        assert_eq!(x.base_branch.as_deref(), Some("release"));
    }

    #[test]
    fn one_repository_is_no_fork() {
        let r = Route::of(
            &task(Some("acme/fleet"), Some(" ")),
            "https://github.com/acme/fleet.git",
        );
        assert_eq!((r.upstream.clone(), r.base.clone()), (None, None));
        assert_eq!(r.pr_head("b"), "b");
        let x = r.extras("b", None);
        assert_eq!((x.upstream, x.pr_head, x.base_branch), (None, None, None));
        let r = Route::of(&task(None, Some("dev")), "/srv/acme/fleet.git");
        assert_eq!((r.upstream, r.base.as_deref()), (None, Some("dev")));
    }
}
