//! The diff pane's styles: a plain struct the app fills from its theme.
//!
//! Line tints (the background of added/removed rows) are derived, not configured: the theme's
//! diff foreground blended 20 % into the pane's backdrop (its `base.bg`, or black/white guessed
//! from `base.fg`), so they stay faint on dark and light terminals alike and follow the theme.

use crate::console::theme::{Theme, approx_rgb};
use ratatui::style::{Color, Modifier, Style};

/// Styles of every part of the diff pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffStyle {
    /// Added lines (sign and text when not highlighted).
    pub added: Style,
    /// Removed lines.
    pub removed: Style,
    /// Unchanged context lines.
    pub context: Style,
    /// `@@ -a,b +c,d @@` rows.
    pub hunk_header: Style,
    /// Patched over the header of the current hunk.
    pub hunk_current: Style,
    /// The old/new line-number gutter.
    pub line_number: Style,
    /// File rows of the strip and the file header above the patch.
    pub file_header: Style,
    /// Patched over the current file's row in the strip.
    pub selected_file: Style,
    /// Summary line, notes, truncation markers.
    pub meta: Style,
    /// Background of a highlighted added line (syntax colours go on top).
    pub added_line: Style,
    /// Background of a highlighted removed line.
    pub removed_line: Style,
}

impl Default for DiffStyle {
    fn default() -> Self {
        DiffStyle {
            added: Style::new().fg(Color::Green),
            removed: Style::new().fg(Color::Red),
            context: Style::new(),
            hunk_header: Style::new().fg(Color::Cyan),
            hunk_current: Style::new().add_modifier(Modifier::BOLD),
            line_number: Style::new().add_modifier(Modifier::DIM),
            file_header: Style::new().add_modifier(Modifier::BOLD),
            selected_file: Style::new().add_modifier(Modifier::REVERSED),
            meta: Style::new().add_modifier(Modifier::DIM),
            added_line: Style::new(),
            removed_line: Style::new(),
        }
    }
}

/// Share of the diff colour in a line tint; low enough that syntax colours stay readable.
const TINT: f32 = 0.2;

fn blend(fg: (u8, u8, u8), bg: (u8, u8, u8), t: f32) -> Color {
    let mix = |a: u8, b: u8| (f32::from(a) * t + f32::from(b) * (1.0 - t)).round() as u8;
    Color::Rgb(mix(fg.0, bg.0), mix(fg.1, bg.1), mix(fg.2, bg.2))
}

/// The pane's backdrop: the theme's background, else the opposite of its text colour, else
/// dark (the terminal default on most setups).
fn backdrop(theme: &Theme) -> (u8, u8, u8) {
    if let Some(bg) = approx_rgb(theme.base.bg) {
        return bg;
    }
    match approx_rgb(theme.base.fg) {
        Some((r, g, b)) if u32::from(r) + u32::from(g) + u32::from(b) < 3 * 128 => (255, 255, 255),
        _ => (0, 0, 0),
    }
}

fn tint(diff: Color, back: (u8, u8, u8)) -> Style {
    match approx_rgb(diff) {
        Some(rgb) => Style::new().bg(blend(rgb, back, TINT)),
        None => Style::new(),
    }
}

impl DiffStyle {
    pub fn from_theme(theme: &Theme) -> DiffStyle {
        let back = backdrop(theme);
        let d = &theme.diff;
        DiffStyle {
            added: Style::new().fg(d.added),
            removed: Style::new().fg(d.removed),
            context: Style::new().fg(theme.base.fg),
            hunk_header: Style::new().fg(d.hunk_header),
            hunk_current: Style::new().add_modifier(Modifier::BOLD),
            line_number: Style::new().fg(d.line_number),
            file_header: Style::new()
                .fg(theme.base.title)
                .add_modifier(Modifier::BOLD),
            selected_file: theme.selection(),
            meta: theme.dim(),
            added_line: tint(d.added, back),
            removed_line: tint(d.removed, back),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::theme::contrast_ratio;

    #[test]
    fn tints_stay_close_to_the_backdrop_on_light_and_dark() {
        for name in ["dark", "light", "high-contrast"] {
            let theme = Theme::builtin(name).unwrap();
            let st = DiffStyle::from_theme(&theme);
            let back = backdrop(&theme);
            let back = Color::Rgb(back.0, back.1, back.2);
            for line in [st.added_line, st.removed_line] {
                let bg = line.bg.expect("tinted");
                // Faint: text that reads on the backdrop still reads on the tint.
                let r = contrast_ratio(bg, back).unwrap();
                assert!(r < 1.6, "{name}: tint too strong ({r:.2})");
                assert_ne!(bg, back, "{name}: no tint");
            }
        }
        let light = backdrop(&Theme::builtin("light").unwrap());
        assert_eq!(light, (255, 255, 255));
        assert_eq!(
            DiffStyle::from_theme(&Theme::plain()).added_line,
            Style::new()
        );
    }
}
