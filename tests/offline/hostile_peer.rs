//! A hostile ZooKeeper peer through `inventory discover`: its `conf` hides carriage returns and
//! escapes in a bracketed host (YAML reads a carriage return as a line break, so a raw one in a
//! written inventory would add keys, a `status` command among them, that `check` and `run`'s
//! pre-flight would run over SSH; a carriage return in a `zoo.cfg` line starts a line of its
//! own). No host holds such characters: discover refuses the answer, naming the peer and the
//! line, escaped, and writes nothing. The peer is a fake server on a loopback port: it is the
//! peer that is hostile.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{assert_exit, run_bin, scratch, text};

/// Answers `conf` and `srvr` like a server would, with the payload in both, until `done` is
/// set (the listener goes with the thread's end).
fn hostile_peer(marker: &Path, done: Arc<AtomicBool>) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
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
        // Each word on a connection of its own, for as long as the test asks.
        while !done.load(Ordering::SeqCst) {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            let _ = stream.set_nonblocking(false);
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
    let done = Arc::new(AtomicBool::new(false));
    let (asked, peer) = hostile_peer(&marker, done.clone());

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
    done.store(true, Ordering::SeqCst);
    peer.join().unwrap();
    let said = text(&discovered.stderr);
    assert_exit(&discovered, 2);
    assert!(discovered.stdout.is_empty(), "{}", text(&discovered.stdout));
    assert_eq!(raw_controls(&said), Vec::<char>::new(), "{said}");
    // What the peer said stays visible, escaped, for the operator to see, with the reason.
    assert!(said.contains(&asked), "{said}");
    assert!(said.contains("server.1=[x^M  commands: {status:"), "{said}");
    assert!(
        said.contains("a host is at most 253 letters, digits"),
        "{said}"
    );
    assert!(!marker.exists(), "the peer's command ran");
    let _ = std::fs::remove_dir_all(&dir);
}
