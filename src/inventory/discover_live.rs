//! Adapter: `zkpilot inventory discover`: asks one server for its `conf` (and `srvr`, for the
//! version) over 4lw, probes every server's AdminServer at once, and hands the answers to the
//! pure `discover`.

use std::path::Path;
use std::time::Duration;

use crate::inventory::discover::{self, AdminProbe, Discovery, Preset};
use crate::net::wire;
use crate::zk::config::View;
use crate::zk::fourlw::{parse_conf, parse_srvr, Answer};

/// How long the one server may take to answer each word.
const ASK_DEADLINE: Duration = Duration::from_secs(5);

/// The inventory text for the ensemble `asked` (`host:port`) belongs to.
pub async fn discover(
    asked: &str,
    preset: Preset,
    ssh_user: Option<&str>,
) -> Result<String, String> {
    let text = wire::ask(asked, "conf", ASK_DEADLINE)
        .await
        .map_err(|e| format!("cannot read the ensemble from {asked}: {e}"))?;
    let conf = match parse_conf(&text) {
        Ok(Answer::Data(conf)) => conf,
        Ok(Answer::NotWhitelisted) => {
            return Err(format!(
                "{asked} does not allow `conf` (4lw.commands.whitelist): ask a server that does, \
                 or add conf to its whitelist"
            ))
        }
        Ok(Answer::NotServing) => {
            return Err(format!(
                "{asked} is not serving (no quorum), so its conf cannot be read: ask another server"
            ))
        }
        Ok(other) => return Err(format!("{asked} gave no conf: {other:?}")),
        Err(e) => return Err(format!("{asked}: {e}")),
    };
    // The version is a help, not a need: a server that hides `srvr` still gets an inventory.
    let version = match wire::ask(asked, "srvr", ASK_DEADLINE)
        .await
        .map(|t| parse_srvr(&t))
    {
        Ok(Ok(Answer::Data(srvr))) => srvr
            .version_text
            .split(['-', ','])
            .next()
            .map(str::to_string),
        _ => None,
    };
    let (ssh_hosts, ssh_port) = match &preset {
        Preset::Sandbox { dir } => {
            let path = Path::new(dir).join("ssh").join("config");
            let config = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "cannot read the sandbox's SSH config {}: {e}: give --dir the directory of \
                     `zkpilot sandbox up`",
                    path.display()
                )
            })?;
            discover::parse_ssh_config(&config)
        }
        _ => (Vec::new(), None),
    };
    let admins = match conf.view() {
        Some(view) => probe_admins(view).await,
        None => Vec::new(),
    };
    let discovery = Discovery {
        asked,
        preset,
        ssh_user,
        version,
        ssh_hosts,
        ssh_port,
        admins,
    };
    discover::inventory(&conf, &discovery).map_err(|e| e.to_string())
}

/// Asks every server's AdminServer for `/commands/srvr` at once, each within [`ASK_DEADLINE`]
/// (a cold Jetty's first answer can take over a second; a firewall that drops the port costs
/// one deadline, not one per server).
async fn probe_admins(view: &View) -> Vec<(u64, AdminProbe)> {
    let mut probes = tokio::task::JoinSet::new();
    for server in view.servers() {
        let (sid, at) = (server.sid, discover::admin_probe_address(server));
        probes.spawn(async move {
            let probe = match wire::http_get(&at, "/commands/srvr", ASK_DEADLINE).await {
                Ok(answer) => discover::admin_probe(at, Ok((answer.status, &answer.body))),
                Err(e) => discover::admin_probe(at, Err(e.to_string())),
            };
            (sid, probe)
        });
    }
    let mut found = Vec::new();
    while let Some(probe) = probes.join_next().await {
        // A probe task only panics if the runtime is going down: that server is left unprobed.
        if let Ok(probe) = probe {
            found.push(probe);
        }
    }
    found.sort_by_key(|(sid, _)| *sid);
    found
}
