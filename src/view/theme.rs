//! Themes: YAML files mapping semantic roles (leader, down, danger, muted…) to colours and
//! modifiers, so views ask for meaning, never for a colour. Jump hosts have poor terminals: a
//! 16-colour theme ships, and `NO_COLOR` drops every colour while keeping bold and reverse.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::text::yaml::{self, YamlError};

/// What a piece of the screen means; each theme gives every role a style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Text,
    Muted,
    Accent,
    Border,
    Title,
    Selected,
    Leader,
    Follower,
    Observer,
    Standalone,
    Looking,
    Down,
    Ok,
    Warning,
    Danger,
}

impl Role {
    pub const ALL: [Role; 15] = [
        Role::Text,
        Role::Muted,
        Role::Accent,
        Role::Border,
        Role::Title,
        Role::Selected,
        Role::Leader,
        Role::Follower,
        Role::Observer,
        Role::Standalone,
        Role::Looking,
        Role::Down,
        Role::Ok,
        Role::Warning,
        Role::Danger,
    ];
}

/// The themes shipped in `themes/`, built into the binary so it works from any directory.
pub const BUILTIN: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.yaml")),
    ("light", include_str!("../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yaml"),
    ),
    ("basic16", include_str!("../../themes/basic16.yaml")),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<Role, Style>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    roles: BTreeMap<Role, StyleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    #[serde(default)]
    fg: Option<ColorSpec>,
    #[serde(default)]
    bg: Option<ColorSpec>,
    #[serde(default)]
    modifiers: Vec<ModifierSpec>,
}

#[derive(Deserialize)]
#[serde(try_from = "ColorScalar")]
struct ColorSpec(Color);

/// A colour is written as a name, `#rrggbb` or a 256-colour index; YAML reads the index as a
/// number and the rest as strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum ColorScalar {
    Index(u64),
    Text(String),
}

impl TryFrom<ColorScalar> for ColorSpec {
    type Error = String;

    fn try_from(value: ColorScalar) -> Result<Self, Self::Error> {
        match value {
            ColorScalar::Index(index) => u8::try_from(index)
                .map(|i| ColorSpec(Color::Indexed(i)))
                .map_err(|_| format!("colour index {index} is not between 0 and 255")),
            ColorScalar::Text(text) => parse_color(&text).map(ColorSpec),
        }
    }
}

fn parse_color(text: &str) -> Result<Color, String> {
    if let Some(hex) = text.strip_prefix('#') {
        let channel = |range: std::ops::Range<usize>| {
            hex.get(range).and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        return match (hex.len(), channel(0..2), channel(2..4), channel(4..6)) {
            (6, Some(r), Some(g), Some(b)) => Ok(Color::Rgb(r, g, b)),
            _ => Err(format!("`{text}` is not a #rrggbb colour")),
        };
    }
    let color = match text {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "dark_gray" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => {
            return Err(format!(
            "unknown colour `{text}`: use a name (red, light_blue, dark_gray…), #rrggbb or 0-255"
        ))
        }
    };
    Ok(color)
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModifierSpec {
    Bold,
    Dim,
    Italic,
    Underlined,
    Reversed,
}

impl ModifierSpec {
    fn modifier(&self) -> Modifier {
        match self {
            ModifierSpec::Bold => Modifier::BOLD,
            ModifierSpec::Dim => Modifier::DIM,
            ModifierSpec::Italic => Modifier::ITALIC,
            ModifierSpec::Underlined => Modifier::UNDERLINED,
            ModifierSpec::Reversed => Modifier::REVERSED,
        }
    }
}

impl Theme {
    /// Parses a theme file. Every role must be given: a theme that forgets `danger` would hide
    /// the one thing it must show.
    pub fn parse(text: &str, path: &Path) -> Result<Theme, YamlError> {
        let file: ThemeFile = yaml::from_str(text, path)?;
        if let Some(missing) = Role::ALL.iter().find(|r| !file.roles.contains_key(r)) {
            let key = format!("{missing:?}").to_lowercase();
            return Err(yaml::error_at(
                text,
                path,
                &["roles"],
                format!("roles: `{key}` is missing; every role needs a style"),
            ));
        }
        let styles = file
            .roles
            .into_iter()
            .map(|(role, spec)| {
                let mut style = Style::default();
                if let Some(fg) = spec.fg {
                    style = style.fg(fg.0);
                }
                if let Some(bg) = spec.bg {
                    style = style.bg(bg.0);
                }
                for modifier in &spec.modifiers {
                    style = style.add_modifier(modifier.modifier());
                }
                (role, style)
            })
            .collect();
        Ok(Theme {
            name: file.name,
            styles,
        })
    }

    /// A shipped theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Theme::parse(text, Path::new(&format!("themes/{name}.yaml"))).ok()
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }

    /// The same theme without colours, for `NO_COLOR`: meaning is still carried by bold,
    /// reverse and the symbols views draw.
    pub fn without_colour(mut self) -> Theme {
        for style in self.styles.values_mut() {
            style.fg = None;
            style.bg = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses_and_styles_every_role() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(text, Path::new(name)).unwrap();
            assert_eq!(theme.name, name);
            for role in Role::ALL {
                assert!(theme.styles.contains_key(&role), "{name} lacks {role:?}");
            }
        }
    }

    #[test]
    fn basic16_uses_only_the_sixteen_ansi_colours() {
        let theme = Theme::builtin("basic16").unwrap();
        for style in theme.styles.values() {
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(color, Color::Rgb(..) | Color::Indexed(_)),
                    "{color:?}"
                );
            }
        }
    }

    #[test]
    fn no_colour_keeps_modifiers() {
        let theme = Theme::builtin("dark").unwrap().without_colour();
        let leader = theme.style(Role::Leader);
        assert_eq!(leader.fg, None);
        assert!(leader.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn colours_in_every_notation() {
        assert_eq!(parse_color("#ff8000"), Ok(Color::Rgb(255, 128, 0)));
        assert_eq!(parse_color("dark_gray"), Ok(Color::DarkGray));
        assert!(parse_color("#ff80").is_err());
        assert!(parse_color("#gg0000").is_err());
        assert!(parse_color("grean").unwrap_err().contains("grean"));
    }

    #[test]
    fn a_bad_colour_names_file_line_and_key() {
        let text = BUILTIN[0].1.replacen("fg: green", "fg: grean", 1);
        let err = Theme::parse(&text, Path::new("themes/x.yaml")).unwrap_err();
        let line = text.lines().position(|l| l.contains("grean")).unwrap() + 1;
        assert_eq!(err.line, line, "{err}");
        assert!(err.to_string().starts_with("themes/x.yaml:"), "{err}");
        assert!(err.message.contains("grean"), "{err}");
    }

    #[test]
    fn an_unknown_role_or_key_is_refused_with_its_position() {
        let text = "name: t\nroles:\n  leeder: {fg: red}\n";
        let err = Theme::parse(text, Path::new("t.yaml")).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let text = "name: t\ncolour: 1\nroles: {}\n";
        let err = Theme::parse(text, Path::new("t.yaml")).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn a_missing_role_is_named() {
        let text = "name: t\nroles:\n  text: {fg: red}\n";
        let err = Theme::parse(text, Path::new("t.yaml")).unwrap_err();
        assert!(err.message.contains("`muted` is missing"), "{err}");
    }
}
