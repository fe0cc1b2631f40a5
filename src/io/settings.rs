//! Adapter: the user's settings on disk and in the environment — the theme to use, from
//! `--theme`, the config file in the XDG config dir, or the default; `NO_COLOR`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::text::yaml;
use crate::view::theme::Theme;
use crate::view::{Look, Symbols};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    ascii: Option<bool>,
}

/// `$XDG_CONFIG_HOME/zkpilot` or `~/.config/zkpilot` (only absolute values count).
pub fn config_dir() -> Option<PathBuf> {
    super::zkpilot_dir("XDG_CONFIG_HOME", ".config", "")
}

/// The look to draw with: `--theme` (a shipped name, a name under the config dir's `themes/`,
/// or a path), else the config file's `theme:`, else `dark`; `NO_COLOR` drops colours and
/// `--ascii` (or `ascii: true`) the non-ASCII glyphs.
pub fn look(theme_choice: Option<&str>, ascii_flag: bool) -> Result<Look, String> {
    let config_dir = config_dir();
    let config = match config_dir.as_ref().map(|d| d.join("config.yaml")) {
        Some(path) if path.exists() => {
            let text = crate::io::input_file::read_text(&path)?;
            yaml::from_str::<ConfigFile>(&text, &path).map_err(|e| e.to_string())?
        }
        _ => ConfigFile::default(),
    };
    let choice = theme_choice
        .map(str::to_string)
        .or(config.theme)
        .unwrap_or_else(|| "dark".into());
    let mut theme = load_theme(&choice, config_dir.as_deref())?;
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        theme = theme.without_colour();
    }
    let ascii = ascii_flag || config.ascii.unwrap_or(false);
    Ok(Look {
        theme,
        symbols: if ascii {
            Symbols::ASCII
        } else {
            Symbols::UNICODE
        },
    })
}

fn load_theme(choice: &str, config_dir: Option<&Path>) -> Result<Theme, String> {
    let is_path = choice.contains('/') || choice.ends_with(".yaml") || choice.ends_with(".yml");
    if !is_path {
        if let Some(dir) = config_dir {
            let user = dir.join("themes").join(format!("{choice}.yaml"));
            if user.exists() {
                return read_theme(&user);
            }
        }
        return Theme::builtin(choice).ok_or_else(|| {
            let names: Vec<&str> = crate::view::theme::BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect();
            format!(
                "no theme named `{choice}`: shipped themes are {}, or give a path to a theme file",
                names.join(", ")
            )
        });
    }
    read_theme(Path::new(choice))
}

fn read_theme(path: &Path) -> Result<Theme, String> {
    let text = crate::io::input_file::read_text(path)?;
    Theme::parse(&text, path).map_err(|e| e.to_string())
}
