//! Pure: where everything of a sandbox lives — each host's loopback address, ports, Unix
//! user and directory, the sshds that serve them, the paths of the root-owned firewall script
//! and sudoers rule. `render.rs` writes the files' text from it.

use std::path::{Path, PathBuf};

use crate::inventory::{HostRole, Service};

pub const CLIENT_PORT: u16 = 2181;
pub const QUORUM_PORT: u16 = 2888;
pub const ELECTION_PORT: u16 = 3888;
/// Behind services every server id has a port pair of its own, from this base, per slot and
/// host: 80 ports a slot (40 hosts at most), slots 1–254, all below Linux's ephemeral range
/// (32768 and up), where an outgoing connection could hold the port first.
const SERVICE_PORT_BASE: u16 = 10_000;
const SERVICE_PORTS_PER_SLOT: u16 = 80;
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
pub const JAVA_OPTS: &str = "-Xmx96m -Xms16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
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
    /// Three voters, an observer and two spares in slot 9 under `/tmp/sbx`: the tests' sandbox.
    #[cfg(test)]
    pub fn example() -> Layout {
        Layout::new(PathBuf::from("/tmp/sbx"), 9, 3, 1, 2)
    }

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
    /// not both take 2888 and 3888. Nor may two sandboxes share them: a server listening on
    /// every address holds its port on all of them, so another slot's server on the same port
    /// fails to bind and exits (code 14, seen when two rehearsals behind services ran at once).
    /// The ports travel with the server id: the service and any replacement taking the id over
    /// use the ports of the host it was made for.
    pub fn peer_ports(&self, host: &HostPlan) -> (u16, u16) {
        if self.services {
            let quorum = SERVICE_PORT_BASE
                + u16::from(self.slot.saturating_sub(1)) * SERVICE_PORTS_PER_SLOT
                + u16::from(host.index.saturating_sub(1)) * 2;
            (quorum, quorum + 1)
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

    /// The console lock the inventory names for the host: beside the host's own files, so a
    /// sandbox's locks go with its directory.
    pub fn lock_file(&self, host: &HostPlan) -> PathBuf {
        self.host_dir(host).join("zkpilot.lock")
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

/// Whether `whitelist` is a list `4lw.commands.whitelist` takes: `*`, or comma-separated
/// four-letter lower-case words (`FourLetterCommands.resetWhiteList` splits on commas).
pub fn valid_whitelist(whitelist: &str) -> bool {
    whitelist == "*"
        || whitelist.split(',').all(|word| {
            let word = word.trim();
            word.len() == 4 && word.chars().all(|c| c.is_ascii_lowercase())
        })
}

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

/// Root-owned, outside the sandbox directory (which host users can reach), so that what sudo
/// runs as root cannot be changed by them.
pub fn firewall_script_path(slot: u8) -> PathBuf {
    Path::new("/run/zkpilot-sandbox").join(format!("firewall-{slot}"))
}

pub fn sudoers_path(slot: u8) -> PathBuf {
    Path::new("/etc/sudoers.d").join(format!("zkpilot-sandbox-{slot}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_voters_then_observers_then_spares() {
        let layout = Layout::example();
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
    fn with_services_each_server_id_has_ports_of_its_own_and_a_service() {
        let served = Layout::example().with_services(true);
        assert_eq!(served.peer(&served.hosts[1]), "127.77.9.2:10642:10643");
        let services: Vec<(String, String, String)> = served
            .services()
            .into_iter()
            .map(|s| (s.name, s.serves, s.peer))
            .collect();
        assert_eq!(
            services[3],
            (
                "zk4-svc".into(),
                "zk4".into(),
                "127.77.9.104:10646:10647".into()
            )
        );
        assert_eq!(services.len(), 4);
        assert!(Layout::example().services().is_empty());
    }

    /// Two sandboxes behind services at once: a pod listening on every address in one must
    /// find no port of the other's taken, whatever the slots and host counts.
    #[test]
    fn sandboxes_behind_services_never_share_a_peer_port() {
        let ports = |slot: u8| -> Vec<u16> {
            let mut served =
                Layout::new(PathBuf::from("/tmp/x"), slot, 30, 5, 5).with_services(true);
            served.hosts.truncate(40);
            let hosts = served.hosts.clone();
            hosts
                .iter()
                .flat_map(|h| {
                    let (q, e) = served.peer_ports(h);
                    [q, e]
                })
                .collect()
        };
        let mut seen = std::collections::BTreeSet::new();
        for slot in [1, 2, 3, 127, 253, 254] {
            for port in ports(slot) {
                assert!(seen.insert(port), "slot {slot} reuses port {port}");
                assert!(port < 32_768, "{port} is in the ephemeral range");
                assert!(![2181, 2222, 2888, 3888, 8080].contains(&port));
            }
        }
    }

    #[test]
    fn a_whitelist_is_a_star_or_four_letter_words() {
        assert!(valid_whitelist("srvr,mntr") && valid_whitelist("*"));
        assert!(!valid_whitelist("srvr\nadmin.enableServer=true") && !valid_whitelist(""));
    }
}
