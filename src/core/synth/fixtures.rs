//! Starts and targets shared by the synthesizer's tests and its benchmark.

/// `n` servers zk1..zkN on one view.
pub fn ensemble_state(n: u64, version: &str) -> String {
    let lines: Vec<String> = (1..=n)
        .map(|sid| format!("server.{sid}=zk{sid}:2888:3888"))
        .collect();
    let mut text = format!(
        "zookeeper: \"{version}\"\nviews:\n  today: [{}]\nnodes:\n",
        lines.join(", ")
    );
    for sid in 1..=n {
        text.push_str(&format!(
            "  - {{name: zk{sid}, sid: {sid}, addr: \"zk{sid}:2888:3888\", view: today}}\n"
        ));
    }
    text
}

/// Every host replaced by a new one taking over its id.
pub fn replace_all(n: u64) -> String {
    let mut text = String::from("servers:\n");
    for sid in 1..=n {
        text.push_str(&format!("  - {{host: new{sid}, sid_of: zk{sid}}}\n"));
    }
    text
}

/// Seed 000's end: every server replaced by a new host (`new1`…) taking over its id behind a
/// service of its own (`svc1`…), which every view names it by.
pub fn into_pods(n: u64) -> String {
    let mut text = replace_all(n);
    text.push_str("services:\n");
    for sid in 1..=n {
        text.push_str(&format!(
            "  - {{serves: zk{sid}, peer: \"svc{sid}:2888:3888\"}}\n"
        ));
    }
    text
}
