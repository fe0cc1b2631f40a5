//! Every four-letter word the poller reads, asked of real servers (a sandbox with an observer),
//! goes through the parsers: fresh captures, not only the stored fixtures.

use std::time::Duration;

use crate::common::{ask, Sandbox};
use zkpilot::zk::fourlw::{self, Answer, Mode};

#[test]
fn real_answers_of_every_role_parse() {
    let sandbox = Sandbox::up(3, 1, 0);
    let hosts = ["zk1", "zk2", "zk3", "zk4"];
    // `sandbox up` returns once a leader is elected; the observer may still be syncing.
    sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |modes| {
        modes
            .iter()
            .all(|m| ["leader", "follower", "observer"].contains(&m.as_str()))
    });
    let mut modes = Vec::new();
    for host in hosts {
        let client = sandbox.client(host);
        let srvr = ask(&client, "srvr").unwrap();
        let Ok(Answer::Data(srvr)) = fourlw::parse_srvr(&srvr) else {
            panic!("{host} srvr: {srvr}")
        };
        assert_eq!(
            srvr.version.map(|v| v.to_string()).as_deref(),
            Some("3.8.0")
        );
        modes.push(srvr.mode);

        let mntr = ask(&client, "mntr").unwrap();
        let Ok(Answer::Data(mntr)) = fourlw::parse_mntr(&mntr) else {
            panic!("{host} mntr: {mntr}")
        };
        assert_eq!(mntr.server_state(), srvr.mode);
        if srvr.mode == Mode::Leader {
            assert_eq!(mntr.synced_voting_followers(), Some(2), "{host}");
        }

        let conf = ask(&client, "conf").unwrap();
        let Ok(Answer::Data(conf)) = fourlw::parse_conf(&conf) else {
            panic!("{host} conf: {conf}")
        };
        let view = conf.view().expect("a quorum member shows its view");
        assert_eq!(view.participant_count(), 3);
        assert_eq!(view.servers().len(), 4);
        assert_eq!(conf.server_id(), host[2..].parse::<u64>().unwrap());
    }
    modes.sort_by_key(|m| m.as_str());
    assert_eq!(
        modes,
        [Mode::Follower, Mode::Follower, Mode::Leader, Mode::Observer]
    );
}
