//! SSH execution against the sandbox's real sshd.

use std::time::Duration;

use crate::common::Sandbox;
use tokio::sync::mpsc;
use zkpilot::inventory::Inventory;
use zkpilot::net::remote::{ConnectError, Connections, Outcome, SshTarget, Stream};

fn target(sandbox: &Sandbox, host: &str) -> SshTarget {
    let text = std::fs::read_to_string(sandbox.inventory_path()).unwrap();
    let inventory: Inventory = serde_yaml::from_str(&text).unwrap();
    let host = inventory.hosts.iter().find(|h| h.name == host).unwrap();
    SshTarget::from_inventory(&inventory, host)
}

/// How long a command may run here.
const LIMIT: Duration = Duration::from_secs(20);

fn connections(sandbox: &Sandbox) -> Connections {
    Connections::new(Duration::from_secs(10), sandbox.dir.clone())
}

#[tokio::test]
async fn runs_commands_streams_output_and_reports_exit_status() {
    let sandbox = Sandbox::up(1, 0, 1);
    let remote = connections(&sandbox);
    let zk1 = target(&sandbox, "zk1");
    let script = sandbox.dir.join("hosts/zk1/zkctl");

    let status = format!("{} status", script.display());
    let (outcome, lines) = remote.run_collected(&zk1, &status, None, LIMIT).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let line = &lines[0];
    assert_eq!(line.stream, Stream::Stdout);
    assert!(line.text.starts_with("zk1: running (pid"), "{line:?}");

    let (outcome, lines) = remote
        .run_collected(&zk1, "echo out; echo err >&2; exit 7", None, LIMIT)
        .await;
    assert!(
        matches!(outcome, Outcome::Exited { code: Some(7), .. }),
        "{outcome:?}"
    );
    let mut seen: Vec<_> = lines.into_iter().map(|l| (l.stream, l.text)).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (Stream::Stdout, "out".to_string()),
            (Stream::Stderr, "err".to_string())
        ]
    );

    let zk2 = target(&sandbox, "zk2");
    let spare = sandbox.dir.join("hosts/zk2/zkctl");
    let set_and_show = format!("{0} set-config && {0} config", spare.display());
    let config = "tickTime=500\nserver.2=127.0.0.9:2888:3888\n";
    let (outcome, lines) = remote
        .run_collected(&zk2, &set_and_show, Some(config), LIMIT)
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let texts: Vec<String> = lines.into_iter().map(|l| l.text).collect();
    assert!(
        texts.contains(&"server.2=127.0.0.9:2888:3888".to_string()),
        "{texts:?}"
    );
    remote.close_all().await;
}

#[tokio::test]
async fn a_deadline_makes_the_outcome_unknown_never_not_run() {
    let sandbox = Sandbox::up(1, 0, 0);
    let remote = connections(&sandbox);
    let (tx, _rx) = mpsc::unbounded_channel();
    let outcome = remote
        .run(
            &target(&sandbox, "zk1"),
            "sleep 30",
            None,
            Duration::from_millis(800),
            tx,
        )
        .await;
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
    remote.close_all().await;
}

#[tokio::test]
async fn unknown_and_changed_host_keys_stop_before_anything_runs() {
    let sandbox = Sandbox::up(1, 0, 0);
    let remote = connections(&sandbox);
    let mut zk1 = target(&sandbox, "zk1");

    let empty = sandbox.dir.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    zk1.known_hosts = Some(empty);
    zk1.config = None;
    let (tx, _rx) = mpsc::unbounded_channel();
    let outcome = remote
        .run(
            &zk1,
            "touch /tmp/should-not-exist",
            None,
            Duration::from_secs(10),
            tx,
        )
        .await;
    assert_eq!(
        outcome,
        Outcome::NotRun(ConnectError::UnknownHostKey { host: "zk1".into() })
    );

    let forged = sandbox.dir.join("forged_known_hosts");
    let address = sandbox.client("zk1").replace(":2181", "");
    let key = sandbox.impostor_key("other_key");
    std::fs::write(&forged, format!("[{address}]:2222 {key}\n")).unwrap();
    zk1.known_hosts = Some(forged);
    let (tx, _rx) = mpsc::unbounded_channel();
    let outcome = remote
        .run(&zk1, "true", None, Duration::from_secs(10), tx)
        .await;
    assert_eq!(
        outcome,
        Outcome::NotRun(ConnectError::ChangedHostKey { host: "zk1".into() })
    );
    remote.close_all().await;
}
