//! `zkpilot watch` driven in tmux against a real sandbox, as an operator sees it.

use std::time::Duration;

use crate::common::tmux::watch;
use crate::common::Sandbox;

#[test]
fn watch_follows_a_leader_crash_and_restores_the_terminal() {
    let sandbox = Sandbox::up(3, 0, 0);
    let tmux = watch(&sandbox, "--interval 500ms", (160, 45));
    let screen = tmux.wait_for(
        "one leader and two followers",
        Duration::from_secs(20),
        |s| {
            s.matches(" LEADER ").count() == 1
                && s.matches(" follower ").count() == 2
                && s.contains("epoch 1")
        },
    );
    assert!(screen.contains("✓ split brain impossible"), "{screen}");
    let leader = screen
        .lines()
        .find_map(|l| l.split("leader ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();

    let pid: i32 = sandbox.pid(&leader).parse().unwrap();
    // SAFETY: kill(2) on the PID of the server this test's sandbox started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);

    let screen = tmux.wait_for(
        "the old leader down and a new leader at epoch 2",
        Duration::from_secs(20),
        |s| {
            s.contains("DOWN (refused)")
                && s.contains("epoch 2")
                && s.matches(" LEADER ").count() == 1
        },
    );
    assert!(!screen.contains(&format!("leader {leader} ")), "{screen}");

    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(10));
    assert_eq!(
        tmux.query("#{alternate_on}"),
        "0",
        "the alternate screen was left"
    );
}

#[test]
fn a_node_that_never_shows_its_view_has_its_zoo_cfg_read_over_ssh() {
    let sandbox = Sandbox::up(3, 0, 0);
    for host in ["zk1", "zk2"] {
        sandbox.stop(host);
    }
    sandbox.wait_for_modes(&["zk3"], Duration::from_secs(30), |m| m[0] == "not serving");

    let tmux = watch(&sandbox, "", (160, 45));
    let screen = tmux.wait_for(
        "zk3's view read from zoo.cfg",
        Duration::from_secs(30),
        |s| s.contains("from zoo.cfg on disk"),
    );
    assert!(screen.contains("LOOKING / not serving"), "{screen}");
    assert!(screen.contains("NO QUORUM CAN FORM"), "{screen}");
    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(10));
}

/// A read-scaling shape — three voters and twenty observers — gets a verdict, not
/// "too many nodes" (the analyzer's cost no longer grows with every subset of the servers).
#[test]
fn watch_gives_a_verdict_for_three_voters_and_twenty_observers() {
    let sandbox = Sandbox::up(3, 20, 0);
    let tmux = watch(&sandbox, "--interval 1s", (200, 60));
    let screen = tmux.wait_for("the verdict", Duration::from_secs(60), |s| {
        s.contains("✓ quorum can form") && s.contains("✓ split brain impossible")
    });
    assert!(screen.contains("quorum 2 of 3 voters"), "{screen}");
    assert!(!screen.contains("accepts at most"), "{screen}");
    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(10));
}
