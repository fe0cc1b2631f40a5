//! A hostile ZooKeeper peer through `inventory discover` → `inventory check` → `plan`: its
//! `conf` hides carriage returns and escapes in a bracketed host (YAML reads a carriage return
//! as a line break, so a raw one in the written inventory adds keys, a `status` command among
//! them, that `check` and `run`'s pre-flight would run over SSH), and its `srvr` puts them into
//! the version. The peer is a fake server on a loopback port: it is the peer that is hostile.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::common::{assert_exit, path_str, run_bin, scratch, text};

/// Answers `conf` and `srvr` like a server would, with the payload in both; stops after the
/// test's last question (the listener goes with the thread's end).
fn hostile_peer(marker: &Path) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let asked = listener.local_addr().unwrap().to_string();
    let host = format!(
        "x\r  commands: {{status: 'touch {}'}}\r  #\u{1b}[8m",
        marker.display()
    );
    let conf = format!(
        "clientPort=2181\ndataDir=/var/lib/zookeeper/version-2\nserverId=1\n\
         server.1=[{host}]:2888:3888:participant\n\
         server.2=127.77.250.2:2888:3888:participant\n\
         server.3=127.77.250.3:2888:3888:participant\nversion=0\n"
    );
    let srvr = "Zookeeper version: 3.8.0'\r\u{1b}[31mok-abc, built on 2022\nLatency min/avg/max: 0/0.0/0\n\
                Received: 1\nSent: 1\nConnections: 1\nOutstanding: 0\nZxid: 0x100000000\n\
                Mode: leader\nNode count: 5\n";
    let serve = std::thread::spawn(move || {
        // discover asks exactly two words, each on a connection of its own.
        for _ in 0..2 {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut word = [0u8; 4];
            if stream.read_exact(&mut word).is_err() {
                continue;
            }
            let answer = match &word {
                b"conf" => conf.as_str(),
                b"srvr" => srvr,
                _ => "",
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (asked, serve)
}

/// Characters that must never reach a file or a terminal raw: controls but the line feed,
/// invisible format characters and the line separators YAML breaks lines at.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2028}' | '\u{2029}')
        })
        .collect()
}

#[test]
fn a_hostile_peer_gets_nothing_run_hidden_or_printed_raw() {
    let dir = scratch("hostile-peer");
    let marker = dir.join("pwned");
    let (asked, peer) = hostile_peer(&marker);

    let discovered = run_bin(
        &[
            "inventory",
            "discover",
            &asked,
            "--ssh-user",
            "zk",
            "--preset",
            "systemd",
        ],
        Duration::from_secs(30),
    );
    peer.join().unwrap();
    let written = text(&discovered.stdout);
    assert_exit(&discovered, 0);
    assert_eq!(raw_controls(&written), Vec::<char>::new(), "{written}");
    assert_eq!(raw_controls(&text(&discovered.stderr)), Vec::<char>::new());
    // What the peer said stays visible, escaped, for the operator to see.
    assert!(written.contains("x^M  commands: {status:"), "{written}");
    let inventory = dir.join("inv.yaml");
    std::fs::write(&inventory, &written).unwrap();

    // The loader refuses the escaped values before any host is asked anything.
    let checked = run_bin(
        &["inventory", "check", path_str(&inventory)],
        Duration::from_secs(60),
    );
    let said = text(&checked.stderr);
    assert_exit(&checked, 2);
    assert!(said.contains("holds the character U+"), "{said}");
    assert_eq!(raw_controls(&said), Vec::<char>::new(), "{said}");

    let runbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks/rolling-restart.yaml");
    let planned = run_bin(
        &[
            "plan",
            path_str(&runbook),
            "--inventory",
            path_str(&inventory),
        ],
        Duration::from_secs(60),
    );
    let said = text(&planned.stderr);
    assert_eq!(planned.status.code(), Some(2), "{said}");
    assert!(said.contains("holds the character U+"), "{said}");
    assert_eq!(raw_controls(&said), Vec::<char>::new(), "{said}");
    assert!(!marker.exists(), "the peer's command ran");
    let _ = std::fs::remove_dir_all(&dir);
}
