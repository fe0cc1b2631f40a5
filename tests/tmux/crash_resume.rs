//! The crash test of the audit log and `--resume`. On one real sandbox the rolling
//! restart is run several times by `--autopilot`, and each run's console is killed with SIGKILL
//! at moments drawn from a seeded PRNG: when a step's intent is on disk, when its command has
//! printed output, while a step waits, when a step is done, or after some number of records,
//! each plus a random delay; and once, whatever the seed, while the leader restarts. After every
//! kill the log must verify (a torn last line allowed); then the session is resumed. A step
//! whose intent has no result must stop the autopilot, named; the operator's check is then made
//! in the console (tmux) as a person would: look at the host, then mark the step done or retry
//! it. At the end the log must show that no finished command was issued again without a
//! recorded decision and that nothing ran while an outcome was unknown, and ZooKeeper itself
//! (each server's own log of its starts) must show every server restarted exactly once per run.
//!
//! `ZKPILOT_CRASH_SEED=N` replays another schedule; the seed is printed with the kill table
//! (`cargo test --test tmux crash_resume:: -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::common::tmux::Tmux;
use crate::common::{ask, assert_audit_verifies, mode, project_file, Sandbox, BIN};
use serde_json::Value;

const STEPS: [&str; 3] = ["restart-first", "restart-second", "restart-leader"];
const HOSTS: [&str; 3] = ["zk1", "zk2", "zk3"];
/// Runs of the whole runbook on the one sandbox, and the sessions killed in each.
const RUNS: usize = 4;
const KILLS_PER_RUN: usize = 3;
/// The last run's first kill, whatever the seed: while the leader's restart runs. The leader
/// changes then, so a resume that bound `pick: leader` afresh would name another host.
const LEADER_GOING_DOWN: (Anchor, Duration) = (Anchor::Output(2), Duration::ZERO);
const DEFAULT_SEED: u64 = 7;
/// The longest random delay after a kill moment's anchor: about half a restart.
const MAX_DELAY_MS: u64 = 800;

/// splitmix64: small, seedable, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a kill waits for in the session's own records, before its random delay.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Anchor {
    /// The step's command intent is on disk; its result may or may not follow.
    Intent(usize),
    /// The step's command has printed a line: it runs on the host.
    Output(usize),
    /// The step's command ended and its wait runs.
    Waiting(usize),
    /// The step is done; the next has not started.
    Done(usize),
    /// The session has appended this many records.
    Records(usize),
}

impl Anchor {
    fn met(&self, session: &[Value]) -> bool {
        let step_is = |s: usize, state: &str| {
            session
                .iter()
                .any(|r| r["kind"] == "step" && r["step"] == STEPS[s] && r["state"] == state)
        };
        match *self {
            Anchor::Intent(s) => session
                .iter()
                .any(|r| r["kind"] == "intent" && r["step"] == STEPS[s]),
            Anchor::Output(s) => {
                let intents: Vec<&Value> = session
                    .iter()
                    .filter(|r| r["kind"] == "intent" && r["step"] == STEPS[s])
                    .map(|r| &r["intent"])
                    .collect();
                session
                    .iter()
                    .any(|r| r["kind"] == "output" && intents.contains(&&r["intent"]))
            }
            Anchor::Waiting(s) => step_is(s, "waiting"),
            Anchor::Done(s) => step_is(s, "done"),
            Anchor::Records(n) => session.len() >= n,
        }
    }
}

/// Draws the next kill moment among those this session can still meet: a moment of the step the
/// run is at (only its end when a resumed step already waits, since its intent is written), or
/// a small number of the session's records; then a delay. Kills stay in the current step so
/// that a run is killed in several of its steps rather than once in its last.
fn draw_moment(rng: &mut Rng, records: &[Value]) -> Option<(Anchor, Duration)> {
    let states = last_states(records);
    let current = STEPS
        .iter()
        .position(|s| states.get(*s).map(String::as_str) != Some("done"))?;
    let mut choices = vec![Anchor::Records(2 + rng.below(16) as usize)];
    let started = matches!(
        states.get(STEPS[current]).map(String::as_str),
        Some("running" | "waiting")
    );
    if !started {
        choices.extend([
            Anchor::Intent(current),
            Anchor::Output(current),
            Anchor::Waiting(current),
        ]);
    }
    choices.push(Anchor::Done(current));
    let anchor = choices[rng.below(choices.len() as u64) as usize];
    // The session ends within milliseconds of its last step's end: no delay there.
    let delay = match anchor {
        Anchor::Done(s) if s + 1 == STEPS.len() => Duration::ZERO,
        _ => Duration::from_millis(rng.below(MAX_DELAY_MS)),
    };
    Some((anchor, delay))
}

/// Reads a growing log a chunk at a time, keeping whole lines only: the line being written (or
/// a torn one) is left out, and `audit verify` is the judge of those.
struct Tail {
    file: Option<File>,
    path: PathBuf,
    partial: Vec<u8>,
    records: Vec<Value>,
}

impl Tail {
    fn new(path: &Path) -> Tail {
        Tail {
            file: None,
            path: path.to_path_buf(),
            partial: Vec::new(),
            records: Vec::new(),
        }
    }

    fn poll(&mut self) -> &[Value] {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        if let Some(file) = self.file.as_mut() {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            self.partial.extend_from_slice(&bytes);
            while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=end).collect();
                if let Ok(record) = serde_json::from_slice(&line) {
                    self.records.push(record);
                }
            }
        }
        &self.records
    }
}

/// The whole log as it is now, without a torn line.
fn read_log(path: &Path) -> Vec<Value> {
    let mut tail = Tail::new(path);
    tail.poll().to_vec()
}

fn runbook() -> PathBuf {
    project_file("tests/fixtures/runbooks/rolling-restart-three.yaml")
}

/// Where the consoles keep their SSH master connections (`TMPDIR`). A console killed with
/// SIGKILL cannot close its masters, which would linger until idle for two minutes; the test
/// closes them itself through their control sockets when it ends.
fn control_dir(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.join("ssh-masters");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asks every master left in the control directory to exit (`ssh -O exit`), when dropped:
/// declared after the sandbox, so it runs before the sandbox is taken down, also on failure.
struct CloseMasters(PathBuf);

impl Drop for CloseMasters {
    fn drop(&mut self) {
        let Ok(dirs) = std::fs::read_dir(&self.0) else {
            return;
        };
        for dir in dirs.flatten() {
            let socket = dir.path().join("master");
            if socket.exists() {
                let _ = Command::new("ssh")
                    .arg("-S")
                    .arg(&socket)
                    .args(["-O", "exit", "master"])
                    .output();
            }
        }
    }
}

/// Starts an unattended session (new, or resuming `log`) whose output goes to `out`.
fn spawn_autopilot(sandbox: &Sandbox, log: &Path, resume: bool, out: &Path) -> Child {
    let flag = if resume { "--resume" } else { "--audit" };
    let stdout = File::create(out).unwrap();
    let stderr = stdout.try_clone().unwrap();
    Command::new(BIN)
        .env("TMPDIR", control_dir(sandbox))
        .arg("run")
        .arg(runbook())
        .arg("--inventory")
        .arg(sandbox.inventory_path())
        .args(["--autopilot", "--yes", "--interval", "500ms", flag])
        .arg(log)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap()
}

enum Ending {
    /// Killed with SIGKILL when the anchor was met and the delay passed.
    Killed,
    Exited(ExitStatus),
}

/// Waits for the session to end, killing it (by its PID, SIGKILL) at `kill` if that comes first.
fn watch(child: &mut Child, log: &Path, from: usize, kill: Option<(Anchor, Duration)>) -> Ending {
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut tail = Tail::new(log);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Ending::Exited(status);
        }
        if let Some((anchor, delay)) = kill {
            let records = tail.poll();
            if records.len() > from && anchor.met(&records[from..]) {
                std::thread::sleep(delay);
                if let Some(status) = child.try_wait().unwrap() {
                    return Ending::Exited(status);
                }
                child.kill().unwrap();
                child.wait().unwrap();
                return Ending::Killed;
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a session ran for four minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// An intent whose result never came, of a step not settled since.
#[derive(Debug, Clone)]
struct Open {
    step: String,
    host: String,
    /// The intent's UTC timestamp, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    ts: String,
}

fn open_intent(records: &[Value]) -> Option<Open> {
    let mut open: BTreeMap<String, (u64, Open)> = BTreeMap::new();
    for r in records {
        let step = r["step"].as_str().unwrap_or_default().to_string();
        match r["kind"].as_str().unwrap_or_default() {
            "intent" => {
                let number = r["intent"].as_u64().unwrap();
                let host = r["host"].as_str().unwrap().to_string();
                let ts = r["ts"].as_str().unwrap().to_string();
                open.insert(step.clone(), (number, Open { step, host, ts }));
            }
            "result" => {
                let number = r["intent"].as_u64().unwrap();
                open.retain(|_, (n, _)| *n != number);
            }
            "decision" if r["decision"]["type"] != "confirm" => {
                open.remove(&step);
            }
            "step" if r["state"] == "done" || r["state"] == "skipped" => {
                open.remove(&step);
            }
            _ => {}
        }
    }
    open.into_values().next().map(|(_, o)| o)
}

/// The UTC second of every start of a host's server, from the server's own log.
fn server_alive(sandbox: &Sandbox, host: &str) -> bool {
    let pid = sandbox.pid(host);
    let pid = pid.as_str();
    !pid.is_empty()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !matches!(stat.rsplit(") ").next(), Some(s) if s.starts_with('Z')))
}

/// Whether any process runs this host's control script (a command still on its way).
fn control_script_running(sandbox: &Sandbox, host: &str) -> bool {
    let script = sandbox.dir.join("hosts").join(host).join("zkctl");
    let script = script.to_str().unwrap().as_bytes();
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|cmdline| cmdline.windows(script.len()).any(|w| w == script))
    })
}

/// The operator's check of a step whose outcome is unknown: wait until nothing runs on the
/// host any more (no control script, the server either serving or stopped, for 3 s on end),
/// then look whether the server started again after the intent was logged. Returns what the
/// operator saw, and whether the restart happened.
fn check_the_host(sandbox: &Sandbox, open: &Open) -> (bool, String) {
    let client = sandbox.client(&open.host);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut quiet_since: Option<Instant> = None;
    loop {
        let alive = server_alive(sandbox, &open.host);
        let serving = alive && matches!(mode(&client).as_str(), "leader" | "follower");
        let quiet = !control_script_running(sandbox, &open.host) && (serving || !alive);
        match (quiet, quiet_since) {
            (false, _) => quiet_since = None,
            (true, None) => quiet_since = Some(Instant::now()),
            (true, Some(since)) if since.elapsed() >= Duration::from_secs(3) => break,
            (true, Some(_)) => {}
        }
        assert!(Instant::now() < deadline, "{} never settled", open.host);
        std::thread::sleep(Duration::from_millis(100));
    }
    let intent_second = &open.ts[..19];
    let started = sandbox
        .starts(&open.host)
        .into_iter()
        .find(|s| s.as_str() >= intent_second);
    let serving = matches!(mode(&client).as_str(), "leader" | "follower");
    match (started, serving) {
        (Some(at), true) => (true, format!("server started at {at}, serving")),
        (Some(at), false) => (false, format!("started at {at} but stopped since")),
        (None, true) => (false, "no start since the intent: not run".into()),
        (None, false) => (false, "stopped, no start since the intent".into()),
    }
}

fn type_text(tmux: &Tmux, text: &str) {
    for c in text.chars() {
        tmux.send(&c.to_string());
    }
}

fn step_done_on_screen(screen: &str, step: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(step) && l.contains(" done"))
}

/// Resumes in the console and gives the operator's answer for the outcome-unknown step by
/// keys: `d` and how it was checked when the restart happened, else `R` and `y`.
fn decide_in_console(sandbox: &Sandbox, log: &Path, open: &Open) -> String {
    let command = format!(
        "TMPDIR={} {BIN} run {} --inventory {} --interval 500ms --resume {}",
        control_dir(sandbox).display(),
        runbook().display(),
        sandbox.inventory_path().display(),
        log.display()
    );
    let tmux = Tmux::start(&command, 200, 50);
    let screen = tmux.wait_for("the outcome-unknown step", Duration::from_secs(30), |s| {
        s.contains("OUTCOME") && s.contains("d mark done")
    });
    assert!(
        screen.contains(&format!("({}) $", open.host)),
        "the console asks to check {}, the host its intent named:\n{screen}",
        open.host
    );
    let (ran, seen) = check_the_host(sandbox, open);
    if ran {
        tmux.send("d");
        tmux.wait_for("the check prompt", Duration::from_secs(10), |s| {
            s.contains("how you checked it completed")
        });
        type_text(&tmux, &format!("{} zk.log: {seen}", open.host));
        tmux.send("Enter");
    } else {
        tmux.wait_for("every gate green", Duration::from_secs(60), |s| {
            !s.contains('✗') && s.contains("R retry")
        });
        tmux.send("R");
        tmux.wait_for("the confirmation", Duration::from_secs(10), |s| {
            s.contains("y run this step now")
        });
        tmux.send("y");
    }
    tmux.wait_for(
        &format!("{} done", open.step),
        Duration::from_secs(90),
        |s| step_done_on_screen(s, &open.step),
    );
    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(10));
    format!("{}: {}", if ran { "marked done" } else { "retried" }, seen)
}

/// What the log says about `--resume`; every entry is a broken promise.
fn resume_violations(records: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut session = 0;
    // Intents of this session without a result yet: number → step.
    let mut running: BTreeMap<u64, String> = BTreeMap::new();
    // Steps whose intent was left without a result by an earlier session, until decided.
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    // The session in which a step's command last got a result.
    let mut finished: BTreeMap<String, usize> = BTreeMap::new();
    // Steps retried by an operator's decision in this session.
    let mut retried: BTreeSet<String> = BTreeSet::new();
    let mut hosts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        let step = r["step"].as_str().unwrap_or_default().to_string();
        match r["kind"].as_str().unwrap_or_default() {
            "resume" => {
                session += 1;
                unknown.extend(std::mem::take(&mut running).into_values());
                retried.clear();
            }
            "decision" => {
                let kind = r["decision"]["type"].as_str().unwrap_or_default();
                if kind != "confirm" {
                    unknown.remove(&step);
                }
                if kind == "retry" {
                    retried.insert(step);
                }
            }
            "intent" => {
                let number = r["intent"].as_u64().unwrap();
                hosts
                    .entry(step.clone())
                    .or_default()
                    .insert(r["host"].as_str().unwrap().to_string());
                if let Some(other) = unknown.iter().find(|s| **s != step) {
                    problems.push(format!(
                        "seq {}: {step} ran while {other}'s outcome was unknown",
                        r["seq"]
                    ));
                }
                if unknown.contains(&step) {
                    problems.push(format!(
                        "seq {}: {step} ran again without a decision on its unknown outcome",
                        r["seq"]
                    ));
                }
                if finished.get(&step).is_some_and(|s| *s < session) && !retried.contains(&step) {
                    problems.push(format!(
                        "seq {}: {step}'s finished command was issued again after a resume \
                         without a retry decision",
                        r["seq"]
                    ));
                }
                running.insert(number, step);
            }
            "result" => {
                if let Some(step) = r["intent"].as_u64().and_then(|n| running.remove(&n)) {
                    finished.insert(step, session);
                }
            }
            _ => {}
        }
    }
    for (step, names) in hosts {
        if names.len() > 1 {
            problems.push(format!("{step} ran on more than one host: {names:?}"));
        }
    }
    problems
}

fn last_states(records: &[Value]) -> BTreeMap<String, String> {
    records
        .iter()
        .filter(|r| r["kind"] == "step")
        .map(|r| {
            (
                r["step"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// One leader, two followers, and the leader counting both as synced.
fn wait_healthy(sandbox: &Sandbox) {
    let clients: Vec<String> = HOSTS.iter().map(|h| sandbox.client(h)).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let modes: Vec<String> = clients.iter().map(|c| mode(c)).collect();
        let leader = modes.iter().position(|m| m == "leader");
        let followers = modes.iter().filter(|m| *m == "follower").count();
        let synced = leader.and_then(|l| ask(&clients[l], "mntr")).and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("zk_synced_followers"))
                .map(|v| v.trim().to_string())
        });
        if leader.is_some() && followers == 2 && synced.as_deref() == Some("2") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the ensemble is not healthy: {modes:?}, synced followers {synced:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn verify(log: &Path) -> String {
    let out = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(log)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the log does not verify: {text}");
    text
}

/// What the log showed at a kill, for the table.
fn state_at_kill(records: &[Value]) -> String {
    if let Some(open) = open_intent(records) {
        return format!("{} intent on {} without result", open.step, open.host);
    }
    match records.iter().rev().find(|r| r["kind"] == "step") {
        Some(r) => format!(
            "{} {}",
            r["step"].as_str().unwrap(),
            r["state"].as_str().unwrap()
        ),
        None => "before any step".into(),
    }
}

#[test]
fn kill_9_at_random_moments_then_resume_neither_repeats_nor_skips_a_command() {
    let seed = std::env::var("ZKPILOT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(seed);
    let sandbox = Sandbox::up(3, 0, 0);
    let _masters = CloseMasters(control_dir(&sandbox));
    let began = Instant::now();
    let mut table: Vec<String> = Vec::new();

    for run in 0..RUNS {
        wait_healthy(&sandbox);
        let log = sandbox.dir.join(format!("crash-{run}.jsonl"));
        let starts_before: Vec<usize> = HOSTS.iter().map(|h| sandbox.starts(h).len()).collect();
        let mut kills = 0;
        let mut sessions = 0;
        loop {
            let records = read_log(&log);
            // The console that settled the last step closed the session: it is never resumed.
            if records.last().is_some_and(|r| r["kind"] == "session_end") {
                break;
            }
            sessions += 1;
            let out = sandbox.dir.join(format!("crash-{run}-{sessions}.out"));
            if let Some(open) = open_intent(&records) {
                // The autopilot must not guess: it stops and names the step.
                let mut child = spawn_autopilot(&sandbox, &log, true, &out);
                let Ending::Exited(status) = watch(&mut child, &log, records.len(), None) else {
                    unreachable!("no kill was asked for")
                };
                let said = std::fs::read_to_string(&out).unwrap();
                assert_eq!(status.code(), Some(1), "{said}");
                assert!(
                    said.contains(&format!("`{}`: outcome unknown", open.step)),
                    "the autopilot names the step to check:\n{said}"
                );
                let after = read_log(&log);
                assert!(
                    after[records.len()..].iter().all(|r| r["kind"] != "intent"),
                    "the autopilot ran something while {}'s outcome was unknown:\n{said}",
                    open.step
                );
                let decided = decide_in_console(&sandbox, &log, &open);
                if let Some(row) = table.last_mut() {
                    row.push_str(&format!("; resumed: outcome unknown, {decided}"));
                    eprintln!("{:.0?}   {decided}", began.elapsed());
                }
                continue;
            }
            let kill = if run + 1 == RUNS && records.is_empty() {
                Some(LEADER_GOING_DOWN)
            } else if kills < KILLS_PER_RUN {
                draw_moment(&mut rng, &records)
            } else {
                None
            };
            let mut child = spawn_autopilot(&sandbox, &log, !records.is_empty(), &out);
            match watch(&mut child, &log, records.len(), kill) {
                Ending::Killed => {
                    kills += 1;
                    let (anchor, delay) = kill.unwrap();
                    let verified = verify(&log);
                    let torn = if verified.contains("torn") {
                        ", torn tail"
                    } else {
                        ""
                    };
                    let now = read_log(&log);
                    table.push(format!(
                        "run {run} kill {kills}: {anchor:?} + {} ms, record {}{torn}: {}",
                        delay.as_millis(),
                        now.len(),
                        state_at_kill(&now)
                    ));
                    eprintln!("{:.0?} {}", began.elapsed(), table.last().unwrap());
                }
                Ending::Exited(status) => {
                    let said = std::fs::read_to_string(&out).unwrap();
                    assert!(status.success(), "{said}");
                    assert!(said.contains("done: every step done"), "{said}");
                    break;
                }
            }
        }

        let records = read_log(&log);
        let violations = resume_violations(&records);
        assert!(
            violations.is_empty(),
            "run {run}: {violations:#?}\nkills:\n{}",
            table.join("\n")
        );
        let states = last_states(&records);
        for step in STEPS {
            assert_eq!(states.get(step).map(String::as_str), Some("done"), "{step}");
        }
        let last = records.last().unwrap();
        assert_eq!(last["kind"], "session_end");
        assert_eq!(last["reason"], "every step done");
        for (h, before) in HOSTS.iter().zip(&starts_before) {
            let after = sandbox.starts(h).len();
            assert_eq!(
                after - before,
                1,
                "run {run}: {h} started {} times by the rolling restart\nkills:\n{}",
                after - before,
                table.join("\n")
            );
        }
        wait_healthy(&sandbox);
        assert_audit_verifies(&log);
    }
    eprintln!(
        "seed {seed}: {} kills in {:.0?}\n{}",
        table.len(),
        began.elapsed(),
        table.join("\n")
    );
    // The first session of every run can always be killed: its first step lies ahead of it.
    assert!(table.len() >= RUNS, "too few kills landed: {table:#?}");
}
