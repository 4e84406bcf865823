//! The PR title and body, filled from what the task produced, following the runbook's
//! What / Why / How / Checklist template. Checklist boxes are ticked only for facts we can
//! see (a recorded verification command, a sign-off trailer), so the body never overclaims.

/// Everything the body is built from; all plain text, nothing from the UI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrBodyInput {
    /// `status.result.summary` of the task.
    pub summary: String,
    /// The full commit message (subject, body, trailers).
    pub commit_message: String,
    /// The task's `payload.prompt` (usually the issue's title + body).
    pub issue_prompt: String,
    /// The issue the branch fixes; when `None`, a `Fixes #N` trailer in the commit is used.
    pub issue_number: Option<u64>,
    /// Where the transcript lives, e.g. "ConfigMap foreman-transcript-m3-coder-demo".
    pub transcript_ref: Option<String>,
    /// Verification commands that passed in the workspace, e.g. "make fmt vet lint test".
    pub verification: Vec<String>,
}

const MAX_SECTION: usize = 4000;
const MAX_TITLE: usize = 256;

/// The commit subject (first non-empty line), trimmed to GitHub's title length.
pub fn pr_title(commit_message: &str) -> String {
    let subject = commit_message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Foreman change");
    truncate(subject, MAX_TITLE)
}

/// A transcript reference fit for a public PR: a ConfigMap's name, not a path on the machine
/// that ran the task (a journal under someone's state dir means nothing to a reviewer and
/// tells the world the operator's user name and layout).
fn shareable_ref(t: &str) -> Option<&str> {
    let t = t.trim();
    let path = t.starts_with('/')
        || t.starts_with('~')
        || t.starts_with("./")
        || t.starts_with("../")
        || t.starts_with("file:")
        || t.get(1..3) == Some(":\\")
        || t.ends_with(".jsonl");
    (!t.is_empty() && !path).then_some(t)
}

/// The PR body in the runbook's template.
pub fn pr_body(input: &PrBodyInput) -> String {
    let mut out = String::new();
    out.push_str("## What\n\n");
    out.push_str(&quote_or(
        &input.summary,
        "_(the task recorded no summary)_",
    ));
    out.push_str("\n\n## Why\n\n");
    out.push_str(&quote_or(
        &input.issue_prompt,
        "_(no issue text was given)_",
    ));
    out.push_str("\n\n## How\n\n");
    let how = commit_body(&input.commit_message);
    out.push_str(&quote_or(&how, "_(the commit message has no body)_"));
    if !input.verification.is_empty() {
        out.push_str("\n\nVerified with: ");
        let cmds: Vec<String> = input
            .verification
            .iter()
            .map(|c| format!("`{}`", c.replace('`', "'")))
            .collect();
        out.push_str(&cmds.join(", "));
    }
    out.push_str("\n\n## Checklist\n\n- [x] Built locally via the Foreman coder agent.\n");
    let see = input
        .transcript_ref
        .as_deref()
        .and_then(shareable_ref)
        .map(|t| format!(" (see transcript {t})"))
        .unwrap_or_default();
    if input.verification.is_empty() {
        out.push_str(&format!(
            "- [ ] No verification command was recorded; review the transcript{see}.\n"
        ));
    } else {
        out.push_str(&format!(
            "- [x] {} passed inside the agent's workspace{see}.\n",
            input
                .verification
                .iter()
                .map(|c| format!("`{}`", c.replace('`', "'")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if has_signoff(&input.commit_message) {
        out.push_str("- [x] DCO sign-off present.\n");
    } else {
        out.push_str("- [ ] DCO sign-off missing from the commit.\n");
    }
    if let Some(n) = input
        .issue_number
        .or_else(|| fixes_trailer(&input.commit_message))
    {
        out.push_str(&format!("\nFixes #{n}\n"));
    }
    out
}

/// `owner/repo` from a git remote URL: `https://host/o/r(.git)`, `http://user:tok@host:port/o/r`,
/// `ssh://git@host[:port]/o/r`, `git@host:o/r.git`. Local paths and `file://` give `None`.
pub fn parse_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let path = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "http" | "https" | "ssh" | "git" | "git+ssh" | "ssh+git"
        ) {
            return None;
        }
        // Drop authority (user:token@host:port) — never keep credentials around.
        let (_, path) = rest.split_once('/')?;
        path
    } else {
        // scp-like `user@host:owner/repo.git`; a Windows/local path has no `host:` prefix.
        let (host, path) = url.split_once(':')?;
        if host.is_empty() || host.contains('/') || path.starts_with('/') && host.len() == 1 {
            return None;
        }
        path
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let repo = segs.pop()?;
    let owner = segs.pop()?;
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    if repo.is_empty() || owner.is_empty() {
        return None;
    }
    Some((owner.to_string(), repo.to_string()))
}

/// The commit body without the subject and without trailers (they are in the checklist).
fn commit_body(msg: &str) -> String {
    let mut lines = msg.lines().skip_while(|l| l.trim().is_empty());
    lines.next(); // subject
    let kept: Vec<&str> = lines.filter(|l| !is_trailer(l)).collect();
    kept.join("\n").trim().to_string()
}

fn is_trailer(line: &str) -> bool {
    let l = line.trim().to_ascii_lowercase();
    [
        "signed-off-by:",
        "co-authored-by:",
        "fixes #",
        "closes #",
        "resolves #",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

fn has_signoff(msg: &str) -> bool {
    msg.lines()
        .any(|l| l.trim().to_ascii_lowercase().starts_with("signed-off-by:"))
}

fn fixes_trailer(msg: &str) -> Option<u64> {
    msg.lines().find_map(|l| {
        let l = l.trim().to_ascii_lowercase();
        let rest = ["fixes #", "closes #", "resolves #"]
            .iter()
            .find_map(|p| l.strip_prefix(p))?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

fn quote_or(text: &str, empty: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        return empty.to_string();
    }
    truncate(t, MAX_SECTION)
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cuts at a char boundary and says so, so a huge transcript summary cannot exceed GitHub's
/// 65 536-character body limit.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push_str(" …(truncated)");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "fix(docs): correct typo in README\n\nPlan: replace 'recieve' with \
                       'receive'.\nRan make test.\n\nFixes #42\nSigned-off-by: Foreman Bot \
                       <foreman@m5.local>\n";

    #[test]
    fn local_transcript_paths_stay_out_of_the_body() {
        for path in [
            "/home/op/.local/share/foreman/transcripts/default/fix-greeting.jsonl",
            "~/.local/share/foreman/t.jsonl",
            "transcripts/default/fix.jsonl",
            "C:\\Users\\op\\t.jsonl",
        ] {
            let b = pr_body(&PrBodyInput {
                summary: "Fixed.".into(),
                transcript_ref: Some(path.into()),
                ..Default::default()
            });
            assert!(
                !b.contains(path) && !b.contains("see transcript"),
                "{path}:\n{b}"
            );
            assert!(b.contains("review the transcript."), "{b}");
        }
        let b = pr_body(&PrBodyInput {
            transcript_ref: Some("ConfigMap foreman-transcript-demo".into()),
            ..Default::default()
        });
        assert!(
            b.contains("(see transcript ConfigMap foreman-transcript-demo)"),
            "{b}"
        );
    }

    #[test]
    fn title_is_subject() {
        assert_eq!(pr_title(MSG), "fix(docs): correct typo in README");
        assert_eq!(pr_title("\n\n  subject only  \n"), "subject only");
        assert_eq!(pr_title(""), "Foreman change");
        let long = "x".repeat(400);
        assert!(pr_title(&long).starts_with(&"x".repeat(256)));
        assert!(pr_title(&long).ends_with("(truncated)"));
    }

    #[test]
    fn body_follows_template() {
        let b = pr_body(&PrBodyInput {
            summary: "Fixed the typo.".into(),
            commit_message: MSG.into(),
            issue_prompt: "README says recieve.\n\nIt should say receive.".into(),
            issue_number: None,
            transcript_ref: Some("ConfigMap foreman-transcript-demo".into()),
            verification: vec!["make test".into()],
        });
        let order: Vec<usize> = ["## What", "## Why", "## How", "## Checklist", "Fixes #42"]
            .iter()
            .map(|h| b.find(h).unwrap_or_else(|| panic!("missing {h} in\n{b}")))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{b}");
        assert!(b.contains("> Fixed the typo."));
        assert!(b.contains("> README says recieve.\n>\n> It should say receive."));
        assert!(b.contains("> Plan: replace"));
        assert!(
            !b.contains("> Signed-off-by"),
            "trailers stay out of How:\n{b}"
        );
        assert!(b.contains("- [x] `make test` passed inside the agent's workspace (see transcript ConfigMap foreman-transcript-demo)."));
        assert!(b.contains("- [x] DCO sign-off present."));
        assert_eq!(b.matches("Fixes #").count(), 1);
        assert!(b.trim_end().ends_with("Fixes #42"));
    }

    #[test]
    fn body_does_not_overclaim() {
        let b = pr_body(&PrBodyInput {
            commit_message: "subject".into(),
            issue_number: Some(7),
            ..Default::default()
        });
        assert!(b.contains("- [ ] No verification command was recorded"));
        assert!(b.contains("- [ ] DCO sign-off missing"));
        assert!(b.contains("_(the task recorded no summary)_"));
        assert!(b.trim_end().ends_with("Fixes #7"));
        let none = pr_body(&PrBodyInput::default());
        assert!(!none.contains("Fixes #"));
    }

    #[test]
    fn remotes() {
        let ok = |u: &str, o: &str, r: &str| {
            assert_eq!(parse_remote(u), Some((o.into(), r.into())), "{u}");
        };
        ok(
            "https://github.com/Defilan/LLMKube.git",
            "Defilan",
            "LLMKube",
        );
        ok("https://github.com/Defilan/LLMKube", "Defilan", "LLMKube");
        ok("https://github.com/Defilan/LLMKube/", "Defilan", "LLMKube");
        ok(
            "http://x-access-token:s3cret@127.0.0.1:18090/acme/fleet.git",
            "acme",
            "fleet",
        );
        ok("git@github.com:acme/fleet.git", "acme", "fleet");
        ok(
            "ssh://git@ghe.example.com:2222/acme/fleet.git",
            "acme",
            "fleet",
        );
        ok("https://ghe.example.com/org/sub/repo.git", "sub", "repo");
        for bad in [
            "",
            "/tmp/x/y.git",
            "file:///tmp/a/b.git",
            "https://github.com/only",
            "C:\\x\\y",
        ] {
            assert_eq!(parse_remote(bad), None, "{bad}");
        }
    }
}
