//! Pure: the SSH probe of `inventory discover --probe`. Once keys work, one read-only shell
//! script runs on each host as its SSH user and prints what it finds about the ZooKeeper
//! server that user runs: its command line (the config file it was started with, the log
//! directory `zkServer.sh` passes), where its standard output goes (a control script's log),
//! its working directory (relative config paths), and which programs of the inventory's verbs
//! exist there, and whether a systemd unit `zookeeper` does. The adapter then reads the config
//! file it found; what the probe could not read stays a guess, marked so in the inventory.

use super::zoo_cfg::ZooCfg;

/// What the probe found on one host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// The config file the running server was started with (`QuorumPeerMain CONFIG`).
    pub config_path: Option<String>,
    /// Its log file: `zookeeper.log.dir`/`zookeeper.log.file` of its command line, else the
    /// regular file its standard output is written to.
    pub log_file: Option<String>,
    /// For each program asked about (by index), whether it exists on the host.
    pub programs: Vec<bool>,
    /// A systemd unit `zookeeper.service` exists.
    pub systemd_unit: bool,
    /// The running server's working directory, which its relative paths start from.
    pub cwd: Option<String>,
}

/// What probing one host over SSH gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostProbe {
    Read {
        facts: HostFacts,
        /// Its config (static and dynamic), or why it could not be read.
        cfg: Box<Result<ZooCfg, String>>,
    },
    /// The probe could not run there: why (no connection, unknown host key, …).
    Failed(String),
}

/// The class every ZooKeeper server runs; the brackets keep the pattern from matching the
/// shell that runs the probe, whose command line holds the pattern itself.
const MAIN_CLASS_PATTERN: &str = "org[.]apache[.]zookeeper[.]server[.]quorum[.]QuorumPeerMain";

/// The probe script for `programs` (the first word of each verb's command, as the verb writes
/// it, so `~` and variables expand as they will when the verb runs). It only reads.
pub fn script(programs: &[String]) -> String {
    let mut text = format!(
        "pid=$(pgrep -u \"$(id -u)\" -f '{MAIN_CLASS_PATTERN}' | head -n 1)\n\
         if [ -n \"$pid\" ]; then\n\
         \x20 tr '\\000' '\\n' < \"/proc/$pid/cmdline\" | sed 's/^/arg /'\n\
         \x20 echo \"stdout $(readlink \"/proc/$pid/fd/1\")\"\n\
         \x20 echo \"cwd $(readlink \"/proc/$pid/cwd\")\"\n\
         fi\n"
    );
    for (index, program) in programs.iter().enumerate() {
        text.push_str(&format!(
            "if command -v -- {program} >/dev/null 2>&1; then echo 'found {index}'; \
             else echo 'missing {index}'; fi\n"
        ));
    }
    text.push_str("if systemctl cat zookeeper.service >/dev/null 2>&1; then echo unit; fi\ntrue\n");
    text
}

/// The program of a verb's command: its first word as written.
pub fn program(command: &str) -> Option<&str> {
    command.split_whitespace().next()
}

/// Reads the script's output for `programs` programs.
pub fn parse(output: &str, programs: usize) -> HostFacts {
    let mut args: Vec<&str> = Vec::new();
    let (mut stdout, mut cwd) = (None, None);
    let mut facts = HostFacts {
        programs: vec![false; programs],
        ..HostFacts::default()
    };
    for line in output.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "arg" => args.push(value),
            "stdout" => stdout = Some(value).filter(|v| v.starts_with('/')),
            "cwd" => cwd = Some(value).filter(|v| v.starts_with('/')),
            "found" => {
                if let Some(slot) = value
                    .parse()
                    .ok()
                    .and_then(|i: usize| facts.programs.get_mut(i))
                {
                    *slot = true;
                }
            }
            "unit" => facts.systemd_unit = true,
            _ => {}
        }
    }
    let absolute = |path: &str| match (path.starts_with('/'), cwd) {
        (false, Some(cwd)) => format!("{}/{path}", cwd.trim_end_matches('/')),
        _ => path.to_string(),
    };
    facts.config_path = args
        .iter()
        .position(|a| a.ends_with("QuorumPeerMain"))
        .and_then(|i| args.get(i + 1))
        .map(|path| absolute(path));
    let property = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("-D{name}=")))
            .filter(|v| !v.is_empty())
    };
    facts.cwd = cwd.map(str::to_string);
    facts.log_file = match (
        property("zookeeper.log.dir"),
        property("zookeeper.log.file"),
    ) {
        (Some(dir), Some(file)) => Some(absolute(&format!("{}/{file}", dir.trim_end_matches('/')))),
        // A pipe, socket or terminal is not a file to tail.
        _ => stdout
            .filter(|s| !s.starts_with("/dev/") && !s.contains(':'))
            .map(str::to_string),
    };
    facts
}

/// A path of the config (`dynamicConfigFile`) made absolute: ZooKeeper opens it as written
/// (`QuorumPeerConfig.parse`, `new FileInputStream(dynamicConfigFileStr)`), so from the
/// running server's working directory; with no server running, from the config's directory.
pub fn resolve(cwd: Option<&str>, config_path: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let dir = cwd.or_else(|| config_path.rsplit_once('/').map(|(dir, _)| dir));
    match dir {
        Some(dir) => format!("{}/{path}", dir.trim_end_matches('/')),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_checks_each_program_and_finds_the_server_of_its_user() {
        let programs = vec!["~/bin/zkctl".to_string(), "sudo".to_string()];
        let text = script(&programs);
        assert!(text.contains("command -v -- ~/bin/zkctl"), "{text}");
        assert!(text.contains("echo 'missing 1'"), "{text}");
        // The pattern does not match its own text, so the probing shell is never found.
        assert!(!MAIN_CLASS_PATTERN.contains("org.apache"));
    }

    #[test]
    fn a_control_script_s_server_gives_its_config_and_log() {
        let output = "arg java\narg -Xmx96m\narg -cp\narg /usr/share/java/zookeeper.jar\n\
            arg org.apache.zookeeper.server.quorum.QuorumPeerMain\narg conf/zoo.cfg\n\
            stdout /home/zk1/logs/zookeeper.log\ncwd /home/zk1\nfound 0\nmissing 1\n";
        let facts = parse(output, 2);
        assert_eq!(facts.config_path.as_deref(), Some("/home/zk1/conf/zoo.cfg"));
        assert_eq!(
            facts.log_file.as_deref(),
            Some("/home/zk1/logs/zookeeper.log")
        );
        assert_eq!(facts.programs, vec![true, false]);
        assert!(!facts.systemd_unit);
        assert_eq!(
            resolve(
                facts.cwd.as_deref(),
                "/home/zk1/conf/zoo.cfg",
                "conf/zoo.cfg.dynamic"
            ),
            "/home/zk1/conf/zoo.cfg.dynamic"
        );
        assert_eq!(resolve(None, "/etc/zk/zoo.cfg", "dyn"), "/etc/zk/dyn");
        assert_eq!(resolve(None, "/etc/zk/zoo.cfg", "/d/dyn"), "/d/dyn");
    }

    #[test]
    fn zk_server_sh_names_its_log_and_nothing_running_gives_nothing() {
        let output = "arg -Dzookeeper.log.dir=/opt/zk/bin/../logs\n\
            arg -Dzookeeper.log.file=zookeeper-zk-server-h1.log\n\
            arg org.apache.zookeeper.server.quorum.QuorumPeerMain\narg /opt/zk/conf/zoo.cfg\n\
            stdout pipe:[1234]\ncwd /\nunit\nfound 7\n";
        let facts = parse(output, 1);
        assert_eq!(
            facts.log_file.as_deref(),
            Some("/opt/zk/bin/../logs/zookeeper-zk-server-h1.log")
        );
        assert!(facts.systemd_unit);
        assert_eq!(facts.programs, vec![false]);
        assert_eq!(parse("", 0), HostFacts::default());
        let redirected = parse("arg QuorumPeerMain\nstdout /dev/null\n", 0);
        assert_eq!(facts.cwd.as_deref(), Some("/"));
        assert_eq!(redirected.log_file, None);
        assert_eq!(redirected.config_path, None);
    }
}
