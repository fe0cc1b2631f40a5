//! Adapter: the lab's one sandbox and the servers of each trial.
//!
//! One sandbox serves the whole run (a JVM start costs about 2 s of CPU on two cores, so the
//! hosts are made once): it comes up with one server — the sandbox needs an elected leader to
//! call itself up — which is stopped at once, and spare hosts. Each trial then configures the
//! hosts it draws through their own `zkctl` (`wipe-data`, `set-myid`, `set-servers`,
//! `set-option`), starts them in the drawn order, samples `srvr` (and `mntr` on leaders)
//! every 200 ms, and stops exactly the processes it started, by the PID each start recorded.
//! The sandbox is always taken down at the end, after an error or Ctrl-C too.

use std::io::{IsTerminal, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::task::JoinSet;

use crate::net::wire::{self, WireError};
use crate::rehearse::sandbox::layout::{HostPlan, Layout, CLIENT_PORT, ELECTION_PORT, QUORUM_PORT};
use crate::rehearse::sandbox::{self, process, SandboxError, UpOptions};
use crate::zk::fourlw::{self, Answer, Mode};
use crate::zk::version::ZkVersion;

use super::draw::{self, Trial};
use super::fixture::{self, Addressing};
use super::judge::{self, Role, Sample};
use super::netns::{Netns, Prober};
use super::network::Network;
use super::report::{self, Tally};

/// Time between two samples of every server.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// One `srvr` or `mntr` exchange; a server busy starting on two cores can be slow to answer.
const ASK_DEADLINE: Duration = Duration::from_millis(1500);
/// How long after the last start every server gets to open its client port before the trial
/// is given up as not run: JVMs starting together on two cores take a few seconds.
const BOOT_LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct LabOptions {
    pub trials: u32,
    pub seed: u64,
    /// The first trial's number: `first: 17, trials: 1` runs trial 17 of the seed again.
    pub first: u32,
    pub hosts: RangeInclusive<usize>,
    /// How long to watch after every started server answers.
    pub settle: Duration,
    /// The sandbox directory; a fresh one under the temp dir when `None`.
    pub dir: Option<PathBuf>,
    /// Where to write each disagreement as a regression fixture.
    pub keep_fixtures: Option<PathBuf>,
    /// Run the split brain measured in `shared/research` every trial instead of drawing.
    pub research_split: bool,
    /// Each host in a network namespace of its own behind a router namespace, services as
    /// DNAT rules (`netns.rs`); the kinds whose own lines are not their hosts are drawn too.
    pub netns: bool,
}

#[derive(Debug, Clone)]
pub struct LabOutcome {
    pub tally: Tally,
    pub interrupted: bool,
    pub wall: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("the analyzer refused trial {trial}: {message}")]
    Analyzer { trial: u32, message: String },
    #[error("{0}")]
    Stop(String),
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> LabError {
    LabError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Runs the lab: prints every disagreement and the table on `out`, the progress on stderr.
pub async fn elections(options: &LabOptions, out: &mut dyn Write) -> Result<LabOutcome, LabError> {
    if options.trials == 0 {
        return Err(LabError::Invalid("--trials must be at least 1".into()));
    }
    if options.first.checked_add(options.trials).is_none() {
        return Err(LabError::Invalid(
            "--first plus --trials is too large".into(),
        ));
    }
    if options.settle < Duration::from_secs(1) || options.settle > Duration::from_secs(300) {
        return Err(LabError::Invalid(
            "--settle must be from 1 to 300 seconds".into(),
        ));
    }
    if let Some(dir) = &options.keep_fixtures {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    let (dir, own_dir) = match &options.dir {
        Some(dir) => (dir.clone(), false),
        None => {
            // Made here, and only if nobody made it first: the name is predictable, and a
            // directory another user made ahead of the run would be theirs to plant in.
            let dir = std::env::temp_dir().join(format!("zkpilot-lab-{}", std::process::id()));
            std::fs::create_dir(&dir).map_err(|e| file_error(&dir, e))?;
            (dir, true)
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let signals = tokio::spawn(watch_signals(stop.clone()));
    let started = Instant::now();

    let hosts = if options.research_split {
        draw::RESEARCH_SPLIT_HOSTS
    } else {
        *options.hosts.end()
    };
    crate::say_err!(
        "zkpilot lab: a sandbox of {hosts} hosts in {} (one server starts to prove it works)",
        dir.display()
    );
    let up = sandbox::up(
        &dir,
        UpOptions {
            voters: 1,
            observers: 0,
            spares: u8::try_from(hosts.saturating_sub(1)).unwrap_or(0),
            dynamic_reconfig: false,
            services: false,
            whitelist: None,
            admin: false,
        },
    )
    .await;
    let statuses = match up {
        Ok(statuses) => statuses,
        Err(e) => {
            // A failed `up` has taken down what it started; and a sandbox already running in
            // DIR is someone else's, never to be taken down here.
            signals.abort();
            return Err(e.into());
        }
    };
    let network = if options.netns {
        let plan = Network::new(std::process::id(), hosts);
        crate::say_err!(
            "zkpilot lab: network namespaces {} (router) and {}..h{hosts}",
            plan.router(),
            plan.host_ns(0)
        );
        Some(Netns::create(plan).await)
    } else {
        None
    };
    let result = match network.as_ref() {
        Some(Err(e)) => Err(LabError::Stop(e.to_string())),
        Some(Ok(net)) => match Prober::start(&net.plan.router()) {
            Ok(prober) => {
                run_lab(
                    &dir,
                    &statuses,
                    stop.clone(),
                    Some((net, prober)),
                    options,
                    out,
                )
                .await
            }
            Err(e) => Err(e),
        },
        None => run_lab(&dir, &statuses, stop.clone(), None, options, out).await,
    };
    signals.abort();

    // The servers go first (by PID, with the sandbox), then the namespaces they ran in.
    let mut down = take_down(&dir);
    if let Some(Ok(net)) = &network {
        let gone = net.teardown();
        if down.is_ok() {
            down = gone;
        }
    }
    let outcome = result.map(|(tally, interrupted)| LabOutcome {
        tally,
        interrupted,
        wall: started.elapsed(),
    });
    if let Err(e) = down {
        // Whatever the run found, a sandbox left behind is an error the operator must see.
        if let Ok(outcome) = &outcome {
            let _ = writeln!(out, "{}", outcome.tally.table());
        }
        return Err(e);
    }
    let keep = outcome.as_ref().map_or(true, |o| {
        o.tally.all.disagreements > 0 || o.tally.failed > 0
    });
    if own_dir && !keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        crate::say_err!(
            "zkpilot lab: server logs and disagreements kept in {}",
            dir.display()
        );
    }
    outcome
}

/// Ctrl-C, SIGTERM or SIGHUP (the SSH connection it was started over dropped): finish the
/// current trial's stop, then end the run.
async fn watch_signals(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hangup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = received(term.as_mut()) => {}
        () = received(hangup.as_mut()) => {}
    }
    stop.store(true, Ordering::SeqCst);
    crate::say_err!(
        "\nzkpilot lab: stopping: the servers of this trial are stopped, then the sandbox"
    );
}

/// The next delivery of a signal, or never when its handler could not be installed.
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// `sandbox down`, then proof that nothing of it still runs.
fn take_down(dir: &Path) -> Result<(), LabError> {
    let report = sandbox::down(dir)?;
    if !report.left_running.is_empty() {
        return Err(LabError::Stop(format!(
            "still running after SIGKILL: pids {:?}",
            report.left_running
        )));
    }
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let left = sandbox::processes_mentioning(&canonical.join("hosts").display().to_string());
    if !left.is_empty() {
        return Err(LabError::Stop(format!(
            "processes of the lab's sandbox still run: pids {left:?}"
        )));
    }
    Ok(())
}

async fn run_lab(
    dir: &Path,
    statuses: &[sandbox::HostStatus],
    stop: Arc<AtomicBool>,
    net: Option<(&Netns, Prober)>,
    options: &LabOptions,
    out: &mut dyn Write,
) -> Result<(Tally, bool), LabError> {
    Lab::new(dir, statuses, stop, net)?.run(options, out).await
}

struct Lab<'n> {
    layout: Layout,
    version: ZkVersion,
    stop: Arc<AtomicBool>,
    /// The private network of `--netns`, and the sampler inside its router.
    net: Option<(&'n Netns, Prober)>,
}

/// What one trial produced.
struct TrialRun {
    samples: Vec<Sample>,
    /// Hosts whose server was gone at the end of the trial without being stopped.
    exited: Vec<usize>,
    /// Why the trial cannot be judged (a server did not start or never answered), if so.
    failure: Option<String>,
    /// When the settle window began (every started server had answered), ms after the first
    /// start; `None` when it never began.
    settled_from_ms: Option<u64>,
}

impl<'n> Lab<'n> {
    fn new(
        dir: &Path,
        statuses: &[sandbox::HostStatus],
        stop: Arc<AtomicBool>,
        net: Option<(&'n Netns, Prober)>,
    ) -> Result<Lab<'n>, LabError> {
        let dir = std::fs::canonicalize(dir).map_err(|e| file_error(dir, e))?;
        // The slot is the third octet of every sandbox address (127.77.SLOT.N).
        let slot = statuses
            .first()
            .and_then(|s| s.client.split('.').nth(2))
            .and_then(|octet| octet.parse::<u8>().ok())
            .ok_or_else(|| LabError::Stop("the sandbox reported no host address".into()))?;
        let spares = u8::try_from(statuses.len().saturating_sub(1)).unwrap_or(0);
        let layout = Layout::new(dir, slot, 1, 0, spares);
        Ok(Lab {
            layout,
            version: ZkVersion::new(3, 8, 0),
            stop,
            net,
        })
    }

    fn host(&self, index: usize) -> Result<&HostPlan, LabError> {
        self.layout
            .hosts
            .get(index)
            .ok_or_else(|| LabError::Stop(format!("the sandbox has no host {}", index + 1)))
    }

    fn addressing(&self, count: usize) -> Addressing {
        let hosts = &self.layout.hosts[..count.min(self.layout.hosts.len())];
        let names = hosts.iter().map(|h| h.name.clone()).collect();
        if self.net.is_none() {
            return Addressing {
                names,
                peers: hosts.iter().map(|h| self.layout.peer(h)).collect(),
                services: Vec::new(),
            };
        }
        // In its own namespace every host has the standard ports on its one address.
        let peer = |addr: String| format!("{addr}:{QUORUM_PORT}:{ELECTION_PORT}");
        Addressing {
            names,
            peers: (0..hosts.len())
                .map(|h| peer(Network::host_addr(h)))
                .collect(),
            services: (1..=self.layout.hosts.len() as u64)
                .map(|sid| peer(Network::service_addr(sid)))
                .collect(),
        }
    }

    /// Where a host's clients connect: its loopback address, or its namespace's address.
    fn client_addr(&self, index: usize, host: &HostPlan) -> String {
        if self.net.is_some() {
            Network::host_addr(index)
        } else {
            self.layout.address(host)
        }
    }

    fn client(&self, host: &HostPlan) -> String {
        let index = usize::from(host.index).saturating_sub(1);
        format!("{}:{CLIENT_PORT}", self.client_addr(index, host))
    }

    /// The namespace host `index` runs in, under `--netns`.
    fn namespace(&self, index: usize) -> Option<String> {
        self.net.as_ref().map(|(net, _)| net.plan.host_ns(index))
    }

    async fn sample(&self, clients: &[Option<String>]) -> Vec<Role> {
        match &self.net {
            Some((_, prober)) => prober.sample(clients.to_vec()).await,
            None => sample(clients).await,
        }
    }

    async fn run(
        mut self,
        options: &LabOptions,
        out: &mut dyn Write,
    ) -> Result<(Tally, bool), LabError> {
        // The rules follow the version the servers run: ask the one the sandbox started.
        let first = self.host(0)?.clone();
        let loopback = format!("{}:{CLIENT_PORT}", self.layout.address(&first));
        if let Ok(answer) = wire::ask(&loopback, "srvr", ASK_DEADLINE).await {
            if let Some(version) = answer.lines().find_map(ZkVersion::parse) {
                self.version = version;
            }
        }
        zkctl(&self.layout, &first, None, &["stop"]).await?;

        let mut tally = Tally::new();
        let tty = std::io::stderr().is_terminal();
        let disagreements_dir = self.layout.dir.join("disagreements");
        let trials_dir = self.layout.dir.join("trials");
        for (done, index) in (options.first..).take(options.trials as usize).enumerate() {
            if self.stop.load(Ordering::SeqCst) {
                return Ok((tally, true));
            }
            let trial = if options.research_split {
                draw::research_split(options.seed, index)
            } else if options.netns {
                draw::draw_netns(options.seed, index, &options.hosts)
            } else {
                draw::draw(options.seed, index, &options.hosts)
            };
            let at = self.addressing(trial.hosts.len());
            let run = self.run_trial(&trial, options.settle).await?;
            if self.stop.load(Ordering::SeqCst) {
                // Cut short: neither judged nor counted.
                return Ok((tally, true));
            }
            let kinds: Vec<&str> = trial.kinds.iter().map(|k| k.as_str()).collect();
            let line = match &run.failure {
                Some(why) => {
                    tally.add_failed();
                    let _ = writeln!(
                        out,
                        "trial {index} could not run: {why}\n{}",
                        fixture::state_yaml(&trial, &at, self.version)
                    );
                    format!("trial {index}: not run ({why})")
                }
                None => {
                    let ensemble = fixture::ensemble(&trial, &at, self.version).map_err(|e| {
                        LabError::Analyzer {
                            trial: index,
                            message: e.to_string(),
                        }
                    })?;
                    let verdict = ensemble.verdict().map_err(|e| LabError::Analyzer {
                        trial: index,
                        message: e.to_string(),
                    })?;
                    let mut seen = judge::summarize(&run.samples);
                    seen.exited = run.exited.clone();
                    seen.no_leader_settled = run
                        .settled_from_ms
                        .is_some_and(|from| judge::leaderless_since(&run.samples, from));
                    let judgement = judge::judge(&verdict, &seen);
                    tally.add(&trial.kinds, &judgement);
                    let text = fixture::fixture_text(
                        &trial,
                        &at,
                        self.version,
                        &seen,
                        &run.samples,
                        &judgement,
                    );
                    let name = format!("seed{}-trial{index}.yaml", options.seed);
                    // Every trial's record, so a later analyzer can be judged against this
                    // run's elections without running them again (`zkpilot lab judge`).
                    write_file(&trials_dir.join(&name), &text)?;
                    if !judgement.agrees() {
                        let mut saved = vec![disagreements_dir.join(&name)];
                        if let Some(dir) = &options.keep_fixtures {
                            saved.push(dir.join(&name));
                        }
                        for path in &saved {
                            write_file(path, &text)?;
                        }
                        let _ = writeln!(
                            out,
                            "=== DISAGREEMENT in trial {index} (saved as {})\n{text}",
                            saved
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(" and ")
                        );
                    }
                    let named = |hosts: &[usize]| {
                        let names: Vec<&str> =
                            hosts.iter().map(|&h| at.names[h].as_str()).collect();
                        names.join(", ")
                    };
                    let leaders = named(&seen.leaders);
                    let first = seen.first_leader_ms.map_or("no leader".to_string(), |ms| {
                        format!("a leader at {:.1} s", ms as f64 / 1000.0)
                    });
                    let exited = named(&seen.exited);
                    let idle = if judgement.cannot_serve.is_empty() {
                        String::new()
                    } else {
                        format!("; cannot serve [{}]", named(&judgement.cannot_serve))
                    };
                    format!(
                        "trial {index} ({}): {} host(s), leaders [{}] ({first}), {} split(s), exited [{}]; analyzer: quorum {}, split {}; {}{idle}; {}",
                        kinds.join(", "),
                        trial.hosts.len(),
                        leaders,
                        seen.splits.len(),
                        exited,
                        if judgement.quorum_possible { "possible" } else { "impossible" },
                        if judgement.split_possible { "possible" } else { "impossible" },
                        report::stall_words(&judgement),
                        if judgement.agrees() { "agree" } else { "DISAGREE" }
                    )
                }
            };
            let bar = report::progress_bar(done as u32 + 1, options.trials, 30);
            let counts = tally.all;
            if tty {
                crate::io::output::err(format_args!(
                    "\r{bar}  leaders {}  splits {}  disagreements {}  ",
                    counts.leaders_seen, counts.splits_seen, counts.disagreements
                ));
            } else {
                crate::say_err!("{bar} {line}");
            }
        }
        if tty {
            crate::say_err!();
        }
        Ok((tally, false))
    }

    async fn run_trial(&self, trial: &Trial, settle: Duration) -> Result<TrialRun, LabError> {
        let count = trial.hosts.len();
        if count > self.layout.hosts.len() {
            return Err(LabError::Stop(format!(
                "trial {} needs {count} hosts; the sandbox has {}",
                trial.index,
                self.layout.hosts.len()
            )));
        }
        let at = self.addressing(count);
        let running: Vec<usize> = (0..count).filter(|&h| trial.hosts[h].running).collect();

        // Each host starts from nothing: no snapshot or log of an earlier trial may decide an
        // election of this one (the highest zxid wins FastLeaderElection).
        let mut prepare = JoinSet::new();
        for &h in &running {
            let host = self.host(h)?.clone();
            let layout = self.layout.clone();
            let state = &trial.hosts[h];
            let lines: Vec<String> = state.view.iter().map(|l| at.server_line(l)).collect();
            let sid = state.sid.to_string();
            let options = [
                if state.observer() {
                    "peerType=observer".to_string()
                } else {
                    "peerType=participant".to_string()
                },
                format!("quorumListenOnAllIPs={}", state.listen_all),
                format!("clientPortAddress={}", self.client_addr(h, &host)),
            ];
            prepare.spawn(async move {
                zkctl(&layout, &host, None, &["wipe-data"]).await?;
                zkctl(&layout, &host, None, &["set-myid", &sid]).await?;
                let mut args = vec!["set-servers"];
                args.extend(lines.iter().map(String::as_str));
                zkctl(&layout, &host, None, &args).await?;
                for option in &options {
                    zkctl(&layout, &host, None, &["set-option", option]).await?;
                }
                Ok::<(), LabError>(())
            });
        }
        if let Some((net, _)) = &self.net {
            net.route(&trial.services).await?;
        }
        while let Some(done) = prepare.join_next().await {
            done.map_err(|e| LabError::Stop(format!("preparing a host failed: {e}")))??;
        }

        let t0 = Instant::now();
        let all_spawned = Arc::new(std::sync::Mutex::new(None::<Instant>));
        let starter = self.start_all(trial, all_spawned.clone());
        let sampler = self.sample_until_settled(count, &running, t0, settle, all_spawned);
        let (started, (samples, settled_from_ms, booted)) = tokio::join!(starter, sampler);

        // A server gone before the stop exited on its own (an own line it cannot bind).
        let exited = running
            .iter()
            .copied()
            .filter(|&h| self.host(h).is_ok_and(|host| self.live_pid(host).is_none()))
            .collect();
        // Stop exactly what the starts above launched, even if some start failed.
        let stopped = self.stop_servers(&running).await;
        let mut failure = started.err();
        if failure.is_none() {
            failure = booted.err();
        }
        stopped?;
        Ok(TrialRun {
            samples,
            exited,
            failure,
            settled_from_ms,
        })
    }

    /// Starts the running hosts in the drawn order with the drawn pauses, then waits for
    /// every `zkctl start` to report. `Err` names the starts that failed.
    async fn start_all(
        &self,
        trial: &Trial,
        all_spawned: Arc<std::sync::Mutex<Option<Instant>>>,
    ) -> Result<(), String> {
        let mut children = JoinSet::new();
        for start in &trial.starts {
            // Once stopping, start nothing more: every server started so far is stopped next.
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(u64::from(start.delay_ms))).await;
            let Ok(host) = self.host(start.host).cloned() else {
                continue;
            };
            let layout = self.layout.clone();
            let namespace = self.namespace(start.host);
            children.spawn(async move {
                let name = host.name.clone();
                zkctl(&layout, &host, namespace.as_deref(), &["start"])
                    .await
                    .map_err(|e| format!("{name}: {e}"))
            });
        }
        if let Ok(mut at) = all_spawned.lock() {
            *at = Some(Instant::now());
        }
        let mut failures = Vec::new();
        while let Some(done) = children.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(e) => failures.push(e.to_string()),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!("start failed: {}", failures.join("; ")))
        }
    }

    /// Samples every `SAMPLE_EVERY` from the first start until `settle` after every started
    /// server first answered (or `BOOT_LIMIT` after the last start: then `Err` names who never
    /// answered); with the samples, when that settle window began (ms after `t0`).
    async fn sample_until_settled(
        &self,
        count: usize,
        running: &[usize],
        t0: Instant,
        settle: Duration,
        all_spawned: Arc<std::sync::Mutex<Option<Instant>>>,
    ) -> (Vec<Sample>, Option<u64>, Result<(), String>) {
        let clients: Vec<Option<String>> = (0..count)
            .map(|h| {
                running
                    .contains(&h)
                    .then(|| self.host(h).ok().map(|host| self.client(host)))
                    .flatten()
            })
            .collect();
        let mut answered = vec![false; count];
        let mut booted_at: Option<Instant> = None;
        let mut samples = Vec::new();
        let mut ticker = tokio::time::interval(SAMPLE_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = Instant::now();
            let spawned = all_spawned.lock().ok().and_then(|at| *at);
            let since_t0 = |at: Instant| at.duration_since(t0).as_millis() as u64;
            if let Some(booted) = booted_at {
                if now >= booted + settle {
                    return (samples, Some(since_t0(booted)), Ok(()));
                }
            } else if let Some(spawned) = spawned {
                if now >= spawned + BOOT_LIMIT {
                    let silent: Vec<String> = running
                        .iter()
                        .filter(|&&h| !answered[h])
                        .filter_map(|&h| self.host(h).ok().map(|host| host.name.clone()))
                        .collect();
                    return (
                        samples,
                        None,
                        Err(format!(
                            "{} never answered within {} s of the last start",
                            silent.join(", "),
                            BOOT_LIMIT.as_secs()
                        )),
                    );
                }
            }
            if self.stop.load(Ordering::SeqCst) && spawned.is_some() {
                return (samples, booted_at.map(since_t0), Err("interrupted".into()));
            }
            let roles = self.sample(&clients).await;
            for (h, role) in roles.iter().enumerate() {
                // A server that exited (its own line not its address) answers no more: it is
                // settled too, once every start has reported.
                let gone = || {
                    spawned.is_some()
                        && self.host(h).is_ok_and(|host| self.live_pid(host).is_none())
                };
                if !matches!(role, Role::Down | Role::NoAnswer) || (running.contains(&h) && gone())
                {
                    answered[h] = true;
                }
            }
            samples.push(Sample {
                at_ms: since_t0(now),
                roles,
            });
            if booted_at.is_none() && spawned.is_some() && running.iter().all(|&h| answered[h]) {
                booted_at = Some(Instant::now());
            }
        }
    }

    /// Kills the servers of `hosts` by the PID their start recorded (checked to be that host's
    /// ZooKeeper, so a reused PID is never touched) and waits until they are gone. SIGKILL:
    /// the data is wiped before the next trial anyway, and a killed JVM frees its ports at once.
    async fn stop_servers(&self, hosts: &[usize]) -> Result<(), LabError> {
        let mut pids = Vec::new();
        for &h in hosts {
            let host = self.host(h)?;
            if let Some(pid) = self.live_pid(host) {
                pids.push((host.name.clone(), pid, self.needle(host)));
            }
        }
        let stopped = tokio::task::spawn_blocking(move || {
            let mut left = Vec::new();
            for (name, pid, needle) in pids {
                if !process::stop(pid, &needle, Duration::ZERO) {
                    left.push(format!("{name} (pid {pid})"));
                }
            }
            left
        })
        .await
        .map_err(|e| LabError::Stop(e.to_string()))?;
        if stopped.is_empty() {
            Ok(())
        } else {
            Err(LabError::Stop(format!(
                "could not stop {}",
                stopped.join(", ")
            )))
        }
    }
}

impl Lab<'_> {
    /// What a host's server's command line holds: its own config path.
    fn needle(&self, host: &HostPlan) -> String {
        let dir = self.layout.host_dir(host);
        format!("QuorumPeerMain {}", dir.join("zoo.cfg").display())
    }

    /// The PID its last start recorded, if that process still runs as its server.
    fn live_pid(&self, host: &HostPlan) -> Option<i32> {
        let pid_file = self.layout.host_dir(host).join("zk.pid");
        process::live_pid(&pid_file, &self.needle(host), &host.user)
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), LabError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    }
    crate::io::output_file::write_whole(path, text).map_err(|e| file_error(path, e))
}

/// Judges recorded trials (`DIR/trials/*.yaml`, or fixtures) again with the current analyzer:
/// no sandbox, no root.
pub fn judge_records(paths: &[PathBuf]) -> Result<Rejudged, LabError> {
    let mut tally = Tally::new();
    let mut disagreeing = Vec::new();
    for path in paths {
        // The project's one way to read an input file: regular files only, size-capped.
        let text = crate::io::input_file::read_text(path).map_err(LabError::Invalid)?;
        let (state, seen) =
            fixture::parse_fixture(&text, path).map_err(|e| LabError::Invalid(e.to_string()))?;
        let verdict = state
            .ensemble
            .verdict()
            .map_err(|e| LabError::Invalid(format!("{}: {e}", path.display())))?;
        let judgement = judge::judge(&verdict, &seen);
        tally.add(&fixture::kinds_of(&text), &judgement);
        if !judgement.agrees() {
            let at = Addressing::of(&state.ensemble);
            let missed = judgement
                .disagreements
                .iter()
                .map(|d| fixture::disagreement_text(d, &at))
                .collect();
            disagreeing.push((path.clone(), missed));
        }
    }
    Ok(Rejudged { tally, disagreeing })
}

/// Recorded trials judged again.
#[derive(Debug, Clone)]
pub struct Rejudged {
    pub tally: Tally,
    /// Per disagreeing record, what the analyzer missed, in words.
    pub disagreeing: Vec<(PathBuf, Vec<String>)>,
}

/// One sample: every listed client asked at once; `None` (a host not started) is `Down`.
pub(super) async fn sample(clients: &[Option<String>]) -> Vec<Role> {
    let mut asks = JoinSet::new();
    for (h, client) in clients.iter().enumerate() {
        if let Some(client) = client.clone() {
            asks.spawn(async move { (h, role_of(&client).await) });
        }
    }
    let mut roles = vec![Role::Down; clients.len()];
    while let Some(done) = asks.join_next().await {
        if let Ok((h, role)) = done {
            roles[h] = role;
        }
    }
    roles
}

async fn role_of(client: &str) -> Role {
    let text = match wire::ask(client, "srvr", ASK_DEADLINE).await {
        Ok(text) => text,
        Err(WireError::Refused(_)) => return Role::Down,
        Err(_) => return Role::NoAnswer,
    };
    match fourlw::parse_srvr(&text) {
        Ok(Answer::Data(srvr)) => {
            let epoch = srvr.zxid.epoch();
            match srvr.mode {
                Mode::Leader => {
                    let synced_followers = match wire::ask(client, "mntr", ASK_DEADLINE).await {
                        Ok(text) => match fourlw::parse_mntr(&text) {
                            Ok(Answer::Data(mntr)) => mntr.synced_followers(),
                            _ => None,
                        },
                        Err(_) => None,
                    };
                    Role::Leader {
                        epoch,
                        synced_followers,
                    }
                }
                Mode::Follower => Role::Follower { epoch },
                Mode::Observer => Role::Observer,
                Mode::Standalone => Role::Standalone,
                Mode::ReadOnly => Role::NotServing,
            }
        }
        Ok(Answer::NotServing) => Role::NotServing,
        _ => Role::NoAnswer,
    }
}

/// Runs a verb of a host's control script as the host's own user, as an operator would over
/// SSH (without the SSH: the lab only needs the verb); inside `namespace` when given, so the
/// server it starts has that namespace's network.
async fn zkctl(
    layout: &Layout,
    host: &HostPlan,
    namespace: Option<&str>,
    args: &[&str],
) -> Result<(), LabError> {
    let script = layout.host_dir(host).join("zkctl");
    let shown = format!("{} {}", script.display(), args.join(" "));
    let mut command = match namespace {
        Some(ns) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", ns, "runuser"]);
            command
        }
        None => Command::new("runuser"),
    };
    let output = command
        .args(["-u", &host.user, "--"])
        .arg(&script)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| LabError::Stop(format!("`{shown}`: {e}")))?;
    finished(&shown, &output)
}

/// A lab command's end: fine when it exited 0, else what it printed on stderr.
pub(super) fn finished(shown: &str, output: &std::process::Output) -> Result<(), LabError> {
    if output.status.success() {
        Ok(())
    } else {
        Err(LabError::Stop(format!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
