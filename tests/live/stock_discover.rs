//! `inventory discover` on a hand-built stock 3.8 ensemble (`common::stock`: no 4lw whitelist
//! line, so the 4lw `conf` is refused; the AdminServer on each host's own address): it writes
//! an inventory through the AdminServer that `plan` accepts as it is, with the per-host values
//! given as templates on the command line and every host's own data directory.

use std::time::Duration;

use crate::common::stock::StockEnsemble;
use crate::common::{ask, assert_plan_accepts, path_str, run_bin, text};

#[test]
fn discover_reads_a_stock_ensemble_through_its_admin_server() {
    let ensemble = StockEnsemble::start(3, 0);
    assert!(
        ask(&ensemble.client(1), "conf")
            .unwrap_or_default()
            .contains("not in the whitelist"),
        "a stock 3.8 server refuses the 4lw conf"
    );
    let verbs = ensemble.dir.join("verbs.yaml");
    std::fs::write(
        &verbs,
        "restart: /home/zk{sid}/zkctl restart\nstatus: /home/zk{sid}/zkctl status\n\
         config: /home/zk{sid}/zkctl config\nlog: /home/zk{sid}/zkctl log {name}\n",
    )
    .unwrap();
    let written = ensemble.dir.join("inventory.yaml");
    let known_hosts = ensemble.dir.join("known_hosts");
    let discovered = run_bin(
        &[
            "inventory",
            "discover",
            &ensemble.client(1),
            "--preset",
            "custom",
            "--verbs",
            path_str(&verbs),
            "--ssh-user",
            "zk{sid}",
            "--ssh-port",
            "2022",
            "--ssh-known-hosts",
            path_str(&known_hosts),
            "-o",
            path_str(&written),
        ],
        Duration::from_secs(60),
    );
    assert!(discovered.status.success(), "{}", text(&discovered.stderr));
    let inventory = std::fs::read_to_string(&written).unwrap();
    assert!(
        inventory.contains(&format!(
            "from the AdminServer at {}.1:8080",
            ensemble.prefix
        )),
        "{inventory}"
    );
    for n in 1..=3u8 {
        let host = &inventory[inventory.find(&format!("- name: 'zk{n}'")).unwrap()..];
        for expected in [
            format!("admin: '{}.{n}:8080'", ensemble.prefix),
            format!("ssh: 'zk{n}@{}.{n}'", ensemble.prefix),
            format!("client: '{}.{n}:2181'", ensemble.prefix),
            format!("restart: '/home/zk{n}/zkctl restart'"),
            format!("log: '/home/zk{n}/zkctl log zk{n}'"),
            format!("ls -A {}/version-2", ensemble.data_dir(n).display()),
        ] {
            assert!(
                host.contains(&expected),
                "zk{n}: {expected} in\n{inventory}"
            );
        }
    }
    assert_plan_accepts(&written);
}
