//! `replay`, `follow` and two-person approval driven in tmux against a real sandbox run: the
//! console in one tmux, followers and replays in others, keys in and screens read back.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::tmux::{console, rolling_restart_console, step_line_says, Tmux};
use crate::common::{assert_audit_verifies, audit_records, Sandbox, BIN};

const NAMES: [&str; 3] = ["zk1", "zk2", "zk3"];

/// The role each node's card shows (`LEADER`, `follower`, `DOWN (refused)`…): the card's
/// title line names the node, the line under it starts with the role, then the zxid.
fn card_roles(screen: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    NAMES
        .iter()
        .map(|name| {
            let title: Vec<char> = format!("┌ {name} ·").chars().collect();
            let (row, column) = lines
                .iter()
                .enumerate()
                .find_map(|(row, line)| {
                    line.windows(title.len())
                        .position(|w| w == title.as_slice())
                        .map(|column| (row, column))
                })
                .unwrap_or_else(|| panic!("no card for {name} in\n{screen}"));
            let below: String = lines[row + 1][column + 1..].iter().collect();
            below
                .split("zxid")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

/// The `predicted` line of the step shown on the right.
fn predicted(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("│predicted"))
        .unwrap_or_else(|| panic!("no prediction shown in\n{screen}"));
    let line = lines[at + 1];
    let start = line.find("after it:").unwrap_or(0);
    line[start..]
        .split('│')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn replay_and_a_late_follower_show_the_steps_verdicts_and_nodes_the_run_showed() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (operator, audit) = rolling_restart_console(&sandbox);
    let steps = ["restart-first", "restart-second", "restart-leader"];
    let mut verdicts = Vec::new();
    let mut follower = None;
    for step in steps {
        let ready = operator.run_step(step);
        verdicts.push(predicted(&ready));
        if follower.is_none() {
            // Started mid-session: it must catch up on the first step, then tail the rest.
            let late = Tmux::start(&format!("{BIN} follow {}", audit.display()), 180, 50);
            late.wait_for("the follower caught up", Duration::from_secs(20), |s| {
                s.contains("FOLLOW (read-only)")
                    && step_line_says(s, "restart-first", "done")
                    && s.contains("LIVE")
            });
            follower = Some(late);
        }
    }
    let last_run_screen = operator.wait_for("the end", Duration::from_secs(10), |s| {
        s.contains("every step is done")
    });
    let run_roles = card_roles(&last_run_screen);
    operator.send("q");
    operator.wait_until_exited(Duration::from_secs(10));

    let follower = follower.expect("the follower was started");
    let followed = follower.wait_for("the follower saw the end", Duration::from_secs(20), |s| {
        s.contains("SESSION ENDED") && steps.iter().all(|step| step_line_says(s, step, "done"))
    });
    assert_eq!(card_roles(&followed), run_roles, "{followed}");
    follower.send("q");
    follower.wait_until_exited(Duration::from_secs(10));
    assert_audit_verifies(&audit);

    let replay = Tmux::start(&format!("{BIN} replay {}", audit.display()), 180, 50);
    replay.wait_for("the replay opened", Duration::from_secs(10), |s| {
        s.contains("REPLAY (read-only)") && s.contains("log verified:")
    });
    replay.send("g");
    for (step, verdict) in steps.iter().zip(&verdicts) {
        replay.send("s");
        let screen = replay.wait_for(
            &format!("the start of {step}"),
            Duration::from_secs(10),
            |s| s.contains(&format!("last marker: step {step}")),
        );
        assert!(screen.contains(&format!(" step {step} ")), "{screen}");
        assert_eq!(&predicted(&screen), verdict, "{screen}");
        assert!(step_line_says(&screen, step, "running"), "{screen}");
    }
    replay.send("G");
    let end = replay.wait_for("the end of the log", Duration::from_secs(10), |s| {
        s.contains("SESSION ENDED")
    });
    for step in steps {
        assert!(step_line_says(&end, step, "done"), "{end}");
    }
    assert_eq!(card_roles(&end), run_roles, "{end}");
    replay.send("q");
    replay.wait_until_exited(Duration::from_secs(10));

    let printed = Command::new(BIN)
        .args(["replay", "--print", audit.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let printed = String::from_utf8_lossy(&printed.stdout);
    for step in steps {
        assert!(printed.contains(&format!("  {step}: done")), "{printed}");
    }
    for verdict in &verdicts {
        assert!(printed.contains(verdict.as_str()), "{printed}");
    }

    let cast = sandbox.dir.join("session.cast");
    let exported = Command::new(BIN)
        .args([
            "audit",
            "export",
            audit.to_str().unwrap(),
            "--format",
            "asciicast",
            "-o",
        ])
        .arg(&cast)
        .output()
        .unwrap();
    crate::common::assert_succeeded(&exported);
    // `asciinema cat` insists on a terminal: it runs in one, its output kept in a file.
    let played = sandbox.dir.join("played.txt");
    let status = sandbox.dir.join("played.status");
    let cat = Tmux::start(
        &format!(
            "asciinema cat {} > {} 2>&1; echo $? > {}",
            cast.display(),
            played.display(),
            status.display()
        ),
        80,
        24,
    );
    cat.wait_until_exited(Duration::from_secs(30));
    let played = std::fs::read_to_string(&played).unwrap();
    assert_eq!(
        std::fs::read_to_string(&status).unwrap().trim(),
        "0",
        "{played}"
    );
    assert!(played.contains("REPLAY (read-only)") && played.contains("SESSION ENDED"));
}

#[test]
fn a_two_person_step_runs_only_after_another_user_approves_it_from_follow() {
    let sandbox = Sandbox::up(3, 0, 0);
    // Through sudo a follower reads only logs in root's own audit directory.
    let audit_dir = std::path::Path::new("/root/.local/state/zkpilot/audit");
    std::fs::create_dir_all(audit_dir).unwrap();
    let audit = audit_dir.join(format!("two-person-{}.jsonl", std::process::id()));
    let operator = waiting_for_approval(&sandbox, &audit);
    assert!(!operator.screen().contains("y run this step now"));

    // The operator's own user cannot approve: an approval dropped by root (the console's own
    // uid here) is refused and the refusal recorded.
    let records = audit_records(&audit);
    let head = last_hash(&audit);
    assert_eq!(records.last().unwrap()["kind"], "approval_request");
    let inbox = zkpilot::session::approval::inbox_path(&audit);
    // Written aside and renamed in, as a follower does, so the console never reads half of it.
    let partial = inbox.join(".by-root.partial");
    std::fs::write(
        &partial,
        format!("{{\"step\":\"restart-follower\",\"head\":\"{head}\"}}"),
    )
    .unwrap();
    std::fs::rename(&partial, inbox.join("by-root.json")).unwrap();
    operator.wait_for("the refusal", Duration::from_secs(10), |s| {
        s.contains("refused") && s.contains("operator's own Unix user")
    });

    // The partner: another Unix user who reads the 0600 log through sudo. The follower opens
    // the log and the inbox as root, then becomes SUDO_UID, as it does under a real sudo.
    let partner = "zkpilot-h2";
    let uid = id(&["-u", partner]);
    let gid = id(&["-g", partner]);
    let follow = Tmux::start(
        &format!(
            "env SUDO_UID={uid} SUDO_GID={gid} SUDO_USER={partner} {BIN} follow {}",
            audit.display()
        ),
        180,
        50,
    );
    approve_restart_follower(&operator, &follow, partner, &uid);

    let records = audit_records(&audit);
    let position = |kind: &str, check: &dyn Fn(&serde_json::Value) -> bool| {
        records
            .iter()
            .position(|r| r["kind"] == kind && check(r))
            .unwrap_or_else(|| panic!("no {kind} record"))
    };
    let refusal = position("note", &|r| {
        r["text"]
            .as_str()
            .is_some_and(|t| t.contains("by root (uid 0) refused"))
    });
    let approved = position("decision", &|r| r["decision"]["type"] == "approve");
    let intent = position("intent", &|_| true);
    assert_eq!(
        records[approved]["decision"]["by"],
        format!("{partner} (uid {uid})")
    );
    assert!(refusal < approved && approved < intent, "{records:#?}");
    assert!(
        !inbox.exists(),
        "the inbox is removed when the session ends"
    );
    assert_audit_verifies(&audit);
    std::fs::remove_file(&audit).unwrap();
}

/// The console on `two-person-restart.yaml`, logging to `audit`, its step started and now
/// waiting for another user's approval.
fn waiting_for_approval(sandbox: &Sandbox, audit: &Path) -> Tmux {
    let operator = console(
        sandbox,
        "tests/fixtures/runbooks/two-person-restart.yaml",
        audit,
    );
    operator.wait_for("the step ready", Duration::from_secs(60), |s| {
        s.contains("r run the current step") && !s.contains('✗')
    });
    operator.send("r");
    operator.wait_for("the wait for approval", Duration::from_secs(10), |s| {
        s.contains("WAITING FOR APPROVAL")
    });
    operator
}

/// The partner approves `restart-follower` from `follow` (typing the step's name), the operator
/// confirms and runs it, quits after it is done, and `follow` shows the end and quits too.
fn approve_restart_follower(operator: &Tmux, follow: &Tmux, partner: &str, uid: &str) {
    follow.wait_for("the approve key", Duration::from_secs(20), |s| {
        s.contains("a APPROVE the waiting step")
    });
    follow.send("a");
    for c in "restart-follower".chars() {
        follow.send(&c.to_string());
    }
    follow.send("Enter");
    follow.wait_for("the approval in the log", Duration::from_secs(20), |s| {
        s.contains(&format!("approved by {partner} (uid {uid})"))
    });
    operator.wait_for("the confirmation prompt", Duration::from_secs(10), |s| {
        s.contains("y run this step now")
    });
    operator.send("y");
    operator.wait_for("the step done", Duration::from_secs(90), |s| {
        step_line_says(s, "restart-follower", "done")
    });
    operator.send("q");
    operator.wait_until_exited(Duration::from_secs(10));
    follow.wait_for("the end, followed", Duration::from_secs(20), |s| {
        s.contains("SESSION ENDED")
    });
    follow.send("q");
    follow.wait_until_exited(Duration::from_secs(10));
}

/// The README's pairing setup for one test: a group of the partners, a partner in it, and a
/// directory `root:GROUP 3770`; all removed again when dropped, whatever the test did.
struct Pairing {
    group: String,
    partner: String,
    dir: std::path::PathBuf,
    home: std::path::PathBuf,
}

impl Pairing {
    fn new() -> Pairing {
        let tag = std::process::id();
        let pairing = Pairing {
            group: format!("zkpilot-pair-{tag}"),
            partner: format!("zkpilot-pb-{tag}"),
            dir: std::env::temp_dir().join(format!("zkpilot-pairing-{tag}")),
            home: std::env::temp_dir().join(format!("zkpilot-pairing-{tag}-home")),
        };
        let run = |program: &str, args: &[&str]| {
            let status = Command::new(program).args(args).status().unwrap();
            assert!(status.success(), "{program} {args:?}");
        };
        run("groupadd", &[&pairing.group]);
        run(
            "useradd",
            &[
                "--no-create-home",
                "--no-user-group",
                "--gid",
                &pairing.group,
                "--shell",
                "/usr/sbin/nologin",
                &pairing.partner,
            ],
        );
        let (dir, home) = (
            pairing.dir.to_str().unwrap(),
            pairing.home.to_str().unwrap(),
        );
        run(
            "install",
            &["-d", "-o", "root", "-g", &pairing.group, "-m", "3770", dir],
        );
        run(
            "install",
            &["-d", "-o", &pairing.partner, "-m", "700", home],
        );
        pairing
    }
}

impl Drop for Pairing {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.home);
        let _ = Command::new("userdel").arg(&self.partner).status();
        let _ = Command::new("groupdel").arg(&self.group).status();
    }
}

/// The README's recommended pairing setup, with no sudo anywhere: the operator's log in the
/// setgid 3770 directory, and the partner, another Unix user who is only a member of its
/// group, following the log and approving the two-person step as themself. Before, the
/// follower could not open the 1733 inbox (it opened it for reading, which only the owner
/// may) and the partner saw "no approvals inbox".
#[test]
fn a_partner_in_the_pairing_group_approves_without_sudo() {
    let sandbox = Sandbox::up(3, 0, 0);
    let pairing = Pairing::new();
    let audit = pairing.dir.join("move.jsonl");
    let operator = waiting_for_approval(&sandbox, &audit);
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&audit).unwrap();
    assert_eq!(
        meta.mode() & 0o777,
        0o640,
        "the partners' group reads the log"
    );
    assert_eq!(meta.gid().to_string(), id(&["-g", &pairing.partner]));

    let uid = id(&["-u", &pairing.partner]);
    let follow = Tmux::start(
        &format!(
            "setpriv --reuid={} --regid={} --init-groups env -u SUDO_UID -u SUDO_GID -u SUDO_USER HOME={} {BIN} follow {}",
            pairing.partner,
            pairing.group,
            pairing.home.display(),
            audit.display()
        ),
        180,
        50,
    );
    approve_restart_follower(&operator, &follow, &pairing.partner, &uid);

    let records = audit_records(&audit);
    let approved = records
        .iter()
        .position(|r| r["kind"] == "decision" && r["decision"]["type"] == "approve")
        .expect("the partner's approval is recorded");
    assert_eq!(
        records[approved]["decision"]["by"],
        format!("{} (uid {uid})", pairing.partner)
    );
    let intent = records.iter().position(|r| r["kind"] == "intent").unwrap();
    assert!(approved < intent, "{records:#?}");
    assert_audit_verifies(&audit);
}

fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The SHA-256 of the log's last line: the head a follower would name.
fn last_hash(audit: &Path) -> String {
    let text = std::fs::read_to_string(audit).unwrap();
    let last = text.lines().last().unwrap();
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(last.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
