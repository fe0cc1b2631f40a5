//! Variables: each declared value (given with `--var` or its default), the secret ones kept
//! apart, and `${…}` in commands and gates replaced by values, hosts' and services' fields.

use std::collections::BTreeMap;

use super::super::model::Runbook;
use super::for_each::{EACH, SPARE};
use super::{At, BindInput, Context};
use crate::text::yaml::YamlError;

/// The value of every declared variable, and those of them marked secret.
pub(super) fn bind_variables(
    runbook: &Runbook,
    input: &BindInput,
    at: &dyn Fn(&[&str], String) -> YamlError,
) -> Result<(BTreeMap<String, String>, Vec<String>), YamlError> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut secrets = Vec::new();
    for (name, variable) in &runbook.variables {
        let value = input
            .variables
            .get(name)
            .cloned()
            .or_else(|| variable.default.clone())
            .ok_or_else(|| {
                at(
                    &["variables", name],
                    format!("variable `{name}` has no default: give it with --var {name}=VALUE"),
                )
            })?;
        if variable.secret && !value.is_empty() {
            secrets.push(value.clone());
        }
        values.insert(name.clone(), value);
    }
    if let Some(unknown) = input
        .variables
        .keys()
        .find(|k| !runbook.variables.contains_key(*k))
    {
        return Err(at(
            &["variables"],
            format!("--var {unknown}: the runbook declares no such variable"),
        ));
    }

    Ok((values, secrets))
}

impl Context<'_> {
    /// Replaces `${name}` (a variable), `${host:NAME.FIELD}` (client, peer, sid, address, ssh;
    /// the field is what follows the last dot, as host names may hold dots)
    /// and `${service:NAME.FIELD}` (client, peer, address of the service serving host NAME).
    /// In shell text every value is quoted, so no value can become code.
    pub(super) fn interpolate(
        &self,
        template: &str,
        at: &At,
        quote: bool,
    ) -> Result<String, YamlError> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| at.error("an unclosed `${`"))?;
            let name = &after[..end];
            let value = self.lookup(name).ok_or_else(|| {
                at.error(format!("`${{{name}}}` is not defined: declare it under `variables` or use ${{host:NAME.client|peer|sid|address}} or ${{service:NAME.client|peer|address}}"))
            })?;
            out.push_str(&if quote {
                crate::text::shell::quote(&value)
            } else {
                value
            });
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(reference) = name.strip_prefix("host:") {
            let (host, field) = reference.rsplit_once('.')?;
            let bound = &self.hosts[self.named(host)?];
            return match field {
                "client" => Some(bound.inventory.client.clone()),
                "peer" => Some(bound.peer.to_string()),
                "sid" => Some(bound.inventory.sid.to_string()),
                "address" => Some(bound.peer.host.clone()),
                "ssh" => Some(bound.inventory.ssh.clone()),
                _ => None,
            };
        }
        if let Some(reference) = name.strip_prefix("service:") {
            let (host, field) = reference.rsplit_once('.')?;
            let host = self.named(host)?;
            let service = self.services.iter().find(|s| s.serves == host)?;
            return match field {
                "client" => Some(service.client.clone()),
                "peer" => Some(service.peer.to_string()),
                "address" => Some(service.peer.host.clone()),
                _ => None,
            };
        }
        if name == EACH {
            return self.each.map(|h| self.hosts[h].inventory.name.clone());
        }
        if let Some(spare) = self.spare.filter(|_| name == SPARE) {
            return Some(self.hosts[spare].inventory.name.clone());
        }
        self.values.get(name).cloned()
    }
}
