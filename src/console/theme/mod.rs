//! Console colour themes: semantic colours (task phases, verdicts, diff, transcript) instead of
//! hard-coded ones, so light terminals stay readable (console-anchors §4 item 2).
//!
//! Three built-ins are embedded (`dark`, `light`, `high-contrast`, from `themes/*.toml`). A
//! user theme file is a *patch*: `extends = "light"` plus only the fields it changes
//! (gitui/yazi style). `extends` names a built-in only, so chains cannot loop.

mod color;
mod sections;

use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;

pub use color::{COLOR_HELP, approx_rgb, contrast_ratio, parse_color};
use sections::ThemeFile;
pub use sections::{
    BaseColors, BorderColors, DiffColors, PhaseColors, SelectionColors, StatusColors, Theme,
    TranscriptColors, VerdictColors,
};

/// Built-in theme names and their embedded sources.
pub const BUILTIN_THEMES: [(&str, &str); 3] = [
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
];

/// The theme used when nothing is configured and what a patch extends by default.
pub const DEFAULT_THEME: &str = "dark";

/// Theme problems, each naming the file (or built-in), the field and where it is.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("{origin}:{line}:{col}: {message}")]
    Parse {
        origin: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{origin}:{line}: `{field}` = {value:?}: {reason}")]
    BadColor {
        origin: String,
        line: usize,
        field: String,
        value: String,
        reason: String,
    },
    #[error("{origin}:{line}: unknown syntax_theme {name:?}; use one of: {known}")]
    UnknownSyntaxTheme {
        origin: String,
        line: usize,
        name: String,
        known: String,
    },
    #[error(
        "{origin}: unknown theme {name:?}; built-ins are {builtins}, or give a path to a .toml file"
    )]
    UnknownTheme {
        origin: String,
        name: String,
        builtins: String,
    },
    #[error("{origin}: a built-in theme must set every field; missing: {}", missing.join(", "))]
    Incomplete {
        origin: String,
        missing: Vec<String>,
    },
    #[error("cannot read theme file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where in a source text errors point; shared by every field check of one file.
pub(crate) struct Ctx<'a> {
    origin: &'a str,
    src: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> (usize, usize) {
        line_col(self.src, offset)
    }

    fn color(&self, field: &str, v: &Spanned<String>) -> Result<Color, ThemeError> {
        parse_color(v.get_ref()).map_err(|reason| ThemeError::BadColor {
            origin: self.origin.into(),
            line: self.line(v.span().start).0,
            field: field.into(),
            value: v.get_ref().clone(),
            reason,
        })
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset.min(src.len())).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The syntect themes that ship with `ThemeSet::load_defaults()`.
pub fn syntax_theme_names() -> Vec<String> {
    let mut names: Vec<String> = syntect::highlighting::ThemeSet::load_defaults()
        .themes
        .into_keys()
        .collect();
    names.sort();
    names
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin(DEFAULT_THEME).unwrap_or_else(|_| Theme::plain())
    }
}

impl Theme {
    /// No colours at all: every field `Reset` (for `NO_COLOR` and as a last-resort fallback).
    pub fn plain() -> Self {
        Theme::uniform(Color::Reset, "base16-ocean.dark")
    }

    /// One of `BUILTIN_THEMES` by name.
    pub fn builtin(name: &str) -> Result<Theme, ThemeError> {
        let (n, src) = BUILTIN_THEMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| unknown(name, "theme"))?;
        let origin = format!("built-in theme {n}");
        let file = parse_file(src, &origin)?;
        let missing = file.missing();
        if !missing.is_empty() {
            return Err(ThemeError::Incomplete { origin, missing });
        }
        let mut theme = Theme::plain();
        apply(
            &file,
            &mut theme,
            &Ctx {
                origin: &origin,
                src,
            },
        )?;
        Ok(theme)
    }

    /// A theme file's text: its patch over `extends` (default `dark`).
    pub fn from_toml(src: &str, origin: &str) -> Result<Theme, ThemeError> {
        let ctx = Ctx { origin, src };
        let file = parse_file(src, origin)?;
        let mut theme = match &file.extends {
            None => Theme::builtin(DEFAULT_THEME)?,
            Some(base) => Theme::builtin(base.get_ref()).map_err(|e| match e {
                ThemeError::UnknownTheme { name, builtins, .. } => ThemeError::UnknownTheme {
                    origin: format!("{origin}:{}: extends", ctx.line(base.span().start).0),
                    name,
                    builtins,
                },
                other => other,
            })?,
        };
        apply(&file, &mut theme, &ctx)?;
        Ok(theme)
    }

    /// `ui.theme` from the config: a built-in name, a path to a `.toml` file, or the name of a
    /// file `NAME.toml` in `themes_dir` (e.g. `~/.config/foreman/themes`).
    pub fn load(spec: &str, themes_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let spec = spec.trim();
        if BUILTIN_THEMES
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(spec))
        {
            return Theme::builtin(spec);
        }
        let path = if spec.contains('/') || spec.ends_with(".toml") {
            PathBuf::from(spec)
        } else {
            match themes_dir.map(|d| d.join(format!("{spec}.toml"))) {
                Some(p) if p.exists() => p,
                _ => return Err(unknown(spec, "ui.theme")),
            }
        };
        let src = std::fs::read_to_string(&path).map_err(|source| ThemeError::Io {
            path: path.clone(),
            source,
        })?;
        Theme::from_toml(&src, &path.display().to_string())
    }

    /// Normal text on the pane background.
    pub fn text(&self) -> Style {
        Style::default().fg(self.base.fg).bg(self.base.bg)
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        Style::default().fg(self.base.dim)
    }

    /// A pane title (bold, so it reads even with colours off).
    pub fn title(&self) -> Style {
        Style::default()
            .fg(self.base.title)
            .add_modifier(Modifier::BOLD)
    }

    /// A pane border, brighter when focused.
    pub fn border(&self, focused: bool) -> Style {
        let c = if focused {
            self.border.focused
        } else {
            self.border.normal
        };
        Style::default().fg(c)
    }

    /// The selected row of a table: reversed, so every cell keeps its own colour (a Running
    /// state stays the running colour, now as the cell's background) instead of all taking
    /// the selection's, which can equal a state's colour and hide it.
    pub fn selected_row(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// The selected row (reversed when the theme leaves selection at `reset`).
    pub fn selection(&self) -> Style {
        if self.selection.bg == Color::Reset {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().fg(self.selection.fg).bg(self.selection.bg)
        }
    }
}

fn unknown(name: &str, origin: &str) -> ThemeError {
    ThemeError::UnknownTheme {
        origin: origin.into(),
        name: name.into(),
        builtins: BUILTIN_THEMES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn parse_file(src: &str, origin: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str(src).map_err(|e: toml::de::Error| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(src, s.start));
        ThemeError::Parse {
            origin: origin.into(),
            line,
            col,
            message: e.message().trim().to_string(),
        }
    })
}

fn apply(file: &ThemeFile, theme: &mut Theme, ctx: &Ctx<'_>) -> Result<(), ThemeError> {
    file.apply_colors(theme, ctx)?;
    if let Some(st) = &file.syntax_theme {
        let known = syntax_theme_names();
        if !known.iter().any(|k| k == st.get_ref()) {
            return Err(ThemeError::UnknownSyntaxTheme {
                origin: ctx.origin.into(),
                line: ctx.line(st.span().start).0,
                name: st.get_ref().clone(),
                known: known.join(", "),
            });
        }
        theme.syntax_theme = st.get_ref().clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
