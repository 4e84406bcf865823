//! Text from the model, a tool or a server, made safe to put on a terminal (issue 9 §5).
//!
//! A hostile reply could otherwise write the operator's clipboard (OSC 52), plant links
//! (OSC 8), retitle the window, clear or repaint the screen (CSI), or reset the terminal.
//! [`terminal_safe`] is the one function every printer of such text uses: escape sequences
//! (ESC- or C1-introduced) are removed whole (colours in build logs are noise, not content),
//! `\r` is dropped (CRLF output, progress bars; it can no longer overwrite a line), `\n` and
//! `\t` are kept, and every other C0/C1 control and DEL is shown as U+FFFD, so the operator
//! sees that something was there (the console's cells draw controls the same way). Stateless,
//! so text streamed in pieces stays safe: a sequence cut in two loses its ESC in the first
//! piece and prints as plain text in the second.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::Chars;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// C1 String Terminator.
const ST: char = '\u{9c}';

/// Shown instead of a lone control character.
pub const REPLACEMENT: char = '\u{FFFD}';

/// `s` with no control sequence or control character a terminal would act on.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => {}
            ESC => skip_escape(&mut it),
            // C1 CSI, and the C1 openers of strings: DCS, SOS, OSC, PM, APC.
            '\u{9b}' => skip_csi(&mut it),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut it),
            c if c.is_control() => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// After ESC: CSI, a string (OSC, DCS, SOS, PM, APC), or a short escape (`ESC c`, `ESC ( B`).
fn skip_escape(it: &mut Peekable<Chars<'_>>) {
    match it.peek().copied() {
        Some('[') => {
            it.next();
            skip_csi(it);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            it.next();
            skip_string(it);
        }
        Some(c) if is_intermediate(c) => {
            while it.peek().is_some_and(|c| is_intermediate(*c)) {
                it.next();
            }
            if it.peek().is_some_and(|c| ('\u{30}'..='\u{7e}').contains(c)) {
                it.next();
            }
        }
        Some(c) if ('\u{30}'..='\u{7e}').contains(&c) => {
            it.next();
        }
        _ => {}
    }
}

fn is_intermediate(c: char) -> bool {
    ('\u{20}'..='\u{2f}').contains(&c)
}

/// Parameters, intermediates and the final byte of a CSI; stops at anything else, so text
/// after a malformed sequence is kept.
fn skip_csi(it: &mut Peekable<Chars<'_>>) {
    while it.peek().is_some_and(|c| ('\u{30}'..='\u{3f}').contains(c)) {
        it.next();
    }
    while it.peek().is_some_and(|c| is_intermediate(*c)) {
        it.next();
    }
    if it.peek().is_some_and(|c| ('\u{40}'..='\u{7e}').contains(c)) {
        it.next();
    }
}

/// Up to and including BEL or ST (`ESC \` or C1 ST). Another ESC ends the string without
/// being consumed, as terminals do, so the next sequence is removed too.
fn skip_string(it: &mut Peekable<Chars<'_>>) {
    while let Some(&c) = it.peek() {
        match c {
            BEL | ST => {
                it.next();
                return;
            }
            ESC => {
                let mut ahead = it.clone();
                ahead.next();
                if ahead.peek() == Some(&'\\') {
                    it.next();
                    it.next();
                }
                return;
            }
            _ => {
                it.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(s: &str) -> String {
        terminal_safe(s).into_owned()
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        let s = "héllo\n\tworld → ✓";
        assert!(matches!(terminal_safe(s), Cow::Borrowed(x) if x == s));
    }

    #[test]
    fn the_hostile_sequences_of_issue_9_are_removed_whole() {
        // OSC 52 clipboard write, BEL- and ST-terminated.
        assert_eq!(safe("a\u{1b}]52;c;ZXZpbA==\u{7}b"), "ab");
        assert_eq!(safe("a\u{1b}]52;c;ZXZpbA==\u{1b}\\b"), "ab");
        // OSC 8 hyperlink around visible text.
        assert_eq!(
            safe("\u{1b}]8;;https://evil.test\u{1b}\\click\u{1b}]8;;\u{1b}\\"),
            "click"
        );
        // Window title, clear screen, cursor home, colours, full reset, charset.
        assert_eq!(safe("\u{1b}]0;pwned\u{7}x"), "x");
        assert_eq!(safe("\u{1b}[2J\u{1b}[H\u{1b}[1;31mred\u{1b}[0m"), "red");
        assert_eq!(safe("\u{1b}cafter\u{1b}(Bok"), "afterok");
        // C1 forms: CSI and OSC as single code points.
        assert_eq!(safe("\u{9b}2Jx\u{9d}0;t\u{9c}y"), "xy");
        // DCS / APC strings.
        assert_eq!(safe("\u{1b}Pq#0;1\u{1b}\\z\u{1b}_apc\u{7}"), "z");
    }

    #[test]
    fn other_controls_are_shown_as_replacement_and_cr_is_dropped() {
        assert_eq!(
            safe("a\u{0}b\u{7}c\u{8}d\u{7f}e\u{85}f"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}f"
        );
        assert_eq!(safe("one\r\ntwo\rthree"), "one\ntwothree");
        assert_eq!(safe("t\tab\n"), "t\tab\n");
    }

    #[test]
    fn malformed_or_cut_sequences_leave_no_control_behind() {
        assert_eq!(safe("trailing \u{1b}"), "trailing ");
        assert_eq!(safe("\u{1b}\u{7}"), "\u{FFFD}");
        assert_eq!(safe("\u{1b}[12;"), "");
        // A CSI broken by a non-CSI character keeps the text after it.
        assert_eq!(safe("\u{1b}[1\u{e9}t\u{e9}"), "\u{e9}t\u{e9}");
        // An unterminated OSC swallows only up to the next ESC, which is handled as such.
        assert_eq!(safe("\u{1b}]0;title\u{1b}[2Jvisible"), "visible");
        // Streamed in pieces: each piece is safe on its own.
        for piece in ["x\u{1b}", "]52;c;QUJD\u{7}", "\u{1b}[", "2J"] {
            assert!(!safe(piece).chars().any(|c| c.is_control()), "{piece:?}");
        }
    }

    #[test]
    fn every_control_code_point_is_gone() {
        let all: String = (0u32..0x200).filter_map(char::from_u32).collect();
        let out = safe(&all);
        assert!(
            out.chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\t'),
            "{out:?}"
        );
    }
}
