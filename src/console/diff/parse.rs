//! Unified patch text → display rows with old/new line numbers and hunk positions.
//!
//! Everything before the first `@@` (the `diff --git`, `index`, `---`/`+++` lines) is dropped:
//! the pane shows the path in its own header. Text is sanitised once here (tabs → spaces,
//! control characters → `�`, CR of CRLF dropped) so rendering and highlighting see the same
//! bytes and the highlighter's byte ranges stay valid.

/// What a row of the patch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Hunk,
    Context,
    Added,
    Removed,
    /// `\ No newline at end of file`.
    NoNewline,
}

/// One display row. Line numbers are 0 where the side has no line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub kind: Kind,
    pub old: u32,
    pub new: u32,
    /// Without the `+`/`-`/` ` prefix (hunk rows keep their whole `@@ … @@` text).
    pub text: String,
}

/// A parsed file patch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub rows: Vec<Row>,
    /// Row indices of hunk headers, ascending.
    pub hunks: Vec<usize>,
    /// Largest line number seen, for the gutter width.
    pub max_line: u32,
}

/// Spaces a tab expands to; fixed because a diff has no tab-stop context.
const TAB: &str = "    ";

pub(crate) fn sanitize(s: &str) -> String {
    let s = s.strip_suffix('\r').unwrap_or(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str(TAB),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `@@ -12,5 +13,7 @@ …` → (12, 13); `None` if the header is malformed.
fn hunk_starts(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(' ')?;
    let num = |s: &str| s.split(',').next().and_then(|n| n.parse::<u32>().ok());
    Some((num(old)?, num(new)?))
}

pub(crate) fn parse(patch: &str) -> Parsed {
    let mut p = Parsed::default();
    let (mut old, mut new) = (0u32, 0u32);
    let mut in_hunk = false;
    for line in patch.lines() {
        if line.starts_with("@@")
            && let Some((o, n)) = hunk_starts(line)
        {
            (old, new) = (o, n);
            in_hunk = true;
            p.hunks.push(p.rows.len());
            p.rows.push(Row {
                kind: Kind::Hunk,
                old: 0,
                new: 0,
                text: sanitize(line),
            });
            continue;
        }
        if !in_hunk {
            continue;
        }
        let (kind, body) = match line.as_bytes().first() {
            Some(b'+') => (Kind::Added, &line[1..]),
            Some(b'-') => (Kind::Removed, &line[1..]),
            Some(b' ') => (Kind::Context, &line[1..]),
            Some(b'\\') => (Kind::NoNewline, line),
            // Some tools strip the space of an empty context line.
            None => (Kind::Context, ""),
            // Anything else ends the hunk section (e.g. trailing junk).
            Some(_) => {
                in_hunk = false;
                continue;
            }
        };
        let (o, n) = match kind {
            Kind::Added => {
                new = new.saturating_add(1);
                (0, new - 1)
            }
            Kind::Removed => {
                old = old.saturating_add(1);
                (old - 1, 0)
            }
            Kind::Context => {
                old = old.saturating_add(1);
                new = new.saturating_add(1);
                (old - 1, new - 1)
            }
            Kind::Hunk | Kind::NoNewline => (0, 0),
        };
        p.max_line = p.max_line.max(o).max(n);
        p.rows.push(Row {
            kind,
            old: o,
            new: n,
            text: sanitize(body),
        });
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/a.rs b/a.rs\nindex 1..2 100644\n--- a/a.rs\n+++ b/a.rs\n\
@@ -1,3 +1,3 @@ fn main\n ctx\n-old\n+new\n ctx2\n@@ -10,2 +10,3 @@\n a\n+b\n \tc\n\\ No newline at end of file\n";

    #[test]
    fn hunk_positions_and_line_numbers() {
        let p = parse(PATCH);
        assert_eq!(p.hunks, vec![0, 5]);
        let kinds: Vec<Kind> = p.rows.iter().map(|r| r.kind).collect();
        use Kind::*;
        assert_eq!(
            kinds,
            vec![
                Hunk, Context, Removed, Added, Context, Hunk, Context, Added, Context, NoNewline
            ]
        );
        let nums: Vec<(u32, u32)> = p.rows.iter().map(|r| (r.old, r.new)).collect();
        assert_eq!(nums[1..5], [(1, 1), (2, 0), (0, 2), (3, 3)]);
        assert_eq!(nums[6..9], [(10, 10), (0, 11), (11, 12)]);
        assert_eq!(p.max_line, 12);
        assert_eq!(p.rows[8].text, "    c");
        assert_eq!(sanitize("\tx\r"), "    x");
        assert_eq!(sanitize("a\u{1b}b"), "a\u{FFFD}b");
    }

    #[test]
    fn meta_only_patch_has_no_rows() {
        let p = parse("diff --git a/x.png b/x.png\nBinary files a/x.png and b/x.png differ\n");
        assert!(p.rows.is_empty() && p.hunks.is_empty());
        assert_eq!(parse(""), Parsed::default());
        // A malformed hunk header does not start a hunk.
        assert!(parse("@@ garbage @@\n+x\n").rows.is_empty());
    }
}
