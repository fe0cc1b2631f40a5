//! A stock ZooKeeper 3.8 ensemble set up by hand the way production ones are, not the sandbox:
//! three hosts at `127.24.X.N`, each a Unix user with its own home holding its own control
//! script (`bin/zkctl start|stop|restart|status` around Debian's 3.8 jars), `conf/zoo.cfg`
//! (stock settings: no 4lw whitelist line, the AdminServer on the host's address) and data;
//! one loopback-only sshd on its own port with key-only auth; an ssh client config with strict
//! host key checking and its own known_hosts. Needs root (users, sshd).
//!
//! The guard stops exactly what runs for it — each server by the PID its control script
//! recorded, the sshd by the PID it started — and removes the users, homes and files, also
//! when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::stock::{wait_serving, zoo_cfg, CLASS_PATH};

/// The sshd's port on every host address.
pub const SSH_PORT: u16 = 2022;

/// Each host's control script: the server runs as the host's user with its home as working
/// directory (so `conf/zoo.cfg` is relative, as hand-written scripts often have it) and its
/// output in `logs/zookeeper.log`. `java` is started directly, not through Debian's
/// `/usr/share/zookeeper/bin/zkServer.sh`, which opens JMX on every address (research notes).
const ZKCTL: &str = r#"#!/bin/sh
# Control script of a hand-built ZooKeeper host.
HOME_DIR=$(cd "$(dirname "$0")/.." && pwd)
PID="$HOME_DIR/run/zookeeper.pid"
running() { [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; }
case "$1" in
start)
  running && exit 0
  cd "$HOME_DIR" || exit 1
  nohup java -Xmx96m -cp "@CLASS_PATH@" org.apache.zookeeper.server.quorum.QuorumPeerMain \
    conf/zoo.cfg >>logs/zookeeper.log 2>&1 </dev/null &
  echo $! >"$PID" ;;
stop)
  running || exit 0
  kill "$(cat "$PID")"
  i=0
  while running && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  running && kill -9 "$(cat "$PID")"
  rm -f "$PID" ;;
restart) "$0" stop && "$0" start ;;
status)
  if running; then echo "running (pid $(cat "$PID"))"; exit 0; fi
  echo stopped; exit 3 ;;
*) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
"#;

pub struct HandBuilt {
    /// The operator's side: keys, the ssh client config, known_hosts, the sshd's files.
    pub dir: PathBuf,
    /// `127.24.X`: host N is `127.24.X.N`.
    pub prefix: String,
    pub users: Vec<String>,
    sshd: Option<Child>,
}

impl HandBuilt {
    pub fn start() -> HandBuilt {
        let dir = super::scratch("handbuilt");
        let octet = std::process::id() % 250 + 1;
        let prefix = format!("127.24.{octet}");
        let mut built = HandBuilt {
            dir,
            prefix,
            users: (1..=3).map(|n| format!("zkhb{octet}n{n}")).collect(),
            sshd: None,
        };
        for (index, user) in built.users.clone().iter().enumerate() {
            built.add_host(user, index as u8 + 1);
        }
        built.start_sshd();
        for n in 1..=3 {
            let out = built.as_user(n, "bin/zkctl start");
            assert!(out.status.success(), "zk{n} start: {out:?}");
        }
        let clients: Vec<String> = (1..=3).map(|n| built.client(n)).collect();
        wait_serving(&clients, Duration::from_secs(90));
        built
    }

    pub fn address(&self, n: u8) -> String {
        format!("{}.{n}", self.prefix)
    }

    pub fn client(&self, n: u8) -> String {
        format!("{}:2181", self.address(n))
    }

    pub fn home(&self, n: u8) -> PathBuf {
        Path::new("/home").join(&self.users[usize::from(n) - 1])
    }

    /// The ssh client config the operator uses: a `Host zkN` per host, strict host keys.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// Runs `command` in host `n`'s home as its user (not over SSH: the operator at the host).
    pub fn as_user(&self, n: u8, command: &str) -> std::process::Output {
        Command::new("runuser")
            .args(["-u", &self.users[usize::from(n) - 1], "--", "sh", "-c"])
            .arg(format!("cd && {command}"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The server's PID its control script recorded, when it runs.
    pub fn server_pid(&self, n: u8) -> Option<i32> {
        let text = std::fs::read_to_string(self.home(n).join("run/zookeeper.pid")).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        // Only this host's server: a PID file left behind may name someone else's process.
        String::from_utf8_lossy(&cmdline)
            .contains("QuorumPeerMain")
            .then_some(pid)
    }

    fn add_host(&self, user: &str, n: u8) {
        let home = self.home(n);
        // A user left by an aborted run of this process's id goes first.
        let _ = Command::new("userdel").args(["-r", user]).output();
        run(Command::new("useradd").args(["-m", "-s", "/bin/sh", "-U", user]));
        // '*' forbids password logins without locking the account ('!' would refuse keys too).
        run(Command::new("usermod").args(["-p", "*", user]));
        for sub in ["bin", "conf", "data", "logs", "run", ".ssh"] {
            std::fs::create_dir_all(home.join(sub)).unwrap();
        }
        std::fs::write(
            home.join("bin/zkctl"),
            ZKCTL.replace("@CLASS_PATH@", CLASS_PATH),
        )
        .unwrap();
        std::fs::write(
            home.join("conf/zoo.cfg"),
            zoo_cfg(&self.prefix, n, 3, 3, &home.join("data")),
        )
        .unwrap();
        std::fs::write(home.join("data/myid"), format!("{n}\n")).unwrap();
        run(Command::new("chown")
            .args(["-R", &format!("{user}:{user}")])
            .arg(&home));
        run(Command::new("chmod").arg("755").arg(home.join("bin/zkctl")));
        run(Command::new("chmod").arg("700").arg(home.join(".ssh")));
    }

    /// Host and client keys, each user's authorized_keys, the sshd and client configs, and the
    /// known_hosts the client checks against; then the sshd, as this process's child.
    fn start_sshd(&mut self) {
        let dir = self.dir.clone();
        for key in ["host_key", "id_ed25519"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "handbuilt", "-f"])
                .arg(dir.join(key)));
        }
        let client_key = std::fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();
        for n in 1..=3u8 {
            let keys = self.home(n).join(".ssh/authorized_keys");
            std::fs::write(&keys, &client_key).unwrap();
            let user = &self.users[usize::from(n) - 1];
            run(Command::new("chown")
                .arg(format!("{user}:{user}"))
                .arg(&keys));
            run(Command::new("chmod").arg("600").arg(&keys));
        }
        let listen: String = (1..=3)
            .map(|n| format!("ListenAddress {}\n", self.address(n)))
            .collect();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {SSH_PORT}\n{listen}HostKey {}\nPidFile {}\nAllowUsers {}\n\
                 PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nUsePAM no\nX11Forwarding no\nAllowTcpForwarding no\n\
                 PrintMotd no\nMaxStartups 64:30:128\nMaxSessions 32\n",
                dir.join("host_key").display(),
                dir.join("sshd.pid").display(),
                self.users.join(" "),
            ),
        )
        .unwrap();
        let host_key = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
        let known: String = (1..=3)
            .map(|n| format!("[{}]:{SSH_PORT} {}\n", self.address(n), host_key.join(" ")))
            .collect();
        std::fs::write(dir.join("known_hosts"), known).unwrap();
        let hosts: String = (1..=3u8)
            .map(|n| {
                format!(
                    "Host zk{n}\n  HostName {}\n  User {}\n",
                    self.address(n),
                    self.users[usize::from(n) - 1]
                )
            })
            .collect();
        std::fs::write(
            self.ssh_config(),
            format!(
                "{hosts}Host *\n  Port {SSH_PORT}\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
                 UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
                dir.join("id_ed25519").display(),
                dir.join("known_hosts").display(),
            ),
        )
        .unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(dir.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.sshd = Some(sshd);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect((self.address(1).as_str(), SSH_PORT)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the sshd never listened"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?}: {out:?}");
}

impl Drop for HandBuilt {
    fn drop(&mut self) {
        // Exactly what runs for this guard: each server by its recorded PID, the sshd by its own.
        for n in 1..=3u8 {
            if let Some(pid) = self.server_pid(n) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        if let Some(mut sshd) = self.sshd.take() {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        for n in 1..=3u8 {
            // The default lock directory a run leaves on each host (`session::lock`).
            let _ =
                std::fs::remove_dir_all(format!("/var/tmp/zkpilot-lock-{}-2181", self.address(n)));
        }
        for user in &self.users {
            let _ = Command::new("userdel").args(["-r", user]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
