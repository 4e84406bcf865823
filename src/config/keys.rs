//! Key strings from the config (`"a"`, `"A"`, `"ctrl-d"`, `"shift-tab"`, `"pgup"`, `"f1"`, `"?"`)
//! ↔ crossterm key codes. `Display` prints the same spelling back, so footer hints show the
//! operator exactly what they (or the defaults) configured.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyModifiers};

/// One key plus modifiers. Letter case lives in the `Char` (so `"A"` is `Char('A')`, no SHIFT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// Why a key string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyParseError(pub String);

const NAMED: [(&str, KeyCode); 22] = [
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("bs", KeyCode::Backspace),
    ("del", KeyCode::Delete),
    ("delete", KeyCode::Delete),
    ("ins", KeyCode::Insert),
    ("insert", KeyCode::Insert),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
];

const MODIFIERS: [(&str, KeyModifiers); 8] = [
    ("ctrl-", KeyModifiers::CONTROL),
    ("ctrl+", KeyModifiers::CONTROL),
    ("c-", KeyModifiers::CONTROL),
    ("alt-", KeyModifiers::ALT),
    ("alt+", KeyModifiers::ALT),
    ("m-", KeyModifiers::ALT),
    ("shift-", KeyModifiers::SHIFT),
    ("shift+", KeyModifiers::SHIFT),
];

const HELP: &str = "expected a character (\"a\", \"A\", \"?\"), a name (enter, esc, tab, space, \
    backspace, del, ins, home, end, pgup, pgdn, up, down, left, right, f1-f24), optionally \
    prefixed by ctrl-, alt- or shift-";

impl FromStr for KeyBinding {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut rest = s.trim();
        let mut modifiers = KeyModifiers::NONE;
        'outer: loop {
            for (prefix, m) in MODIFIERS {
                let n = prefix.len();
                // `ctrl--` is ctrl + '-': only strip while a key remains after the prefix.
                if rest.len() > n
                    && rest.is_char_boundary(n)
                    && rest[..n].eq_ignore_ascii_case(prefix)
                {
                    modifiers |= m;
                    rest = &rest[n..];
                    continue 'outer;
                }
            }
            break;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(KeyParseError(format!("empty key in {s:?}; {HELP}"))),
            (Some(c), None) => KeyCode::Char(c),
            _ => named(rest)
                .ok_or_else(|| KeyParseError(format!("unknown key {rest:?} in {s:?}; {HELP}")))?,
        };
        Ok(normalize(code, modifiers))
    }
}

fn named(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    if lower == "right" {
        return Some(KeyCode::Right);
    }
    if let Some(n) = lower.strip_prefix('f').and_then(|d| d.parse::<u8>().ok()) {
        return (1..=24).contains(&n).then_some(KeyCode::F(n));
    }
    NAMED.iter().find(|(n, _)| *n == lower).map(|(_, c)| *c)
}

/// One spelling per key: SHIFT is folded into letters and `tab`, and only ctrl/alt/shift count,
/// so a binding compares equal to what the terminal reports.
fn normalize(code: KeyCode, modifiers: KeyModifiers) -> KeyBinding {
    let mut m = modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    let code = match code {
        KeyCode::Char(c) if m.contains(KeyModifiers::SHIFT) => {
            m.remove(KeyModifiers::SHIFT);
            KeyCode::Char(c.to_ascii_uppercase())
        }
        KeyCode::Tab if m.contains(KeyModifiers::SHIFT) => {
            m.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        KeyCode::BackTab => {
            m.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        other => other,
    };
    KeyBinding { code, modifiers: m }
}

impl KeyBinding {
    /// Whether a key the terminal reported is this binding (crossterm reports `A` as
    /// `Char('A')` + SHIFT and shift-tab as `BackTab` + SHIFT; both are normalised away).
    pub fn matches(&self, code: KeyCode, modifiers: KeyModifiers) -> bool {
        let seen = match code {
            // Shift is already in the character's case; don't upper-case e.g. '?' twice.
            KeyCode::Char(c) => KeyBinding {
                code: KeyCode::Char(c),
                modifiers: modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT),
            },
            other => normalize(other, modifiers),
        };
        seen == *self
    }
}

impl fmt::Display for KeyBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Insert => f.write_str("ins"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> KeyBinding {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_documented_forms() {
        let kb = |code, modifiers| KeyBinding { code, modifiers };
        let none = KeyModifiers::NONE;
        assert_eq!(k("a"), kb(KeyCode::Char('a'), none));
        assert_eq!(k("A"), kb(KeyCode::Char('A'), none));
        assert_eq!(k("shift-a"), k("A"));
        assert_eq!(k("ctrl-d"), kb(KeyCode::Char('d'), KeyModifiers::CONTROL));
        assert_eq!(k("Ctrl+D"), kb(KeyCode::Char('D'), KeyModifiers::CONTROL));
        assert_eq!(k("c-d"), k("ctrl-d"));
        assert_eq!(k("ctrl--"), kb(KeyCode::Char('-'), KeyModifiers::CONTROL));
        assert_eq!(k("alt-enter"), kb(KeyCode::Enter, KeyModifiers::ALT));
        assert_eq!(k("enter"), kb(KeyCode::Enter, none));
        assert_eq!(k("esc"), kb(KeyCode::Esc, none));
        assert_eq!(k("tab"), kb(KeyCode::Tab, none));
        assert_eq!(k("shift-tab"), kb(KeyCode::BackTab, none));
        assert_eq!(k("PgUp"), kb(KeyCode::PageUp, none));
        assert_eq!(k("f1"), kb(KeyCode::F(1), none));
        assert_eq!(k("F12"), kb(KeyCode::F(12), none));
        assert_eq!(k("?"), kb(KeyCode::Char('?'), none));
        assert_eq!(k("-"), kb(KeyCode::Char('-'), none));
        assert_eq!(k("space"), kb(KeyCode::Char(' '), none));
    }

    #[test]
    fn refuses_nonsense_with_help() {
        for bad in ["", "ctrl-", "hyper-x", "foo", "f0", "f25", "ctrl-enterr"] {
            let e = bad.parse::<KeyBinding>().unwrap_err();
            assert!(e.0.contains("expected a character"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "a",
            "A",
            "?",
            "ctrl-d",
            "alt-x",
            "enter",
            "esc",
            "tab",
            "shift-tab",
            "pgup",
            "pgdn",
            "f1",
            "space",
            "ctrl-alt-del",
            "shift-up",
        ] {
            assert_eq!(k(s).to_string(), s);
            assert_eq!(k(&k(s).to_string()), k(s));
        }
    }

    #[test]
    fn matches_what_terminals_report() {
        assert!(k("P").matches(KeyCode::Char('P'), KeyModifiers::SHIFT));
        assert!(k("P").matches(KeyCode::Char('P'), KeyModifiers::NONE));
        assert!(!k("P").matches(KeyCode::Char('p'), KeyModifiers::NONE));
        assert!(k("?").matches(KeyCode::Char('?'), KeyModifiers::SHIFT));
        assert!(k("shift-tab").matches(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert!(k("ctrl-d").matches(KeyCode::Char('d'), KeyModifiers::CONTROL));
        assert!(!k("ctrl-d").matches(KeyCode::Char('d'), KeyModifiers::NONE));
        assert!(!k("a").matches(KeyCode::Char('a'), KeyModifiers::CONTROL));
    }
}
