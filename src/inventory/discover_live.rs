//! Adapter: `zkpilot inventory discover`: reads one server's membership by whichever route it
//! allows — its 4lw `conf`, or, when the 4lw whitelist refuses it (the 3.5.3+ default allows
//! only `srvr`), its AdminServer, which ignores that whitelist — probes every server's
//! AdminServer at once, and hands the answers to the pure `discover`.

use std::time::Duration;

use crate::inventory::discover::{self, AdminProbe, Discovery, Membership, Preset};
use crate::net::wire;
use crate::zk::admin;
use crate::zk::config::View;
use crate::zk::fourlw::{parse_conf, parse_srvr, Answer};

/// How long a server may take to answer each question (a cold Jetty's first answer can take
/// over a second).
const ASK_DEADLINE: Duration = Duration::from_secs(5);

/// What the operator said besides the server to ask.
pub struct Options<'a> {
    pub preset: Preset,
    pub ssh_user: Option<&'a str>,
    pub ssh_port: Option<u16>,
    pub ssh_files: Vec<(&'static str, String)>,
    /// The asked server's AdminServer (`--admin`); by default its client host's port 8080.
    pub admin: Option<&'a str>,
}

/// The inventory text for the ensemble `asked` (`host:port`) belongs to, and notes for the
/// operator on what could not be read.
pub async fn discover(asked: &str, options: Options<'_>) -> Result<(String, Vec<String>), String> {
    let mut notes = Vec::new();
    let membership = match by_four_letters(asked).await {
        Ok(membership) => membership,
        Err(refused) => {
            let at = options
                .admin
                .map(str::to_string)
                .unwrap_or_else(|| default_admin(asked));
            by_admin_server(&at, &mut notes)
                .await
                .map_err(|e| format!("{refused}; and through its AdminServer: {e}"))?
        }
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
    let (ssh_hosts, ssh_port) = match &options.preset {
        Preset::Sandbox { dir } => {
            let path = std::path::Path::new(dir).join("ssh").join("config");
            let config = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "cannot read the sandbox's SSH config {}: {e}: give --dir the directory of \
                     `zkpilot sandbox up`",
                    path.display()
                )
            })?;
            discover::parse_ssh_config(&config)
        }
        _ => (Vec::new(), options.ssh_port),
    };
    let admins = probe_admins(&membership.view).await;
    let discovery = Discovery {
        asked,
        preset: options.preset,
        ssh_user: options.ssh_user,
        version,
        ssh_hosts,
        ssh_port,
        ssh_files: options.ssh_files,
        admins,
    };
    let text = discover::inventory(&membership, &discovery).map_err(|e| e.to_string())?;
    Ok((text, notes))
}

/// The membership from the 4lw `conf`, or why it cannot be read that way.
async fn by_four_letters(asked: &str) -> Result<Membership, String> {
    let text = wire::ask(asked, "conf", ASK_DEADLINE)
        .await
        .map_err(|e| format!("cannot read the ensemble from {asked}: {e}"))?;
    match parse_conf(&text) {
        Ok(Answer::Data(conf)) => Membership::from_conf(&conf).ok_or_else(|| {
            format!(
                "{asked}: its conf lists no server lines (a standalone server, or 3.4, whose \
                 conf has no view): write the inventory by hand from its zoo.cfg"
            )
        }),
        Ok(Answer::NotWhitelisted) => Err(format!(
            "{asked} does not allow the 4lw `conf` (4lw.commands.whitelist)"
        )),
        Ok(Answer::NotServing) => Err(format!(
            "{asked} is not serving (no quorum), so its conf cannot be read"
        )),
        Ok(other) => Err(format!("{asked} gave no conf: {other:?}")),
        Err(e) => Err(format!("{asked}: {e}")),
    }
}

/// `HOST:8080` for `HOST:PORT`: `admin.serverAddress` defaults to every address, so the client
/// host reaches it (`JettyAdminServer.DEFAULT_PORT`, `DEFAULT_ADDRESS`, 3.5 on).
fn default_admin(asked: &str) -> String {
    let host = asked.rsplit_once(':').map_or(asked, |(host, _)| host);
    format!("{host}:{}", crate::ensemble::ADMIN_DEFAULT_PORT)
}

async fn get(at: &str, path: &str) -> Result<(u16, String), String> {
    wire::http_get(at, path, ASK_DEADLINE)
        .await
        .map(|answer| (answer.status, answer.body))
        .map_err(|e| format!("{at}{path}: {e}"))
}

/// What an AdminServer answer about the membership says, or why it says nothing (`what` names
/// the answer).
fn membership<T>(
    at: &str,
    what: &str,
    read: Result<Answer<T>, admin::AdminError>,
) -> Result<T, String> {
    match read {
        Ok(Answer::Data(data)) => Ok(data),
        Ok(Answer::NotServing) => Err(format!(
            "{at} is not serving (no quorum), so its membership cannot be read"
        )),
        Ok(other) => Err(format!("{at}: no {what} ({:?})", other.kind())),
        Err(e) => Err(format!("{at}: {e}")),
    }
}

/// The membership from the AdminServer at `at`: the voters from its `voting_view`, its own
/// settings from `configuration`, and the observers' ids from the leader's `observers` (the
/// leader named by `leader`, reached at its peer host's port 8080). Observers are a note when
/// the leader's AdminServer does not answer there.
async fn by_admin_server(at: &str, notes: &mut Vec<String>) -> Result<Membership, String> {
    let (status, body) = get(at, "/commands/voting_view").await?;
    let voters = membership(at, "voting view", admin::parse_voting_view(status, &body))?;
    let (status, body) = get(at, "/commands/configuration").await?;
    let conf = membership(at, "configuration", admin::parse_conf(status, &body))?;
    let observers = match observers(at, &voters).await {
        Ok(observers) => observers,
        Err(why) => {
            notes.push(format!(
                "observers not read: {why}; an observer of this ensemble is missing from the \
                 inventory"
            ));
            Vec::new()
        }
    };
    Ok(Membership::from_admin(at, voters, &conf, &observers))
}

async fn observers(at: &str, voters: &View) -> Result<Vec<u64>, String> {
    let (status, body) = get(at, "/commands/leader").await?;
    let leader = match admin::parse_leader(status, &body) {
        Ok(Answer::Data(Some(sid))) => sid,
        Ok(_) => return Err(format!("{at} knows no leader")),
        Err(e) => return Err(format!("{at}: {e}")),
    };
    let line = voters
        .server(leader)
        .ok_or_else(|| format!("the leader, server {leader}, is not in {at}'s voting view"))?;
    let leader_at = discover::admin_probe_address(line);
    let (status, body) = get(&leader_at, "/commands/observers").await?;
    match admin::parse_observers(status, &body) {
        Ok(Answer::Data(sids)) => Ok(sids),
        Ok(other) => Err(format!(
            "{leader_at}: no observers answer ({:?})",
            other.kind()
        )),
        Err(e) => Err(format!("{leader_at}: {e}")),
    }
}

/// Asks every server's AdminServer for its own settings at once, each within [`ASK_DEADLINE`]
/// (a firewall that drops the port costs one deadline, not one per server).
async fn probe_admins(view: &View) -> Vec<(u64, AdminProbe)> {
    let mut probes = tokio::task::JoinSet::new();
    for server in view.servers() {
        let (sid, at) = (server.sid, discover::admin_probe_address(server));
        probes.spawn(async move {
            let probe = match wire::http_get(&at, discover::ADMIN_PROBE_PATH, ASK_DEADLINE).await {
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
