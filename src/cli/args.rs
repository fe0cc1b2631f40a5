//! The command line as clap reads it: every subcommand, its arguments and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::failure::exit_status_help;
use crate::audit::RecordHash;
use crate::{analyze, rehearse::lab, text::duration};

/// zkpilot walks operators through zero-downtime Apache ZooKeeper migrations: it shows every
/// node's role, zxid and own config view, predicts each step's effect on quorum and split brain,
/// runs the step over SSH once confirmed, and records everything in an audit log.
#[derive(Parser)]
#[command(
    name = "zkpilot",
    version,
    about,
    propagate_version = true,
    after_help = exit_status_help!(),
    after_long_help = concat!(
        "EXAMPLES:\n  \
        sudo zkpilot sandbox up --dir /tmp/zk --nodes 3 --spare 2\n  \
        zkpilot watch --inventory /tmp/zk/inventory.yaml\n  \
        zkpilot analyze restart-r.yaml --json | jq .split_brain_possible\n\n",
        exit_status_help!()
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        group follow it as themselves (docs/pairing.md). Through sudo, zkpilot opens \
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
    /// Search for a safe order from an ensemble as it is to a target ensemble, and write it as
    /// a runbook
    #[command(
        after_help = "Prints the emitted runbook's plan table and a summary line: steps, restarts, \
        and whether the order is proven minimal. The runbook binds to an inventory naming the \
        state's nodes and the target's new hosts (new hosts as `role: spare`).\n\n\
        Exit status: 0 when an order was found; 1 when the rules cannot reach the target (the \
        message names the blocking state); 2 for a file that does not load (with its line and \
        column).\n\n\
        Examples:\n  zkpilot synthesize --state now.yaml --target five.yaml -o expand.yaml\n  \
        zkpilot synthesize --inventory inv.yaml --target five.yaml -o expand.yaml\n  \
        zkpilot synthesize --state now.yaml --target five.yaml --leader P \\\n    \
        --compare runbooks/split-brain-free-expand.yaml"
    )]
    Synthesize(SynthesizeArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("start").required(true).args(["state", "inventory"])))]
pub struct SynthesizeArgs {
    /// The ensemble today, in `analyze`'s state-file format
    #[arg(long, value_name = "STATE.yaml")]
    pub state: Option<PathBuf>,
    /// Read the ensemble today live instead: one poll of every inventory host (4lw, else the
    /// AdminServer) for its role, id, view and version; with -o, the state it read is kept
    /// beside the runbook as RUNBOOK.state.yaml
    #[arg(long, value_name = "INV.yaml")]
    pub inventory: Option<PathBuf>,
    /// The ensemble wanted: `servers:` with `host`, and `sid`, `sid_of`, `role`, `addr`,
    /// `restart` as needed; `zookeeper:` to plan by other rules than the state's
    #[arg(long, value_name = "TARGET.yaml")]
    pub target: PathBuf,
    /// Where to write the runbook (default: only the plan and summary are printed)
    #[arg(short = 'o', long = "output", value_name = "RUNBOOK.yaml")]
    pub output: Option<PathBuf>,
    /// The live leader (a node of the state): restarted last when the rules allow; with
    /// --inventory, the server the poll saw leading unless given
    #[arg(long, value_name = "NODE")]
    pub leader: Option<String>,
    /// States the exact search may expand before a weighted search takes over (the order is
    /// then the best found, not proven minimal)
    #[arg(long, value_name = "N", default_value_t = crate::synth::search::Bound::default().max_states)]
    pub max_states: usize,
    /// Also plan a hand-written runbook on the same start and print the same figures
    #[arg(long, value_name = "RUNBOOK.yaml")]
    pub compare: Option<PathBuf>,
    /// Bind a host of the --compare runbook to a state or target host: NAME=HOST (repeatable)
    #[arg(long = "bind", value_name = "NAME=HOST")]
    pub bindings: Vec<String>,
}

#[derive(Subcommand)]
pub enum LabCommand {
    /// Draw half-migrated ensemble states, run each on a sandbox of real ZooKeeper servers,
    /// watch who leads, and check the analyzer's verdict on the same state against it
    #[command(
        after_help = "Needs root, like `sandbox up`. One sandbox serves every trial; each trial\n\
        wipes the hosts it uses, writes their myid and zoo.cfg, starts them in the drawn order,\n\
        samples every server's srvr (mntr on leaders) every 200 ms until SECS after all\n\
        answer, and stops them by PID.\n\n\
        A disagreement: two servers leading at once, each with a follower, for more than\n\
        syncLimit x tickTime (2.5 s) where the analyzer said no split brain; a leader the\n\
        analyzer did not list as possible; a server exiting at start, or running on, against\n\
        its word; or a server serving that it said can neither lead nor follow. Each one is\n\
        printed with its state file (for `zkpilot analyze`) and what was observed.\n\n\
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
pub struct JudgeArgs {
    /// Trial records written by `lab elections`
    #[arg(required = true, value_name = "RECORD.yaml")]
    pub records: Vec<PathBuf>,
}

#[derive(Args)]
pub struct ElectionsArgs {
    /// How many states to draw and run
    #[arg(long, default_value_t = 20)]
    pub trials: u32,
    /// Seed of the state generator: the same seed and --nodes draw the same states
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The number of the first trial: with --trials 1, runs that one trial of the seed again
    /// (trial N of a seed is the same state whatever the run's length)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub first: u32,
    /// Hosts per state, both ends included: 4..7, or one number
    #[arg(long, default_value = "4..7", value_parser = parse_hosts_range)]
    pub nodes: std::ops::RangeInclusive<usize>,
    /// Seconds to keep watching after every started server answers
    #[arg(long, default_value_t = 8, value_name = "SECS")]
    pub settle: u64,
    /// The sandbox directory (default: a fresh one under the temp dir, removed afterwards
    /// unless something needs looking at)
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write each disagreement as a regression fixture into DIR (tests/fixtures/lab/)
    #[arg(long, value_name = "DIR")]
    pub keep_fixtures: Option<PathBuf>,
    /// Run the split brain measured on 3.8.0 (shared/research: R moved, T's view stale) in
    /// every trial instead of drawing states
    #[arg(long)]
    pub research_split: bool,
    /// Run each host in a network namespace of its own behind a router namespace (addresses
    /// 10.77.0.0/16 inside them only, services as nftables DNAT rules), and draw the states
    /// whose own lines are not their hosts too: service-fronted, stale own line
    #[arg(long)]
    pub netns: bool,
}

fn parse_hosts_range(text: &str) -> Result<std::ops::RangeInclusive<usize>, String> {
    lab::draw::parse_hosts_range(text)
}

#[derive(Subcommand)]
pub enum InventoryCommand {
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
    /// Write an inventory from a live ensemble: one reachable server's membership (every
    /// host, sid, role, client and peer address) and the verbs of a preset
    #[command(
        after_help = "The membership comes from the server's 4lw `conf`, or, when its \
        4lw.commands.whitelist refuses `conf` (the 3.5.3+ default), from its AdminServer \
        (--admin, default HOST:8080): /commands/voting_view for the voters, the leader's \
        /commands/observers for the observers' ids (an observer's address is not in any \
        AdminServer answer: it is named in a comment to add by hand). Every server's AdminServer \
        is probed at its peer host's port 8080 for its own clientPort and dataDir. When neither \
        answers, --via-ssh HOST reads one host's zoo.cfg (and its dynamic file) over SSH.\n\n\
        --probe reads every host over SSH (the SSH config's names, users and port when \
        --ssh-config is given): the running server's config file, its dataDir, client address \
        and log; a verb whose program is not there is marked `# guessed:`.\n\n\
        --ssh-user, --dir and the commands of --verbs are per-host templates: {sid} the \
        server id, {name} the host's inventory name, {addr} its peer host (quoted as a shell \
        word in a command).\n\n\
        Values read from the servers are written as they are; guessed ones (a host's name, a \
        client address from the peer address, a preset's paths) carry a `# guessed:` comment. \
        Check the file, then `zkpilot inventory check` it.\n\n\
        Examples:\n  zkpilot inventory discover 10.0.0.1:2181 --ssh-user zk --preset systemd -o inventory.yaml\n  \
        zkpilot inventory discover 10.0.0.1:2181 --ssh-user 'zk{sid}' --preset zkserver-sh --dir '/home/zk{sid}/zookeeper'\n  \
        zkpilot inventory discover 10.0.0.1:2181 --ssh-user zk --preset custom --verbs verbs.yaml --ssh-port 2022\n  \
        zkpilot inventory discover 127.77.3.1:2181 --preset sandbox --dir /tmp/zk -o /tmp/zk/found.yaml"
    )]
    Discover(Box<DiscoverArgs>),
}

/// `zkpilot inventory discover`'s arguments (boxed in the command: they are many).
#[derive(Args)]
pub struct DiscoverArgs {
    /// One server of the ensemble: HOST:PORT, its client address
    #[arg(value_name = "HOST:PORT")]
    pub server: String,
    /// The SSH user on the hosts, a per-host template (a sandbox's users come from its SSH
    /// config)
    #[arg(long, value_name = "USER")]
    pub ssh_user: Option<String>,
    /// How ZooKeeper is run on the hosts: the commands of each verb
    #[arg(long, value_enum)]
    pub preset: DiscoverPreset,
    /// zkserver-sh: the ZooKeeper home, a per-host template (default /opt/zookeeper);
    /// sandbox: the sandbox's directory (required)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
    /// custom: a YAML map of verb to command, each a per-host template
    #[arg(long, value_name = "FILE")]
    pub verbs: Option<PathBuf>,
    /// The SSH port of every host (default 22, written as a guess)
    #[arg(long, value_name = "PORT")]
    pub ssh_port: Option<u16>,
    /// The private key to log in with (the inventory's ssh.identity)
    #[arg(long, value_name = "FILE")]
    pub ssh_identity: Option<PathBuf>,
    /// The known_hosts file to check host keys against (ssh.known_hosts)
    #[arg(long, value_name = "FILE")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// The SSH client config to read (ssh.config)
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// The asked server's AdminServer, when the 4lw `conf` is refused (default HOST:8080)
    #[arg(long, value_name = "HOST:PORT")]
    pub admin: Option<String>,
    /// When neither the 4lw `conf` nor the AdminServer answers: read the ensemble from
    /// this host's config file over SSH (USER@HOST, or a Host of --ssh-config)
    #[arg(long, value_name = "HOST")]
    pub via_ssh: Option<String>,
    /// --via-ssh: the config file on that host (default: the one its running server was
    /// started with)
    #[arg(long, value_name = "PATH")]
    pub zoo_cfg: Option<String>,
    /// Read every host over SSH (its running server's config, dataDir, client address,
    /// log, and which programs of the verbs exist) and mark what it could not read
    #[arg(long)]
    pub probe: bool,
    /// Write the inventory here (never over an existing file) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DiscoverPreset {
    /// `sudo systemctl start|stop|restart zookeeper`, Debian's /etc/zookeeper/conf
    Systemd,
    /// The Apache tarball: `DIR/bin/zkServer.sh`, `DIR/conf/zoo.cfg`, `DIR/logs`
    ZkserverSh,
    /// A `zkpilot sandbox up` directory: its `zkctl` scripts and SSH files
    Sandbox,
    /// The operator's own verbs from --verbs FILE
    Custom,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The session's audit log (JSON Lines)
    pub file: PathBuf,
    /// Write the session as plain text to standard output instead of opening the screen
    #[arg(long)]
    pub print: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
}

#[derive(Args)]
pub struct FollowArgs {
    /// The audit log of the session to follow
    pub file: PathBuf,
    #[command(flatten)]
    pub display: DisplayArgs,
}

#[derive(Args)]
pub struct WatchArgs {
    /// Inventory of the hosts to watch (as written by `zkpilot sandbox up`)
    #[arg(long, conflicts_with = "endpoints")]
    pub inventory: Option<PathBuf>,
    /// Client addresses to watch: HOST:PORT[,HOST:PORT…]
    #[arg(required_unless_present = "inventory")]
    pub endpoints: Option<String>,
    /// Time between polls of each node: 500ms, 1s, 5s…
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    #[command(flatten)]
    pub sessions: SessionArgs,
    /// Never connect over SSH (by default a node that never shows its view, being LOOKING or
    /// on 3.4, has its zoo.cfg read with the inventory's read-only `config` command)
    #[arg(long)]
    pub no_ssh: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
}

#[derive(Args)]
pub struct BindingArgs {
    /// The runbook (YAML)
    pub runbook: PathBuf,
    /// The inventory binding the runbook's hosts to real hosts
    #[arg(long)]
    pub inventory: PathBuf,
    /// Bind a runbook host to an inventory host of another name: NAME=HOST (repeatable)
    #[arg(long = "bind", value_name = "NAME=HOST")]
    pub bindings: Vec<String>,
    /// Give a runbook variable its value: NAME=VALUE (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub variables: Vec<String>,
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub binding: BindingArgs,
    /// The ZooKeeper version whose rules apply (default: the inventory's, else the newest)
    #[arg(long)]
    pub zookeeper: Option<String>,
    /// Print one JSON object per step instead of the table
    #[arg(long)]
    pub json: bool,
    /// Start from the ensemble as it is now (one poll of every inventory host: who runs, who
    /// leads, each node's own view) instead of the runbook's declared starting state
    #[arg(long)]
    pub live: bool,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub binding: BindingArgs,
    /// The audit log to create (default: a new file under $XDG_STATE_HOME/zkpilot/audit/)
    #[arg(long, conflicts_with = "resume")]
    pub audit: Option<PathBuf>,
    /// Continue the session recorded in this audit log after a crash or a quit
    #[arg(long, value_name = "LOG")]
    pub resume: Option<PathBuf>,
    /// Run without a screen: every step that needs no human, stopping at the first hazard,
    /// failure or step that needs one (for rehearsals and tests; never a way around a gate)
    #[arg(long)]
    pub autopilot: bool,
    /// With --autopilot: answer yes to steps that ask for a plain confirmation
    #[arg(long, requires = "autopilot")]
    pub yes: bool,
    /// Time between polls of each node
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    #[command(flatten)]
    pub sessions: SessionArgs,
    /// The ZooKeeper version whose rules apply (default: what the servers say)
    #[arg(long)]
    pub zookeeper: Option<String>,
    /// Break the ensemble lock of another session that is gone for good (its console was
    /// killed), saying why; recorded in this session's log and in the old one's when it is
    /// on this machine. Refused while the holder's console still runs here
    #[arg(long, value_name = "REASON")]
    pub break_lock: Option<String>,
    #[command(flatten)]
    pub display: DisplayArgs,
}

#[derive(Args)]
pub struct SessionArgs {
    /// Never open a ZooKeeper client session: poll by four-letter words alone (`srvr` every
    /// interval), for ensembles where tools must not create sessions (each is a transaction).
    /// A server leaving its role is then seen at the next poll, not the moment it happens
    #[arg(long)]
    pub no_sessions: bool,
}

impl SessionArgs {
    pub fn policy(&self) -> crate::poll::Sessions {
        if self.no_sessions {
            crate::poll::Sessions::Never
        } else {
            crate::poll::Sessions::Kept
        }
    }
}

#[derive(Args)]
pub struct DisplayArgs {
    /// Colour theme: dark, light, high-contrast, basic16, a name under
    /// $XDG_CONFIG_HOME/zkpilot/themes/, or a path to a theme file
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Plain ASCII symbols, for terminals that cannot show ✓ ✗ ▁▂▃
    #[arg(long)]
    pub ascii: bool,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
pub enum AuditCommand {
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
pub struct VerifyArgs {
    /// The session's audit log (JSON Lines)
    pub file: PathBuf,
    /// Fail unless the chain holds this hash, noted when the session ended; a log resumed since
    /// may have records after it
    #[arg(long, value_name = "HASH")]
    pub expect_head: Option<RecordHash>,
    /// Accept a log without its heads file (LOG.heads), e.g. one written before zkpilot
    /// published heads: only the chain is checked, so a cut-off tail cannot be seen
    #[arg(long)]
    pub unanchored: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The session's audit log (JSON Lines)
    pub file: PathBuf,
    /// What to write
    #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// A Markdown post-mortem report
    Markdown,
    /// An asciicast v2 recording of the replay screen, one frame per record at its own time
    /// (plays in asciinema; pauses over 2 s are shortened on playback)
    Asciicast,
}

#[derive(Subcommand)]
pub enum SandboxCommand {
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
pub struct DirArg {
    /// The sandbox directory
    #[arg(long)]
    pub dir: PathBuf,
}

#[derive(Args)]
pub struct UpArgs {
    /// Directory for configs, data, logs, keys and inventory.yaml (created if missing)
    #[arg(long)]
    pub dir: PathBuf,
    /// Voting servers to start
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=20))]
    pub nodes: u8,
    /// Observers to start
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=30))]
    pub observers: u8,
    /// Spare hosts to prepare (address, data dir, SSH) without starting a server
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub spare: u8,
    /// Run with dynamic reconfiguration: server lines in a dynamic config file, `reconfig`
    /// allowed (and no ACL checks, so that it needs no superuser)
    #[arg(long)]
    pub reconfig: bool,
    /// Make a stand-in Kubernetes service ready in front of every server (an address forwarded
    /// by an nftables rule, pointed by the `point-service` verb), each server on ports of its
    /// own: for the k8s-one-for-one runbook
    #[arg(long)]
    pub services: bool,
    /// The servers' `4lw.commands.whitelist`, as stock servers run it: `srvr` is the 3.5.3+
    /// default; any comma-separated list of words (default: every word)
    #[arg(long, value_name = "WORDS")]
    pub whitelist: Option<String>,
    /// Run each server's AdminServer (HTTP JSON `/commands/...`) on its host's own address,
    /// port 8080
    #[arg(long)]
    pub admin: bool,
}

#[derive(Args)]
pub struct PartitionArgs {
    /// The sandbox directory
    #[arg(long)]
    pub dir: PathBuf,
    /// Groups of host names, comma-separated; hosts of different groups cannot reach each other
    #[arg(required = true, num_args = 2.., value_delimiter = ' ')]
    pub groups: Vec<String>,
}
