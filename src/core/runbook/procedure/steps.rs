//! Steps: the runbook's names resolved (hosts, services, views), each step bound and checked
//! whole, fragments' steps in place of their `include:`, and ids unique.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::super::model::{Confirm, Runbook, StepSpec};
use super::for_each::{EACH, SPARE};
use super::include::Included;
use super::{At, Context, Source, Step};
use crate::text::yaml::{self, YamlError};

const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

impl Context<'_> {
    /// Every step of the runbook, a fragment's steps where it is included, for-each steps
    /// repeated.
    pub(super) fn bind_steps(
        &self,
        runbook: &Runbook,
        included: &[Option<Included>],
        text: &str,
        path: &Path,
        group_leader: Option<usize>,
    ) -> Result<Vec<Step>, YamlError> {
        // Where each bound step came from, so an error about it points into its own file.
        let mut origins: Vec<Source> = Vec::new();
        let mut steps = Vec::new();
        for (index, (spec, fragment)) in runbook.steps.iter().zip(included).enumerate() {
            let Some(fragment) = fragment else {
                let source = Source {
                    text,
                    path,
                    index,
                    included: false,
                };
                let bound = self.steps(spec, &source, group_leader)?;
                origins.extend(bound.iter().map(|_| source));
                steps.extend(bound);
                continue;
            };
            for (inner, inner_spec) in fragment.fragment.steps.iter().enumerate() {
                let inner_source = Source {
                    text: &fragment.text,
                    path: &fragment.path,
                    index: inner,
                    included: true,
                };
                if inner_spec.include.is_some() {
                    return Err(inner_source
                        .error(&["include"], "fragments cannot include other fragments"));
                }
                let bound = self.steps(inner_spec, &inner_source, group_leader)?;
                origins.extend(bound.iter().map(|_| inner_source));
                steps.extend(bound);
            }
        }
        let mut seen = BTreeSet::new();
        for (step, origin) in steps.iter().zip(&origins) {
            if !seen.insert(step.id.clone()) {
                return Err(origin.error(&["id"], format!("step id `{}` is used twice", step.id)));
            }
        }
        if steps.is_empty() {
            return Err(yaml::error_at(
                text,
                path,
                &["steps"],
                "a runbook needs at least one step",
            ));
        }
        Ok(steps)
    }

    /// A host by the runbook's name for it, or `each`; servers the runbook does not list are
    /// reached only as `each`.
    pub(super) fn named(&self, name: &str) -> Option<usize> {
        if name == EACH {
            return self.each;
        }
        if name == SPARE && self.spare.is_some() {
            return self.spare;
        }
        self.hosts
            .iter()
            .position(|h| h.from_runbook && h.name == name)
    }

    pub(super) fn host(&self, name: &str, at: &At) -> Result<usize, YamlError> {
        self.named(name).ok_or_else(|| {
            if name == EACH {
                at.error("`each` names a server only in a step with `for-each`")
            } else if name == SPARE {
                at.error("`spare` names a host only in a step with `for-each: {…, spare: true}`")
            } else {
                at.error(format!("no host `{name}` in the runbook's `hosts`"))
            }
        })
    }

    /// The service in front of runbook host `name`.
    pub(super) fn service(&self, name: &str, at: &At) -> Result<usize, YamlError> {
        let host = self.host(name, at)?;
        self.services
            .iter()
            .position(|s| s.serves == host)
            .ok_or_else(|| {
                at.error(format!(
                    "no service serves `{name}` ({}): add one to the inventory's `services`",
                    self.hosts[host].inventory.name
                ))
            })
    }

    pub(super) fn view(&self, name: &str, at: &At) -> Result<String, YamlError> {
        if self.views.contains_key(name) {
            Ok(name.to_string())
        } else {
            Err(at.error(format!("no view named `{name}` in `views`")))
        }
    }

    pub(super) fn step(&self, spec: &StepSpec, source: &Source) -> Result<Step, YamlError> {
        let id = spec
            .id
            .clone()
            .ok_or_else(|| source.error(&[], "a step needs an `id`"))?;
        if id.trim().is_empty() {
            return Err(source.error(
                &["id"],
                "a step id cannot be empty: the audit log, approvals and --resume name steps by it",
            ));
        }
        let title = spec
            .title
            .clone()
            .ok_or_else(|| source.error(&["id"], format!("step `{id}` needs a `title`")))?;
        let commands = source.each("run", &spec.run, |c, at| self.command(c, at))?;
        let rollback = source.each("rollback", &spec.rollback, |c, at| self.command(c, at))?;
        let effects = source.each("effect", &spec.effect, |e, at| self.effect(e, at))?;
        let gates = source.each("gates", &spec.gates, |g, at| self.gate(g, at))?;
        let wait = self.wait(spec.wait.as_ref(), source)?;
        let timeout = match &spec.timeout {
            None => DEFAULT_COMMAND_TIMEOUT,
            Some(t) => match crate::text::duration::parse(t) {
                Ok(timeout) if timeout.is_zero() => {
                    return Err(source.error(
                        &["timeout"],
                        "a timeout of 0 ends every command before it starts: give a real one",
                    ))
                }
                Ok(timeout) => timeout,
                Err(e) => return Err(source.error(&["timeout"], e.to_string())),
            },
        };
        if spec.confirm == Confirm::TypeHost && commands.is_empty() {
            return Err(source.error(
                &["confirm"],
                format!("step `{id}`: type-host needs a command on a host"),
            ));
        }
        for (i, acceptance) in spec.accepts.iter().enumerate() {
            if acceptance.hazard == super::super::model::Hazard::Unsupported {
                return Err(source.error(
                    &["accepts", &i.to_string(), "hazard"],
                    "a step the ZooKeeper version cannot do cannot be accepted",
                ));
            }
            if acceptance.reason.trim().is_empty() {
                return Err(source.error(
                    &["accepts", &i.to_string(), "reason"],
                    "an accepted hazard needs its reason",
                ));
            }
        }
        Ok(Step {
            id,
            title,
            explain: spec.explain.clone().unwrap_or_default(),
            commands,
            parallel: spec.parallel,
            effects,
            gates,
            wait,
            confirm: spec.confirm,
            approval: spec.approval,
            accepts: spec.accepts.clone(),
            rollback,
            timeout,
            leader_last: None,
            each: None,
        })
    }
}
