//! The change of a task awaiting approval, published where every console can read it (issue 13
//! §2): the ConfigMap `foreman-diff-<task>` (labels like the transcript's, owned by the task)
//! holding `diff.patch`, the unified patch of the whole change, cut at [`DIFF_CAP`] on a line
//! boundary with a [`MARKER`] line saying so. The cluster backend reads it back with [`parse`]
//! for tasks that ran on another node.

use super::transcript::owned_by;
use crate::api::AgenticTask;
use crate::fleet::status::result_extra;
use crate::workspace::{self, FileDiff};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const LABEL_DIFF_OF: &str = "foreman.llmkube.dev/diff-of";
/// The commit the published diff is of (a revision publishes again).
pub const ANNOTATION_COMMIT: &str = "foreman.llmkube.dev/diff-commit";
pub const DIFF_KEY: &str = "diff.patch";
/// Well under a ConfigMap's 1 MiB, beside its metadata.
pub const DIFF_CAP: usize = 512 * 1024;
/// The first words of the line that ends a cut diff.
pub const MARKER: &str = "# foreman: diff cut at 512 KiB";

pub fn configmap_name(task: &str) -> String {
    format!("foreman-diff-{task}")
}

/// The whole change of `t` from its workspace here (`extra.workspace` at `extra.commitSHA`).
/// Blocking (git2).
pub fn of_workspace(t: &AgenticTask) -> Result<(String, Vec<FileDiff>), String> {
    let e = result_extra(t);
    let (Some(ws), Some(sha)) = (e.workspace, e.commit_sha) else {
        return Err("the result names no workspace and commit".into());
    };
    let ws = PathBuf::from(ws);
    let repo = git2::Repository::open(&ws)
        .map_err(|e| format!("cannot open workspace {}: {}", ws.display(), e.message()))?;
    let files = workspace::diff_change(&repo, &sha).map_err(|e| e.to_string())?;
    Ok((sha, files))
}

/// The patch text of `files`, cut at `cap` bytes on a line boundary, the cut said by a final
/// [`MARKER`] line with how much was left out.
pub fn render(files: &[FileDiff], cap: usize) -> String {
    let whole: String = files.iter().map(|f| f.patch.as_str()).collect();
    if whole.len() <= cap {
        return whole;
    }
    let mut end = 0;
    for (i, _) in whole.match_indices('\n') {
        if i + 1 > cap {
            break;
        }
        end = i + 1;
    }
    let shown = files
        .iter()
        .scan(0usize, |at, f| {
            *at += f.patch.len();
            Some(*at)
        })
        .filter(|at| *at <= end)
        .count();
    format!(
        "{}{MARKER}: {} of {} bytes shown, {} of {} file(s) whole; the rest is in the workspace on the node that ran it\n",
        &whole[..end],
        end,
        whole.len(),
        shown,
        files.len()
    )
}

/// `diff.patch` back into files, split on `diff --git` lines (a cut file keeps the lines it
/// has). A cut diff ends with a file named by the marker line, so the view says so.
pub fn parse(text: &str) -> Vec<FileDiff> {
    let (body, marker) = match text.find(MARKER) {
        Some(i) => (&text[..i], Some(text[i..].trim_end().to_string())),
        None => (text, None),
    };
    let mut out: Vec<FileDiff> = Vec::new();
    for line in body.split_inclusive('\n') {
        if line.starts_with("diff --git ") || out.is_empty() {
            out.push(FileDiff {
                old_path: None,
                new_path: None,
                additions: 0,
                deletions: 0,
                patch: String::new(),
                binary: false,
            });
        }
        let Some(f) = out.last_mut() else { continue };
        f.patch.push_str(line);
        let l = line.trim_end_matches(['\n', '\r']);
        if let Some(p) = l.strip_prefix("--- ") {
            f.old_path = side(p, "a/");
        } else if let Some(p) = l.strip_prefix("+++ ") {
            f.new_path = side(p, "b/");
        } else if l.starts_with("Binary files ") || l == "GIT binary patch" {
            f.binary = true;
        } else if l.starts_with('+') {
            f.additions += 1;
        } else if l.starts_with('-') {
            f.deletions += 1;
        }
    }
    for f in &mut out {
        if f.old_path.is_none() && f.new_path.is_none() {
            // A binary or mode-only change has no ---/+++ lines: the header names it.
            let header = f.patch.lines().next().unwrap_or_default();
            let name = header
                .strip_prefix("diff --git a/")
                .and_then(|r| r.split(" b/").next())
                .map(str::to_string);
            (f.old_path, f.new_path) = (name.clone(), name);
        }
    }
    out.retain(|f| !f.patch.trim().is_empty());
    if let Some(m) = marker {
        out.push(FileDiff {
            old_path: None,
            new_path: Some(m),
            additions: 0,
            deletions: 0,
            patch: String::new(),
            binary: false,
        });
    }
    out
}

/// `a/x` → `x`; `/dev/null` → none.
fn side(p: &str, prefix: &str) -> Option<String> {
    let p = p.trim_end();
    (p != "/dev/null").then(|| p.strip_prefix(prefix).unwrap_or(p).to_string())
}

/// The ConfigMap for `task` holding the patch of `files` at commit `sha`.
pub fn build(task: &AgenticTask, sha: &str, files: &[FileDiff]) -> ConfigMap {
    let name = task.metadata.name.clone().unwrap_or_default();
    let mut metadata = owned_by(task, configmap_name(&name), LABEL_DIFF_OF);
    metadata.annotations = Some(BTreeMap::from([(
        ANNOTATION_COMMIT.to_string(),
        sha.to_string(),
    )]));
    ConfigMap {
        metadata,
        data: Some(BTreeMap::from([(
            DIFF_KEY.to_string(),
            render(files, DIFF_CAP),
        )])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, lines: usize) -> FileDiff {
        let mut patch = format!(
            "diff --git a/{name} b/{name}\nindex 1..2 100644\n--- a/{name}\n+++ b/{name}\n@@ -1,1 +1,{lines} @@\n-old\n"
        );
        for i in 0..lines {
            patch.push_str(&format!("+line {i}\n"));
        }
        FileDiff {
            old_path: Some(name.into()),
            new_path: Some(name.into()),
            additions: lines,
            deletions: 1,
            patch,
            binary: false,
        }
    }

    #[test]
    fn a_small_diff_round_trips_file_by_file() {
        let files = vec![file("a.py", 2), file("b/c.rs", 3)];
        let text = render(&files, DIFF_CAP);
        assert!(!text.contains(MARKER));
        assert_eq!(parse(&text), files);
    }

    #[test]
    fn added_deleted_and_binary_files_keep_their_sides() {
        let text = "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hi\ndiff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\ndiff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n";
        let f = parse(text);
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].old_path.as_deref(), f[0].new_path.as_deref()),
            (None, Some("new.txt"))
        );
        assert_eq!(
            (f[1].old_path.as_deref(), f[1].new_path.as_deref()),
            (Some("gone.txt"), None)
        );
        assert_eq!((f[0].additions, f[1].deletions), (1, 1));
        assert!(f[2].binary && f[2].new_path.as_deref() == Some("img.png"));
    }

    #[test]
    fn a_large_diff_is_cut_on_a_line_with_a_marker_the_reader_shows() {
        let files: Vec<FileDiff> = (0..40).map(|i| file(&format!("f{i}.txt"), 2000)).collect();
        let text = render(&files, DIFF_CAP);
        assert!(text.len() <= DIFF_CAP + 200, "{}", text.len());
        let marker = text.lines().last().unwrap();
        assert!(
            marker.starts_with(MARKER) && marker.contains("of 40 file(s)"),
            "{marker}"
        );
        let body = &text[..text.find(MARKER).unwrap()];
        assert!(body.ends_with('\n') && body.len() <= DIFF_CAP);
        let back = parse(&text);
        let last = back.last().unwrap();
        assert!(last.new_path.as_deref().unwrap().starts_with(MARKER));
        assert!(back.len() < 42 && back.len() > 2, "{}", back.len());
        assert_eq!(back[0], files[0], "whole files before the cut are intact");
    }

    #[test]
    fn the_configmap_is_labelled_owned_and_names_the_commit() {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix-7, namespace: team, uid: u-1}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(t) = crate::api::load_str("t", yaml).unwrap().remove(0) else {
            panic!("not a task")
        };
        let cm = build(&t, "abc", &[file("a", 1)]);
        assert_eq!(cm.metadata.name.as_deref(), Some("foreman-diff-fix-7"));
        assert_eq!(cm.metadata.labels.as_ref().unwrap()[LABEL_DIFF_OF], "fix-7");
        assert_eq!(
            cm.metadata.annotations.as_ref().unwrap()[ANNOTATION_COMMIT],
            "abc"
        );
        assert_eq!(cm.metadata.owner_references.unwrap()[0].uid, "u-1");
        assert!(cm.data.unwrap()[DIFF_KEY].contains("+line 0"));
    }
}
