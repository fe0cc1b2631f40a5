//! Pre-flight: before a run's first step, and as `zkpilot inventory check`, every host is
//! reached over SSH with strict host keys and runs the inventory's read-only verbs. A host
//! that fails is named with why, so a migration never stops half done at the first host it
//! could not reach. The judging and the report are pure; `check_hosts` is the thin adapter.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::inventory::{Host, HostRole, Inventory, SshDefaults, READ_ONLY_VERBS};
use crate::net::remote::{Connections, Outcome, SshTarget, Stream};
use crate::runbook::procedure::{Gate, Procedure};
use crate::text::escape::sanitize;

/// How long one read-only verb may take.
const VERB_TIMEOUT: Duration = Duration::from_secs(20);
/// How much of a verb's first output line the report shows.
const SHOWN_CHARS: usize = 60;

/// What one host answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCheck {
    pub host: String,
    /// `Err`: SSH itself failed, so no verb ran.
    pub ssh: Result<(), String>,
    /// Each read-only verb the inventory defines for the host, and what it showed or why
    /// it failed.
    pub verbs: Vec<(String, Result<String, String>)>,
}

impl HostCheck {
    pub fn ok(&self) -> bool {
        self.ssh.is_ok() && self.verbs.iter().all(|(_, r)| r.is_ok())
    }

    /// Why the host fails, in one line; `None` when it passes.
    pub fn failure(&self) -> Option<String> {
        if let Err(why) = &self.ssh {
            return Some(why.clone());
        }
        let failed: Vec<String> = self
            .verbs
            .iter()
            .filter_map(|(verb, r)| r.as_ref().err().map(|why| format!("`{verb}` {why}")))
            .collect();
        (!failed.is_empty()).then(|| format!("{}: {}", self.host, failed.join("; ")))
    }
}

/// How a verb's run is judged. A verb whose answer is a state (`status`: LSB exit codes 0-3,
/// running or not; `data-empty`: 0 or 1) passes with any of those; `config` and `log` must
/// exit 0, except on a spare, which may have neither yet. 126 and 127 mean the command could
/// not even start.
pub fn judge(
    verb: &str,
    role: HostRole,
    outcome: &Outcome,
    first_line: Option<&str>,
) -> Result<String, String> {
    let shown = first_line
        .map(|l| sanitize(l).chars().take(SHOWN_CHARS).collect::<String>())
        .unwrap_or_default();
    let code = match outcome {
        Outcome::NotRun(e) => return Err(e.to_string()),
        Outcome::Unknown { reason, .. } => return Err(format!("gave no answer: {reason}")),
        Outcome::Exited { code: None, .. } => return Err("was killed by a signal".into()),
        Outcome::Exited {
            code: Some(code), ..
        } => *code,
    };
    let said = |text: String| {
        if shown.is_empty() {
            text
        } else {
            format!("{text}: {shown}")
        }
    };
    let accepted = match verb {
        "status" => (0..=3).contains(&code),
        "data-empty" => code == 0 || code == 1,
        _ => code == 0 || role == HostRole::Spare,
    };
    match code {
        126 | 127 => Err(said(format!(
            "cannot run (exit {code}: not found or not executable)"
        ))),
        _ if accepted => Ok(said(format!("exit {code}"))),
        _ => Err(said(format!("failed (exit {code})"))),
    }
}

/// The inventory hosts a runbook's steps run commands on (commands, rollbacks, check gates),
/// as indexes into `procedure.hosts`.
pub fn touched_hosts(procedure: &Procedure) -> Vec<usize> {
    let mut hosts: Vec<usize> = Vec::new();
    for step in &procedure.steps {
        let gates = step
            .gates
            .iter()
            .chain(step.wait.iter().flat_map(|w| w.until.iter()));
        hosts.extend(step.commands.iter().chain(&step.rollback).map(|c| c.host));
        hosts.extend(gates.filter_map(|g| match g {
            Gate::Check { host, .. } => Some(*host),
            _ => None,
        }));
    }
    hosts.sort_unstable();
    hosts.dedup();
    hosts
}

/// The report of `inventory check`: one block per host, what works and what fails.
/// Which SSH client files every host's connection uses: the inventory's `ssh:` block, or for a
/// key it leaves out what OpenSSH's `ssh` (which zkpilot runs) reads by default — `ssh(1)`,
/// `ssh_config(5)`: `~/.ssh/config` then `/etc/ssh/ssh_config` (only the given file with
/// `-F`), the `IdentityFile`s of that config or `~/.ssh/id_*` and an agent's keys,
/// `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`. Host keys are always checked strictly.
pub fn ssh_files(defaults: Option<&SshDefaults>) -> String {
    let given = |pick: fn(&SshDefaults) -> Option<&String>| {
        defaults
            .and_then(pick)
            .map(|path| format!("{} (inventory ssh:)", sanitize(path)))
    };
    let config = given(|d| d.config.as_ref())
        .unwrap_or_else(|| "~/.ssh/config, /etc/ssh/ssh_config (ssh's defaults)".into());
    let identity = given(|d| d.identity.as_ref()).unwrap_or_else(|| {
        "the config's IdentityFile, else ~/.ssh/id_* and an agent's keys (ssh's defaults)".into()
    });
    let known_hosts = given(|d| d.known_hosts.as_ref())
        .unwrap_or_else(|| "~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts (ssh's defaults)".into());
    format!(
        "ssh config:  {config}\nssh key:     {identity}\nknown_hosts: {known_hosts}, strict host key checking\n"
    )
}

pub fn render(checks: &[HostCheck]) -> String {
    let mut out = String::new();
    for check in checks {
        let verdict = if check.ok() { "ok" } else { "FAILED" };
        out.push_str(&format!("{}: {verdict}\n", check.host));
        match &check.ssh {
            Ok(()) => out.push_str("  ssh         ok (strict host key)\n"),
            Err(why) => out.push_str(&format!("  ssh         FAILED: {why}\n")),
        }
        for (verb, result) in &check.verbs {
            match result {
                Ok(text) => out.push_str(&format!("  {verb:<11} ok ({text})\n")),
                Err(why) => out.push_str(&format!("  {verb:<11} FAILED: {why}\n")),
            }
        }
    }
    let failed = checks.iter().filter(|c| !c.ok()).count();
    out.push_str(&match failed {
        0 => format!(
            "{} hosts: every one answers over SSH and runs its read-only verbs\n",
            checks.len()
        ),
        n => format!(
            "{n} of {} hosts FAILED: fix them before the maintenance window\n",
            checks.len()
        ),
    });
    out
}

/// Why a run refuses to start, naming each failing host.
pub fn refusal(checks: &[HostCheck]) -> Option<String> {
    let failures: Vec<String> = checks.iter().filter_map(HostCheck::failure).collect();
    (!failures.is_empty()).then(|| {
        format!(
            "pre-flight failed, nothing was run: {} host{} the runbook touches cannot be used \
             (`zkpilot inventory check` shows every host):\n  {}",
            failures.len(),
            if failures.len() == 1 { "" } else { "s" },
            failures.join("\n  ")
        )
    })
}

/// Connects to every host at once and runs its read-only verbs one after another.
pub async fn check_hosts(
    inventory: &Inventory,
    hosts: &[&Host],
    connections: &Arc<Connections>,
) -> Vec<HostCheck> {
    let mut tasks = JoinSet::new();
    for (index, host) in hosts.iter().enumerate() {
        let target = SshTarget::from_inventory(inventory, host);
        let host = (*host).clone();
        let connections = connections.clone();
        tasks.spawn(async move { (index, check_host(&host, &target, &connections).await) });
    }
    let mut checks: Vec<Option<HostCheck>> = vec![None; hosts.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, check)) = joined {
            checks[index] = Some(check);
        }
    }
    checks
        .into_iter()
        .zip(hosts)
        .map(|(check, host)| {
            check.unwrap_or_else(|| HostCheck {
                host: host.name.clone(),
                ssh: Err(format!("{}: the check itself crashed", host.name)),
                verbs: Vec::new(),
            })
        })
        .collect()
}

async fn check_host(host: &Host, target: &SshTarget, connections: &Connections) -> HostCheck {
    if let Err(e) = connections.probe(target).await {
        return HostCheck {
            host: host.name.clone(),
            ssh: Err(e.to_string()),
            verbs: Vec::new(),
        };
    }
    let mut verbs = Vec::new();
    for verb in READ_ONLY_VERBS {
        let Some(command) = host.command(verb) else {
            continue;
        };
        let (outcome, lines) = connections
            .run_collected(target, command, None, VERB_TIMEOUT)
            .await;
        let mut stdout = None;
        let mut stderr = None;
        for line in lines {
            let slot = match line.stream {
                Stream::Stdout => &mut stdout,
                Stream::Stderr => &mut stderr,
            };
            slot.get_or_insert(line.text);
        }
        let first = if outcome.succeeded() {
            stdout.or(stderr)
        } else {
            stderr.or(stdout)
        };
        verbs.push((
            verb.to_string(),
            judge(verb, host.role, &outcome, first.as_deref()),
        ));
    }
    HostCheck {
        host: host.name.clone(),
        ssh: Ok(()),
        verbs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::remote::ConnectError;

    /// Each file the inventory names is said as given; each it leaves out, as ssh's default.
    #[test]
    fn the_ssh_files_used_are_said() {
        let defaults = SshDefaults {
            identity: Some("/k/id_ed25519".into()),
            known_hosts: None,
            config: Some("/k/config\u{1b}[2J".into()),
        };
        let said = ssh_files(Some(&defaults));
        assert!(
            said.contains("ssh key:     /k/id_ed25519 (inventory ssh:)"),
            "{said}"
        );
        assert!(
            said.contains("~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts (ssh's defaults), strict"),
            "{said}"
        );
        assert!(!said.contains('\u{1b}'), "{said}");
        assert!(ssh_files(None).contains("ssh config:  ~/.ssh/config"));
    }

    fn exited(code: i32) -> Outcome {
        Outcome::Exited {
            code: Some(code),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn verbs_that_answer_with_a_state_pass_with_any_state() {
        let p = HostRole::Participant;
        assert_eq!(
            judge("status", p, &exited(3), Some("stopped")),
            Ok("exit 3: stopped".into())
        );
        assert!(judge("status", p, &exited(4), None).is_err());
        assert!(judge("data-empty", p, &exited(1), None).is_ok());
        assert!(judge("config", p, &exited(1), Some("cat: zoo.cfg: no such file")).is_err());
        assert!(judge("config", HostRole::Spare, &exited(1), None).is_ok());
        let missing = judge("log", p, &exited(127), Some("zkctl: not found")).unwrap_err();
        assert!(missing.contains("cannot run (exit 127"), "{missing}");
        assert!(missing.contains("zkctl: not found"), "{missing}");
        let escaped = judge("status", p, &exited(0), Some("running \u{1b}[2J")).unwrap();
        assert!(!escaped.contains('\u{1b}'), "{escaped}");
    }

    #[test]
    fn a_host_that_cannot_be_reached_is_named_with_why() {
        let unknown = ConnectError::UnknownHostKey { host: "zk2".into() };
        let refused = judge(
            "status",
            HostRole::Participant,
            &Outcome::NotRun(unknown.clone()),
            None,
        );
        assert_eq!(refused, Err(unknown.to_string()));
        let checks = [
            HostCheck {
                host: "zk1".into(),
                ssh: Ok(()),
                verbs: vec![("status".into(), Ok("exit 0: running".into()))],
            },
            HostCheck {
                host: "zk2".into(),
                ssh: Err(unknown.to_string()),
                verbs: Vec::new(),
            },
        ];
        let report = render(&checks);
        assert!(report.contains("zk1: ok\n"), "{report}");
        assert!(
            report.contains(
                "zk2: FAILED\n  ssh         FAILED: zk2: the host key is not in known_hosts"
            ),
            "{report}"
        );
        assert!(
            report.ends_with("1 of 2 hosts FAILED: fix them before the maintenance window\n"),
            "{report}"
        );
        let refusal = refusal(&checks).unwrap();
        assert!(refusal.contains("1 host the runbook touches"), "{refusal}");
        assert!(
            refusal.contains("\n  zk2: the host key is not in known_hosts"),
            "{refusal}"
        );
        assert_eq!(super::refusal(&checks[..1]), None);
    }
}
