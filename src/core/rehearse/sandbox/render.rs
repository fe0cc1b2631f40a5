//! Pure text of every file a sandbox writes: each host's `zoo.cfg` and control script, the
//! private sshd's config, the client-side ssh config and known_hosts, the inventory, the
//! sudoers rule and the firewall script. The scripts are real shell files under `scripts/`
//! (checked by shellcheck in `./scripts/test`) whose `@KEY@` values are filled in quoted.

use std::collections::BTreeMap;
use std::path::Path;

use super::layout::{
    firewall_script_path, HostPlan, Layout, ADMIN_PORT, CLIENT_PORT, DYNAMIC_CFG, HOSTS_PER_SSHD,
    JAVA_OPTS, SSH_PORT, ZOOKEEPER_CLASSPATH,
};
use crate::inventory::{Host, HostRole, Inventory, SshDefaults, VerbCommand};
use crate::text::shell;

const CONTROL_SCRIPT: &str = include_str!("scripts/zkctl.sh");
const FIREWALL_SCRIPT: &str = include_str!("scripts/firewall.sh");

/// Fills a script's `@KEY@` placeholders. Each stands alone as the value of an assignment
/// (`NAME=@NAME@`, kept so by `every_placeholder_is_a_whole_assignment_value`) and gets its
/// value quoted as one shell word, so no value, whatever it holds, is read as code.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (key, value)| {
            text.replace(&format!("@{key}@"), &shell::quote(value))
        })
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
    fill(
        CONTROL_SCRIPT,
        &[
            ("NAME", &host.name),
            ("HOST_DIR", &layout.host_dir(host).display().to_string()),
            ("JAVA_OPTS", JAVA_OPTS),
            ("CLASSPATH", ZOOKEEPER_CLASSPATH),
            (
                "FIREWALL",
                &firewall_script_path(layout.slot).display().to_string(),
            ),
            ("CLIENT", &format!("{}:{CLIENT_PORT}", layout.address(host))),
        ],
    )
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
                lock: Some(layout.lock_file(h).display().to_string()),
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

/// The firewall script sudo runs for a host user: it learns which host is calling from
/// `SUDO_UID` (set by sudo, not by the caller) and only ever touches rules between that host and
/// other hosts of this sandbox. On loopback every connection leaves from 127.0.0.1, so a rule
/// matches the connecting host's user (`meta skuid`) and the address it dials.
pub fn firewall_script(layout: &Layout, table: &str, uids: &[u32]) -> String {
    let hosts: Vec<String> = layout
        .hosts
        .iter()
        .zip(uids)
        .map(|(host, uid)| format!("{uid}={}", layout.address(host)))
        .collect();
    let services: Vec<String> = layout
        .services()
        .iter()
        .filter_map(|s| s.peer.split(':').next().map(str::to_string))
        .collect();
    fill(
        FIREWALL_SCRIPT,
        &[
            ("SLOT", &layout.slot.to_string()),
            ("TABLE", table),
            ("HOSTS", &hosts.join(" ")),
            ("SERVICES", &services.join(" ")),
        ],
    )
}

fn verb_commands(zkctl: &Path) -> BTreeMap<String, VerbCommand> {
    let script = crate::text::shell::quote(&zkctl.display().to_string());
    VERBS
        .iter()
        .map(|verb| (verb.to_string(), format!("{script} {verb}").into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn a_stock_server_is_rehearsed_with_its_whitelist_and_admin_server() {
        let layout = Layout::example().with_whitelist("srvr").with_admin(true);
        let cfg = zoo_cfg(&layout, &layout.hosts[1]);
        assert!(cfg.contains("4lw.commands.whitelist=srvr\n"), "{cfg}");
        assert!(cfg.contains("admin.enableServer=true\n"), "{cfg}");
        assert!(cfg.contains("admin.serverAddress=127.77.9.2\n"), "{cfg}");
        assert!(cfg.contains("admin.serverPort=8080\n"), "{cfg}");
        let plain = zoo_cfg(&Layout::example(), &layout.hosts[1]);
        assert!(plain.contains("4lw.commands.whitelist=*\n"), "{plain}");
        assert!(plain.contains("admin.enableServer=false\n"), "{plain}");
        assert!(inventory(&layout, None).hosts[1].admin.as_deref() == Some("127.77.9.2:8080"));
        assert!(inventory(&Layout::example(), None).hosts[1].admin.is_none());
    }

    #[test]
    fn zoo_cfg_lists_started_hosts_only() {
        let layout = Layout::example();
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
        let configs = sshd_configs(&Layout::example());
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
        let text = known_hosts(&Layout::example(), "ssh-ed25519 AAAAkey root@box\n");
        assert_eq!(text.lines().count(), 6);
        assert!(text.starts_with("[127.77.9.1]:2222 ssh-ed25519 AAAAkey\n"));
    }

    #[test]
    fn inventory_gives_every_verb_for_every_host() {
        let inventory = inventory(&Layout::example(), Some("3.8.0".into()));
        let zk2 = &inventory.hosts[1];
        assert_eq!(zk2.client, "127.77.9.2:2181");
        assert_eq!(zk2.peer, "127.77.9.2:2888:3888");
        assert_eq!(zk2.ssh, "zkpilot-h2@127.77.9.2");
        assert_eq!(zk2.commands["restart"], "/tmp/sbx/hosts/zk2/zkctl restart");
        assert_eq!(zk2.commands.len(), VERBS.len());
    }

    /// Every `@KEY@` of a template, with its line.
    fn placeholders(template: &str) -> Vec<(&str, &str)> {
        let mut found = Vec::new();
        for line in template.lines() {
            let mut rest = line;
            while let Some(start) = rest.find('@') {
                let after = &rest[start + 1..];
                let Some(end) = after.find('@') else { break };
                let key = &after[..end];
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    found.push((key, line));
                    rest = &after[end + 1..];
                } else {
                    rest = after;
                }
            }
        }
        found
    }

    #[test]
    fn every_placeholder_is_a_whole_assignment_value() {
        for template in [CONTROL_SCRIPT, FIREWALL_SCRIPT] {
            let found = placeholders(template);
            assert!(found.len() >= 4);
            for (key, line) in found {
                assert!(
                    line.split_once('=').is_some_and(|(name, value)| {
                        name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                            && value == format!("@{key}@")
                    }),
                    "`{line}`: a placeholder must be the whole value of an assignment"
                );
            }
        }
    }

    #[test]
    fn every_placeholder_is_filled_and_a_hostile_value_stays_one_word() {
        let hostile = "/tmp/it's $(reboot) `id`";
        let layout = Layout::new(PathBuf::from(hostile), 9, 3, 1, 2).with_services(true);
        let script = control_script(&layout, &layout.hosts[0]);
        assert!(placeholders(&script).is_empty(), "{script}");
        let dir = format!("{hostile}/hosts/zk1");
        assert!(script.contains(&format!("\nHOST_DIR={}\n", shell::quote(&dir))));
        assert!(script.contains("\nNAME=zk1\n"));
        let firewall = firewall_script(
            &layout,
            "zkpilot_sandbox_9",
            &[1001, 1002, 1003, 1004, 1005, 1006],
        );
        assert!(placeholders(&firewall).is_empty(), "{firewall}");
        assert!(firewall.contains("\nSLOT=9\nTABLE=zkpilot_sandbox_9\n"));
        assert!(firewall.contains("\nHOSTS='1001=127.77.9.1 1002=127.77.9.2 1003=127.77.9.3 1004=127.77.9.4 1005=127.77.9.5 1006=127.77.9.6'\n"));
        assert!(
            firewall.contains("\nSERVICES='127.77.9.101 127.77.9.102 127.77.9.103 127.77.9.104'\n")
        );
        let plain = firewall_script(&Layout::example(), "t", &[1, 2, 3, 4, 5, 6]);
        assert!(plain.contains("\nSERVICES=''\n"), "{plain}");
    }
}
