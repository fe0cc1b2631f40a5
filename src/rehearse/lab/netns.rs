//! Adapter: the lab's private network (`lab elections --netns`, the plan in
//! `zkpilot_core::rehearse::lab::network`): namespaces, veth pairs and nftables tables made
//! with `ip` and `nft`, and the thread that samples the servers from inside the router's
//! namespace — the machine's own namespace never sends anything to the lab's addresses.
//!
//! Everything lives in the namespaces, so deleting them removes the veths and the tables too;
//! `teardown` does that and then checks that no namespace of the run is left.

use std::os::fd::AsRawFd;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::draw::ServiceRoute;
use super::judge::Role;
use super::network::Network;
use super::runner::{finished, LabError};

pub struct Netns {
    pub plan: Network,
}

impl Netns {
    /// Builds the network; on any failure, takes down what it made before returning the error.
    /// A namespace of the plan's names that already exists is not the run's: the run refuses
    /// to start rather than take it down with its own (it was deleted).
    pub async fn create(plan: Network) -> Result<Netns, LabError> {
        let theirs = leftovers(&plan.prefix);
        if !theirs.is_empty() {
            return Err(LabError::Stop(format!(
                "network namespaces with this run's names exist already, left alone: {}",
                theirs.join(", ")
            )));
        }
        let net = Netns { plan };
        for command in net.plan.setup() {
            if let Err(e) = run("ip", &command, None).await {
                let _ = net.teardown();
                return Err(e);
            }
        }
        let router = net.plan.router();
        let forward = [
            "netns",
            "exec",
            &router,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ];
        if let Err(e) = run("ip", &forward.map(str::to_string), None).await {
            let _ = net.teardown();
            return Err(e);
        }
        Ok(net)
    }

    /// Points the services of a trial: the same DNAT rules in every host's output hook and
    /// the router's prerouting hook.
    pub async fn route(&self, routes: &[ServiceRoute]) -> Result<(), LabError> {
        let mut targets: Vec<(String, bool)> = (0..self.plan.hosts)
            .map(|h| (self.plan.host_ns(h), false))
            .collect();
        targets.push((self.plan.router(), true));
        for (ns, router) in targets {
            let ruleset = Network::services_ruleset(routes, router);
            let args = ["netns", "exec", &ns, "nft", "-f", "-"].map(str::to_string);
            run("ip", &args, Some(&ruleset)).await?;
        }
        Ok(())
    }

    /// Deletes every namespace of the run (their veths and nftables tables go with them) and
    /// fails if one is still listed afterwards. Run after the servers are stopped: a
    /// namespace a process still holds would outlive its name.
    pub fn teardown(&self) -> Result<(), LabError> {
        for ns in self.plan.namespaces() {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &ns])
                .stderr(Stdio::null())
                .status();
        }
        let left = leftovers(&self.plan.prefix);
        if left.is_empty() {
            Ok(())
        } else {
            Err(LabError::Stop(format!(
                "network namespaces of the lab still exist: {}",
                left.join(", ")
            )))
        }
    }
}

/// The namespaces whose name starts with `prefix` followed by `r` or `h` (the router and the
/// hosts of one run).
pub fn leftovers(prefix: &str) -> Vec<String> {
    let Ok(output) = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest == "r" || rest.starts_with('h'))
        })
        .map(str::to_string)
        .collect()
}

async fn run(program: &str, args: &[String], stdin: Option<&str>) -> Result<(), LabError> {
    let shown = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Stop(format!("`{shown}`: {e}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| LabError::Stop(format!("`{shown}`: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| LabError::Stop(format!("`{shown}`: {e}")))?;
    finished(&shown, &output)
}

type Request = (Vec<Option<String>>, oneshot::Sender<Vec<Role>>);

/// Samples servers from a thread inside the router's namespace: sockets belong to the
/// namespace of the thread that creates them (`setns(2)`), so only that thread, with a runtime
/// of its own, ever connects to the lab's addresses. It ends when the `Prober` is dropped.
pub struct Prober {
    requests: mpsc::Sender<Request>,
}

impl Prober {
    pub fn start(namespace: &str) -> Result<Prober, LabError> {
        let path = format!("/run/netns/{namespace}");
        let file =
            std::fs::File::open(&path).map_err(|e| LabError::Stop(format!("{path}: {e}")))?;
        let (requests, mut inbox) = mpsc::channel::<Request>(1);
        let (ready, started) = std::sync::mpsc::channel::<Result<(), String>>();
        std::thread::Builder::new()
            .name("lab-prober".into())
            .spawn(move || {
                // SAFETY: setns on this thread only, with a namespace file it holds open.
                let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                if entered != 0 {
                    let _ = ready.send(Err(format!(
                        "entering {path}: {}",
                        std::io::Error::last_os_error()
                    )));
                    return;
                }
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                runtime.block_on(async {
                    while let Some((clients, reply)) = inbox.recv().await {
                        let _ = reply.send(super::runner::sample(&clients).await);
                    }
                });
            })
            .map_err(|e| LabError::Stop(format!("the prober thread: {e}")))?;
        match started.recv() {
            Ok(Ok(())) => Ok(Prober { requests }),
            Ok(Err(e)) => Err(LabError::Stop(e)),
            Err(_) => Err(LabError::Stop("the prober thread ended at start".into())),
        }
    }

    /// One sample of `clients` (as `runner::sample`), taken inside the router's namespace.
    pub async fn sample(&self, clients: Vec<Option<String>>) -> Vec<Role> {
        let count = clients.len();
        let (reply, answer) = oneshot::channel();
        if self.requests.send((clients, reply)).await.is_err() {
            return vec![Role::NoAnswer; count];
        }
        answer.await.unwrap_or_else(|_| vec![Role::NoAnswer; count])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A namespace with the run's router name exists before the run: the run refuses to start
    /// and leaves it be. It deleted it with its own when its `ip netns add` failed. Needs
    /// root, as the lab's `--netns` does (CI runs as root; elsewhere it says so and checks
    /// nothing).
    #[tokio::test]
    async fn a_namespace_the_run_did_not_make_is_left_alone() {
        // SAFETY: geteuid reads the process's effective uid and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: cannot make a namespace, nothing checked");
            return;
        }
        let plan = Network::new(std::process::id(), 1);
        let theirs = plan.router();
        let made = |args: &[&str]| {
            std::process::Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(made(&["netns", "add", &theirs]));
        let refused = Netns::create(plan).await;
        let still = leftovers(&format!("zkl{}", std::process::id()));
        assert!(
            made(&["netns", "del", &theirs]),
            "this test's own namespace"
        );
        match refused {
            Err(LabError::Stop(why)) => assert!(why.contains(&theirs), "{why}"),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("the run started beside a namespace of its names"),
        }
        assert_eq!(still, [theirs]);
    }
}
