//! Commands: a step's `run`, `rollback` and `check` commands as the exact text the remote shell
//! runs: an inventory verb or shell text, with every value shell-quoted.

use super::super::model::CommandSpec;
use super::{At, Context, StepCommand};
use crate::text::yaml::YamlError;

impl Context<'_> {
    pub(super) fn command(&self, spec: &CommandSpec, at: &At) -> Result<StepCommand, YamlError> {
        let host = self.host(&spec.host, at)?;
        let bound = &self.hosts[host];
        let mut text = match (&spec.verb, &spec.shell) {
            (Some(verb), None) => bound
                .inventory
                .command(verb)
                .map(str::to_string)
                .ok_or_else(|| {
                    at.error(format!(
                        "inventory host `{}` has no `{verb}` command",
                        bound.inventory.name
                    ))
                })?,
            (None, Some(shell)) => {
                let at = at.below("shell");
                if let Err(misplaced) = crate::text::shell::check_placeholders(shell) {
                    let name: String = shell[misplaced.offset..]
                        .chars()
                        .take_while(|c| *c != '}')
                        .take(40)
                        .chain(['}'])
                        .collect();
                    return Err(at.error(format!(
                            "`{name}` (character {}) is {}: a value can only stand where the shell sees a word of its own; put it there, or pass it in `args`",
                            shell[..misplaced.offset].chars().count() + 1,
                            misplaced.reason
                        ),
                    ));
                }
                self.interpolate(shell, &at, true)?
            }
            _ => {
                return Err(at.error("a command has either `verb` or `shell`, not both or neither"))
            }
        };
        for arg in &spec.args {
            if let Some(view) = arg
                .strip_prefix("${view:")
                .and_then(|rest| rest.strip_suffix('}'))
            {
                let view = self
                    .views
                    .get(view)
                    .ok_or_else(|| at.error(format!("no view named `{view}`")))?;
                for line in view.servers() {
                    text.push(' ');
                    text.push_str(&crate::text::shell::quote(&line.to_string()));
                }
            } else {
                text.push(' ');
                text.push_str(&crate::text::shell::quote(
                    &self.interpolate(arg, at, false)?,
                ));
            }
        }
        let stdin = spec
            .stdin
            .as_deref()
            .map(|s| self.interpolate(s, at, false))
            .transpose()?;
        Ok(StepCommand { host, text, stdin })
    }
}
