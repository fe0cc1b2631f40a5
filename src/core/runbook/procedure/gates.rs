//! Gates and waits: what must hold before a step runs, and what a step waits for after its
//! commands end.

use super::super::model::{CommandSpec, GateSpec, WaitSpec};
use super::{At, Context, Gate, Mode, Source, Wait, Word};
use crate::text::yaml::YamlError;

impl Context<'_> {
    pub(super) fn gate(&self, spec: &GateSpec, at: &At) -> Result<Gate, YamlError> {
        Ok(match spec {
            GateSpec::Synced(_) => Gate::Synced,
            GateSpec::LagBelow(n) => Gate::LagBelow(*n),
            GateSpec::Leader(h) => Gate::Leader(self.host(&h.host, at)?),
            GateSpec::NotLeader(h) => Gate::NotLeader(self.host(&h.host, at)?),
            GateSpec::Down(h) => Gate::Down(self.host(&h.host, at)?),
            GateSpec::Mode(m) => Gate::Mode {
                host: self.host(&m.host, at)?,
                modes: m
                    .is
                    .iter()
                    .map(|text| {
                        Mode::parse(text).ok_or_else(|| {
                            at.error(format!("`{text}` is not a mode: leader, follower, observer, standalone, read-only"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            },
            GateSpec::Fourlw(f) => Gate::Fourlw {
                host: self.host(&f.host, at)?,
                // The poller asks these three; a gate reads its latest answer.
                word: [Word::Srvr, Word::Mntr, Word::Conf]
                    .into_iter()
                    .find(|w| w.as_str() == f.command)
                    .ok_or_else(|| {
                        at.error(format!("a fourlw gate asks srvr, mntr or conf (what the poller polls), not `{}`", f.command))
                    })?,
                contains: self.interpolate(&f.contains, at, false)?,
            },
            GateSpec::Check(c) => {
                // Gates run before the operator confirms the step (and under `--autopilot`
                // without anyone): only a command known to look, never to change, may run then.
                let check = at.below("check");
                if c.shell.is_some() {
                    return Err(check.below("shell").error(format!(
                            "a `check` runs before anyone confirms: it runs a read-only inventory verb ({}, or one the inventory marks `read-only: true`), not `shell`; put the command in `run`",
                            crate::inventory::READ_ONLY_VERBS.join(", ")
                        ),
                    ));
                }
                if let Some(verb) = &c.verb {
                    let host = &self.hosts[self.host(&c.host, at)?].inventory;
                    if host.command(verb).is_some() && !host.is_read_only(verb) {
                        return Err(check.below("verb").error(format!(
                                "a `check` runs before anyone confirms, and `{verb}` on inventory host `{}` is not read-only ({}, or marked `read-only: true` in the inventory)",
                                host.name,
                                crate::inventory::READ_ONLY_VERBS.join(", ")
                            ),
                        ));
                    }
                }
                let spec = CommandSpec {
                    host: c.host.clone(),
                    verb: c.verb.clone(),
                    shell: c.shell.clone(),
                    args: c.args.clone(),
                    stdin: None,
                };
                let command = self.command(&spec, at)?;
                Gate::Check {
                    host: command.host,
                    command: command.text,
                }
            }
        })
    }

    /// A step's `wait:`, whose gates are polled, never run: a `check` cannot be one of them.
    pub(super) fn wait(
        &self,
        spec: Option<&WaitSpec>,
        source: &Source,
    ) -> Result<Option<Wait>, YamlError> {
        Ok(match spec {
            None => None,
            Some(wait) if wait.until.iter().any(|g| matches!(g, GateSpec::Check(_))) => {
                return Err(source.error(
                    &["wait", "until"],
                    "a wait polls the ensemble: a `check` command belongs in `gates`",
                ));
            }
            Some(wait) => Some(Wait {
                timeout: crate::text::duration::parse(&wait.timeout)
                    .map_err(|e| source.error(&["wait", "timeout"], e.to_string()))?,
                until: source
                    .at(&["wait", "until"])
                    .each(&wait.until, |g, at| self.gate(g, at))?,
            }),
        })
    }
}
