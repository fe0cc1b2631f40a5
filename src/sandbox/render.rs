//! Pure text of every file a sandbox writes: each host's `zoo.cfg` and control script, the
//! private sshd's config, the client-side ssh config and known_hosts, and the inventory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::inventory::{Host, HostRole, Inventory, Service, SshDefaults, VerbCommand};

pub const CLIENT_PORT: u16 = 2181;
pub const QUORUM_PORT: u16 = 2888;
pub const ELECTION_PORT: u16 = 3888;
const SERVICE_QUORUM_PORT_BASE: u16 = 2880;
const SERVICE_ELECTION_PORT_BASE: u16 = 3880;
/// Never 22: the sandbox's sshd must not look like, or collide with, the machine's own.
pub const SSH_PORT: u16 = 2222;

/// The class path measured to be enough for a server from Debian's package: `zookeeper.jar`'s
/// manifest names the rest (netty, jute, metrics…); slf4j-simple gives it a logger.
/// `servlet-api.jar` is the one jar the AdminServer (Jetty) needs beyond those (measured on
/// Debian's 3.8.0: without it the server starts with the AdminServer disabled).
pub const ZOOKEEPER_CLASSPATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:\
     /usr/share/java/slf4j-simple.jar:/usr/share/java/servlet-api.jar";

/// ZooKeeper's default `admin.serverPort`, on each host's own address.
pub const ADMIN_PORT: u16 = 8080;

/// Small and quick to start: a sandbox runs several servers on two cores.
const JAVA_OPTS: &str = "-Xmx96m -Xms16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
     -XX:-UsePerfData -Djava.net.preferIPv4Stack=true \
     -Dorg.slf4j.simpleLogger.showDateTime=true";

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub dir: PathBuf,
    pub slot: u8,
    pub hosts: Vec<HostPlan>,
    /// Server lines in a dynamic config file, `reconfig` enabled (ZooKeeper 3.5+).
    pub dynamic_reconfig: bool,
    /// A stand-in Kubernetes service in front of every started host (see [`Layout::peer_ports`]).
    pub services: bool,
    /// `4lw.commands.whitelist`: `*` (every word) unless a stock server is rehearsed.
    pub whitelist: String,
    /// The AdminServer on each host's own address and [`ADMIN_PORT`].
    pub admin: bool,
}

/// The dynamic config file a server starts with; ZooKeeper writes its successors itself.
pub const DYNAMIC_CFG: &str = "zoo.cfg.dynamic";

#[derive(Debug, Clone, PartialEq)]
pub struct HostPlan {
    pub name: String,
    /// Last octet of the host's loopback address; also picks its Unix user.
    pub index: u8,
    pub sid: u64,
    pub role: HostRole,
    pub user: String,
}

impl Layout {
    /// Voters first, then observers, then spares; sids and addresses follow that order.
    pub fn new(dir: PathBuf, slot: u8, voters: u8, observers: u8, spares: u8) -> Layout {
        let roles = std::iter::repeat_n(HostRole::Participant, voters.into())
            .chain(std::iter::repeat_n(HostRole::Observer, observers.into()))
            .chain(std::iter::repeat_n(HostRole::Spare, spares.into()));
        let hosts = roles
            .enumerate()
            .map(|(i, role)| {
                let index = u8::try_from(i + 1).unwrap_or(u8::MAX);
                HostPlan {
                    name: format!("zk{index}"),
                    index,
                    sid: index.into(),
                    role,
                    user: host_user(index),
                }
            })
            .collect();
        Layout {
            dir,
            slot,
            hosts,
            dynamic_reconfig: false,
            services: false,
            whitelist: "*".into(),
            admin: false,
        }
    }

    /// Servers answer only these four-letter words (`srvr` alone is the 3.5.3+ default).
    pub fn with_whitelist(mut self, whitelist: &str) -> Layout {
        self.whitelist = whitelist.to_string();
        self
    }

    pub fn with_admin(mut self, on: bool) -> Layout {
        self.admin = on;
        self
    }

    pub fn with_dynamic_reconfig(mut self, on: bool) -> Layout {
        self.dynamic_reconfig = on;
        self
    }

    pub fn with_services(mut self, on: bool) -> Layout {
        self.services = on;
        self
    }

    /// Quorum and election ports. With services each host has ports of its own: a server
    /// behind a service listens on every address (`quorumListenOnAllIPs`, as a pod behind a
    /// ClusterIP service must), and on one shared loopback interface two such servers could
    /// not both take 2888 and 3888. The ports travel with the server id: the service and any
    /// replacement taking the id over use the ports of the host it was made for.
    pub fn peer_ports(&self, host: &HostPlan) -> (u16, u16) {
        if self.services {
            let index = u16::from(host.index);
            (
                SERVICE_QUORUM_PORT_BASE + index,
                SERVICE_ELECTION_PORT_BASE + index,
            )
        } else {
            (QUORUM_PORT, ELECTION_PORT)
        }
    }

    /// `address:quorumPort:electionPort` of a host.
    pub fn peer(&self, host: &HostPlan) -> String {
        let (quorum, election) = self.peer_ports(host);
        format!("{}:{quorum}:{election}", self.address(host))
    }

    /// The services, one in front of each started host.
    pub fn services(&self) -> Vec<Service> {
        if !self.services {
            return Vec::new();
        }
        self.started_hosts()
            .map(|h| {
                let addr = service_address(self.slot, h.index);
                let (quorum, election) = self.peer_ports(h);
                Service {
                    name: format!("{}-svc", h.name),
                    serves: h.name.clone(),
                    client: format!("{addr}:{CLIENT_PORT}"),
                    peer: format!("{addr}:{quorum}:{election}"),
                    to: None,
                }
            })
            .collect()
    }

    pub fn address(&self, host: &HostPlan) -> String {
        host_address(self.slot, host.index)
    }

    pub fn host_dir(&self, host: &HostPlan) -> PathBuf {
        self.dir.join("hosts").join(&host.name)
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.dir.join("ssh")
    }

    pub fn started_hosts(&self) -> impl Iterator<Item = &HostPlan> {
        self.hosts.iter().filter(|h| h.role != HostRole::Spare)
    }

    /// `server.N=` lines of the ensemble as it starts: every voter and observer, not the spares.
    pub fn server_lines(&self) -> Vec<String> {
        self.started_hosts()
            .map(|h| {
                let suffix = if h.role == HostRole::Observer {
                    ":observer"
                } else {
                    ""
                };
                format!("server.{}={}{suffix}", h.sid, self.peer(h))
            })
            .collect()
    }
}

/// Sandbox hosts are separate "machines" on loopback: `127.77.SLOT.INDEX`.
pub fn host_address(slot: u8, index: u8) -> String {
    format!("127.77.{slot}.{index}")
}

/// The stand-in service in front of host INDEX: `127.77.SLOT.(100+INDEX)`, forwarded by an
/// nftables DNAT rule as kube-proxy forwards a ClusterIP.
pub fn service_address(slot: u8, index: u8) -> String {
    format!("127.77.{slot}.{}", 100 + u16::from(index))
}

/// Every host runs as its own Unix user so a firewall rule can match the connections one host
/// makes (nftables `meta skuid`): on loopback they all leave from 127.0.0.1, so the source
/// address cannot tell hosts apart.
pub fn host_user(index: u8) -> String {
    format!("zkpilot-h{index}")
}

pub fn zoo_cfg(layout: &Layout, host: &HostPlan) -> String {
    let mut text = format!(
        "# zoo.cfg of sandbox host {name}, written by `zkpilot sandbox up`\n\
         tickTime=500\n\
         initLimit=10\n\
         syncLimit=5\n\
         dataDir={data}\n\
         clientPortAddress={addr}\n\
         clientPort={CLIENT_PORT}\n\
         4lw.commands.whitelist={whitelist}\n",
        name = host.name,
        data = layout.host_dir(host).join("data").display(),
        addr = layout.address(host),
        whitelist = layout.whitelist,
    );
    if layout.admin {
        text.push_str(&format!(
            "admin.enableServer=true\n\
             admin.serverAddress={}\n\
             admin.serverPort={ADMIN_PORT}\n",
            layout.address(host)
        ));
    } else {
        text.push_str("admin.enableServer=false\n");
    }
    if host.role == HostRole::Observer {
        text.push_str("peerType=observer\n");
    }
    if layout.dynamic_reconfig {
        // skipACL: reconfig otherwise needs a superuser; a sandbox has no secrets to protect.
        text.push_str(&format!(
            "reconfigEnabled=true\n\
             standaloneEnabled=false\n\
             skipACL=yes\n\
             dynamicConfigFile={}\n",
            layout.host_dir(host).join(DYNAMIC_CFG).display()
        ));
    } else if host.role != HostRole::Spare {
        for line in layout.server_lines() {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// Whether `whitelist` is a list `4lw.commands.whitelist` takes: `*`, or comma-separated
/// four-letter lower-case words (`FourLetterCommands.resetWhiteList` splits on commas).
pub fn valid_whitelist(whitelist: &str) -> bool {
    whitelist == "*"
        || whitelist.split(',').all(|word| {
            let word = word.trim();
            word.len() == 4 && word.chars().all(|c| c.is_ascii_lowercase())
        })
}

/// The dynamic config file of a started host: every server line with its role and client
/// address, as `reconfig` keeps them. Spares get theirs from `set-servers`.
pub fn dynamic_cfg(layout: &Layout, host: &HostPlan) -> Option<String> {
    if !layout.dynamic_reconfig || host.role == HostRole::Spare {
        return None;
    }
    let lines: String = layout
        .started_hosts()
        .map(|h| {
            let role = if h.role == HostRole::Observer {
                "observer"
            } else {
                "participant"
            };
            format!(
                "server.{}={}:{role};{}:{CLIENT_PORT}\n",
                h.sid,
                layout.peer(h),
                layout.address(h)
            )
        })
        .collect();
    Some(lines)
}

pub fn control_script(layout: &Layout, host: &HostPlan) -> String {
    let host_dir = layout.host_dir(host);
    let header = format!(
        "#!/bin/sh\n\
         # Control script of sandbox host {name}: the verbs an operator has on a real ZooKeeper\n\
         # server. It manages only this host's server, found through its PID file.\n\
         set -u\n\
         NAME={name_q}\n\
         HOST_DIR={dir_q}\n\
         JAVA_OPTS={opts_q}\n\
         CLASSPATH={cp_q}\n\
         FIREWALL={fw_q}\n\
         CLIENT={client_q}\n",
        name = host.name,
        name_q = crate::shell::quote(&host.name),
        dir_q = crate::shell::quote(&host_dir.display().to_string()),
        opts_q = crate::shell::quote(JAVA_OPTS),
        cp_q = crate::shell::quote(ZOOKEEPER_CLASSPATH),
        fw_q = crate::shell::quote(&firewall_script_path(layout.slot).display().to_string()),
        client_q = crate::shell::quote(&format!("{}:{CLIENT_PORT}", layout.address(host))),
    );
    header + CONTROL_SCRIPT_BODY
}

const CONTROL_SCRIPT_BODY: &str = r#"CFG="$HOST_DIR/zoo.cfg"
PIDFILE="$HOST_DIR/zk.pid"
LOG="$HOST_DIR/zk.log"
DATA="$HOST_DIR/data"

usage() {
  cat >&2 <<EOF
usage: zkctl VERB
  start             start this host's ZooKeeper server (no-op if it runs)
  stop              stop it (SIGTERM, SIGKILL after 10 s)
  restart           stop, then start
  kill              SIGKILL it at once, as a crash would
  status            'running (pid N)' with exit 0, or 'stopped' with exit 3
  config            print zoo.cfg
  set-config        replace zoo.cfg with standard input (previous kept as zoo.cfg.prev)
  set-servers L...  replace the server.N= lines of zoo.cfg (or of its dynamic file) with these
  reconfig ARGS     dynamic reconfig through this server (3.5+): -add LINE, -remove ID...
  set-option K=V    set one zoo.cfg option, replacing any earlier value
  wipe-data         delete the data (snapshots and logs, not myid); refused while running
  data-empty        exit 0 when the data directory holds no snapshot or log, 1 otherwise
  set-myid N        give this host server id N (a replacement taking over an old server's id);
                    refused while running
  block-peers A...  firewall: reject every TCP connection between this host and hosts A...
  unblock-peers A...  remove those rules again
  firewall          list this host's firewall rules
  point-service S H   the stand-in Kubernetes service at address S forwards to host H from now on
                    (kubectl's part: a ClusterIP service and its endpoint)
  drop-service S    delete the service at address S
  log [N]           the last N (default 40) lines of the server log
EOF
  exit 2
}

# The live PID of this host's server, or failure. A late-reaped zombie still passes kill -0,
# so read the process state, and check the command line so a reused PID is never ours.
server_pid() {
  [ -r "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null)
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  case "$state" in ''|Z|X) return 1 ;; esac
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "QuorumPeerMain $CFG" || return 1
  echo "$pid"
}

wait_gone() {
  i=0
  while [ "$i" -lt "$1" ] && server_pid >/dev/null; do sleep 0.1; i=$((i + 1)); done
  ! server_pid >/dev/null
}

# With dynamic reconfig the server lines live in the file zoo.cfg names, which ZooKeeper
# itself replaces by a newer one after every reconfig.
servers_file() {
  dynamic=$(sed -n 's/^dynamicConfigFile=//p' "$CFG" | tail -n 1)
  if [ -n "$dynamic" ]; then echo "$dynamic"; else echo "$CFG"; fi
}

start() {
  if pid=$(server_pid); then echo "$NAME: already running (pid $pid)"; return 0; fi
  if ! grep -q '^server\.' "$(servers_file)" 2>/dev/null; then
    echo "$NAME: zoo.cfg has no server lines; give it a view first (set-servers)" >&2
    return 1
  fi
  mkdir -p "$DATA"
  echo "=== $(date -u +%FT%TZ) start" >> "$LOG"
  setsid java $JAVA_OPTS -cp "$CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$CFG" >> "$LOG" 2>&1 < /dev/null &
  echo "$!" > "$PIDFILE"
  # A bad config makes the JVM exit within a second: report that instead of a false start.
  sleep 1
  if pid=$(server_pid); then
    echo "$NAME: started (pid $pid)"
  else
    echo "$NAME: server exited at start; last log lines:" >&2
    tail -n 20 "$LOG" >&2
    return 1
  fi
}

stop() {
  if ! pid=$(server_pid); then rm -f "$PIDFILE"; echo "$NAME: not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null
  if ! wait_gone 100; then
    kill -KILL "$pid" 2>/dev/null
    wait_gone 50 || { echo "$NAME: pid $pid did not exit" >&2; return 1; }
  fi
  rm -f "$PIDFILE"
  echo "$NAME: stopped"
}

crash() {
  if ! pid=$(server_pid); then echo "$NAME: not running"; return 0; fi
  kill -KILL "$pid"
  wait_gone 50 || { echo "$NAME: pid $pid did not exit" >&2; return 1; }
  rm -f "$PIDFILE"
  echo "$NAME: killed"
}

replace_cfg() {
  tmp="$CFG.new.$$"
  cat > "$tmp" || { rm -f "$tmp"; return 1; }
  if ! grep -q . "$tmp"; then rm -f "$tmp"; echo "$NAME: refusing an empty zoo.cfg" >&2; return 1; fi
  cp "$CFG" "$CFG.prev" 2>/dev/null
  mv "$tmp" "$CFG"
  echo "$NAME: zoo.cfg replaced"
}

set_servers() {
  [ "$#" -gt 0 ] || { echo "$NAME: set-servers needs at least one server.N= line" >&2; return 2; }
  for line in "$@"; do
    case "$line" in
      server.[0-9]*=*) ;;
      *) echo "$NAME: not a server line: $line" >&2; return 2 ;;
    esac
  done
  file=$(servers_file)
  if [ "$file" = "$CFG" ]; then
    { grep -v '^server\.' "$CFG"; printf '%s\n' "$@"; } | replace_cfg
    return
  fi
  # A dynamic file names each server's client address too; the sandbox's is always :2181.
  tmp="$file.new.$$"
  for line in "$@"; do
    case "$line" in
      *\;*) printf '%s\n' "$line" ;;
      *) host=${line#*=}; printf '%s;%s:2181\n' "$line" "${host%%:*}" ;;
    esac
  done > "$tmp" && mv "$tmp" "$file" && echo "$NAME: $(basename "$file") replaced"
}

reconfig() {
  [ "$#" -gt 0 ] || { echo "$NAME: reconfig needs -add, -remove or -members arguments" >&2; return 2; }
  out=$(java $JAVA_OPTS -cp "$CLASSPATH" org.apache.zookeeper.ZooKeeperMain -server "$CLIENT" reconfig "$@" 2>&1)
  echo "$out" | grep -v -e '^[0-9]* \[' -e '^$'
  # ZooKeeperMain exits 0 whatever happened: the answer says whether it was committed.
  echo "$out" | grep -q '^Committed new configuration' || { echo "$NAME: reconfig was not committed" >&2; return 1; }
}

set_option() {
  case "${1:-}" in
    [A-Za-z0-9]*=*) ;;
    *) echo "$NAME: set-option needs KEY=VALUE" >&2; return 2 ;;
  esac
  key=${1%%=*}
  { grep -v "^$key=" "$CFG"; printf '%s\n' "$1"; } | replace_cfg
}

wipe_data() {
  if pid=$(server_pid); then echo "$NAME: refusing to wipe data while running (pid $pid)" >&2; return 1; fi
  rm -rf "$DATA/version-2"
  echo "$NAME: data wiped"
}

verb=${1:-}
[ "$#" -gt 0 ] && shift
case "$verb" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  kill) crash ;;
  status)
    if pid=$(server_pid); then echo "$NAME: running (pid $pid)"; else echo "$NAME: stopped"; exit 3; fi ;;
  config) cat "$CFG"; [ "$(servers_file)" = "$CFG" ] || cat "$(servers_file)" ;;
  set-config) replace_cfg ;;
  set-servers) set_servers "$@" ;;
  reconfig) reconfig "$@" ;;
  set-option) set_option "$@" ;;
  wipe-data) wipe_data ;;
  set-myid)
    case "${1:-}" in
      ''|*[!0-9]*) echo "$NAME: set-myid needs a server id" >&2; exit 2 ;;
    esac
    if pid=$(server_pid); then echo "$NAME: refusing to change the id while running (pid $pid)" >&2; exit 1; fi
    mkdir -p "$DATA" && printf '%s\n' "$1" > "$DATA/myid" && echo "$NAME: myid $1" ;;
  data-empty)
    files=$(ls -A "$DATA/version-2" 2>/dev/null | wc -l)
    if [ "$files" -eq 0 ]; then echo "$NAME: no data"; else echo "$NAME: $files snapshot and log files in $DATA/version-2"; exit 1; fi ;;
  log) tail -n "${1:-40}" "$LOG" ;;
  block-peers) exec sudo -n "$FIREWALL" block "$@" ;;
  unblock-peers) exec sudo -n "$FIREWALL" unblock "$@" ;;
  firewall) exec sudo -n "$FIREWALL" list ;;
  point-service) exec sudo -n "$FIREWALL" route "$@" ;;
  drop-service) exec sudo -n "$FIREWALL" unroute "$@" ;;
  *) usage ;;
esac
"#;

/// sshd listens on at most 16 addresses (`MAX_LISTEN_SOCKS` in OpenSSH), so a sandbox of more
/// hosts gets one sshd per 16 of them, all with the same host key and users.
pub const HOSTS_PER_SSHD: usize = 16;

/// The config file of the `index`-th sshd.
pub fn sshd_config_name(index: usize) -> String {
    if index == 0 {
        "sshd_config".to_string()
    } else {
        format!("sshd_config.{index}")
    }
}

/// One config per sshd, each listening on its share of the hosts' addresses.
pub fn sshd_configs(layout: &Layout) -> Vec<String> {
    layout
        .hosts
        .chunks(HOSTS_PER_SSHD)
        .enumerate()
        .map(|(index, hosts)| sshd_config(layout, index, hosts))
        .collect()
}

fn sshd_config(layout: &Layout, index: usize, listen: &[HostPlan]) -> String {
    let ssh = layout.ssh_dir();
    let mut text = format!(
        "# Private, loopback-only sshd of a zkpilot sandbox.\n\
         Port {SSH_PORT}\n"
    );
    for host in listen {
        text.push_str(&format!("ListenAddress {}\n", layout.address(host)));
    }
    let users: Vec<&str> = layout.hosts.iter().map(|h| h.user.as_str()).collect();
    let pid = if index == 0 {
        "sshd.pid".to_string()
    } else {
        format!("sshd.{index}.pid")
    };
    text.push_str(&format!(
        "HostKey {key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {auth}\n\
         AllowUsers {users}\n\
         PermitRootLogin no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         UsePAM no\n\
         StrictModes no\n\
         X11Forwarding no\n\
         AllowTcpForwarding no\n\
         PrintMotd no\n\
         MaxStartups 64:30:128\n\
         MaxSessions 32\n\
         LogLevel VERBOSE\n",
        key = ssh.join("ssh_host_ed25519_key").display(),
        pid = ssh.join(pid).display(),
        auth = ssh.join("authorized_keys").display(),
        users = users.join(" "),
    ));
    text
}

/// `known_hosts` lines so clients can keep `StrictHostKeyChecking=yes`.
pub fn known_hosts(layout: &Layout, host_public_key: &str) -> String {
    let key: Vec<&str> = host_public_key.split_whitespace().take(2).collect();
    let key = key.join(" ");
    layout
        .hosts
        .iter()
        .map(|h| format!("[{}]:{SSH_PORT} {key}\n", layout.address(h)))
        .collect()
}

/// An ssh client config: `ssh -F DIR/ssh/config zk1 …` reaches host zk1 with the sandbox key
/// and strict host key checking.
pub fn ssh_client_config(layout: &Layout) -> String {
    let ssh = layout.ssh_dir();
    let mut text = String::from("# ssh client config of a zkpilot sandbox\n");
    for host in &layout.hosts {
        text.push_str(&format!(
            "Host {name}\n  HostName {addr}\n  User {user}\n",
            name = host.name,
            addr = layout.address(host),
            user = host.user
        ));
    }
    text.push_str(&format!(
        "Host *\n  Port {SSH_PORT}\n  IdentityFile {id}\n  IdentitiesOnly yes\n  \
         UserKnownHostsFile {kh}\n  StrictHostKeyChecking yes\n  BatchMode yes\n  \
         ConnectTimeout 5\n",
        id = ssh.join("id_ed25519").display(),
        kh = ssh.join("known_hosts").display(),
    ));
    text
}

pub fn inventory(layout: &Layout, zookeeper_version: Option<String>) -> Inventory {
    let ssh = layout.ssh_dir();
    let hosts = layout
        .hosts
        .iter()
        .map(|h| {
            let addr = layout.address(h);
            let zkctl = layout.host_dir(h).join("zkctl");
            Host {
                name: h.name.clone(),
                sid: h.sid,
                role: h.role,
                client: format!("{addr}:{CLIENT_PORT}"),
                peer: layout.peer(h),
                ssh: format!("{}@{addr}", h.user),
                ssh_port: SSH_PORT,
                commands: verb_commands(&zkctl),
                admin: layout.admin.then(|| format!("{addr}:{ADMIN_PORT}")),
                // Beside the host's own files, so a sandbox's locks go with its directory.
                lock: Some(
                    layout
                        .host_dir(h)
                        .join("zkpilot.lock")
                        .display()
                        .to_string(),
                ),
            }
        })
        .collect();
    Inventory {
        name: format!("sandbox-{}", layout.slot),
        zookeeper: zookeeper_version,
        ssh: Some(SshDefaults {
            identity: Some(ssh.join("id_ed25519").display().to_string()),
            known_hosts: Some(ssh.join("known_hosts").display().to_string()),
            config: Some(ssh.join("config").display().to_string()),
        }),
        hosts,
        services: layout.services(),
    }
}

pub const VERBS: [&str; 19] = [
    "start",
    "stop",
    "restart",
    "kill",
    "status",
    "config",
    "set-config",
    "set-servers",
    "reconfig",
    "set-option",
    "wipe-data",
    "data-empty",
    "set-myid",
    "log",
    "block-peers",
    "unblock-peers",
    "firewall",
    "point-service",
    "drop-service",
];

/// Root-owned, outside the sandbox directory (which host users can reach), so that what sudo
/// runs as root cannot be changed by them.
pub fn firewall_script_path(slot: u8) -> PathBuf {
    Path::new("/run/zkpilot-sandbox").join(format!("firewall-{slot}"))
}

pub fn sudoers_path(slot: u8) -> PathBuf {
    Path::new("/etc/sudoers.d").join(format!("zkpilot-sandbox-{slot}"))
}

/// Lets each host user run the sandbox's firewall script as root, and nothing else: an operator
/// runs `sudo iptables …` on a real server the same way.
pub fn sudoers(layout: &Layout) -> String {
    let users: Vec<&str> = layout.hosts.iter().map(|h| h.user.as_str()).collect();
    format!(
        "# zkpilot sandbox {slot}: host users may change this sandbox's firewall rules.\n\
         {users} ALL=(root) NOPASSWD: {script}\n",
        slot = layout.slot,
        users = users.join(", "),
        script = firewall_script_path(layout.slot).display(),
    )
}

/// The firewall script sudo runs for a host user. It learns which host is calling from
/// `SUDO_UID` (set by sudo, not by the caller) and only ever touches rules between that host and
/// other hosts of this sandbox: on loopback every connection leaves from 127.0.0.1, so a rule
/// matches the connecting host's user (`meta skuid`) and the address it dials.
pub fn firewall_script(layout: &Layout, table: &str, uids: &[u32]) -> String {
    let mut me = String::new();
    let mut uid_of = String::new();
    let services: Vec<String> = layout
        .services()
        .iter()
        .filter_map(|s| s.peer.split(':').next().map(str::to_string))
        .collect();
    let services = if services.is_empty() {
        "-".to_string()
    } else {
        services.join("|")
    };
    for (host, uid) in layout.hosts.iter().zip(uids) {
        let addr = layout.address(host);
        me.push_str(&format!("  {uid}) ME={addr}; MYUID={uid} ;;\n"));
        uid_of.push_str(&format!("    {addr}) echo {uid} ;;\n"));
    }
    let head = format!(
        "#!/bin/sh\n\
         # Firewall of zkpilot sandbox {slot}, run through sudo by a host user.\n\
         set -eu\n\
         TABLE={table}\n\
         case \"${{SUDO_UID:-}}\" in\n\
         {me}  *) echo \"firewall: run it as a host of sandbox {slot}, through sudo\" >&2; exit 2 ;;\n\
         esac\n\
         uid_of() {{\n  case \"$1\" in\n{uid_of}    *) return 1 ;;\n  esac\n}}\n\
         service_ok() {{\n  case \"$1\" in\n    {services}) return 0 ;;\n    *) return 1 ;;\n  esac\n}}\n",
        slot = layout.slot,
    );
    head + FIREWALL_BODY
}

const FIREWALL_BODY: &str = r#"
# nft wants a comment as one quoted string; the quotes are part of the argument.
Q='"'
rules_of() {
  nft -a list chain inet "$TABLE" out | grep -F "comment ${Q}host $ME peer $1${Q}" | sed 's/.*# handle //'
}

service_rules() {
  nft -a list chain inet "$TABLE" svc 2>/dev/null | grep -F "comment ${Q}service $1${Q}" | sed 's/.*# handle //'
}

verb=${1:-}
[ "$#" -gt 0 ] && shift
# A service's rule is replaced in one nft transaction, so it never forwards nowhere meanwhile.
case "$verb" in
  route|unroute)
    service_ok "${1:-}" || { echo "firewall: ${1:-} is not a service of this sandbox" >&2; exit 2; }
    if [ "$verb" = route ]; then
      [ "$#" -eq 2 ] || { echo "usage: firewall route SERVICE_ADDRESS HOST_ADDRESS" >&2; exit 2; }
      uid_of "$2" >/dev/null || { echo "firewall: $2 is not a host of this sandbox" >&2; exit 2; }
    fi
    {
      for handle in $(service_rules "$1"); do echo "delete rule inet $TABLE svc handle $handle"; done
      [ "$verb" = unroute ] || echo "add rule inet $TABLE svc ip daddr $1 meta l4proto tcp dnat ip to $2 comment ${Q}service $1${Q}"
    } | nft -f -
    if [ "$verb" = route ]; then echo "service $1 -> $2"; else echo "service $1 deleted"; fi
    exit 0 ;;
esac
for peer in "$@"; do
  uid_of "$peer" >/dev/null || { echo "firewall: $peer is not a host of this sandbox" >&2; exit 2; }
  [ "$peer" != "$ME" ] || { echo "firewall: $peer is this host" >&2; exit 2; }
done
case "$verb" in
  block)
    for peer in "$@"; do
      [ -z "$(rules_of "$peer")" ] || { echo "$ME: $peer already blocked"; continue; }
      nft add rule inet "$TABLE" out meta skuid "$MYUID" ip daddr "$peer" meta l4proto tcp reject with tcp reset comment "${Q}host $ME peer $peer${Q}"
      nft add rule inet "$TABLE" out meta skuid "$(uid_of "$peer")" ip daddr "$ME" meta l4proto tcp reject with tcp reset comment "${Q}host $ME peer $peer${Q}"
      echo "$ME: blocked $peer"
    done ;;
  unblock)
    for peer in "$@"; do
      for handle in $(rules_of "$peer"); do nft delete rule inet "$TABLE" out handle "$handle"; done
      echo "$ME: unblocked $peer"
    done ;;
  list)
    nft list chain inet "$TABLE" out | grep -F "comment ${Q}host $ME peer " | sed 's/.*comment "host [^ ]* peer \([^"]*\)".*/blocked \1/' | sort -u
    nft list chain inet "$TABLE" svc 2>/dev/null | grep -F "comment ${Q}service " | sed 's/.*ip daddr \([^ ]*\) .*dnat ip to \([^ ]*\) .*/service \1 -> \2/' ;;
  *) echo "usage: firewall block|unblock PEER_ADDRESS... | list | route SERVICE HOST | unroute SERVICE" >&2; exit 2 ;;
esac
"#;

fn verb_commands(zkctl: &Path) -> BTreeMap<String, VerbCommand> {
    let script = crate::shell::quote(&zkctl.display().to_string());
    VERBS
        .iter()
        .map(|verb| (verb.to_string(), format!("{script} {verb}").into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(PathBuf::from("/tmp/sbx"), 9, 3, 1, 2)
    }

    #[test]
    fn hosts_are_voters_then_observers_then_spares() {
        let layout = layout();
        let roles: Vec<_> = layout
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.role))
            .collect();
        assert_eq!(
            roles,
            [
                ("zk1", HostRole::Participant),
                ("zk2", HostRole::Participant),
                ("zk3", HostRole::Participant),
                ("zk4", HostRole::Observer),
                ("zk5", HostRole::Spare),
                ("zk6", HostRole::Spare),
            ]
        );
        assert_eq!(layout.address(&layout.hosts[5]), "127.77.9.6");
        assert_eq!(layout.hosts[5].user, "zkpilot-h6");
    }

    #[test]
    fn a_stock_server_is_rehearsed_with_its_whitelist_and_admin_server() {
        let layout = layout().with_whitelist("srvr").with_admin(true);
        let cfg = zoo_cfg(&layout, &layout.hosts[1]);
        assert!(cfg.contains("4lw.commands.whitelist=srvr\n"), "{cfg}");
        assert!(cfg.contains("admin.enableServer=true\n"), "{cfg}");
        assert!(cfg.contains("admin.serverAddress=127.77.9.2\n"), "{cfg}");
        assert!(cfg.contains("admin.serverPort=8080\n"), "{cfg}");
        let plain = zoo_cfg(&self::layout(), &layout.hosts[1]);
        assert!(plain.contains("4lw.commands.whitelist=*\n"), "{plain}");
        assert!(plain.contains("admin.enableServer=false\n"), "{plain}");
        assert!(inventory(&layout, None).hosts[1].admin.as_deref() == Some("127.77.9.2:8080"));
        assert!(inventory(&self::layout(), None).hosts[1].admin.is_none());
        assert!(valid_whitelist("srvr,mntr") && valid_whitelist("*"));
        assert!(!valid_whitelist("srvr\nadmin.enableServer=true") && !valid_whitelist(""));
    }

    #[test]
    fn zoo_cfg_lists_started_hosts_only() {
        let layout = layout();
        let cfg = zoo_cfg(&layout, &layout.hosts[3]);
        assert!(cfg.contains("clientPortAddress=127.77.9.4\n"));
        assert!(cfg.contains("peerType=observer\n"));
        assert!(cfg.contains("server.4=127.77.9.4:2888:3888:observer\n"));
        assert!(!cfg.contains("server.5="));
        let view = crate::zk::config::View::parse_lines(cfg.lines()).unwrap();
        assert_eq!(view.participant_count(), 3);
        let spare = zoo_cfg(&layout, &layout.hosts[4]);
        assert!(!spare.contains("server."));
    }

    #[test]
    fn sshd_listens_only_on_sandbox_loopback_addresses() {
        let configs = sshd_configs(&layout());
        assert_eq!(configs.len(), 1);
        let text = &configs[0];
        let listens: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("ListenAddress "))
            .collect();
        assert_eq!(listens.len(), 6);
        assert!(listens.iter().all(|a| a.starts_with("127.77.9.")));
        assert!(text.contains("Port 2222\n"));
        assert!(text.contains("PermitRootLogin no\n"));
    }

    #[test]
    fn known_hosts_names_every_host_with_its_port() {
        let text = known_hosts(&layout(), "ssh-ed25519 AAAAkey root@box\n");
        assert_eq!(text.lines().count(), 6);
        assert!(text.starts_with("[127.77.9.1]:2222 ssh-ed25519 AAAAkey\n"));
    }

    #[test]
    fn inventory_gives_every_verb_for_every_host() {
        let inventory = inventory(&layout(), Some("3.8.0".into()));
        let zk2 = &inventory.hosts[1];
        assert_eq!(zk2.client, "127.77.9.2:2181");
        assert_eq!(zk2.peer, "127.77.9.2:2888:3888");
        assert_eq!(zk2.ssh, "zkpilot-h2@127.77.9.2");
        assert_eq!(zk2.commands["restart"], "/tmp/sbx/hosts/zk2/zkctl restart");
        assert_eq!(zk2.commands.len(), VERBS.len());
    }

    #[test]
    fn with_services_each_server_id_has_ports_of_its_own_and_a_service() {
        let served = layout().with_services(true);
        let zk2 = &served.hosts[1];
        assert_eq!(served.peer(zk2), "127.77.9.2:2882:3882");
        assert!(zoo_cfg(&served, zk2).contains("server.2=127.77.9.2:2882:3882\n"));
        let inventory = inventory(&served, None);
        let services: Vec<(&str, &str, &str)> = inventory
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.serves.as_str(), s.peer.as_str()))
            .collect();
        assert_eq!(
            services,
            [
                ("zk1-svc", "zk1", "127.77.9.101:2881:3881"),
                ("zk2-svc", "zk2", "127.77.9.102:2882:3882"),
                ("zk3-svc", "zk3", "127.77.9.103:2883:3883"),
                ("zk4-svc", "zk4", "127.77.9.104:2884:3884"),
            ]
        );
        let script = firewall_script(&served, "t", &[1001, 1002, 1003, 1004, 1005, 1006]);
        assert!(script.contains("127.77.9.101|127.77.9.102|127.77.9.103|127.77.9.104) return 0"));
        assert!(layout().services().is_empty());
    }
}
