//! A hand-built stock ZooKeeper 3.8 ensemble, not the sandbox: Debian's jars, each server with
//! its own loopback address and a `zoo.cfg` as an operator writes it — no
//! `4lw.commands.whitelist` line (so 4lw allows `srvr` alone, the 3.5.3+ default) and the
//! AdminServer on the host's own address (`admin.serverAddress`). Each server is started with
//! the plain `java` command (the research notes: `zkServer.sh` opens JMX on every address) and
//! stopped by the PID this guard started, also when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLASS_PATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:\
    /usr/share/java/slf4j-simple.jar:/usr/share/java/servlet-api.jar";

pub struct StockEnsemble {
    pub dir: PathBuf,
    /// `127.23.X`: this ensemble's loopback prefix; host N is `127.23.X.N`.
    pub prefix: String,
    servers: Vec<Child>,
}

impl StockEnsemble {
    /// `voters` participants, then `observers` observers, sids from 1.
    pub fn start(voters: u8, observers: u8) -> StockEnsemble {
        let dir = std::env::temp_dir().join(format!("zkpilot-stock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let prefix = format!("127.23.{}", std::process::id() % 250 + 1);
        let total = voters + observers;
        let mut servers = Vec::new();
        for n in 1..=total {
            let host = dir.join(format!("h{n}"));
            std::fs::create_dir_all(host.join("data")).unwrap();
            std::fs::write(host.join("data/myid"), format!("{n}\n")).unwrap();
            std::fs::write(
                host.join("zoo.cfg"),
                zoo_cfg(&prefix, n, voters, total, &host.join("data")),
            )
            .unwrap();
            let log = std::fs::File::create(host.join("zk.log")).unwrap();
            let child = Command::new("java")
                .args(["-Xmx96m", "-cp", CLASS_PATH])
                .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
                .arg(host.join("zoo.cfg"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            servers.push(child);
        }
        let ensemble = StockEnsemble {
            dir,
            prefix,
            servers,
        };
        ensemble.wait_serving(Duration::from_secs(60));
        ensemble
    }

    pub fn client(&self, n: u8) -> String {
        format!("{}.{n}:2181", self.prefix)
    }

    pub fn data_dir(&self, n: u8) -> PathBuf {
        self.dir.join(format!("h{n}")).join("data")
    }

    fn wait_serving(&self, limit: Duration) {
        let clients: Vec<String> = (1..=self.servers.len() as u8)
            .map(|n| self.client(n))
            .collect();
        wait_serving(&clients, limit);
    }
}

/// Server `n`'s `zoo.cfg` of `total` servers at `PREFIX.N` (the first `voters` voting), as an
/// operator writes it: no 4lw whitelist line, the AdminServer on the host's own address.
pub fn zoo_cfg(prefix: &str, n: u8, voters: u8, total: u8, data_dir: &Path) -> String {
    let lines: String = (1..=total)
        .map(|m| {
            let role = if m > voters { ":observer" } else { "" };
            format!("server.{m}={prefix}.{m}:2888:3888{role}\n")
        })
        .collect();
    let peer_type = if n > voters {
        "peerType=observer\n"
    } else {
        ""
    };
    format!(
        "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort=2181\n\
         clientPortAddress={prefix}.{n}\nadmin.serverAddress={prefix}.{n}\n{peer_type}{lines}",
        data_dir.display()
    )
}

/// Polls every server's `srvr` until all of them serve, or panics at the deadline.
pub fn wait_serving(clients: &[String], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let modes: Vec<String> = clients.iter().map(|c| super::mode(c)).collect();
        if modes
            .iter()
            .all(|m| ["leader", "follower", "observer"].contains(&m.as_str()))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stock ensemble never served: {modes:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for StockEnsemble {
    fn drop(&mut self) {
        // Exactly the processes this guard started, by their PIDs.
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
