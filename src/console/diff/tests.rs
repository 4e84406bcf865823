//! Diff pane tests: navigation, staleness, size guard, threading, degenerate sizes and insta
//! snapshots (text, plus a style dump where colours are the point).

use super::*;
use crate::console::tests::screen;
use crate::workspace::FileDiff;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// A `FileDiff` whose counts are taken from its patch, like git's.
fn fd(old: Option<&str>, new: Option<&str>, patch: &str) -> FileDiff {
    let count = |c: char| {
        patch
            .lines()
            .skip_while(|l| !l.starts_with("@@"))
            .filter(|l| l.starts_with(c))
            .count()
    };
    FileDiff {
        old_path: old.map(Into::into),
        new_path: new.map(Into::into),
        additions: count('+'),
        deletions: count('-'),
        patch: patch.into(),
        binary: false,
    }
}

const RUST_PATCH: &str = "diff --git a/src/lib.rs b/src/lib.rs
index 3b18e51..a2c4f0d 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,6 +1,7 @@
 use std::collections::HashMap;
+use std::fmt::Write;
 
 /// Counts words.
-pub fn count(text: &str) -> HashMap<&str, usize> {
+pub fn count(text: &str) -> HashMap<&str, u32> {
     let mut m = HashMap::new();
     for w in text.split_whitespace() {
@@ -20,5 +21,8 @@ pub fn render(m: &HashMap<&str, usize>) -> String {
     let mut out = String::new();
     for (k, v) in m {
-        out.push_str(&format!(\"{k}: {v}\\n\"));
+        // Writing to a String cannot fail.
+        let _ = writeln!(out, \"{k}: {v}\");
     }
+    out.push_str(\"a very long line that will certainly not fit into an eighty column terminal pane\");
     out
 }
";

const PY_PATCH: &str = "diff --git a/scripts/stats.py b/scripts/stats.py
new file mode 100644
index 0000000..5d1e2c3
--- /dev/null
+++ b/scripts/stats.py
@@ -0,0 +1,6 @@
+import sys
+
+
+def main(argv):
+    \"\"\"Print the word count of each file.\"\"\"
+    return 0 if argv else 1
";

fn small() -> Vec<FileDiff> {
    vec![
        fd(Some("src/lib.rs"), Some("src/lib.rs"), RUST_PATCH),
        fd(None, Some("scripts/stats.py"), PY_PATCH),
    ]
}

/// A patch of one hunk with `n` added lines of Rust.
fn big_patch(path: &str, n: usize) -> String {
    let mut p =
        format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -0,0 +1,{n} @@\n");
    for i in 0..n {
        p.push_str(&format!(
            "+fn f{i}(x: u32) -> u32 {{ x.wrapping_mul({i}) }} // {i}\n"
        ));
    }
    p
}

/// 20k added lines over four files, each under the highlight guard.
fn big_files() -> Vec<FileDiff> {
    (0..4)
        .map(|i| {
            let p = format!("src/big{i}.rs");
            fd(Some(&p), Some(&p), &big_patch(&p, 5_000))
        })
        .collect()
}

fn binary_and_large() -> Vec<FileDiff> {
    let mut bin = fd(
        Some("assets/logo.png"),
        Some("assets/logo.png"),
        "diff --git a/assets/logo.png b/assets/logo.png\nindex 1..2 100644\nBinary files a/assets/logo.png and b/assets/logo.png differ\n",
    );
    bin.binary = true;
    vec![
        bin,
        fd(
            Some("src/gen.rs"),
            Some("src/gen.rs"),
            &big_patch("src/gen.rs", 12_000),
        ),
        fd(
            Some("old/name.rs"),
            Some("new/name.rs"),
            "diff --git a/old/name.rs b/new/name.rs\nsimilarity index 100%\nrename from old/name.rs\nrename to new/name.rs\n",
        ),
    ]
}

fn draw(v: &mut DiffView, w: u16, h: u16) -> Terminal<TestBackend> {
    draw_with(v, w, h, &DiffStyle::default())
}

fn draw_with(v: &mut DiffView, w: u16, h: u16, style: &DiffStyle) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| {
        let area = f.area();
        v.prepare(area);
        v.render(area, f.buffer_mut(), style);
    })
    .unwrap();
    term
}

/// Runs of equal style per row: `x0-x1 fg/bg` (only non-default runs), so a snapshot shows
/// where colours are without the full `Buffer` debug dump.
fn style_runs(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut runs = Vec::new();
        let mut x = 0;
        while x < buf.area.width {
            let c = &buf[(x, y)];
            let key = (c.fg, c.bg, c.modifier);
            let start = x;
            while x < buf.area.width && {
                let d = &buf[(x, y)];
                (d.fg, d.bg, d.modifier) == key
            } {
                x += 1;
            }
            if key
                != (
                    Color::Reset,
                    Color::Reset,
                    ratatui::style::Modifier::empty(),
                )
            {
                runs.push(format!(
                    "{start}-{} {:?}/{:?}{}",
                    x - 1,
                    key.0,
                    key.1,
                    if key.2.is_empty() {
                        String::new()
                    } else {
                        format!(" {:?}", key.2)
                    }
                ));
            }
        }
        out.push_str(&format!("{y:2}: {}\n", runs.join(" | ")));
    }
    out
}

fn has_rgb_fg(term: &Terminal<TestBackend>) -> bool {
    term.backend()
        .buffer()
        .content()
        .iter()
        .any(|c| matches!(c.fg, Color::Rgb(..)))
}

fn highlighted(files: Vec<FileDiff>) -> DiffView {
    let mut v = DiffView::new(files);
    let job = v.highlight_job("base16-ocean.dark");
    assert!(v.apply(job.run()));
    v
}

// ---- snapshots ------------------------------------------------------------------------

#[test]
fn small_highlighted_80x24() {
    let mut v = highlighted(small());
    let term = draw(&mut v, 80, 24);
    insta::assert_snapshot!(term.backend());
    assert!(has_rgb_fg(&term));
    // With the dark theme's styles: syntax colours over tinted added/removed rows.
    let dark = DiffStyle::from_theme(&crate::console::theme::Theme::builtin("dark").unwrap());
    let term = draw_with(&mut v, 80, 24, &dark);
    insta::assert_snapshot!("small_highlighted_80x24_styles", style_runs(&term));
    let buf = term.backend().buffer();
    let added_row = (0..24).find(|&y| buf[(6, y)].symbol() == "+").unwrap();
    assert_eq!(Some(buf[(20, added_row)].bg), dark.added_line.bg);
}

#[test]
fn small_highlighted_200x60() {
    let mut v = highlighted(small());
    insta::assert_snapshot!(draw(&mut v, 200, 60).backend());
    v.next_file();
    let term = draw(&mut v, 200, 60);
    insta::assert_snapshot!("small_highlighted_200x60_python", term.backend());
    assert!(has_rgb_fg(&term), "python file highlighted");
}

#[test]
fn small_plain_80x24() {
    let mut v = DiffView::new(small());
    let term = draw(&mut v, 80, 24);
    insta::assert_snapshot!(term.backend());
    insta::assert_snapshot!("small_plain_80x24_styles", style_runs(&term));
    assert!(!has_rgb_fg(&term));
}

#[test]
fn small_plain_200x60() {
    let mut v = DiffView::new(small());
    insta::assert_snapshot!(draw(&mut v, 200, 60).backend());
}

#[test]
fn binary_and_large_80x24() {
    let mut v = highlighted(binary_and_large());
    let bin = draw(&mut v, 80, 24);
    insta::assert_snapshot!("binary_80x24", bin.backend());
    assert!(screen(&bin).contains("binary file changed"));
    v.next_file();
    let large = draw(&mut v, 80, 24);
    insta::assert_snapshot!("large_80x24", large.backend());
    assert!(screen(&large).contains("large diff: highlighting off"));
    assert!(!has_rgb_fg(&large));
}

#[test]
fn binary_and_large_200x60() {
    let mut v = highlighted(binary_and_large());
    v.next_file();
    insta::assert_snapshot!("large_200x60", draw(&mut v, 200, 60).backend());
    v.next_file();
    let renamed = draw(&mut v, 200, 60);
    insta::assert_snapshot!("renamed_200x60", renamed.backend());
    assert!(screen(&renamed).contains("old/name.rs → new/name.rs"));
}

#[test]
fn empty_diff_80x24_and_200x60() {
    let mut v = DiffView::new(Vec::new());
    let small = draw(&mut v, 80, 24);
    insta::assert_snapshot!("empty_80x24", small.backend());
    insta::assert_snapshot!("empty_200x60", draw(&mut v, 200, 60).backend());
    assert!(screen(&small).contains("no changes"));
    assert_eq!(v.summary(), "no changes");
    // Every navigation call is a no-op on nothing.
    v.next_file();
    v.prev_file();
    v.next_hunk();
    v.prev_hunk();
    v.page_down();
    v.scroll_up(3);
    assert_eq!(v.current_file(), (0, 0));
}

// ---- behaviour ------------------------------------------------------------------------

#[test]
fn summary_counts_all_files() {
    assert_eq!(DiffView::new(small()).summary(), "2 files, +11 -2");
    assert_eq!(
        DiffView::new(small()[1..].to_vec()).summary(),
        "1 file, +6 -0"
    );
}

#[test]
fn file_navigation_wraps() {
    let mut v = DiffView::new(binary_and_large());
    assert_eq!(v.current_file(), (0, 3));
    v.prev_file();
    assert_eq!(v.current_file(), (2, 3));
    v.next_file();
    assert_eq!(v.current_file(), (0, 3));
    v.next_file();
    v.next_file();
    v.next_file();
    assert_eq!(v.current_file(), (0, 3));
}

#[test]
fn hunk_navigation_crosses_files_and_clamps() {
    let mut v = DiffView::new(small());
    draw(&mut v, 80, 10);
    assert_eq!((v.current_file().0, v.current_hunk()), (0, (0, 2)));
    v.next_hunk();
    assert_eq!((v.current_file().0, v.current_hunk()), (0, (1, 2)));
    // The second hunk's header is body row 1 + 9; a 10-row pane leaves 7 body rows.
    assert_eq!(v.top_row(), 10);
    v.next_hunk();
    assert_eq!((v.current_file().0, v.current_hunk()), (1, (0, 1)));
    v.next_hunk();
    assert_eq!(
        (v.current_file().0, v.current_hunk()),
        (1, (0, 1)),
        "clamps at the end"
    );
    v.prev_hunk();
    assert_eq!((v.current_file().0, v.current_hunk()), (0, (1, 2)));
    v.prev_hunk();
    v.prev_hunk();
    assert_eq!(
        (v.current_file().0, v.current_hunk()),
        (0, (0, 2)),
        "clamps at the start"
    );
    // Files without hunks are skipped.
    let mut files = binary_and_large();
    files.push(small().remove(1));
    let mut v = DiffView::new(files);
    v.next_hunk();
    assert_eq!(v.current_file().0, 1);
    v.next_hunk();
    assert_eq!(v.current_file().0, 3, "binary/rename-only skipped");
}

#[test]
fn scrolling_clamps_to_the_body() {
    let mut v = DiffView::new(small());
    draw(&mut v, 80, 10); // 1 summary + 2 strip (10-1)/3=3 -> min(2) + 7 body
    v.scroll_down(1000);
    // Body: header row + 19 patch rows = 20 rows; 7 visible.
    assert_eq!(v.top_row(), 20 - 7);
    assert_eq!(v.current_hunk().0, 1, "scrolling tracks the current hunk");
    v.page_up();
    assert_eq!(v.top_row(), 20 - 7 - 6);
    v.scroll_up(1000);
    assert_eq!(v.top_row(), 0);
    assert_eq!(v.current_hunk().0, 0);
    v.page_down();
    assert_eq!(v.top_row(), 6);
    // A taller pane re-clamps in prepare.
    v.scroll_down(1000);
    draw(&mut v, 80, 60);
    assert_eq!(v.top_row(), 0);
}

#[test]
fn long_lines_are_cut_with_a_marker_and_scroll_horizontally() {
    let mut v = DiffView::new(small());
    let term = draw(&mut v, 80, 40);
    let s = screen(&term);
    let long = s.lines().find(|l| l.contains("a very long line")).unwrap();
    assert!(long.ends_with('›'), "{long}");
    v.scroll_right(40);
    let s = screen(&draw(&mut v, 80, 40));
    assert!(s.contains("eighty column terminal pane\");"), "{s}");
    assert!(!s.contains("a very long line"));
    v.scroll_left(1000);
    assert!(screen(&draw(&mut v, 80, 40)).contains("a very long line"));
}

#[test]
fn stale_highlights_are_discarded() {
    let mut v = DiffView::new(small());
    let old_job = v.highlight_job("base16-ocean.dark");
    v.set_files(small());
    assert!(!v.apply(old_job.run()), "older file set");
    assert!(!v.is_highlighted());
    // A result of another view with the same files is also someone else's.
    let other = DiffView::new(small());
    assert!(!v.apply(other.highlight_job("base16-ocean.dark").run()));
    assert!(v.apply(v.highlight_job("base16-ocean.dark").run()));
    assert!(v.is_highlighted());
}

#[test]
fn a_newer_job_supersedes_and_stops_the_older_one() {
    let mut v = DiffView::new(small());
    let first = v.highlight_job("base16-ocean.dark");
    let second = v.highlight_job("InspiredGitHub");
    let h1 = first.run();
    assert!(
        h1.cancelled && h1.files.iter().all(Option::is_none),
        "stopped early"
    );
    assert!(!v.apply(h1));
    assert!(v.apply(second.run()));

    // A long job cancelled while it runs stops before the last file.
    let mut v = DiffView::new(big_files());
    let job = v.highlight_job("base16-ocean.dark");
    let worker = std::thread::spawn(move || job.run());
    v.set_files(small());
    let h = worker.join().unwrap();
    assert!(h.cancelled);
    assert!(h.files[3].is_none());
    assert!(!v.apply(h));
}

#[test]
fn size_guard_and_binary_are_not_highlighted() {
    let v = DiffView::new(binary_and_large());
    let job = v.highlight_job("base16-ocean.dark");
    assert!(
        job.files.iter().all(Option::is_none),
        "binary, large, rename-only"
    );
    // Just under the line guard is highlighted; the byte guard applies on its own.
    let mut short = "@@ -0,0 +1,9990 @@\n".to_string();
    short.push_str(&"+x\n".repeat(MAX_HIGHLIGHT_LINES - 10));
    let under = fd(Some("a.rs"), Some("a.rs"), &short);
    let mut wide = "diff --git a/b.rs b/b.rs\n@@ -1,1 +1,1 @@\n-x\n+".to_string();
    wide.push_str(&"y".repeat(MAX_HIGHLIGHT_BYTES));
    wide.push('\n');
    let v = DiffView::new(vec![under, fd(Some("b.rs"), Some("b.rs"), &wide)]);
    let job = v.highlight_job("base16-ocean.dark");
    assert!(job.files[0].is_some());
    assert!(job.files[1].is_none());
}

#[test]
fn unknown_syntax_theme_falls_back_and_says_so() {
    let mut v = DiffView::new(small());
    let h = v.highlight_job("no-such-theme").run();
    assert!(h.notice().unwrap().contains("\"no-such-theme\" unknown"));
    assert!(v.apply(h));
    let term = draw(&mut v, 120, 24);
    assert!(has_rgb_fg(&term));
    assert!(screen(&term).contains("using base16-ocean.dark"));
}

#[test]
fn unknown_extension_stays_plain() {
    let mut v = DiffView::new(vec![fd(
        Some("notes.zzz"),
        Some("notes.zzz"),
        "@@ -1 +1 @@\n-a\n+b\n",
    )]);
    assert!(v.apply(v.highlight_job("base16-ocean.dark").run()));
    assert!(!v.is_highlighted());
}

#[test]
fn big_highlight_runs_on_a_worker_while_the_view_renders_plain() {
    use std::sync::atomic::{AtomicBool, Ordering};
    // Every file is under the guard, so all 20k lines are highlighted.
    let mut v = DiffView::new(big_files());
    let job = v.highlight_job("base16-ocean.dark");
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let ui = std::thread::current().id();
    let worker = std::thread::spawn(move || {
        assert_ne!(std::thread::current().id(), ui);
        let h = job.run();
        flag.store(true, Ordering::SeqCst);
        h
    });
    // The UI keeps drawing (and scrolling) plain text meanwhile.
    let mut frames = 0;
    for _ in 0..5 {
        v.page_down();
        let term = draw(&mut v, 80, 24);
        assert!(!has_rgb_fg(&term));
        assert!(screen(&term).contains("wrapping_mul"));
        frames += 1;
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "{frames} frames drawn before the job finished"
    );
    let h = worker.join().unwrap();
    assert!(v.apply(h));
    assert!(has_rgb_fg(&draw(&mut v, 80, 24)));
}

#[test]
fn never_panics_at_any_size() {
    let sets = [small(), binary_and_large(), Vec::new()];
    for files in sets {
        let mut v = highlighted(files);
        for (w, h) in [
            (0, 0),
            (1, 1),
            (0, 5),
            (5, 0),
            (2, 2),
            (3, 7),
            (9, 3),
            (13, 40),
            (300, 2),
        ] {
            v.next_hunk();
            v.scroll_right(7);
            draw(&mut v, w, h);
        }
    }
}

#[test]
fn real_commit_from_diff_commit() {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    let commit = |files: &[(&str, &str)], parent: Option<git2::Oid>| {
        for (p, c) in files {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        let mut idx = repo.index().unwrap();
        idx.add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        idx.write().unwrap();
        let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit> = parent
            .map(|p| repo.find_commit(p).unwrap())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "m", &tree, &refs)
            .unwrap()
    };
    let body: String = (1..=40).map(|i| format!("let x{i} = {i};\n")).collect();
    let base = commit(&[("src/a.rs", &body)], None);
    let changed = body
        .replace("let x3 = 3;", "let x3 = 33;")
        .replace("let x30 = 30;", "");
    let head = commit(
        &[("src/a.rs", &changed), ("tool.py", "print('hi')\n")],
        Some(base),
    );
    let files = crate::workspace::diff_commit(&repo, &head.to_string()).unwrap();
    let mut v = DiffView::new(files);
    assert_eq!(v.summary(), "2 files, +3 -2");
    assert_eq!(v.current_hunk(), (0, 2));
    assert!(v.apply(v.highlight_job("InspiredGitHub").run()));
    let s = screen(&draw(&mut v, 80, 24));
    assert!(s.contains("src/a.rs"), "{s}");
    assert!(s.contains(" 3    - let x3 = 3;"), "{s}");
    assert!(s.contains("    3 + let x3 = 33;"), "{s}");
}
