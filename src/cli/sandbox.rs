//! `zkpilot sandbox`: up, status, down, partition, heal. Every sandbox error is bad input or
//! the environment (2), like every other command's: a sandbox gives no verdict to fail.

use super::args::SandboxCommand;
use super::{Failure, Kind};
use crate::rehearse::sandbox::{self, SandboxError};

impl From<SandboxError> for Failure {
    fn from(error: SandboxError) -> Failure {
        let kind = match error {
            SandboxError::Invalid(_) | SandboxError::AlreadyUp(_) | SandboxError::NotUp(_) => {
                Kind::BadInput
            }
            SandboxError::Missing { .. }
            | SandboxError::NotRoot
            | SandboxError::NoSlot
            | SandboxError::File { .. }
            | SandboxError::Command { .. }
            | SandboxError::NoLeader { .. } => Kind::Environment,
        };
        Failure::new(kind, error.to_string())
    }
}

pub async fn sandbox(command: SandboxCommand) -> Result<(), Failure> {
    match command {
        SandboxCommand::Up(args) => {
            let options = sandbox::UpOptions {
                voters: args.nodes,
                observers: args.observers,
                spares: args.spare,
                dynamic_reconfig: args.reconfig,
                services: args.services,
                whitelist: args.whitelist.clone(),
                admin: args.admin,
            };
            let statuses = sandbox::up(&args.dir, options).await?;
            print_statuses(&statuses);
            crate::say!(
                "\ninventory: {}\nssh:       ssh -F {} zk1",
                args.dir.join("inventory.yaml").display(),
                args.dir.join("ssh/config").display()
            );
        }
        SandboxCommand::Status(args) => print_statuses(&sandbox::status(&args.dir).await?),
        SandboxCommand::Down(args) => {
            let report = sandbox::down(&args.dir)?;
            if !report.was_up {
                crate::say!("no sandbox running in {}", args.dir.display());
            }
            for stopped in &report.stopped {
                crate::say!("stopped {stopped}");
            }
            if !report.left_running.is_empty() {
                crate::say_err!(
                    "zkpilot: still running after SIGKILL: pids {:?}",
                    report.left_running
                );
            }
        }
        SandboxCommand::Partition(args) => {
            let groups: Vec<Vec<String>> = args
                .groups
                .iter()
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .collect();
            let rules = sandbox::partition(&args.dir, &groups)?;
            crate::say!("partitioned: {rules} firewall rules");
        }
        SandboxCommand::Heal(args) => {
            sandbox::heal(&args.dir)?;
            crate::say!("healed: no partition rules left");
        }
    }
    Ok(())
}

fn print_statuses(statuses: &[sandbox::HostStatus]) {
    crate::say!(
        "{:<6} {:<12} {:<18} {:<8} MODE",
        "HOST",
        "ROLE",
        "CLIENT",
        "PID"
    );
    for s in statuses {
        let pid = s.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
        crate::say!(
            "{:<6} {:<12} {:<18} {:<8} {}",
            s.name,
            s.role.to_string(),
            s.client,
            pid,
            s.mode
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sandbox error exited 1, the status of a hazard, bad input included.
    #[test]
    fn every_sandbox_error_exits_2() {
        let errors = [
            SandboxError::Invalid("--nodes must be at least 1".into()),
            SandboxError::NotUp("/tmp/x".into()),
            SandboxError::AlreadyUp("/tmp/x".into()),
            SandboxError::NotRoot,
            SandboxError::NoSlot,
            SandboxError::NoLeader {
                seconds: 90,
                logs: String::new(),
            },
        ];
        for error in errors {
            let text = error.to_string();
            let failure = Failure::from(error);
            assert_eq!(failure.kind.code(), 2, "{text}");
            assert_eq!(failure.message.as_deref(), Some(text.as_str()));
        }
    }
}
