//! The rehearsals' independent ZooKeeper client (`tests/common/zk_client.rs`) against real
//! servers: it speaks the protocol, its writer counts only what the ensemble acknowledged, its
//! verifier finds a write that is not there, and a leader killed mid-stream costs no
//! acknowledged write.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::zk_client::{
    znode, Client, Error, Lost, Writer, NODEEXISTS, NONODE, SESSION_TIMEOUT,
};
use crate::common::Sandbox;

const VOTERS: [&str; 3] = ["zk1", "zk2", "zk3"];

fn addresses(sandbox: &Sandbox, hosts: &[&str]) -> Vec<String> {
    hosts.iter().map(|h| sandbox.client(h)).collect()
}

/// Waits until the writer's acknowledged count reaches `count`.
fn wait_for_acks(writer: &Writer, count: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while writer.acked() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} writes acknowledged within {limit:?}",
            writer.acked()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn writes_and_reads_back_on_a_healthy_ensemble() {
    let sandbox = Sandbox::up(3, 0, 0);
    let all = addresses(&sandbox, &VOTERS);

    // Each operation on its own, and the server's errors as values.
    let mut client = Client::connect(&all[0], 0, SESSION_TIMEOUT).expect("connect");
    client.create("/probe", b"hello").expect("create");
    assert!(matches!(
        client.create("/probe", b"again"),
        Err(Error::Server(NODEEXISTS))
    ));
    client.ping().expect("ping");
    let mut other = Client::connect(&all[1], 0, SESSION_TIMEOUT).expect("connect to another");
    other.sync("/probe").expect("sync");
    assert_eq!(other.get_data("/probe").expect("get_data"), b"hello");
    assert!(matches!(
        other.get_data("/absent"),
        Err(Error::Server(NONODE))
    ));
    let children = other.get_children("/").expect("get_children");
    assert!(children.iter().any(|c| c == "probe"), "{children:?}");
    client.close().expect("close");
    other.close().expect("close the other");

    let writer = Writer::start(&all);
    wait_for_acks(&writer, 40, Duration::from_secs(30));
    let mut report = writer.stop();
    eprintln!("healthy ensemble: {report}");
    assert!(
        report.failed.is_empty() && report.unknown.is_empty(),
        "{report}"
    );
    assert_eq!((report.in_doubt, report.reconnections), (0, 0), "{report}");
    let last = *report.acked.last().expect("acknowledged writes");
    assert_eq!(report.acked, (1..=last).collect::<Vec<_>>());
    assert_eq!(report.verify(&all).expect("verify"), vec![]);

    // The verifier is not vacuous: an acknowledgement never written and a znode holding
    // something else are both reported.
    let mut client = Client::connect(&all[2], 0, SESSION_TIMEOUT).expect("connect");
    client
        .create(&znode(last + 2), b"not the number")
        .expect("create a wrong znode");
    client.close().expect("close");
    report.acked.extend([last + 1, last + 2]);
    assert_eq!(
        report.verify(&all).expect("verify"),
        vec![
            Lost {
                seq: last + 1,
                found: None
            },
            Lost {
                seq: last + 2,
                found: Some("not the number".into())
            }
        ]
    );

    // A second writer on the same ensemble numbers after every existing znode.
    let writer = Writer::start(&all);
    wait_for_acks(&writer, 1, Duration::from_secs(30));
    let report = writer.stop();
    assert_eq!(report.acked.first(), Some(&(last + 3)), "{report}");
    assert_eq!(report.verify(&all).expect("verify"), vec![]);
}

#[test]
fn keeps_writing_through_a_leader_kill_and_loses_no_acknowledged_write() {
    let sandbox = Sandbox::up(3, 0, 0);
    let modes = sandbox.wait_for_modes(&VOTERS, Duration::from_secs(30), |m| {
        m.iter().filter(|m| *m == "leader").count() == 1
            && m.iter().filter(|m| *m == "follower").count() == 2
    });
    let leader_index = modes
        .iter()
        .position(|m| m == "leader")
        .expect("one leader");
    let leader = VOTERS[leader_index];
    let survivors: Vec<&str> = VOTERS.into_iter().filter(|h| *h != leader).collect();
    // The leader first: the writer's session is on the server that dies, so a write is likely
    // in flight when it does, and the next address is a survivor.
    let mut order = vec![leader];
    order.extend(&survivors);
    let all = addresses(&sandbox, &order);

    let writer = Writer::start(&all);
    wait_for_acks(&writer, 50, Duration::from_secs(30));
    let before_kill = writer.acked();

    let address = sandbox.client(leader).replace(":2181", "");
    let script = sandbox.dir.join("hosts").join(leader).join("zkctl");
    let killed_at = Instant::now();
    let out = sandbox.ssh(
        &format!("zkpilot-h{}@{address}", leader_index + 1),
        &format!("{} kill", script.display()),
    );
    assert!(
        out.status.success(),
        "zkctl kill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    sandbox.wait_for_modes(&survivors, Duration::from_secs(60), |m| {
        m.contains(&"leader".to_string()) && m.contains(&"follower".to_string())
    });
    let elected_after = killed_at.elapsed();
    let at_election = writer.acked();
    wait_for_acks(&writer, at_election + 50, Duration::from_secs(60));
    let report = writer.stop();
    eprintln!("leader {leader} killed, new leader seen after {elected_after:.1?}: {report}");

    assert!(report.reconnections >= 1, "{report}");
    assert!(report.acked.len() >= before_kill + 50, "{report}");
    let lost = report.verify(&all).expect("verify");
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}

#[test]
fn a_server_speaking_nonsense_is_an_error_not_a_panic() {
    // Each case: what a fake server answers to the ConnectRequest.
    let cases: [(&[u8], &str); 3] = [
        (&[0x7f, 0xff, 0xff, 0xff], "a 2 GiB frame"),
        (&[0xff, 0xff, 0xff, 0xfe], "a negative length"),
        (
            &[0, 0, 0, 6, 0, 0, 0, 0, 0, 0],
            "a truncated ConnectResponse",
        ),
    ];
    for (answer, what) in cases {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local address").to_string();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0; 64];
            let _ = stream.read(&mut request);
            stream.write_all(answer).expect("answer");
        });
        let result = Client::connect(&addr, 0, SESSION_TIMEOUT);
        assert!(
            matches!(result, Err(Error::Protocol(_))),
            "{what}: {:?}",
            result.err()
        );
        server.join().expect("fake server");
    }
}
