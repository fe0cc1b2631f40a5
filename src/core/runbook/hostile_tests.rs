//! Runbooks written to do harm or by mistake: each is refused at load with its position, and
//! nothing in the refusal quotes what it should not.

use std::collections::BTreeMap;
use std::path::Path;

use super::procedure::{bind, BindInput, Procedure};
use crate::inventory::Inventory;
use crate::text::yaml::YamlError;

const INVENTORY: &str = "name: lab\nhosts:\n  - {name: zk1, sid: 1, role: participant, client: '10.0.0.1:2181', peer: '10.0.0.1:2888:3888', ssh: 'zk@10.0.0.1', ssh_port: 22, commands: {restart: 'zkctl restart', status: 'zkctl status', data-empty: 'zkctl data-empty', wipe-data: 'zkctl wipe-data', probe: {command: 'zkctl probe', read-only: true}}}\n";

const HEADER: &str = "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nvariables: {v: {default: x}}\nsteps:\n";

fn bound_with(
    text: &str,
    variables: &BTreeMap<String, String>,
    fragments: &[(&str, &str)],
) -> Result<Procedure, YamlError> {
    let inventory = Inventory::parse(INVENTORY, Path::new("inv.yaml")).unwrap();
    let none = BTreeMap::new();
    let read = |path: &Path| -> Result<String, String> {
        fragments
            .iter()
            .find(|(name, _)| path.file_name().and_then(|n| n.to_str()) == Some(name))
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| "no such file".to_string())
    };
    let input = BindInput {
        inventory: &inventory,
        leader: None,
        bindings: &none,
        variables,
        read_fragment: &read,
    };
    bind(text, Path::new("rb.yaml"), &input)
}

fn bound(steps: &str) -> Result<Procedure, YamlError> {
    bound_with(&format!("{HEADER}{steps}"), &BTreeMap::new(), &[])
}

#[test]
fn a_value_inside_quotes_or_glued_to_text_is_refused_where_it_stands() {
    let cases = [
        (r#"echo B \"${v}\""#, "inside double quotes"),
        ("echo B '${v}'", "inside single quotes"),
        ("echo a${v}", "glued to the text before it"),
        ("echo ${v}.log", "glued to the text after it"),
        ("true # ${v}", "inside a comment"),
    ];
    for (shell, reason) in cases {
        let steps = format!(
            "  - id: a\n    title: A\n    run:\n      - host: zk1\n        shell: \"{shell}\"\n"
        );
        let err = bound(&steps).unwrap_err();
        assert_eq!((err.line, err.column), (11, 16), "{shell}: {err}");
        assert!(err.message.contains(reason), "{shell}: {err}");
        assert!(err.message.contains("`${v}`"), "{shell}: {err}");
    }
    let ok =
        bound("  - {id: a, title: A, run: [{host: zk1, shell: \"echo ${v} | tee >(cat)\"}]}\n")
            .unwrap();
    assert_eq!(ok.steps[0].commands[0].text, "echo x | tee >(cat)");
}

#[test]
fn a_hostile_value_in_a_word_of_its_own_stays_one_word() {
    let variables = BTreeMap::from([("v".to_string(), "$(touch /tmp/x)'\"; reboot #".to_string())]);
    let text =
        format!("{HEADER}  - {{id: a, title: A, run: [{{host: zk1, shell: \"echo ${{v}}\"}}]}}\n");
    let procedure = bound_with(&text, &variables, &[]).unwrap();
    assert_eq!(
        procedure.steps[0].commands[0].text,
        r#"echo '$(touch /tmp/x)'\''"; reboot #'"#
    );
}

#[test]
fn a_check_gate_runs_only_read_only_verbs() {
    let gate = |check: &str| {
        bound(&format!(
            "  - id: a\n    title: A\n    gates:\n      - check: {check}\n"
        ))
        .map(|p| p.steps[0].gates.clone())
    };
    let err = gate("{host: zk1, shell: 'touch /tmp/z; true'}").unwrap_err();
    assert_eq!(err.line, 10, "{err}");
    assert!(err.message.contains("not `shell`"), "{err}");
    let err = gate("{host: zk1, verb: wipe-data}").unwrap_err();
    assert_eq!((err.line, err.column), (10, 34), "{err}");
    assert!(
        err.message
            .contains("`wipe-data` on inventory host `zk1` is not read-only"),
        "{err}"
    );
    for verb in ["status", "data-empty", "probe"] {
        assert!(
            gate(&format!("{{host: zk1, verb: {verb}}}")).is_ok(),
            "{verb}"
        );
    }
    assert!(gate("{host: zk1, verb: nope}")
        .unwrap_err()
        .message
        .contains("no `nope` command"));
}

#[test]
fn empty_ids_zero_timeouts_and_self_includes_are_refused() {
    let err = bound("  - {id: '', title: A}\n").unwrap_err();
    assert_eq!((err.line, err.column), (7, 10), "{err}");
    assert!(err.message.contains("cannot be empty"), "{err}");
    let err = bound("  - {id: a, title: A, timeout: 0s}\n").unwrap_err();
    assert!(err.message.contains("timeout of 0"), "{err}");
    let err = bound("  - include: rb.yaml\n").unwrap_err();
    assert!(err.message.contains("cannot include itself"), "{err}");
    assert_eq!((err.line, err.column), (7, 14), "{err}");
}

#[test]
fn a_fragment_that_is_not_one_is_refused_without_its_content() {
    let text = format!("{HEADER}  - include: ../../etc/passwd\n");
    let err = bound_with(
        &text,
        &BTreeMap::new(),
        &[("passwd", "root:x:0:0:root:/root:/bin/bash\n")],
    )
    .unwrap_err();
    assert!(!err.to_string().contains("root:x"), "{err}");
    assert!(err.to_string().contains("passwd:1:1"), "{err}");
}

#[test]
fn an_included_file_is_named_by_position_never_by_its_keys_variants_or_numbers() {
    let text = format!("{HEADER}  - include: frag.yaml\n");
    let cases = [
        ("steps:\n  - {id: a, title: A, secretkey: 1}\n", "secretkey"),
        ("steps:\n  - {id: a, title: A, confirm: sesame}\n", "sesame"),
        (
            "steps:\n  - {id: a, title: A, wait: 4242424242}\n",
            "4242424242",
        ),
        (
            "steps:\n  - {id: a, title: A, wait: {timeout: 5s, until: [], hidden77: x}}\n",
            "hidden77",
        ),
        (
            "steps:\n  - {id: a, title: A, run: [{host: zk1, verb: sesame}]}\n",
            "sesame",
        ),
        (
            "steps:\n  - {id: a, title: A, run: [{host: ghost99, shell: 'true'}]}\n",
            "ghost99",
        ),
        (
            "steps:\n  - {id: twice42, title: A}\n  - {id: twice42, title: B}\n",
            "twice42",
        ),
    ];
    for (fragment, secret) in cases {
        let err = bound_with(&text, &BTreeMap::new(), &[("frag.yaml", fragment)]).unwrap_err();
        assert!(!err.to_string().contains(secret), "{fragment}: {err}");
        assert!(err.path.ends_with("frag.yaml"), "{fragment}: {err}");
        assert!(err.line >= 2 && err.column > 1, "{fragment}: {err}");
        assert!(err.message.contains("not shown"), "{fragment}: {err}");
    }
    let err = bound_with(
        &text,
        &BTreeMap::new(),
        &[(
            "frag.yaml",
            "steps:\n  - {id: a, title: A, run: [{host: zk1, verb: sesame}]}\n",
        )],
    )
    .unwrap_err();
    assert_eq!((err.line, err.column), (2, 29), "{err}");
    assert!(
        err.message
            .starts_with("steps[0].run[0] of the included file"),
        "{err}"
    );
}
