//! The theme's fields, declared once: the macro generates the resolved struct (`Color`s), the
//! partial "patch" struct a TOML file deserialises into (every field optional, unknown fields
//! refused) and the code that applies a patch, so the two can never drift apart.

use ratatui::style::Color;
use serde::Deserialize;
use toml::Spanned;

use super::{Ctx, ThemeError};

macro_rules! theme_sections {
    ($(
        $(#[$sm:meta])*
        $section:ident: $ty:ident / $patch:ident {
            $( $(#[$fm:meta])* $field:ident ),+ $(,)?
        }
    )+) => {
        $(
            $(#[$sm])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub struct $ty { $( $(#[$fm])* pub $field: Color, )+ }

            impl $ty {
                fn uniform(c: Color) -> Self {
                    Self { $( $field: c, )+ }
                }
                fn push_colors(&self, out: &mut Vec<(&'static str, Color)>) {
                    $( out.push((concat!(stringify!($section), ".", stringify!($field)), self.$field)); )+
                }
            }

            #[derive(Debug, Default, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub(super) struct $patch { $( $field: Option<Spanned<String>>, )+ }

            impl $patch {
                fn apply(&self, onto: &mut $ty, ctx: &Ctx<'_>) -> Result<(), ThemeError> {
                    $(
                        if let Some(v) = &self.$field {
                            onto.$field = ctx.color(
                                concat!(stringify!($section), ".", stringify!($field)), v)?;
                        }
                    )+
                    Ok(())
                }
                fn missing(&self, out: &mut Vec<String>) {
                    $(
                        if self.$field.is_none() {
                            out.push(concat!(stringify!($section), ".", stringify!($field)).into());
                        }
                    )+
                }
            }
        )+

        /// Semantic UI colours plus the syntect theme for code. Widgets ask for a meaning
        /// (`theme.phase.running`), never a literal colour, so every pixel follows the theme.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Theme {
            $( pub $section: $ty, )+
            /// A syntect built-in theme name (see `SYNTAX_THEMES`).
            pub syntax_theme: String,
        }

        /// A theme file: a partial patch over the built-in named by `extends`.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct ThemeFile {
            pub(super) extends: Option<Spanned<String>>,
            pub(super) syntax_theme: Option<Spanned<String>>,
            $( #[serde(default)] $section: $patch, )+
        }

        impl ThemeFile {
            pub(super) fn apply_colors(&self, onto: &mut Theme, ctx: &Ctx<'_>) -> Result<(), ThemeError> {
                $( self.$section.apply(&mut onto.$section, ctx)?; )+
                Ok(())
            }
            pub(super) fn missing(&self) -> Vec<String> {
                let mut out = Vec::new();
                $( self.$section.missing(&mut out); )+
                if self.syntax_theme.is_none() {
                    out.push("syntax_theme".into());
                }
                out
            }
        }

        impl Theme {
            /// Every field the same colour: `plain()` uses `Reset` (for `NO_COLOR`).
            pub(super) fn uniform(c: Color, syntax_theme: &str) -> Self {
                Self { $( $section: $ty::uniform(c), )+ syntax_theme: syntax_theme.into() }
            }
            /// `("section.field", colour)` for every colour, for checks and previews.
            pub fn colors(&self) -> Vec<(&'static str, Color)> {
                let mut out = Vec::new();
                $( self.$section.push_colors(&mut out); )+
                out
            }
        }
    };
}

theme_sections! {
    /// Text and chrome shared by every pane.
    base: BaseColors / BasePatch {
        /// Normal text.
        fg,
        /// Pane background (`reset` = the terminal's own).
        bg,
        /// Secondary text: timestamps, hints, disabled items.
        dim,
        /// Keys in hints, links, the focused element's highlights.
        accent,
        /// Pane titles.
        title,
        /// Table column headers.
        header,
        /// Background behind search hits.
        search_match,
    }
    /// Pane borders.
    border: BorderColors / BorderPatch { normal, focused }
    /// The selected row.
    selection: SelectionColors / SelectionPatch { fg, bg }
    /// Status line messages.
    status: StatusColors / StatusPatch { ok, warn, error }
    /// AgenticTask phases (plus the console's own approval gate).
    phase: PhaseColors / PhasePatch {
        pending, scheduled, running, awaiting_approval, succeeded, failed,
    }
    /// Result verdicts.
    verdict: VerdictColors / VerdictPatch { go, no_go, incomplete }
    /// Diff view (foreground colours).
    diff: DiffColors / DiffPatch { added, removed, hunk_header, line_number }
    /// Transcript entries.
    transcript: TranscriptColors / TranscriptPatch { assistant, tool_call, tool_result, retry }
}
