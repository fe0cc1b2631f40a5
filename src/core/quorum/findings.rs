//! The analyzer's answers as one list of findings in words: every surface that shows a verdict
//! (`analyze`, each row of `plan`, the live summary) renders this list, so none of them leaves
//! out what another prints.

use super::{Verdict, BIND_RETRY_MS, BIND_TRIES, EXIT_AFTER_S};

/// How loud a finding is; each surface maps it onto its own style.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Danger,
}

impl Severity {
    /// Its mark in plain text (`analyze`, `replay --print`), two columns wide.
    pub fn mark(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "! ",
            Severity::Danger => "!!",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    Quorum,
    SplitBrain,
    SeparateEnsembles,
    DuplicateSid,
    HollowLeader,
    ExitsAtStart,
    Misadvertised,
    Stall,
    Strand,
    CannotServe,
    Unreachable,
    ListenAllUnknown,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub text: String,
}

impl Finding {
    fn new(kind: FindingKind, severity: Severity, text: String) -> Finding {
        Finding {
            kind,
            severity,
            text,
        }
    }
}

/// The verdict's findings, most important first: whether a quorum can form and whether two
/// can (always, `Ok` when all is well), then each hazard the verdict names. `name` gives a
/// node's name by the verdict's node number.
pub fn findings(verdict: &Verdict, name: &dyn Fn(usize) -> String) -> Vec<Finding> {
    use FindingKind as K;
    use Severity as S;
    let names = |list: &[usize]| list.iter().map(|&i| name(i)).collect::<Vec<_>>();
    let mut out = Vec::new();
    out.push(if verdict.quorum_possible {
        Finding::new(K::Quorum, S::Ok, "quorum can form".into())
    } else {
        Finding::new(K::Quorum, S::Danger, "NO QUORUM CAN FORM".into())
    });
    out.push(match &verdict.split_brain {
        None => Finding::new(K::SplitBrain, S::Ok, "split brain impossible".into()),
        Some(w) => Finding::new(
            K::SplitBrain,
            S::Danger,
            format!(
                "SPLIT BRAIN POSSIBLE: {} leads {{{}}} while {} leads {{{}}}",
                name(w.a.leader),
                names(&w.a.members).join(","),
                name(w.b.leader),
                names(&w.b.members).join(",")
            ),
        ),
    });
    if !verdict.ensembles.is_empty() {
        let groups: Vec<String> = verdict
            .ensembles
            .iter()
            .map(|g| format!("{{{}}}", names(g).join(",")))
            .collect();
        out.push(Finding::new(
            K::SeparateEnsembles,
            S::Warning,
            format!(
                "SEPARATE ENSEMBLES (no view in one names a voter of another): {}",
                groups.join(" and ")
            ),
        ));
    }
    for group in &verdict.duplicate_sids {
        out.push(Finding::new(
            K::DuplicateSid,
            S::Danger,
            format!("ONE SERVER ID TWICE: {}", names(group).join(" and ")),
        ));
    }
    // A warning naming every server of a list, when the list has any.
    let naming = |kind: K, list: &[usize], say: &dyn Fn(String) -> String| {
        (!list.is_empty()).then(|| Finding::new(kind, S::Warning, say(names(list).join(", "))))
    };
    out.extend(naming(K::HollowLeader, &verdict.hollow_leaders, &|who| {
        format!(
            "HOLLOW LEADER POSSIBLE: {who} (held up by an observer's sid, it would commit nothing)"
        )
    }));
    let brief = names(&verdict.brief_leaders).join(", ");
    for (k, &i) in verdict.exits_at_start.iter().enumerate() {
        let (what, when) = if verdict.listen_all_unknown.contains(&i) {
            (
                "MAY EXIT AT START",
                "if quorumListenOnAllIPs is off (unknown)",
            )
        } else {
            ("EXITS AT START", "and quorumListenOnAllIPs is off")
        };
        let line: Vec<&str> = verdict
            .exit_lines
            .get(k)
            .map(|addrs| addrs.iter().map(|a| a.host.as_str()).collect())
            .unwrap_or_default();
        let meanwhile = if brief.is_empty() {
            String::new()
        } else {
            format!(": {brief} may lead briefly")
        };
        out.push(Finding::new(
            K::ExitsAtStart,
            S::Danger,
            format!(
                "{} {what}: its own line {} is not one of its addresses {when}, so it cannot \
                 bind its election port and exits (code 14) after {BIND_TRIES} bind tries \
                 {} s apart, about {EXIT_AFTER_S} s after start; until then it votes and can \
                 follow{meanwhile}",
                name(i),
                line.join("|"),
                BIND_RETRY_MS / 1000,
            ),
        ));
    }
    for advert in &verdict.misadvertised {
        let hosts: Vec<&str> = advert.addrs.iter().map(|a| a.host.as_str()).collect();
        let reaches = advert.reaches.map_or("nothing".to_string(), &name);
        out.push(Finding::new(
            K::Misadvertised,
            S::Warning,
            format!(
                "{} advertises {}, which reaches {reaches}: a larger sid dials it back there",
                name(advert.node),
                hosts.join("|")
            ),
        ));
    }
    for stall in &verdict.stalls {
        let who = if stall.cannot_follow.is_empty() {
            "too few voters can follow it".to_string()
        } else {
            format!(
                "{} cannot follow it (their views list it at an address that does not reach it)",
                names(&stall.cannot_follow).join(", ")
            )
        };
        out.push(Finding::new(
            K::Stall,
            S::Warning,
            format!(
                "ELECTION CAN STALL: {} can be elected but {who}; a round it wins leaves no \
                 serving leader until its voters give up on it and its initLimit passes",
                name(stall.leader)
            ),
        ));
    }
    // `strandable` is sorted by server: one finding per server, naming each of its leaders.
    for group in verdict.strandable.chunk_by(|a, b| a.server == b.server) {
        let server = group[0].server;
        let leaders: Vec<usize> = group.iter().map(|s| s.leader).collect();
        out.push(Finding::new(
            K::Strand,
            S::Warning,
            format!(
                "MAY BE LEFT OUT: {server} joins {} only in the round that elects it; once \
                 it leads, too few of {server}'s view can follow it for {server} to join later, \
                 so {server} may stay LOOKING until its view or theirs changes",
                names(&leaders).join(" or "),
                server = name(server),
            ),
        ));
    }
    for &server in &verdict.cannot_serve {
        out.push(Finding::new(
            K::CannotServe,
            S::Warning,
            format!(
                "CANNOT SERVE: {} can follow none of the servers that can lead ({}) and cannot \
                 lead a quorum itself: whenever it looks for a leader it finds none and does \
                 not serve, until its view or theirs changes",
                name(server),
                names(&verdict.possible_leaders).join(", "),
            ),
        ));
    }
    if !verdict.unreachable.is_empty() {
        let pairs: Vec<String> = verdict
            .unreachable
            .iter()
            .map(|&(a, b)| format!("{}-{}", name(a), name(b)))
            .collect();
        out.push(Finding::new(
            K::Unreachable,
            S::Warning,
            format!("{} pair(s) cannot talk: {}", pairs.len(), pairs.join(" ")),
        ));
    }
    out.extend(naming(
        K::ListenAllUnknown,
        &verdict.listen_all_unknown,
        &|who| {
            format!("quorumListenOnAllIPs unknown for {who}: judged on and off, the worse shown")
        },
    ));
    out
}

/// The findings that are not `Ok`.
pub fn hazards(verdict: &Verdict, name: &dyn Fn(usize) -> String) -> Vec<Finding> {
    findings(verdict, name)
        .into_iter()
        .filter(|f| f.severity != Severity::Ok)
        .collect()
}
