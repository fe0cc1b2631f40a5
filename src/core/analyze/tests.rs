use super::*;
use serde_json::Value;

use crate::testing::assert_contains;

macro_rules! fixture {
    ($kind:literal, $name:literal) => {
        (
            concat!("tests/fixtures/states/", $kind, "/", $name),
            include_str!(concat!(
                "../../../tests/fixtures/states/",
                $kind,
                "/",
                $name
            )),
        )
    };
}

fn report((path, text): (&str, &str)) -> Report {
    analyze(text, Path::new(path)).unwrap()
}

fn json((path, text): (&str, &str)) -> Value {
    serde_json::from_str(&report((path, text)).json()).unwrap()
}

/// The text at an error's position, to check it points at the offending token.
fn at(text: &str, err: &YamlError) -> String {
    let line = text.lines().nth(err.line - 1).unwrap_or("");
    line.chars().skip(err.column - 1).collect()
}

#[test]
fn slide5_r_restarted_reports_the_two_leaders() {
    let v = json(fixture!("valid", "slide5_r_restarted.yaml"));
    assert_eq!(v["split_brain_possible"], true);
    assert_eq!(v["quorum_possible"], true);
    assert_eq!(
        v["witness"],
        serde_json::json!([
            {"leader": "Q", "members": ["P", "Q"]},
            {"leader": "T", "members": ["R", "S", "T"]}
        ])
    );
    assert_eq!(v["unreachable"], serde_json::json!([]));
    assert_eq!(v["zookeeper"], "3.4.6");
    assert_eq!(v["dial_back"], "own-view");
    // Stopping P or Q leaves R, S, T; stopping R, S or T leaves no 3/5 without P or Q.
    assert_eq!(
        v["stop_one_to_prevent_split_brain"],
        serde_json::json!(["P", "Q", "R", "S", "T"])
    );
}

#[test]
fn safe_states_have_no_witness() {
    for fixture in [
        fixture!("valid", "slide5_before_r_restart.yaml"),
        fixture!("valid", "slide7_t_kept_down.yaml"),
        fixture!("valid", "issue7_partitioned.yaml"),
        fixture!("valid", "mitosis_done.yaml"),
    ] {
        let v = json(fixture);
        assert_eq!(v["split_brain_possible"], false, "{}", fixture.0);
        assert_eq!(v["quorum_possible"], true, "{}", fixture.0);
        assert_eq!(v["witness"], Value::Null, "{}", fixture.0);
    }
}

#[test]
fn separate_ensembles_are_named_in_json_and_words() {
    let v = json(fixture!("valid", "mitosis_done.yaml"));
    assert_eq!(
        v["separate_ensembles"],
        serde_json::json!([["src1", "src2", "src3"], ["dst4", "dst5", "dst6"]])
    );
    let v = json(fixture!("valid", "slide7_t_kept_down.yaml"));
    assert_eq!(v["separate_ensembles"], serde_json::json!([]));
}

/// zk3's service is missing from the state: no view reaches it, so only the pod and zk2 can
/// form the quorum, and zk3 can lead nobody.
#[test]
fn service_addresses_reach_the_nodes_behind_them() {
    let v = json(fixture!("valid", "k8s_pod_behind_service.yaml"));
    assert_eq!(v["quorum_possible"], true);
    assert_eq!(v["split_brain_possible"], false);
    assert_eq!(v["possible_leaders"], serde_json::json!(["pod1", "zk2"]));

    let bad = "nodes:\n  - {name: a, sid: 1, addr: 'a:2888:3888', services: ['svc'], view: [server.1=svc:2888:3888]}\n";
    let err = analyze(bad, Path::new("s.yaml")).unwrap_err();
    assert!(at(bad, &err).starts_with("'svc'"), "{err}");
}

#[test]
fn partitions_show_as_unreachable_pairs() {
    let v = json(fixture!("valid", "issue7_partitioned.yaml"));
    assert_eq!(
        v["unreachable"],
        serde_json::json!([
            ["P", "S"],
            ["P", "T"],
            ["Q", "S"],
            ["Q", "T"],
            ["R", "S"],
            ["R", "T"]
        ])
    );
    assert_eq!(v["cuts"][0]["reason"], "partitioned");
    assert_eq!(v["possible_leaders"], serde_json::json!(["P", "Q", "R"]));
}

#[test]
fn the_stale_address_rule_follows_the_version() {
    let old = json(fixture!("valid", "slide16_b_before_higher_sids_3.4.6.yaml"));
    assert_eq!(
        old["unreachable"],
        serde_json::json!([["B", "C"], ["B", "D"], ["B", "E"]])
    );
    assert_eq!(old["cuts"][0]["reason"], "no-election-link");
    assert_eq!(
        old["cuts"][0]["detail"],
        "C (the larger sid) dials B at the address in its own view, and its view lists \
         server.2 at q:2888:3888, which reaches Q (down), not B; before 3.5 its dial-back \
         uses that view too"
    );
    let new = json(fixture!("valid", "slide16_b_before_higher_sids_3.8.0.yaml"));
    assert_eq!(new["unreachable"], serde_json::json!([]));
    assert_eq!(new["dial_back"], "advertised-address");
}

#[test]
fn a_two_two_one_cut_and_lonely_voters_form_nothing() {
    for fixture in [
        fixture!("valid", "mitosis_two_two_one.yaml"),
        fixture!("valid", "observers.yaml"),
    ] {
        let v = json(fixture);
        assert_eq!(v["quorum_possible"], false, "{}", fixture.0);
        assert_eq!(v["split_brain_possible"], false, "{}", fixture.0);
        assert_eq!(
            v["possible_leaders"],
            serde_json::json!([]),
            "{}",
            fixture.0
        );
    }
    let v = json(fixture!("valid", "observers.yaml"));
    assert_eq!(v["nodes"][3]["voter"], false);
}

#[test]
fn defaults_up_to_true_and_the_version_to_the_newest() {
    let state = load(
        "nodes: [{name: P, sid: 1, addr: 'p:1:2', view: ['server.1=p:1:2']}]",
        Path::new("s.yaml"),
    )
    .unwrap();
    assert!(state.ensemble.nodes[0].up);
    assert!(!state.version_from_file);
    assert_eq!(
        state.ensemble.version,
        crate::zk::version::ZkVersion::NEWEST
    );
    assert_eq!(state.view_names, [None]);
}

#[test]
fn every_input_error_points_at_the_offending_value() {
    let cases = [
        (
            fixture!("invalid", "unknown_key.yaml"),
            "colour: red",
            "unknown field `colour`",
        ),
        (
            fixture!("invalid", "unknown_view.yaml"),
            "new",
            "unknown view `new`; defined views: old",
        ),
        (
            fixture!("invalid", "bad_server_line.yaml"),
            "server.2=q:2888",
            "bad server line `server.2=q:2888`",
        ),
        (
            fixture!("invalid", "bad_addr.yaml"),
            "\"p:2888\"",
            "bad peer address `p:2888`",
        ),
        (
            fixture!("invalid", "duplicate_name.yaml"),
            "P, sid: 2",
            "node name `P` is used twice",
        ),
        (
            fixture!("invalid", "unknown_partition_node.yaml"),
            "R]]",
            "partition names `R`",
        ),
        (
            fixture!("invalid", "bad_version.yaml"),
            "\"three.four\"",
            "bad ZooKeeper version `three.four`",
        ),
        (
            fixture!("invalid", "duplicate_view.yaml"),
            "old: [server.1=q",
            "view `old` is defined twice",
        ),
        (
            fixture!("invalid", "too_many_nodes.yaml"),
            "{name: N513",
            "513 nodes",
        ),
    ];
    for ((path, text), token, message) in cases {
        let err = analyze(text, Path::new(path)).unwrap_err();
        assert!(
            at(text, &err).starts_with(token),
            "{err} at {:?}",
            at(text, &err)
        );
        assert!(err.message.contains(message), "{err}");
        assert!(err
            .to_string()
            .starts_with(&format!("{path}:{}:{}: ", err.line, err.column)));
    }
}

#[test]
fn syntax_errors_name_their_line() {
    let (path, text) = fixture!("invalid", "syntax_error.yaml");
    let err = analyze(text, Path::new(path)).unwrap_err();
    assert_eq!(err.line, 2, "{err}");
}

#[test]
fn duplicate_sids_in_a_view_are_refused_at_the_second_line() {
    let text = "nodes:\n  - {name: P, sid: 1, addr: 'p:1:2', view: ['server.1=p:1:2', 'server.1=q:1:2']}\n";
    let err = analyze(text, Path::new("s")).unwrap_err();
    assert!(at(text, &err).starts_with("'server.1=q"), "{err}");
    assert!(err.message.contains("server.1 is listed twice"), "{err}");
}

/// Host names are resolved without regard to case. Measured on 3.8.0 (two servers on
/// 127.0.0.1, this very state): 1 followed, 2 led. Compared as written, the analyzer said no
/// quorum can form and the pair cannot talk.
#[test]
fn hosts_that_differ_only_in_case_are_one_host() {
    let text = "zookeeper: \"3.8.0\"\nviews:\n  a: [server.1=localhost:2591:2691, server.2=LOCALHOST:2592:2692]\n  b: [server.1=LocalHost:2591:2691, server.2=localhost:2592:2692]\nnodes:\n  - {name: a, sid: 1, addr: \"localhost:2591:2691\", view: a}\n  - {name: b, sid: 2, addr: \"localhost:2592:2692\", view: b}\n";
    let v: Value = serde_json::from_str(&analyze(text, Path::new("s")).unwrap().json()).unwrap();
    assert_eq!(v["quorum_possible"], true, "{v}");
    assert_eq!(v["unreachable"], serde_json::json!([]), "{v}");
}

/// ZooKeeper reads an id as a Java long (measured on 3.8.0: 2^63 exits at start): a larger
/// one is refused where it stands, as a node's sid and in a server line. Both passed.
#[test]
fn an_id_past_a_java_long_is_refused_where_it_stands() {
    let node = "nodes:\n  - {name: P, sid: 9223372036854775808, addr: 'p:1:2', view: ['server.1=p:1:2']}\n";
    let err = analyze(node, Path::new("s")).unwrap_err();
    assert!(at(node, &err).starts_with("9223372036854775808"), "{err}");
    assert!(err.message.contains("at most 9223372036854775807"), "{err}");
    let line = "nodes:\n  - {name: P, sid: 1, addr: 'p:1:2', view: ['server.1=p:1:2', 'server.9223372036854775808=q:1:2']}\n";
    let err = analyze(line, Path::new("s")).unwrap_err();
    assert!(
        at(line, &err).starts_with("'server.9223372036854775808"),
        "{err}"
    );
    let most = "nodes:\n  - {name: P, sid: 9223372036854775807, addr: 'p:1:2', view: ['server.9223372036854775807=p:1:2']}\n";
    assert!(analyze(most, Path::new("s")).is_ok());
}

#[test]
fn the_text_report_explains_the_split() {
    insta::assert_snapshot!(report(fixture!("valid", "slide5_r_restarted.yaml")).text());
}

#[test]
fn the_text_report_explains_cuts() {
    insta::assert_snapshot!(
        report(fixture!("valid", "slide16_b_before_higher_sids_3.4.6.yaml")).text()
    );
}

#[test]
fn the_text_report_explains_no_quorum() {
    insta::assert_snapshot!(report(fixture!("valid", "mitosis_two_two_one.yaml")).text());
}

/// The pod started before its service was repointed (seed 000 one step early), as real 3.8.0
/// ran it: no quorum, the pair POD2-H3 cut, and the reason in words.
#[test]
fn a_pod_before_its_service_is_no_quorum_with_the_cut_pair_named() {
    for fixture in [
        fixture!("valid", "k8s_pod_before_its_service_3.8.0.yaml"),
        fixture!("valid", "k8s_pod_before_its_service_3.4.14.yaml"),
    ] {
        let v = json(fixture);
        assert_eq!(v["quorum_possible"], false, "{}", fixture.0);
        assert_eq!(v["unreachable"], serde_json::json!([["H3", "POD2"]]));
        assert_eq!(v["cuts"][0]["reason"], "no-election-link");
    }
    let report = report(fixture!("valid", "k8s_pod_before_its_service_3.8.0.yaml"));
    let text = report.text();
    assert_contains(&text, "!! NO QUORUM CAN FORM");
    assert_contains(&text, "POD2 advertises svc2, which reaches H2");
    assert!(
        text.contains(
            "H3 - POD2: H3 (the larger sid) dials POD2 at the address in its own view, and its \
             view lists server.2 at svc2:2888:3888, which reaches H2 (down), not POD2; when POD2 \
             dials H3, H3 drops the socket and dials back at the address POD2 advertises, its \
             own line svc2:2888:3888, which reaches H2 (down), not POD2"
        ),
        "{text}"
    );
    let v = json(fixture!("valid", "k8s_pod_before_its_service_3.8.0.yaml"));
    assert_eq!(
        v["misadvertised"],
        serde_json::json!([{"node": "POD2", "advertises": "svc2:2888:3888", "reaches": "H2"}])
    );
}

#[test]
fn a_replacement_on_the_old_template_is_no_quorum() {
    let v = json(fixture!("valid", "replacement_on_old_template_3.8.0.yaml"));
    assert_eq!(v["quorum_possible"], false);
    assert_eq!(v["unreachable"], serde_json::json!([["A", "Q"]]));
    assert_eq!(
        v["misadvertised"][0],
        serde_json::json!({"node": "A", "advertises": "p:2888:3888", "reaches": "P"})
    );
    // Unknown, A's setting is judged both ways: off, it exits at start.
    let (path, text) = fixture!("valid", "replacement_on_old_template_3.8.0.yaml");
    let unknown = text.replace("listen_all: true, ", "");
    let report = analyze(&unknown, Path::new(path)).unwrap();
    let words = report.text();
    assert_contains(&words, "A MAY EXIT AT START");
    assert_contains(
        &words,
        "quorumListenOnAllIPs unknown for A: judged on and off",
    );
}

/// On 3.4 rules the stale own line cuts the pair too, from the other side: Q, the larger sid,
/// dials sid 1 from its own view and dials A back from that same view (ZOOKEEPER-2938), p both
/// times. What A advertises is no finding there (the 3.4 initial message carries the sid
/// alone), and off, A's listener gives up but A runs on (the exit at start came with 3.5.6).
#[test]
fn on_3_4_a_replacement_on_the_old_template_is_no_quorum_too() {
    let fixture = fixture!("valid", "replacement_on_old_template_3.4.14.yaml");
    let v = json(fixture);
    assert_eq!(v["quorum_possible"], false);
    assert_eq!(v["unreachable"], serde_json::json!([["A", "Q"]]));
    assert_eq!(v["cuts"][0]["reason"], "no-election-link");
    assert_eq!(v["dial_back"], "own-view");
    assert_eq!(v["misadvertised"], serde_json::json!([]));
    let text = report(fixture).text();
    assert_contains(
        &text,
        "A - Q: Q (the larger sid) dials A at the address in its own view, and its view lists \
         server.1 at p:2888:3888, which reaches P (down), not A; before 3.5 its dial-back uses \
         that view too",
    );
    let off = fixture
        .1
        .replace("listen_all: true, ", "listen_all: false, ");
    let v = json((fixture.0, &off));
    assert_eq!(v["quorum_possible"], false);
    assert_eq!(v["exits_at_start"], serde_json::json!([]));
    assert_eq!(v["unreachable"], serde_json::json!([["A", "Q"]]));
}

/// The text report, its JSON and every other surface render one list of findings.
#[test]
fn the_report_prints_every_finding_in_text_and_json() {
    for fixture in [
        fixture!("valid", "k8s_pod_before_its_service_3.8.0.yaml"),
        fixture!("valid", "replacement_on_old_template_3.8.0.yaml"),
        fixture!("valid", "slide16_b_before_higher_sids_3.4.6.yaml"),
    ] {
        let report = report(fixture);
        let text = report.text();
        let v = json(fixture);
        for (k, finding) in report.findings().iter().enumerate() {
            assert!(text.contains(&finding.text), "{}: {text}", fixture.0);
            assert_eq!(v["findings"][k]["text"], finding.text.as_str());
        }
    }
}

/// `analyze` says when an election can stall: a server that can win but that its voters
/// cannot follow.
#[test]
fn a_winner_its_voters_cannot_follow_is_named_as_a_stall() {
    let fixture = fixture!("valid", "stall_moved_highest_sid_3.8.0.yaml");
    let v = json(fixture);
    assert_eq!(v["quorum_possible"], true);
    assert_eq!(
        v["stalls"],
        serde_json::json!([{"leader": "C", "cannot_follow": ["A", "B"]}])
    );
    let text = report(fixture).text();
    assert_contains(
        &text,
        "ELECTION CAN STALL: C can be elected but A, B cannot follow it",
    );
}
