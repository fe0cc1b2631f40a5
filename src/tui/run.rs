//! Adapter: `zkpilot run`. Polls the ensemble, binds the runbook to it, writes the audit log,
//! runs commands over SSH, and drives the step engine — from the console, or without a screen
//! for `--autopilot`.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ratatui::Frame;
use sha2::{Digest, Sha256};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::clock::Clock;
use super::event_loop::{self, Screen, Stopped};
use super::ssh_reads::SshReads;
use super::watch::millis_of;
use crate::audit::record::{AuditEvent, Secrets, SessionInfo, Timestamp};
use crate::audit::writer::default_audit_dir;
use crate::audit::{location, AuditWriter, Durability};
use crate::console::autopilot::{Autopilot, Next};
use crate::console::heartbeat::{self, Heartbeat};
use crate::console::keys::Key;
use crate::console::run::{self as run_model, update, ApprovalWait, Effect, RunAction, RunState};
use crate::console::watch::{spares_of, SshRead, WatchState};
use crate::ensemble::{inventory_services, inventory_targets, EnsembleState};
use crate::inventory::Inventory;
use crate::io::runbook_files;
use crate::net::remote::{Connections, Outcome, SshTarget};
use crate::poll;
use crate::runbook::engine::{Ended, Engine, Recorded};
use crate::runbook::procedure::{Procedure, StepCommand};
use crate::session::approval::{self, Inbox};
use crate::session::lock::LockOwner;
use crate::session::{guards, resume};
use crate::view::{self, Look};
use crate::zk::version::ZkVersion;

pub struct RunOptions {
    pub runbook: PathBuf,
    pub inventory_path: PathBuf,
    pub inventory: Inventory,
    pub bindings: BTreeMap<String, String>,
    pub variables: BTreeMap<String, String>,
    pub interval: Duration,
    /// Whether the poller keeps a client session on every node (`--no-sessions`).
    pub sessions: poll::Sessions,
    pub look: Look,
    pub audit: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub autopilot: bool,
    /// With `--autopilot`: answer "yes" to steps that ask for a plain confirmation.
    pub yes: bool,
    pub zookeeper: Option<ZkVersion>,
    /// Break a stale ensemble lock of another session, for this reason.
    pub break_lock: Option<String>,
}

/// How a run ended, for the exit status and the last words on the terminal.
#[derive(Debug)]
pub struct RunEnd {
    pub finished: bool,
    pub reason: String,
    pub audit_path: PathBuf,
    pub records: u64,
    pub head: String,
}

pub async fn run(options: RunOptions) -> Result<RunEnd, String> {
    let targets = inventory_targets(&options.inventory);
    let (mut reports, poller, demand) = poll::spawn_with_demand(
        &targets,
        options.interval,
        poll::Cadence::Steady,
        options.sessions,
    );
    let mut ensemble = EnsembleState::new(targets);
    ensemble.services = inventory_services(&options.inventory);
    first_poll(&mut ensemble, &mut reports).await;
    let leader = ensemble
        .leader()
        .map(|i| ensemble.nodes[i].target.name.clone());
    // A resumed session runs on the hosts its log recorded: binding `pick: leader` again now
    // could name another host than the one the session already restarted.
    let resumed_log = match &options.resume {
        Some(path) => Some(guards::read_resumed(path)?),
        None => None,
    };
    let bindings = match &resumed_log {
        Some(log) => {
            let recorded = resume::recorded_bindings(log.records.iter().map(|r| &r.event));
            resumed_bindings(&recorded, &options.bindings)?
        }
        None => options.bindings.clone(),
    };
    let loaded = runbook_files::load(
        &options.runbook,
        &options.inventory,
        &bindings,
        &options.variables,
        leader.as_deref(),
    )?;
    let mut procedure = loaded.procedure;
    if resumed_log.is_some() {
        // Bound from the log now, a host the runbook picks is checked again before its step:
        // the role it was picked for may have moved while the session was stopped.
        for host in procedure.hosts.iter_mut() {
            if !options.bindings.contains_key(&host.name) {
                host.picked = host.pick;
            }
        }
    }
    let runbook_sha256 = zkpilot_core::hex::encode(Sha256::digest(loaded.source.text.as_bytes()));
    if let (Some(path), Some(log)) = (&options.resume, &resumed_log) {
        guards::check_resume(
            path,
            log,
            &options.runbook,
            &runbook_sha256,
            &options.inventory_path,
            &procedure,
        )?;
    }
    let version = options
        .zookeeper
        .or_else(|| ensemble.version())
        .or_else(|| {
            options
                .inventory
                .zookeeper
                .as_deref()
                .and_then(ZkVersion::parse)
        })
        .unwrap_or(ZkVersion::NEWEST);
    let node_of = procedure
        .hosts
        .iter()
        .map(|h| {
            options
                .inventory
                .hosts
                .iter()
                .position(|i| i.name == h.inventory.name)
        })
        .collect();
    let connections = Arc::new(Connections::new(
        Duration::from_secs(10),
        std::env::temp_dir(),
    ));
    guards::preflight(
        &options.inventory,
        &procedure,
        &connections,
        options.autopilot,
    )
    .await?;
    let operator = approval::current_person();
    let mut engine = Engine::new(procedure.clone(), version, node_of, operator.clone());
    engine.source = Some(loaded.source);

    let secrets = Secrets::new(procedure.secrets.clone());
    let shown_secrets = secrets.clone();
    let (mut writer, audit_path) = match &options.resume {
        Some(path) => {
            let (writer, resumed) =
                AuditWriter::open_append(path, secrets, now()).map_err(|e| e.to_string())?;
            engine.resume(&Recorded::of(resumed.records.iter().map(|r| &r.event)));
            (writer, path.clone())
        }
        None => {
            let path = match &options.audit {
                Some(path) => path.clone(),
                None => default_audit_dir().map_err(|e| e.to_string())?.join(
                    location::session_file_name(now(), &options.runbook.display().to_string()),
                ),
            };
            let session = SessionInfo {
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                runbook_path: options.runbook.display().to_string(),
                runbook_sha256: runbook_sha256.clone(),
                inventory_path: options.inventory_path.display().to_string(),
                operator: operator.name.clone(),
                host: hostname(),
                tty: tty(),
                hosts: procedure.bindings(),
                inventory_sha256: Some(guards::file_sha256(&options.inventory_path)?),
            };
            let writer =
                AuditWriter::create(&path, session, secrets, now()).map_err(|e| e.to_string())?;
            (writer, path)
        }
    };

    let lock_owner = LockOwner {
        session: writer.session_id().to_string(),
        operator: operator.label(),
        console: hostname(),
        pid: std::process::id(),
        started: now().to_string(),
        log: std::fs::canonicalize(&audit_path)
            .unwrap_or_else(|_| audit_path.clone())
            .display()
            .to_string(),
    };
    let taken = guards::take_lock(
        &options.inventory,
        &lock_owner,
        options.break_lock.as_deref(),
        &mut writer,
        &connections,
        now,
    )
    .await;
    let mut lock = match taken {
        Ok(lock) => lock,
        Err(e) => {
            let _ = writer.stop_session(&format!("refused before the first step: {e}"), now());
            connections.close_all().await;
            return Err(e);
        }
    };

    // Only a console can wait for a follower; `--autopilot` stops at such a step instead.
    let needs_inbox = !options.autopilot && procedure.steps.iter().any(|s| s.approval.is_some());
    let inbox = match needs_inbox.then(|| Inbox::create(&audit_path)) {
        Some(Err(e)) => {
            // The log was opened for this session: it is stopped saying why nothing ran.
            lock.release().await;
            let _ = writer.stop_session(&e, now());
            return Err(e);
        }
        Some(Ok(inbox)) => Some(inbox),
        None => None,
    };
    let (events_tx, events) = mpsc::channel(256);
    // Poll reports join the commands' output and ends as the run's actions.
    let forward = events_tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(report) = reports.recv().await {
            if forward.send(RunAction::Poll(report)).await.is_err() {
                return;
            }
        }
    });
    // Every inventory host's `config` and `status` verbs: a node that shows no current view of
    // its own has its config read over SSH, a LOOKING one its process id, as `watch` does.
    let remote = Remote::Ssh {
        reads: SshReads::of(&options.inventory, connections.clone()),
        connections: connections.clone(),
        inventory: options.inventory.clone(),
    };
    let mut performer = Performer {
        writer,
        inbox,
        events: events_tx,
        remote,
        autopilot: options.autopilot,
        secrets: shown_secrets,
        demand: Some(demand),
        clock: Clock::Wall,
    };
    let mut watch = WatchState::new(procedure.name.clone(), ensemble, poll::unix_millis());
    watch.interval = millis_of(options.interval);
    watch.spares = spares_of(&options.inventory);
    let mut state = RunState::new(watch, engine, audit_path.display().to_string());
    performer.start(&mut state);

    let outcome = if options.autopilot {
        autopilot(&mut state, &mut performer, events, options.yes).await
    } else {
        console(&mut state, &mut performer, events, &options.look).await
    };
    poller.stop().await;
    forwarder.abort();
    lock.release().await;
    connections.close_all().await;
    close(&mut state, performer, outcome, audit_path)
}

/// Closes the session however the run ended: the note of ignored approvals, the inbox
/// removed, then `session_end` when every step is done or `session_stop` (resumable)
/// otherwise — also when the console itself failed, whose error is returned after that.
fn close(
    state: &mut RunState,
    mut performer: Performer,
    outcome: Ending,
    audit_path: PathBuf,
) -> Result<RunEnd, String> {
    let (finished, reason, error) = match outcome {
        Ok((finished, reason)) => (finished, reason, None),
        Err(e) => (false, format!("the console failed: {e}"), Some(e)),
    };
    let reason = performer
        .secrets
        .scrub(state.failed.clone().unwrap_or(reason));
    let effects = run_model::closing(state);
    performer.perform(state, effects);
    if let Some(inbox) = performer.inbox.take() {
        inbox.close();
    }
    // Only a session with every step done is closed for good; any other stop can be resumed.
    let head = if finished {
        performer.writer.end_session(&reason, now())
    } else {
        performer.writer.stop_session(&reason, now())
    }
    .map_err(|e| e.to_string())?;
    if let Some(error) = error {
        tracing::error!(%error, "console failed");
        return Err(format!(
            "{reason} (the session was stopped in {}: `zkpilot run --resume` continues it)",
            audit_path.display()
        ));
    }
    Ok(RunEnd {
        finished,
        reason,
        audit_path,
        records: head.records,
        head: head.hash.to_string(),
    })
}

/// Waits a few seconds for every node's first answer, so the runbook binds to the live leader.
async fn first_poll(
    ensemble: &mut EnsembleState,
    reports: &mut mpsc::Receiver<crate::ensemble::PollReport>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ensemble
        .nodes
        .iter()
        .any(|n| n.health == crate::ensemble::Health::Unknown)
    {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(report)) => {
                ensemble.apply(&report);
            }
            _ => return,
        }
    }
}

/// Where the run's commands and reads of configs and process ids go.
pub(super) enum Remote {
    /// Over SSH to the procedure's hosts, as bound when each command is released (a re-bind
    /// changes them), and to the inventory's (`reads`).
    Ssh {
        connections: Arc<Connections>,
        inventory: Inventory,
        reads: SshReads,
    },
    /// Handed over as they are, to a driver (a test) that answers with the actions an SSH
    /// command would (output, end, config, process id).
    #[cfg(test)]
    Handed(mpsc::UnboundedSender<Effect>),
}

/// Performs the console model's effects: appends records, runs commands and reads over SSH,
/// and answers with actions.
pub(super) struct Performer {
    writer: AuditWriter,
    /// Where followers drop approvals, when a step of the runbook needs one.
    inbox: Option<Inbox>,
    events: mpsc::Sender<RunAction>,
    remote: Remote,
    /// `--autopilot` narrates what it records.
    autopilot: bool,
    /// What autopilot prints is masked like the log.
    secrets: Secrets,
    /// Tells the poller what the current step's gates and waits need.
    demand: Option<poll::Demand>,
    clock: Clock,
}

impl Performer {
    /// Performs what the console does before anything comes in: the session's first records.
    pub(super) fn start(&mut self, state: &mut RunState) {
        let effects = run_model::start(state);
        self.perform(state, effects);
    }

    /// A console's performer whose commands and SSH reads are handed to the caller, which
    /// answers on the other end of `events`; the log is written as in a real session.
    #[cfg(test)]
    pub(super) fn handed(
        writer: AuditWriter,
        inbox: Option<Inbox>,
        events: mpsc::Sender<RunAction>,
        clock: Clock,
    ) -> (Performer, mpsc::UnboundedReceiver<Effect>) {
        let (handed, effects) = mpsc::unbounded_channel();
        let performer = Performer {
            writer,
            inbox,
            events,
            remote: Remote::Handed(handed),
            autopilot: false,
            secrets: Secrets::new(Vec::<String>::new()),
            demand: None,
            clock,
        };
        (performer, effects)
    }

    /// Feeds one action to the model and performs what comes back.
    fn handle(&mut self, state: &mut RunState, action: RunAction) -> bool {
        let effects = update(state, action);
        let any = !effects.is_empty();
        self.perform(state, effects);
        any
    }

    fn perform(&mut self, state: &mut RunState, effects: Vec<Effect>) {
        for effect in effects {
            if state.failed.is_some() {
                return;
            }
            match effect {
                Effect::Record { event, sync } => self.record(state, event, sync),
                Effect::Demand(needs) => {
                    if let Some(demand) = &self.demand {
                        for (node, need) in needs.into_iter().enumerate() {
                            demand.set(node, need);
                        }
                    }
                }
                Effect::Execute { .. }
                | Effect::ReadConfig { .. }
                | Effect::ReadProcessId { .. } => self.remote(effect, &state.engine.procedure),
            }
        }
    }

    fn record(&mut self, state: &mut RunState, event: AuditEvent, sync: bool) {
        if self.autopilot {
            narrate(&event, &self.secrets);
        }
        let durability = if sync {
            Durability::Sync
        } else {
            Durability::Buffered
        };
        let wait = ApprovalWait::of(&event);
        match self.writer.append(event, now(), durability) {
            Ok(_) => run_model::appended(state, wait, self.writer.head().hash),
            Err(e) => {
                update(
                    state,
                    RunAction::LogFailed(format!(
                        "the audit log cannot be written, so nothing more runs: {e}"
                    )),
                );
            }
        }
    }

    /// Starts a command or a read; its answers come back as actions.
    fn remote(&self, effect: Effect, procedure: &Procedure) {
        let (connections, inventory, reads) = match &self.remote {
            Remote::Ssh {
                connections,
                inventory,
                reads,
            } => (connections, inventory, reads),
            #[cfg(test)]
            Remote::Handed(handed) => {
                // A driver that stopped listening is a test that ended.
                let _ = handed.send(effect);
                return;
            }
        };
        match effect {
            Effect::Execute {
                intent,
                host,
                command,
                timeout,
            } => {
                if let Some(bound) = procedure.hosts.get(host) {
                    let target = SshTarget::from_inventory(inventory, &bound.inventory);
                    self.execute(connections.clone(), intent, target, command, timeout);
                }
            }
            Effect::ReadConfig { node } => reads.config(node, &self.events, move |result, at| {
                RunAction::Read(SshRead::ZooCfg { node, result, at })
            }),
            Effect::ReadProcessId { node } => {
                reads.process_id(node, &self.events, move |result, at| {
                    RunAction::Read(SshRead::ProcessId { node, result, at })
                })
            }
            _ => {}
        }
    }

    /// Runs one command over SSH; its output and its end come back as actions.
    fn execute(
        &self,
        connections: Arc<Connections>,
        intent: u64,
        target: SshTarget,
        command: StepCommand,
        timeout: Duration,
    ) {
        let events = self.events.clone();
        let clock = self.clock;
        tokio::spawn(async move {
            let (lines_tx, mut lines) = mpsc::unbounded_channel();
            let forward_events = events.clone();
            let forward = tokio::spawn(async move {
                while let Some(line) = lines.recv().await {
                    if forward_events
                        .send(RunAction::Output { intent, line })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            let outcome = connections
                .run(
                    &target,
                    &command.text,
                    command.stdin.as_deref(),
                    timeout,
                    lines_tx,
                )
                .await;
            let _ = forward.await;
            let ended = match outcome {
                Outcome::Exited { code, duration } => Ended::Exited {
                    code,
                    duration_ms: millis_of(duration),
                },
                Outcome::NotRun(e) => Ended::NotRun(e.to_string()),
                Outcome::Unknown { reason, duration } => Ended::Unknown {
                    reason,
                    duration_ms: millis_of(duration),
                },
            };
            tracing::info!(intent, ?ended, "command ended");
            let at = clock.now();
            let _ = events.send(RunAction::Ended { intent, ended, at }).await;
        });
    }

    /// Hands the files followers dropped to the model, which judges them.
    fn approvals(&mut self, state: &mut RunState) -> bool {
        let Some(inbox) = &self.inbox else {
            return false;
        };
        let taken = inbox.take();
        self.handle(state, RunAction::Inbox(taken))
    }
}

type Ending = Result<(bool, String), io::Error>;

/// The run console in the one event loop.
pub(super) struct RunScreen<'a> {
    pub(super) state: &'a mut RunState,
    pub(super) performer: &'a mut Performer,
    pub(super) look: &'a Look,
}

impl Screen for RunScreen<'_> {
    type Action = RunAction;

    fn key(&mut self, key: Key) -> bool {
        self.performer.handle(self.state, RunAction::Key(key));
        true
    }

    fn action(&mut self, action: RunAction) -> bool {
        self.performer.handle(self.state, action);
        true
    }

    fn tick(&mut self) -> bool {
        let before = self.state.watch.now;
        let now = self.performer.clock.now();
        let acted = self.performer.handle(self.state, RunAction::Tick(now));
        let approved = self.performer.approvals(self.state);
        // Waits and ages are shown in whole seconds.
        acted || approved || before / 1000 != now / 1000
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(500))
    }

    fn resize(&mut self, width: u16, height: u16) {
        update(self.state, RunAction::Resize { width, height });
    }

    fn draw(&self, frame: &mut Frame) {
        view::run::draw_run(frame, self.state, self.look);
    }

    fn done(&self) -> bool {
        self.state.quit
    }
}

async fn console(
    state: &mut RunState,
    performer: &mut Performer,
    mut actions: mpsc::Receiver<RunAction>,
    look: &Look,
) -> Ending {
    let mut screen = RunScreen {
        state,
        performer,
        look,
    };
    let stopped = event_loop::run_on_terminal(&mut screen, &mut actions).await?;
    let finished = screen.state.engine.finished();
    Ok(match stopped {
        Stopped::Done if finished => (true, "every step done".into()),
        Stopped::Done => (false, "the operator quit".into()),
        Stopped::Signal(reason) => (finished, reason.into()),
    })
}

async fn autopilot(
    state: &mut RunState,
    performer: &mut Performer,
    mut actions: mpsc::Receiver<RunAction>,
    yes: bool,
) -> Ending {
    let mut news = News::new()?;
    let mut pilot = Autopilot::new(yes);
    let mut heartbeat = Heartbeat::default();
    loop {
        let message = state.engine.message.take();
        if let Some(message) = &message {
            crate::say!("{}", shown(message, &performer.secrets));
        }
        match pilot.next(state, message.as_deref()) {
            Next::Stop { finished, reason } if state.busy() && state.failed.is_none() => {
                // A step failed at once on a lost quorum while its command still runs: the
                // stop is told now, and the session closes once the command's result is in
                // the log (the command is left to finish: `Engine::lose_quorum_while_running`).
                crate::say!("stopping: {}", shown(&reason, &performer.secrets));
                let stop = (finished, reason);
                let waits = (&mut news, &mut heartbeat);
                return drain(state, performer, &mut actions, waits, stop).await;
            }
            Next::Stop { finished, reason } => return Ok((finished, reason)),
            Next::Input(input) => {
                let before = (state.engine.current(), state.engine.prompt.clone());
                performer.handle(state, RunAction::Decided(input));
                // Decide again at once when the input moved the step on (a confirmation
                // asked for right after the start); otherwise wait for news.
                if before != (state.engine.current(), state.engine.prompt.clone())
                    || state.engine.message.is_some()
                {
                    continue;
                }
            }
            Next::Wait => {}
        }
        let action = match news.next(&mut actions, &performer.clock).await {
            Ok(action) => action,
            Err(stopped) => return Ok((false, stopped.into())),
        };
        performer.handle(state, action);
        if let Some(line) = heartbeat.beat(state.watch.now, heartbeat::waiting_for(state)) {
            crate::say!("{}", shown(&line, &performer.secrets));
        }
    }
}

/// Handles actions until no command of the run is running, so each one's result is recorded
/// before the session closes (never when the log cannot be written: then nothing is
/// recorded, and waiting would be for nothing), with the heartbeat's line at least every
/// 10 s; a signal closes it at once (the intent left without a result makes the step
/// "outcome unknown" on resume, which is what it then is).
async fn drain(
    state: &mut RunState,
    performer: &mut Performer,
    actions: &mut mpsc::Receiver<RunAction>,
    (news, heartbeat): (&mut News, &mut Heartbeat),
    stop: (bool, String),
) -> Ending {
    while state.busy() {
        match news.next(actions, &performer.clock).await {
            Ok(action) => performer.handle(state, action),
            Err(stopped) => return Ok((false, stopped.into())),
        };
        if let Some(message) = state.engine.message.take() {
            crate::say!("{}", shown(&message, &performer.secrets));
        }
        if let Some(line) = heartbeat.beat(state.watch.now, heartbeat::waiting_for(state)) {
            crate::say!("{}", shown(&line, &performer.secrets));
        }
    }
    Ok(stop)
}

/// What the autopilot waits on: the console's actions, a tick every 250 ms, and the signals
/// that stop it.
struct News {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    /// An autopilot started over SSH without `nohup` gets this when the connection drops.
    hangup: tokio::signal::unix::Signal,
    tick: tokio::time::Interval,
}

impl News {
    fn new() -> io::Result<News> {
        Ok(News {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            tick: tokio::time::interval(Duration::from_millis(250)),
        })
    }

    /// The next action, or why a signal stops the run.
    async fn next(
        &mut self,
        actions: &mut mpsc::Receiver<RunAction>,
        clock: &Clock,
    ) -> Result<RunAction, &'static str> {
        tokio::select! {
            Some(action) = actions.recv() => Ok(action),
            _ = self.tick.tick() => Ok(RunAction::Tick(clock.now())),
            _ = self.interrupt.recv() => Err("interrupted"),
            _ = self.terminate.recv() => Err("terminated by a signal"),
            _ = self.hangup.recv() => Err("the terminal hung up"),
        }
    }
}

/// A line autopilot prints: secrets masked, then escaped, since step ids, commands and
/// reasons come from the runbook and the hosts.
fn shown(line: &str, secrets: &Secrets) -> String {
    crate::text::escape::sanitize(&secrets.scrub(line.to_string()))
}

/// What `--autopilot` prints: one line per step state, decision, intent, result and note.
fn narrate(event: &AuditEvent, secrets: &Secrets) {
    let line = match event {
        AuditEvent::Step { step, state } => format!("step {step}: {state:?}"),
        AuditEvent::Intent { host, command, .. } => format!("  {host} $ {command}"),
        AuditEvent::Result {
            exit_status,
            duration_ms,
            outcome,
            ..
        } => {
            format!("  -> {outcome:?} (exit {exit_status:?}, {duration_ms} ms)")
        }
        AuditEvent::Decision { step, decision, .. } => format!("  {step}: {decision:?}"),
        // What happened outside the runbook, and the order following the live leader.
        AuditEvent::Note { text } => format!("note: {text}"),
        _ => return,
    };
    crate::say!("{}", shown(&line, secrets));
}

/// The bindings of a resumed session: the hosts its log recorded, which `--bind` may repeat
/// but not change, since the steps already run ran on the recorded hosts.
fn resumed_bindings(
    recorded: &BTreeMap<String, String>,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut bindings = given.clone();
    for (name, host) in recorded {
        match given.get(name) {
            Some(other) if other != host => {
                return Err(format!(
                    "--bind {name}={other}: the session being resumed bound `{name}` to {host}"
                ))
            }
            _ => {
                bindings.insert(name.clone(), host.clone());
            }
        }
    }
    Ok(bindings)
}

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn tty() -> Option<String> {
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with("/dev/"))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A new session log in a scratch directory of its own, and the log's path.
    pub(in crate::tui) fn session_log(name: &str) -> (AuditWriter, PathBuf) {
        let log = crate::io::scratch_dir(&format!("run-{name}")).join("session.jsonl");
        let writer = AuditWriter::create(
            &log,
            crate::replay::fixtures::session_info(),
            Secrets::new(Vec::<String>::new()),
            now(),
        )
        .expect("a log in a scratch directory");
        (writer, log)
    }

    /// A console that failed (its terminal could not be drawn on) still stops its session in
    /// the log, resumable, and removes the approvals inbox; the error is returned after that.
    #[tokio::test]
    async fn a_console_that_fails_still_stops_its_session_and_closes_the_inbox() {
        let (writer, log) = session_log("console-error");
        let inbox = Inbox::create(&log).unwrap();
        let inbox_path = inbox.path().to_path_buf();
        let (events, _actions) = mpsc::channel(4);
        let (performer, _handed) = Performer::handed(writer, Some(inbox), events, Clock::Wall);
        let engine = crate::runbook::fixtures::engine(
            "  - {id: a, title: A, run: [{host: zk2, verb: restart}]}\n",
        );
        let watch = WatchState::new("t".into(), crate::runbook::fixtures::live(&[]), 20_000);
        let mut state = RunState::new(watch, engine, log.display().to_string());
        let outcome: Ending = Err(io::Error::other("the terminal went away"));
        let refused = close(&mut state, performer, outcome, log.clone()).unwrap_err();
        assert!(refused.contains("the terminal went away"), "{refused}");
        assert!(refused.contains("--resume"), "{refused}");
        let written = crate::audit::read_log(&log).unwrap();
        assert!(written.verification.is_ok());
        assert!(
            matches!(
                written.records.last().map(|r| &r.event),
                Some(AuditEvent::SessionStop { reason, .. }) if reason.contains("the terminal went away")
            ),
            "{:?}",
            written.records.last()
        );
        assert!(!inbox_path.exists(), "the inbox is removed");
        std::fs::remove_dir_all(log.parent().expect("the scratch directory")).unwrap();
    }

    #[test]
    fn a_resumed_session_keeps_the_hosts_it_recorded_and_refuses_a_contrary_bind() {
        let recorded = map(&[("leader", "zk3"), ("first", "zk1")]);
        assert_eq!(
            resumed_bindings(&recorded, &map(&[("leader", "zk3"), ("spare", "zk5")])),
            Ok(map(&[
                ("first", "zk1"),
                ("leader", "zk3"),
                ("spare", "zk5")
            ]))
        );
        let refused = resumed_bindings(&recorded, &map(&[("leader", "zk2")])).unwrap_err();
        assert!(refused.contains("bound `leader` to zk3"), "{refused}");
    }
}
