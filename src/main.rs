use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use zkpilot::audit::{self, AuditError, RecordHash};
use zkpilot::ensemble::NodeTarget;
use zkpilot::inventory::Inventory;
use zkpilot::runbook::plan;
use zkpilot::runbook::simulate::SimState;
use zkpilot::tui::replay as replay_loop;
use zkpilot::tui::run::{self as run_loop, RunOptions};
use zkpilot::tui::watch::{self as watch_loop, WatchOptions};
use zkpilot::zk::version::ZkVersion;
use zkpilot::{analyze, approval, duration, escape, lab, replay, runbook_files, sandbox, settings};

/// zkpilot walks operators through zero-downtime Apache ZooKeeper migrations: it shows every
/// node's role, zxid and own config view, predicts each step's effect on quorum and split brain,
/// runs the step over SSH once confirmed, and records everything in an audit log.
#[derive(Parser)]
#[command(
    name = "zkpilot",
    version,
    about,
    propagate_version = true,
    after_long_help = "EXAMPLES:\n  \
        sudo zkpilot sandbox up --dir /tmp/zk --nodes 3 --spare 2\n  \
        zkpilot watch --inventory /tmp/zk/inventory.yaml\n  \
        zkpilot analyze restart-r.yaml --json | jq .split_brain_possible"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(
        about = analyze::help::ABOUT,
        long_about = analyze::help::LONG_ABOUT,
        after_long_help = analyze::help::EXAMPLE
    )]
    Analyze {
        /// The state file (YAML) describing every node: its sid, address, view and whether it is up
        #[arg(value_name = "STATE.yaml")]
        state: PathBuf,
        /// Print one JSON object instead of the explanation
        #[arg(long)]
        json: bool,
    },
    /// Simulate a runbook step by step and say, before anything runs, where quorum could be lost
    /// or two leaders could form
    #[command(
        after_help = "Example:\n  zkpilot plan runbooks/rolling-restart.yaml --inventory /tmp/zk/inventory.yaml\n\n\
        Exit status: 0 when every step is ok or its hazard is accepted by the runbook (with a\n\
        reason), 1 when a step has a hazard the runbook does not accept, 2 on bad input."
    )]
    Plan(PlanArgs),
    /// The console that walks an operator through a runbook on a live ensemble: live panels,
    /// gates, the predicted state, confirmation, commands over SSH, waits, and an audit log
    #[command(
        after_help = "Examples:\n  zkpilot run runbooks/rolling-restart.yaml --inventory /tmp/zk/inventory.yaml\n  \
        zkpilot run runbooks/rolling-restart.yaml --inventory /tmp/zk/inventory.yaml --autopilot --yes\n  \
        zkpilot run runbooks/rolling-restart.yaml --inventory /tmp/zk/inventory.yaml --resume LOG\n\n\
        Every decision, command intent (fsynced before the command runs), output and result\n\
        goes to the audit log: $XDG_STATE_HOME/zkpilot/audit/ unless --audit FILE.\n\
        Before the first step every host the runbook touches must answer over SSH and run its\n\
        read-only verbs (pre-flight), and the console takes the ensemble lock on every host of\n\
        the inventory: one console drives an ensemble at a time.\n\
        --autopilot runs steps that need no human, stops at the first hazard, failure or step\n\
        that needs one; exit status 0 when every step is done, 1 when it stopped, 2 on bad input."
    )]
    Run(RunArgs),
    /// A real local ZooKeeper ensemble and SSH hosts on loopback, for demos, rehearsals and tests
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Live panels of an ensemble: each node's role, zxid and lag, latency, load, sync state
    /// and its own config view, with the analyzer's verdict on quorum and split brain
    #[command(
        after_help = "Examples:\n  zkpilot watch --inventory /tmp/zk/inventory.yaml\n  \
        zkpilot watch zk1.example:2181,zk2.example:2181,zk3.example:2181 --interval 2s\n\n\
        Polls `srvr` every interval and `mntr`/`conf` less often, on every node at once;\n\
        works (degraded, and says so) when a node whitelists `srvr` alone."
    )]
    Watch(WatchArgs),
    /// Check a session's audit log and turn it into a report
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The `run` screen of a recorded session, rebuilt read-only from its audit log, with a
    /// timeline: play, pause, speed, record by record, jumps to steps, warnings, overrides and
    /// failures
    #[command(
        after_help = "The log is verified first: a broken chain or a torn last line is shown on \
        the screen, and only the records before a break are replayed. Nothing is run.\n\n\
        Examples:\n  zkpilot replay session.jsonl\n  zkpilot replay session.jsonl --print | less"
    )]
    Replay(ReplayArgs),
    /// The live read-only console of a session in progress: catches up from the start of its
    /// audit log, then follows it; approves `approval: two-person` steps (key a)
    #[command(
        after_help = "The head hash printed on exit is the follower's anchor: it reveals a log \
        whose tail was later cut off (`zkpilot audit verify --expect-head`).\n\n\
        A log is mode 0600, or 0640 in a setgid, group-readable directory: partners in that \
        group follow it as themselves (the README's pairing setup). Through sudo, zkpilot opens \
        only a log lying in root's own audit directory and its approvals inbox (LOG.approvals/) \
        as root, then becomes the user in SUDO_UID before it reads anything else or shows \
        anything, so an approval is theirs.\n\n\
        Examples:\n  zkpilot follow /var/lib/zkpilot/pairing/move.jsonl\n  \
        sudo zkpilot follow /root/.local/state/zkpilot/audit/20261123T091703Z-move.jsonl"
    )]
    Follow(FollowArgs),
    /// Experiments on real ZooKeeper that check the analyzer
    #[command(subcommand)]
    Lab(LabCommand),
    /// Check an inventory's hosts before a maintenance window, or write one from a live ensemble
    #[command(subcommand)]
    Inventory(InventoryCommand),
}

#[derive(Subcommand)]
enum LabCommand {
    /// Draw half-migrated ensemble states, run each on a sandbox of real ZooKeeper servers,
    /// watch who leads, and check the analyzer's verdict on the same state against it
    #[command(
        after_help = "Needs root, like `sandbox up`. One sandbox serves every trial; each trial\n\
        wipes the hosts it uses, writes their myid and zoo.cfg, starts them in the drawn order,\n\
        samples every server's srvr (mntr on leaders) every 200 ms until SECS after all\n\
        answer, and stops them by PID.\n\n\
        A disagreement: two servers leading at once, each with a follower, for more than\n\
        syncLimit x tickTime (2.5 s) where the analyzer said no split brain; or a leader the\n\
        analyzer did not list as possible. Each one is printed with its state file (for\n\
        `zkpilot analyze`) and what was observed.\n\n\
        Example:\n  sudo zkpilot lab elections --trials 40 --seed 1 --nodes 4..7 --keep-fixtures tests/fixtures/lab\n\n\
        Exit status: 0 when the analyzer agreed on every trial, 1 on any disagreement, 2 on bad\n\
        input, a trial that could not run, an interruption, or a sandbox that would not start."
    )]
    Elections(ElectionsArgs),
    /// Hold the current analyzer again to recorded lab trials (DIR/trials/*.yaml of a lab run,
    /// or fixtures): no servers are started
    #[command(
        after_help = "Example:\n  zkpilot lab judge /tmp/lab/trials/*.yaml\n\n\
        Exit status: 0 when the analyzer agrees with every record, 1 on any disagreement, 2 when\n\
        a file cannot be read."
    )]
    Judge(JudgeArgs),
}

#[derive(Args)]
struct JudgeArgs {
    /// Trial records written by `lab elections`
    #[arg(required = true, value_name = "RECORD.yaml")]
    records: Vec<PathBuf>,
}

#[derive(Args)]
struct ElectionsArgs {
    /// How many states to draw and run
    #[arg(long, default_value_t = 20)]
    trials: u32,
    /// Seed of the state generator: the same seed and --nodes draw the same states
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The number of the first trial: with --trials 1, runs that one trial of the seed again
    /// (trial N of a seed is the same state whatever the run's length)
    #[arg(long, default_value_t = 0, value_name = "N")]
    first: u32,
    /// Hosts per state, both ends included: 4..7, or one number
    #[arg(long, default_value = "4..7", value_parser = parse_hosts_range)]
    nodes: std::ops::RangeInclusive<usize>,
    /// Seconds to keep watching after every started server answers
    #[arg(long, default_value_t = 8, value_name = "SECS")]
    settle: u64,
    /// The sandbox directory (default: a fresh one under the temp dir, removed afterwards
    /// unless something needs looking at)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write each disagreement as a regression fixture into DIR (tests/fixtures/lab/)
    #[arg(long, value_name = "DIR")]
    keep_fixtures: Option<PathBuf>,
    /// Run the split brain measured on 3.8.0 (shared/research: R moved, T's view stale) in
    /// every trial instead of drawing states
    #[arg(long)]
    research_split: bool,
}

fn parse_hosts_range(text: &str) -> Result<std::ops::RangeInclusive<usize>, String> {
    lab::draw::parse_hosts_range(text)
}

#[derive(Subcommand)]
enum InventoryCommand {
    /// Connect to every host over SSH (strict host keys) and run its read-only verbs (status,
    /// config, data-empty, log: those the inventory defines); report host by host what works
    /// and what fails
    #[command(
        after_help = "The same check runs before `zkpilot run` starts, on the hosts the runbook \
        touches: it refuses to start when one fails.\n\n\
        Exit status: 0 every host passes, 1 a host fails, 2 the inventory cannot be read.\n\n\
        Example:\n  zkpilot inventory check /tmp/zk/inventory.yaml"
    )]
    Check {
        /// The inventory (YAML)
        file: PathBuf,
    },
    /// Write an inventory from a live ensemble: the server lines of one reachable server's
    /// `conf` (every host, sid, role, client and peer address) and the verbs of a preset
    #[command(
        after_help = "Values read from the server are written as they are; guessed ones (a \
        host's name, a client address from the peer address, a preset's paths) carry a \
        `# guessed:` comment. Check the file, then `zkpilot inventory check` it.\n\n\
        Examples:\n  zkpilot inventory discover 10.0.0.1:2181 --ssh-user zk --preset systemd -o inventory.yaml\n  \
        zkpilot inventory discover 10.0.0.1:2181 --ssh-user zk --preset zkserver-sh --dir /opt/zookeeper\n  \
        zkpilot inventory discover 127.77.3.1:2181 --preset sandbox --dir /tmp/zk -o /tmp/zk/found.yaml"
    )]
    Discover {
        /// One server of the ensemble: HOST:PORT, its client address (it must allow `conf`)
        #[arg(value_name = "HOST:PORT")]
        server: String,
        /// The SSH user on every host (a sandbox's users come from its SSH config)
        #[arg(long, value_name = "USER")]
        ssh_user: Option<String>,
        /// How ZooKeeper is run on the hosts: the commands of each verb
        #[arg(long, value_enum)]
        preset: DiscoverPreset,
        /// zkserver-sh: the ZooKeeper home (default /opt/zookeeper); sandbox: the sandbox's
        /// directory (required)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Write the inventory here (never over an existing file) instead of standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DiscoverPreset {
    /// `sudo systemctl start|stop|restart zookeeper`, Debian's /etc/zookeeper/conf
    Systemd,
    /// The Apache tarball: `DIR/bin/zkServer.sh`, `DIR/conf/zoo.cfg`, `DIR/logs`
    ZkserverSh,
    /// A `zkpilot sandbox up` directory: its `zkctl` scripts and SSH files
    Sandbox,
}

#[derive(Args)]
struct ReplayArgs {
    /// The session's audit log (JSON Lines)
    file: PathBuf,
    /// Write the session as plain text to standard output instead of opening the screen
    #[arg(long)]
    print: bool,
    #[command(flatten)]
    display: DisplayArgs,
}

#[derive(Args)]
struct FollowArgs {
    /// The audit log of the session to follow
    file: PathBuf,
    #[command(flatten)]
    display: DisplayArgs,
}

#[derive(Args)]
struct WatchArgs {
    /// Inventory of the hosts to watch (as written by `zkpilot sandbox up`)
    #[arg(long, conflicts_with = "endpoints")]
    inventory: Option<PathBuf>,
    /// Client addresses to watch: HOST:PORT[,HOST:PORT…]
    #[arg(required_unless_present = "inventory")]
    endpoints: Option<String>,
    /// Time between polls of each node: 500ms, 1s, 5s…
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    interval: std::time::Duration,
    /// Never connect over SSH (by default a node that never shows its view, being LOOKING or
    /// on 3.4, has its zoo.cfg read with the inventory's read-only `config` command)
    #[arg(long)]
    no_ssh: bool,
    #[command(flatten)]
    display: DisplayArgs,
}

#[derive(Args)]
struct BindingArgs {
    /// The runbook (YAML)
    runbook: PathBuf,
    /// The inventory binding the runbook's hosts to real hosts
    #[arg(long)]
    inventory: PathBuf,
    /// Bind a runbook host to an inventory host of another name: NAME=HOST (repeatable)
    #[arg(long = "bind", value_name = "NAME=HOST")]
    bindings: Vec<String>,
    /// Give a runbook variable its value: NAME=VALUE (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    binding: BindingArgs,
    /// The ZooKeeper version whose rules apply (default: the inventory's, else the newest)
    #[arg(long)]
    zookeeper: Option<String>,
    /// Print one JSON object per step instead of the table
    #[arg(long)]
    json: bool,
    /// Start from the ensemble as it is now (one poll of every inventory host: who runs, who
    /// leads, each node's own view) instead of the runbook's declared starting state
    #[arg(long)]
    live: bool,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    binding: BindingArgs,
    /// The audit log to create (default: a new file under $XDG_STATE_HOME/zkpilot/audit/)
    #[arg(long, conflicts_with = "resume")]
    audit: Option<PathBuf>,
    /// Continue the session recorded in this audit log after a crash or a quit
    #[arg(long, value_name = "LOG")]
    resume: Option<PathBuf>,
    /// Run without a screen: every step that needs no human, stopping at the first hazard,
    /// failure or step that needs one (for rehearsals and tests; never a way around a gate)
    #[arg(long)]
    autopilot: bool,
    /// With --autopilot: answer yes to steps that ask for a plain confirmation
    #[arg(long, requires = "autopilot")]
    yes: bool,
    /// Time between polls of each node
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    interval: std::time::Duration,
    /// The ZooKeeper version whose rules apply (default: what the servers say)
    #[arg(long)]
    zookeeper: Option<String>,
    /// Break the ensemble lock of another session that is gone for good (its console was
    /// killed), saying why; recorded in this session's log and in the old one's when it is
    /// on this machine. Refused while the holder's console still runs here
    #[arg(long, value_name = "REASON")]
    break_lock: Option<String>,
    #[command(flatten)]
    display: DisplayArgs,
}

#[derive(Args)]
struct DisplayArgs {
    /// Colour theme: dark, light, high-contrast, basic16, a name under
    /// $XDG_CONFIG_HOME/zkpilot/themes/, or a path to a theme file
    #[arg(long, value_name = "NAME|PATH")]
    theme: Option<String>,
    /// Plain ASCII symbols, for terminals that cannot show ✓ ✗ ▁▂▃
    #[arg(long)]
    ascii: bool,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that no record of a session log was edited, removed, inserted or reordered
    #[command(
        long_about = "Check that no record of a session log was edited, removed, inserted or \
        reordered.\n\n\
        Every record carries its sequence number and the SHA-256 of the record before it. \
        verify walks that chain from the header and names the first record where it breaks. \
        A final line cut short by a crash is reported, not fatal: every record before it is \
        intact. A chain alone cannot show that records were cut off its end or that it was \
        recomputed after an edit, so the console publishes the head at every step end and at \
        the session's end in LOG.heads beside the log (and in the system journal, tag \
        zkpilot-audit, where one runs): verify fails unless the latest published head is in \
        the chain at its place. It also fails on a record after session_end and on a log (or \
        heads file) that others could have written. --expect-head checks a head noted \
        elsewhere, e.g. by a follower.",
        after_help = "Exit status:\n  0  the chain is intact, anchored (and holds the expected head)\n  \
        1  the chain is broken, its anchor or the expected head is not in it, or others could write it\n  \
        2  the file cannot be read\n\n\
        Example:\n  zkpilot audit verify ~/.local/state/zkpilot/audit/20261123T091703Z-move.jsonl \\\n    \
        --expect-head <the head hash shown when the session ended>"
    )]
    Verify(VerifyArgs),
    /// Write a post-mortem report of a session: timeline, steps, commands, overrides, verdicts
    #[command(
        after_help = "The report states whether the log verifies; if it does not, it covers only \
        the records before the first broken one.\n\n\
        Examples:\n  zkpilot audit export session.jsonl --format markdown -o window-2026-11-23.md\n  \
        zkpilot audit export session.jsonl --format asciicast -o window.cast && asciinema play window.cast"
    )]
    Export(ExportArgs),
}

#[derive(Args)]
struct VerifyArgs {
    /// The session's audit log (JSON Lines)
    file: PathBuf,
    /// Fail unless the chain holds this hash, noted when the session ended; a log resumed since
    /// may have records after it
    #[arg(long, value_name = "HASH")]
    expect_head: Option<RecordHash>,
    /// Accept a log without its heads file (LOG.heads), e.g. one written before zkpilot
    /// published heads: only the chain is checked, so a cut-off tail cannot be seen
    #[arg(long)]
    unanchored: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// The session's audit log (JSON Lines)
    file: PathBuf,
    /// What to write
    #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
    format: ExportFormat,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// A Markdown post-mortem report
    Markdown,
    /// An asciicast v2 recording of the replay screen, one frame per record at its own time
    /// (plays in asciinema; pauses over 2 s are shortened on playback)
    Asciicast,
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Start N voting servers, M observers and K spare hosts, each on its own 127.77.S.x address,
    /// reached over a private loopback sshd; returns once a leader is elected
    #[command(
        after_help = "Example:\n  sudo zkpilot sandbox up --dir /tmp/zk-sbx --nodes 3 --spare 2\n  \
        ssh -F /tmp/zk-sbx/ssh/config zk1 /tmp/zk-sbx/hosts/zk1/zkctl status\n\n\
        DIR/inventory.yaml lists every host (sid, client and peer address, SSH destination,\n\
        the command for each verb) for `--inventory` of the other subcommands."
    )]
    Up(UpArgs),
    /// Show each host's server process and its 4lw `srvr` mode
    Status(DirArg),
    /// Stop exactly the processes the sandbox started (by PID) and remove its firewall rules;
    /// harmless to run twice
    Down(DirArg),
    /// Cut groups of hosts apart with firewall rules, as between two data centres
    #[command(after_help = "Example:\n  zkpilot sandbox partition --dir D zk1,zk2,zk3 zk4,zk5")]
    Partition(PartitionArgs),
    /// Remove every partition rule of the sandbox
    Heal(DirArg),
}

#[derive(Args)]
struct DirArg {
    /// The sandbox directory
    #[arg(long)]
    dir: PathBuf,
}

#[derive(Args)]
struct UpArgs {
    /// Directory for configs, data, logs, keys and inventory.yaml (created if missing)
    #[arg(long)]
    dir: PathBuf,
    /// Voting servers to start
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=20))]
    nodes: u8,
    /// Observers to start
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=30))]
    observers: u8,
    /// Spare hosts to prepare (address, data dir, SSH) without starting a server
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    spare: u8,
    /// Run with dynamic reconfiguration: server lines in a dynamic config file, `reconfig`
    /// allowed (and no ACL checks, so that it needs no superuser)
    #[arg(long)]
    reconfig: bool,
    /// Make a stand-in Kubernetes service ready in front of every server (an address forwarded
    /// by an nftables rule, pointed by the `point-service` verb), each server on ports of its
    /// own: for the k8s-one-for-one runbook
    #[arg(long)]
    services: bool,
    /// The servers' `4lw.commands.whitelist`, as stock servers run it: `srvr` is the 3.5.3+
    /// default; any comma-separated list of words (default: every word)
    #[arg(long, value_name = "WORDS")]
    whitelist: Option<String>,
    /// Run each server's AdminServer (HTTP JSON `/commands/...`) on its host's own address,
    /// port 8080
    #[arg(long)]
    admin: bool,
}

#[derive(Args)]
struct PartitionArgs {
    /// The sandbox directory
    #[arg(long)]
    dir: PathBuf,
    /// Groups of host names, comma-separated; hosts of different groups cannot reach each other
    #[arg(required = true, num_args = 2.., value_delimiter = ' ')]
    groups: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _diagnostics = zkpilot::diagnostics::init();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), args = ?logged_args(std::env::args()), "zkpilot started");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("zkpilot: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Analyze { state, json } => analyze_command(&state, json),
        Command::Plan(args) => runtime.block_on(plan_command(&args)),
        Command::Run(args) => runtime.block_on(run_command(args)),
        Command::Sandbox(command) => runtime.block_on(sandbox_command(command)),
        Command::Watch(args) => runtime.block_on(watch_command(args)),
        Command::Audit(command) => audit_command(command),
        Command::Replay(args) => runtime.block_on(replay_command(args)),
        Command::Follow(args) => runtime.block_on(follow_command(args)),
        Command::Lab(LabCommand::Elections(args)) => runtime.block_on(lab_elections(args)),
        Command::Lab(LabCommand::Judge(args)) => lab_judge(&args),
        Command::Inventory(command) => runtime.block_on(inventory_command(command)),
    }
}

fn lab_judge(args: &JudgeArgs) -> ExitCode {
    match lab::judge_records(&args.records) {
        Ok(lab::Rejudged { tally, disagreeing }) => {
            for (path, missed) in &disagreeing {
                for text in missed {
                    // Node names come from the record file: shown escaped, like analyze does.
                    let line = format!("DISAGREEMENT {}: {text}", path.display());
                    println!("{}", escape::sanitize(&line));
                }
            }
            println!("{}", tally.table());
            if disagreeing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => fail(&e.to_string(), 2),
    }
}

async fn lab_elections(args: ElectionsArgs) -> ExitCode {
    let options = lab::LabOptions {
        trials: args.trials,
        seed: args.seed,
        first: args.first,
        hosts: args.nodes,
        settle: std::time::Duration::from_secs(args.settle),
        dir: args.dir,
        keep_fixtures: args.keep_fixtures,
        research_split: args.research_split,
    };
    let mut stdout = std::io::stdout();
    match lab::elections(&options, &mut stdout).await {
        Ok(outcome) => {
            let all = outcome.tally.all;
            let wall = outcome.wall.as_secs_f64();
            println!("\n{}", outcome.tally.table());
            if all.trials > 0 {
                println!(
                    "{} trial(s) judged in {wall:.0} s ({:.1} s per trial); seed {}",
                    all.trials,
                    wall / f64::from(all.trials),
                    args.seed
                );
            }
            if all.disagreements > 0 {
                ExitCode::from(1)
            } else if outcome.interrupted {
                fail("interrupted before the last trial", 2)
            } else if outcome.tally.failed > 0 {
                fail("some trials could not run (see above)", 2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(&e.to_string(), 2),
    }
}

async fn inventory_command(command: InventoryCommand) -> ExitCode {
    match command {
        InventoryCommand::Check { file } => {
            let inventory = match runbook_files::load_inventory(&file) {
                Ok(inventory) => inventory,
                Err(e) => return fail(&e, 2),
            };
            let checks = zkpilot::session::check_inventory(&inventory).await;
            print!("{}", zkpilot::preflight::render(&checks));
            if checks.iter().all(|c| c.ok()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        InventoryCommand::Discover {
            server,
            ssh_user,
            preset,
            dir,
            output,
        } => {
            let dir = dir.map(|d| std::path::absolute(&d).unwrap_or(d));
            let preset = match (preset, dir) {
                (DiscoverPreset::Systemd, _) => zkpilot::discover::Preset::Systemd,
                (DiscoverPreset::ZkserverSh, dir) => zkpilot::discover::Preset::ZkServerSh {
                    home: dir.map_or_else(|| "/opt/zookeeper".into(), |d| d.display().to_string()),
                },
                (DiscoverPreset::Sandbox, Some(dir)) => zkpilot::discover::Preset::Sandbox {
                    dir: dir.display().to_string(),
                },
                (DiscoverPreset::Sandbox, None) => {
                    return fail(
                        "--preset sandbox needs --dir DIR, the sandbox's directory",
                        2,
                    )
                }
            };
            let text = match zkpilot::discover_live::discover(&server, preset, ssh_user.as_deref())
                .await
            {
                Ok(text) => text,
                Err(e) => return fail(&e, 2),
            };
            let written = match &output {
                Some(path) => std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
                    .map_err(|e| {
                        format!(
                            "cannot write {}: {e} (an existing file is never overwritten)",
                            path.display()
                        )
                    }),
                None => std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
                    .map_err(|e| format!("cannot write the inventory: {e}")),
            };
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e, 2),
            }
        }
    }
}

async fn replay_command(args: ReplayArgs) -> ExitCode {
    if args.print {
        let player = match replay_loop::load(&args.file) {
            Ok(player) => player,
            Err(e) => return fail(&e.to_string(), 2),
        };
        let text = replay::print::render_text(player.records(), &player.verification);
        if let Err(e) = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()) {
            return fail(&format!("cannot write the session: {e}"), 2);
        }
        return match player.verification {
            replay::Verification::Broken(_) => ExitCode::FAILURE,
            _ => ExitCode::SUCCESS,
        };
    }
    let look = match settings::look(args.display.theme.as_deref(), args.display.ascii) {
        Ok(look) => look,
        Err(e) => return fail(&e, 2),
    };
    match replay_loop::replay(args.file, look).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, 2),
    }
}

async fn follow_command(args: FollowArgs) -> ExitCode {
    // Through sudo, only the log and its inbox are opened with root's rights, and only a log
    // in root's audit directory; then the follower drops to the person who ran it, so the
    // approvals it drops are theirs, and everything else they named (a theme, the config) is
    // read with their own rights.
    let file = match approval::granted_log(&args.file) {
        Ok(file) => file,
        Err(e) => return fail(&e, 2),
    };
    let tail = match audit::AuditTail::open(&file) {
        Ok(tail) => tail,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let outbox = approval::Outbox::open(&file).ok();
    let me = match approval::drop_to_sudo_user() {
        Ok(me) => me,
        Err(e) => return fail(&e, 2),
    };
    let look = match settings::look(args.display.theme.as_deref(), args.display.ascii) {
        Ok(look) => look,
        Err(e) => return fail(&e, 2),
    };
    let following = replay_loop::Following {
        path: file.clone(),
        tail,
        outbox,
        me,
    };
    match replay_loop::follow(following, look).await {
        Ok(end) => {
            println!(
                "followed {}: {} records verified, head {}{}",
                file.display(),
                end.head.records,
                end.head.hash,
                if end.session_ended {
                    "; the session ended"
                } else {
                    "; the session was still running"
                }
            );
            match end.broken {
                Some(problem) => fail(&problem, 1),
                None => ExitCode::SUCCESS,
            }
        }
        Err(e) => fail(&e, 2),
    }
}

async fn plan_command(args: &PlanArgs) -> ExitCode {
    let live = if args.live {
        match runbook_files::load_inventory(&args.binding.inventory) {
            Ok(inventory) => {
                let targets = zkpilot::ensemble::inventory_targets(&inventory);
                Some(
                    zkpilot::poll::poll_all_once(&targets, std::time::Duration::from_secs(3)).await,
                )
            }
            Err(e) => return fail(&e, 2),
        }
    } else {
        None
    };
    let leader = live
        .as_ref()
        .and_then(|l| l.leader().map(|i| l.nodes[i].target.name.clone()));
    let loaded = match load_runbook(&args.binding, leader.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => return fail(&e, 2),
    };
    let version_text = args
        .zookeeper
        .clone()
        .or_else(|| loaded.1.zookeeper.clone());
    let version = match version_text.as_deref().map(ZkVersion::parse) {
        None => live
            .as_ref()
            .and_then(|l| l.version())
            .unwrap_or(ZkVersion::NEWEST),
        Some(Some(version)) => version,
        Some(None) => {
            return fail(
                &format!(
                    "bad ZooKeeper version `{}`",
                    version_text.unwrap_or_default()
                ),
                2,
            )
        }
    };
    let procedure = &loaded.0.procedure;
    let plan = match &live {
        None => plan::plan(procedure, version),
        Some(live) => {
            let node_of: Vec<Option<usize>> = procedure
                .hosts
                .iter()
                .map(|h| {
                    live.nodes
                        .iter()
                        .position(|n| n.target.name == h.inventory.name)
                })
                .collect();
            let initial = SimState::initial(procedure);
            let (procedure, start) = SimState::from_live(procedure, &initial, live, &node_of);
            plan::plan_from(&procedure, version, start)
        }
    };
    let others = if args.live {
        Vec::new()
    } else {
        match other_bindings(args, &loaded, version, &plan) {
            Ok(others) => others,
            Err(e) => return fail(&e, 2),
        }
    };
    let out = if args.json {
        match serde_json::to_string_pretty(&plan) {
            Ok(json) => escape::json_visible(&json) + "\n",
            Err(e) => return fail(&e.to_string(), 1),
        }
    } else {
        escape::sanitize_lines(&(plan::render_table(&plan) + &plan::render_other_bindings(&others)))
    };
    // A check's command is shown, and may hold a secret variable.
    let out = audit::Secrets::new(loaded.0.procedure.secrets.iter().cloned()).scrub(out);
    print!("{out}");
    if plan.blocked() || others.iter().any(|o| o.plan.blocked()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn run_command(args: RunArgs) -> ExitCode {
    let look = match settings::look(args.display.theme.as_deref(), args.display.ascii) {
        Ok(look) => look,
        Err(e) => return fail(&e, 2),
    };
    let inventory = match runbook_files::load_inventory(&args.binding.inventory) {
        Ok(inventory) => inventory,
        Err(e) => return fail(&e, 2),
    };
    let (bindings, variables) = match (
        runbook_files::pairs(&args.binding.bindings, "--bind"),
        runbook_files::pairs(&args.binding.variables, "--var"),
    ) {
        (Ok(b), Ok(v)) => (b, v),
        (Err(e), _) | (_, Err(e)) => return fail(&e, 2),
    };
    let zookeeper = match args.zookeeper.as_deref().map(ZkVersion::parse) {
        None => None,
        Some(Some(version)) => Some(version),
        Some(None) => return fail("bad --zookeeper version", 2),
    };
    if args
        .break_lock
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        return fail(
            "--break-lock needs a reason, recorded in both sessions' logs",
            2,
        );
    }
    let options = RunOptions {
        runbook: args.binding.runbook,
        inventory_path: args.binding.inventory,
        inventory,
        bindings,
        variables,
        interval: args.interval,
        look,
        audit: args.audit,
        resume: args.resume,
        autopilot: args.autopilot,
        yes: args.yes,
        zookeeper,
        break_lock: args.break_lock,
    };
    match run_loop::run(options).await {
        Ok(end) => {
            println!(
                "{}: {}\naudit log {}: {} records, head {}",
                if end.finished { "done" } else { "stopped" },
                escape::sanitize(&end.reason),
                end.audit_path.display(),
                end.records,
                end.head
            );
            if end.finished {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => fail(&e, 2),
    }
}

/// The plan under every other binding the runbook's `pick:` hosts can get: it holds for the
/// runbook only if it holds whoever leads when the run starts.
fn other_bindings(
    args: &PlanArgs,
    loaded: &(runbook_files::Loaded, Inventory),
    version: ZkVersion,
    first: &plan::Plan,
) -> Result<Vec<plan::OtherBinding>, String> {
    let (loaded, inventory) = loaded;
    let runbook = zkpilot::runbook::procedure::parse(&loaded.text, &args.binding.runbook)
        .map_err(|e| e.to_string())?;
    let explicit = runbook_files::pairs(&args.binding.bindings, "--bind")?;
    let variables = runbook_files::pairs(&args.binding.variables, "--var")?;
    let Some(bindings) = zkpilot::runbook::picks::every_binding(&runbook, inventory, &explicit)
    else {
        return Ok(vec![plan::OtherBinding::too_many()]);
    };
    let mut others = Vec::new();
    for binding in bindings {
        let procedure =
            runbook_files::load(&args.binding.runbook, inventory, &binding, &variables, None)?
                .procedure;
        let plan = plan::plan(&procedure, version);
        if plan.bindings != first.bindings {
            others.push(plan::OtherBinding::of(plan));
        }
    }
    Ok(others)
}

fn load_runbook(
    args: &BindingArgs,
    leader: Option<&str>,
) -> Result<(runbook_files::Loaded, Inventory), String> {
    let inventory = runbook_files::load_inventory(&args.inventory)?;
    let bindings = runbook_files::pairs(&args.bindings, "--bind")?;
    let variables = runbook_files::pairs(&args.variables, "--var")?;
    let loaded = runbook_files::load(&args.runbook, &inventory, &bindings, &variables, leader)?;
    Ok((loaded, inventory))
}

/// Exit 0 whatever the verdict: the verdict is the output, not a failure. 2 for bad input.
fn analyze_command(state: &std::path::Path, json: bool) -> ExitCode {
    let text = match zkpilot::input_file::read_text(state) {
        Ok(text) => text,
        Err(e) => return fail(&e, 2),
    };
    let report = match analyze::analyze(&text, state) {
        Ok(report) => report,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let out = if json {
        escape::json_visible(&report.json())
    } else {
        escape::sanitize_lines(&report.text())
    };
    match std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write the report: {e}"), 1),
    }
}

async fn watch_command(args: WatchArgs) -> ExitCode {
    let look = match settings::look(args.display.theme.as_deref(), args.display.ascii) {
        Ok(look) => look,
        Err(e) => return fail(&e, 2),
    };
    let (title, targets, inventory) = match (&args.inventory, &args.endpoints) {
        (Some(path), _) => match runbook_files::load_inventory(path) {
            Ok(inventory) => (
                inventory.name.clone(),
                zkpilot::ensemble::inventory_targets(&inventory),
                Some(inventory),
            ),
            Err(e) => return fail(&e, 2),
        },
        (None, Some(list)) => (list.clone(), endpoint_targets(list), None),
        (None, None) => return fail("give --inventory FILE or HOST:PORT[,HOST:PORT…]", 2),
    };
    if targets.is_empty() {
        return fail("nothing to watch: no hosts given", 2);
    }
    let options = WatchOptions {
        title,
        targets,
        services: inventory
            .as_ref()
            .map(zkpilot::ensemble::inventory_services)
            .unwrap_or_default(),
        interval: args.interval,
        look,
        ssh: inventory.filter(|_| !args.no_ssh),
    };
    match watch_loop::run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("terminal: {e}"), 1),
    }
}

fn endpoint_targets(list: &str) -> Vec<NodeTarget> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|endpoint| NodeTarget {
            admin: zkpilot::ensemble::default_admin(endpoint),
            name: endpoint.to_string(),
            sid: None,
            client: endpoint.to_string(),
            peer: None,
            declared_view: None,
        })
        .collect()
}

/// The command line for the diagnostic log, with every `--var` value masked: which variables
/// are secret is known only once the runbook is read.
fn logged_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut masked = Vec::new();
    let mut value_next = false;
    for arg in args {
        let (flag, value) = match arg.split_once('=') {
            Some(("--var", value)) => ("--var=", Some(value)),
            _ if value_next => ("", Some(arg.as_str())),
            _ => ("", None),
        };
        value_next = arg == "--var";
        masked.push(match value.map(|v| v.split_once('=')) {
            Some(Some((name, _))) => format!("{flag}{name}=***"),
            Some(None) => format!("{flag}***"),
            None => arg.clone(),
        });
    }
    masked
}

/// Errors name files, steps and hosts, and quote what was wrong: escaped like every text shown.
fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("zkpilot: {}", escape::sanitize_lines(message));
    ExitCode::from(code)
}

async fn sandbox_command(command: SandboxCommand) -> ExitCode {
    let result = match command {
        SandboxCommand::Up(args) => {
            let options = sandbox::UpOptions {
                voters: args.nodes,
                observers: args.observers,
                spares: args.spare,
                dynamic_reconfig: args.reconfig,
                services: args.services,
                whitelist: args.whitelist.clone(),
                admin: args.admin,
            };
            sandbox::up(&args.dir, options).await.map(|statuses| {
                print_statuses(&statuses);
                println!(
                    "\ninventory: {}\nssh:       ssh -F {} zk1",
                    args.dir.join("inventory.yaml").display(),
                    args.dir.join("ssh/config").display()
                );
            })
        }
        SandboxCommand::Status(args) => {
            sandbox::status(&args.dir).await.map(|s| print_statuses(&s))
        }
        SandboxCommand::Down(args) => sandbox::down(&args.dir).map(|report| {
            if !report.was_up {
                println!("no sandbox running in {}", args.dir.display());
            }
            for stopped in &report.stopped {
                println!("stopped {stopped}");
            }
            if !report.left_running.is_empty() {
                eprintln!(
                    "zkpilot: still running after SIGKILL: pids {:?}",
                    report.left_running
                );
            }
        }),
        SandboxCommand::Partition(args) => {
            let groups: Vec<Vec<String>> = args
                .groups
                .iter()
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .collect();
            sandbox::partition(&args.dir, &groups)
                .map(|rules| println!("partitioned: {rules} firewall rules"))
        }
        SandboxCommand::Heal(args) => {
            sandbox::heal(&args.dir).map(|()| println!("healed: no partition rules left"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkpilot: {}", escape::sanitize_lines(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn audit_command(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Verify(args) => audit_verify(&args),
        AuditCommand::Export(args) => audit_export(&args),
    }
}

fn audit_verify(args: &VerifyArgs) -> ExitCode {
    let anchored = match audit::anchored::verify_anchored(&args.file, args.expect_head) {
        Ok(anchored) => anchored,
        Err(e @ AuditError::ChainBroken { .. }) => {
            eprintln!("zkpilot: {}", escape::sanitize_lines(&e.to_string()));
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("zkpilot: {}", escape::sanitize_lines(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let verified = &anchored.verified;
    let mut summary = format!("ok: {} records, head {}", verified.records, verified.head);
    for line in &verified.resumed_tears {
        summary.push_str(&format!(
            "; line {line} was torn by a crash and the session resumed after it"
        ));
    }
    if let Some(line) = verified.torn_tail {
        summary.push_str(&format!(
            "; final line {line} is torn (a write cut short by a crash): every record before it is intact"
        ));
    }
    if verified.session_stopped {
        summary.push_str("; the session stopped unfinished (session_stop): --resume continues it");
    } else if !verified.session_ended {
        summary.push_str(
            "; no session_end: the session is running or stopped without closing the log",
        );
    }
    let mut failures = Vec::new();
    match &anchored.anchor {
        Ok(anchor) => summary.push_str(&format!(
            "; anchored: the head published for record {} at {} is in the chain",
            anchor.seq, anchor.at
        )),
        Err(problem) if args.unanchored => {
            summary.push_str(&format!("; NOT anchored (--unanchored): {problem}"))
        }
        Err(problem) => failures.push(format!("audit log {}: {problem}", args.file.display())),
    }
    if let Some(problem) = &anchored.file_problem {
        failures.push(problem.clone());
    }
    summary.push_str(&format!(
        "; owner {}, mode {:04o}",
        anchored.owner, anchored.mode
    ));
    if let Some(expected) = args.expect_head.filter(|e| *e != verified.head) {
        match verified.expected_head_seq {
            Some(seq) => summary.push_str(&format!(
                "; expected head {expected} is record {seq}; {} records were appended after it",
                verified.records - seq - 1
            )),
            None => failures.push(format!(
                "audit log {}: no record has the expected head {expected}: records were cut off \
                 the end or the log was rewritten",
                args.file.display()
            )),
        }
    }
    if failures.is_empty() {
        println!("{summary}");
        ExitCode::SUCCESS
    } else {
        for failure in failures {
            eprintln!("zkpilot: {failure}");
        }
        ExitCode::from(1)
    }
}

/// The terminal an asciicast is drawn for: wide enough for four node cards and the run screen.
const CAST_SIZE: (u16, u16) = (160, 44);

fn audit_export(args: &ExportArgs) -> ExitCode {
    let log = match audit::read_log(&args.file) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("zkpilot: {}", escape::sanitize_lines(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    if let Err(problem) = &log.verification {
        eprintln!(
            "zkpilot: warning: audit log {} does not verify ({problem}); the report says so and \
             covers only the records before that line",
            args.file.display()
        );
    }
    let source = args.file.display().to_string();
    let report = match args.format {
        ExportFormat::Markdown => audit::report::render_markdown(&log, &source),
        ExportFormat::Asciicast => {
            let verification = match log.verification {
                Ok(verified) => replay::Verification::Intact(verified),
                Err(problem) => replay::Verification::Broken(problem),
            };
            let mut player = replay::Player::new(log.records, verification);
            // The default theme and glyphs, whatever the exporter's own terminal settings are:
            // the recording is watched elsewhere.
            let Some(theme) = zkpilot::theme::Theme::builtin("dark") else {
                return fail("the built-in dark theme does not load", 2);
            };
            let look = zkpilot::view::Look {
                theme,
                symbols: zkpilot::view::Symbols::UNICODE,
            };
            match zkpilot::view::asciicast::render(&mut player, &source, &look, CAST_SIZE) {
                Ok(cast) => cast,
                Err(e) => return fail(&format!("cannot draw the replay: {e}"), 2),
            }
        }
    };
    let written = match &args.output {
        Some(out) => {
            std::fs::write(out, report).map_err(|e| format!("cannot write {}: {e}", out.display()))
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(report.as_bytes())
                .map_err(|e| format!("cannot write the report: {e}"))
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkpilot: {}", escape::sanitize_lines(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

fn print_statuses(statuses: &[sandbox::HostStatus]) {
    println!(
        "{:<6} {:<12} {:<18} {:<8} MODE",
        "HOST", "ROLE", "CLIENT", "PID"
    );
    for s in statuses {
        let pid = s.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
        println!(
            "{:<6} {:<12} {:<18} {:<8} {}",
            s.name,
            s.role.to_string(),
            s.client,
            pid,
            s.mode
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagnostic_log_never_sees_a_variable_value() {
        let args = [
            "zkpilot",
            "run",
            "rb.yaml",
            "--var",
            "token=s3cr3t",
            "--var=pin=1234",
            "--bind",
            "a=b",
        ];
        assert_eq!(
            logged_args(args.iter().map(|a| a.to_string())),
            [
                "zkpilot",
                "run",
                "rb.yaml",
                "--var",
                "token=***",
                "--var=pin=***",
                "--bind",
                "a=b"
            ]
        );
    }
}
