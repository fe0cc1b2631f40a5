//! Pure: a server's `zoo.cfg` as read from its host over SSH, the route of last resort for
//! `inventory discover` (no 4lw `conf`, no AdminServer) and what the SSH probe reads on every
//! host: the server lines (voters and observers), the client address, the data directory and
//! where the AdminServer listens.

use crate::ensemble::ADMIN_DEFAULT_PORT;
use crate::zk::config::{ConfigError, View};

/// The settings of one `zoo.cfg`, with the server lines of the dynamic file it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooCfg {
    pub view: View,
    pub client_port: Option<u16>,
    /// `clientPortAddress`: the address clients reach this server at; every address when unset.
    pub client_port_address: Option<String>,
    /// `dataDir` as written (the snapshots are in its `version-2`).
    pub data_dir: Option<String>,
    /// Where this server's AdminServer listens, from the peer host it is dialled at; `None`
    /// when `admin.enableServer=false`.
    pub admin: Option<AdminAt>,
}

/// The AdminServer's address as `zoo.cfg` sets it. ZooKeeper turns every key it does not know
/// into the system property `zookeeper.KEY` (`QuorumPeerConfig.parseProperties`, its last
/// `else`), which is where `JettyAdminServer` reads `zookeeper.admin.serverAddress`
/// (default `0.0.0.0`) and `zookeeper.admin.serverPort` (default 8080), and where
/// `AdminServerFactory.createAdminServer` reads `zookeeper.admin.enableServer` (default true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAt {
    /// `None`: every address (`0.0.0.0`), so the server's peer host reaches it.
    pub address: Option<String>,
    pub port: u16,
}

impl AdminAt {
    /// `host:port` for a server dialled at `peer_host`.
    pub fn at(&self, peer_host: &str) -> String {
        format!(
            "{}:{}",
            self.address.as_deref().unwrap_or(peer_host),
            self.port
        )
    }
}

/// The last value of `key` (`java.util.Properties`: a later line wins), trimmed.
fn get<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with('!'))
        .filter_map(|line| line.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .next_back()
}

/// The dynamic config file `text` names: `dynamicConfigFile`, whose server lines replace the
/// static file's (`QuorumPeerConfig.parse` reads it after the static file; a static file that
/// names one and holds `server.` lines is refused by `parseProperties`).
pub fn dynamic_file(text: &str) -> Option<&str> {
    get(text, "dynamicConfigFile").filter(|p| !p.is_empty())
}

/// Parses a static `zoo.cfg` and, when it names one, the text of its dynamic file.
pub fn parse(static_text: &str, dynamic_text: Option<&str>) -> Result<ZooCfg, ConfigError> {
    let view = View::parse_lines(dynamic_text.unwrap_or(static_text).lines())?;
    let enabled = get(static_text, "admin.enableServer").is_none_or(|v| v != "false");
    let admin = enabled.then(|| AdminAt {
        address: get(static_text, "admin.serverAddress")
            .filter(|a| !a.is_empty() && *a != "0.0.0.0")
            .map(str::to_string),
        port: get(static_text, "admin.serverPort")
            .and_then(|p| p.parse().ok())
            .unwrap_or(ADMIN_DEFAULT_PORT),
    });
    Ok(ZooCfg {
        view,
        client_port: get(static_text, "clientPort")
            .and_then(|p| p.parse().ok())
            .filter(|p| *p != 0),
        client_port_address: get(static_text, "clientPortAddress")
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        data_dir: get(static_text, "dataDir")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        admin,
    })
}

impl ZooCfg {
    /// The directory holding the snapshots: `FileTxnSnapLog` puts them in `dataDir/version-2`
    /// (`version + VERSION`), which an empty new server's `data-empty` check looks into.
    pub fn snapshot_dir(&self) -> Option<String> {
        self.data_dir
            .as_deref()
            .map(|d| format!("{}/version-2", d.trim_end_matches('/')))
    }

    /// This server's client address when it is dialled at `peer_host`.
    pub fn client_at(&self, peer_host: &str) -> Option<String> {
        let port = self.client_port?;
        let host = match self.client_port_address.as_deref() {
            Some(address) if address != "0.0.0.0" => address,
            _ => peer_host,
        };
        Some(format!("{host}:{port}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::config::PeerRole;

    const STATIC: &str = "tickTime=2000\n# dataDir=/old\ndataDir=/var/lib/zk/\nclientPort=2181\n\
        clientPortAddress=10.0.0.1\nadmin.serverAddress=10.0.0.1\nadmin.serverPort=9090\n\
        dynamicConfigFile=/etc/zk/zoo.cfg.dynamic.100000000\n";
    const DYNAMIC: &str = "server.1=10.0.0.1:2888:3888:participant;2181\n\
        server.2=10.0.0.2:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:observer\n";

    #[test]
    fn a_split_config_takes_its_servers_from_the_dynamic_file() {
        assert_eq!(
            dynamic_file(STATIC),
            Some("/etc/zk/zoo.cfg.dynamic.100000000")
        );
        let cfg = parse(STATIC, Some(DYNAMIC)).unwrap();
        assert_eq!(cfg.view.servers().len(), 3);
        assert_eq!(cfg.view.server(3).map(|s| s.role), Some(PeerRole::Observer));
        assert_eq!(cfg.client_at("10.0.0.1").as_deref(), Some("10.0.0.1:2181"));
        assert_eq!(cfg.snapshot_dir().as_deref(), Some("/var/lib/zk/version-2"));
        assert_eq!(
            cfg.admin.as_ref().map(|a| a.at("h")).as_deref(),
            Some("10.0.0.1:9090")
        );
    }

    #[test]
    fn a_single_file_holds_its_own_servers_and_the_defaults_apply() {
        let text = "dataDir=/d\nclientPort=2181\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n\
            admin.serverAddress=0.0.0.0\n";
        assert_eq!(dynamic_file(text), None);
        let cfg = parse(text, None).unwrap();
        assert_eq!(cfg.view.servers().len(), 2);
        assert_eq!(cfg.client_at("b").as_deref(), Some("b:2181"));
        assert_eq!(cfg.admin.map(|a| a.at("b")).as_deref(), Some("b:8080"));
        let off = parse("admin.enableServer=false\nserver.1=a:2888:3888\n", None).unwrap();
        assert_eq!(off.admin, None);
        assert_eq!(off.client_port, None);
        assert!(parse("server.1=a:2888:3888\nserver.1=b:2888:3888\n", None).is_err());
    }
}
