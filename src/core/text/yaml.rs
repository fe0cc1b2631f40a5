//! The one door to YAML: every loader (state files, runbooks, themes, inventories) parses
//! through here, so `serde_yaml` (deprecated upstream, still the chosen crate) can be swapped
//! in one place, and every error an operator sees names the file, line and column.
//!
//! Nothing here reads files: callers pass the text and the path it came from.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem in a YAML file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct YamlError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A 1-based position in a YAML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// The largest YAML file any loader takes: runbooks, fragments, inventories and states are a
/// few kilobytes; anything near this is not one.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// How deeply collections may nest. Real files nest a handful of levels; the parser's cost
/// grows much faster than the text with depth (a 200 KB run of `[` took 22 s), so deeper
/// files are refused before parsing.
pub const MAX_DEPTH: usize = 64;

/// The text of a YAML file from its bytes: a UTF-8 byte-order mark is dropped, invalid UTF-8
/// and NUL are errors at their line and column (never quoting the bytes).
pub fn decode(bytes: &[u8], path: &Path) -> Result<String, YamlError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = String::from_utf8_lossy(&bytes[..err.valid_up_to()]);
            return Err(error_after(&valid, path, "the file is not UTF-8 text"));
        }
    };
    if let Some(nul) = text.find('\0') {
        return Err(error_after(
            &text[..nul],
            path,
            "a NUL character: the file is not text",
        ));
    }
    Ok(text.to_string())
}

/// An error at the character just after `before`.
fn error_after(before: &str, path: &Path, message: &str) -> YamlError {
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    YamlError {
        path: path.to_path_buf(),
        line,
        column,
        message: message.into(),
    }
}

/// At most this many `[` and `{` in one file, quoted or not: real files have a few hundred.
/// Closing brackets inside quoted text can hide depth from the count of `check_depth`; this
/// bound keeps what could be hidden so (10 000 levels) to a fraction of a second of parsing.
pub const MAX_OPENERS: usize = 10_000;

/// Refuses text nested deeper than `MAX_DEPTH`, counting flow brackets and chains of block
/// indicators (`- - - x`), and text with more than `MAX_OPENERS` brackets.
fn check_depth(text: &str, path: &Path) -> Result<(), YamlError> {
    let too_deep = |line: usize, column: usize| YamlError {
        path: path.to_path_buf(),
        line,
        column,
        message: format!("collections nest deeper than {MAX_DEPTH} levels"),
    };
    let mut flow: usize = 0;
    for (number, line) in text.split('\n').enumerate() {
        let mut chain = 0;
        let mut rest = line.trim_start_matches([' ', '\t']);
        while let Some(after) = ["- ", "? ", ": "]
            .iter()
            .find_map(|indicator| rest.strip_prefix(indicator))
        {
            chain += 1;
            rest = after.trim_start_matches([' ', '\t']);
        }
        for (column, c) in line.chars().enumerate() {
            match c {
                '[' | '{' => flow += 1,
                ']' | '}' => flow = flow.saturating_sub(1),
                _ => continue,
            }
            if flow + chain > MAX_DEPTH {
                return Err(too_deep(number + 1, column + 1));
            }
        }
        if flow + chain > MAX_DEPTH {
            return Err(too_deep(number + 1, 1));
        }
    }
    let openers = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if openers > MAX_OPENERS {
        return Err(YamlError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!(
                "more than {MAX_OPENERS} `[` and `{{`: nested or repeated deeper than any real file"
            ),
        });
    }
    Ok(())
}

/// Deserializes `text`; syntax errors, type errors and unknown keys (with
/// `#[serde(deny_unknown_fields)]`) come back with their position.
pub fn from_str<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, YamlError> {
    deserialize(text, path, |err, at, _| {
        unquote(&strip_position(&err.to_string(), at))
    })
}

/// Deserializes a file named by another one (an `include:`), which may be a file the operator
/// could not read themselves: an error names its position and the kind of problem, never a
/// key, value or variant of the file (serde's messages quote them).
pub fn from_included_str<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, YamlError> {
    deserialize(text, path, |_, _, text| withheld_problem(text))
}

/// Both doors' one way in: the size checks, then serde_yaml, its error placed at its position
/// and worded by `message` (from the error, its position and the checked text).
fn deserialize<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    message: impl FnOnce(&serde_yaml::Error, Position, &str) -> String,
) -> Result<T, YamlError> {
    let text = checked(text, path)?;
    serde_yaml::from_str(text).map_err(|err| {
        let at = position_of(&err);
        YamlError {
            path: path.to_path_buf(),
            line: at.line,
            column: at.column,
            message: message(&err, at, text),
        }
    })
}

/// Refuses text too large or too deeply nested to parse; drops a byte-order mark.
fn checked<'t>(text: &'t str, path: &Path) -> Result<&'t str, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() as u64 > MAX_BYTES {
        return Err(YamlError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!(
                "larger than {} MiB: not a file zkpilot reads",
                MAX_BYTES >> 20
            ),
        });
    }
    check_depth(text, path)?;
    Ok(text)
}

/// The parser's own mark of an error; errors without one (an empty document) are reported at
/// the start of the file.
fn position_of(err: &serde_yaml::Error) -> Position {
    err.location()
        .map_or(Position { line: 1, column: 1 }, |loc| Position {
            line: loc.line(),
            column: loc.column(),
        })
}

/// What is wrong with a document that did not deserialize, told from its structure alone:
/// not YAML at all, a top-level node of another kind (named by kind, never by value), or a key
/// or value inside that does not fit.
fn withheld_problem(text: &str) -> String {
    match serde_yaml::from_str::<NodeKind>(text) {
        Err(_) => "not valid YAML here (the included file's text is not shown)".into(),
        Ok(NodeKind(kind)) if kind != "mapping" => {
            format!("invalid type: {kind}, expected a mapping (the included file's text is not shown)")
        }
        Ok(_) => "a key or value here does not fit the format: an unknown key, a missing one or a value of the wrong type (the included file's text is not shown)".into(),
    }
}

/// The kind of a document's top-level node, read without keeping anything of it.
struct NodeKind(&'static str);

impl<'de> de::Deserialize<'de> for NodeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeKindVisitor).map(NodeKind)
    }
}

struct NodeKindVisitor;

impl<'de> de::Visitor<'de> for NodeKindVisitor {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<&'static str, E> {
        Ok("boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<&'static str, E> {
        Ok("integer")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<&'static str, E> {
        Ok("integer")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<&'static str, E> {
        Ok("floating point")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<&'static str, E> {
        Ok("string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<&'static str, E> {
        Ok("null")
    }

    fn visit_none<E: de::Error>(self) -> Result<&'static str, E> {
        Ok("null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<&'static str, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok("sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<&'static str, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok("mapping")
    }
}

/// serde quotes the offending value (`invalid type: string "…"`): the file may be one the
/// caller could not read themselves (an `include:` of a private file), so the value goes.
fn unquote(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("string \"") {
        out.push_str(&rest[..start + "string".len()]);
        let quoted = &rest[start + "string \"".len()..];
        // serde writes the value with Rust's escapes, so the first unescaped `"` ends it.
        let mut escaped = false;
        let end = quoted.char_indices().find_map(|(i, c)| match c {
            '\\' if !escaped => {
                escaped = true;
                None
            }
            '"' if !escaped => Some(i + 1),
            _ => {
                escaped = false;
                None
            }
        });
        rest = end.map_or("", |end| &quoted[end..]);
    }
    out.push_str(rest);
    out
}

/// serde_yaml appends ` at line L column C` to its messages; the position is already in front.
fn strip_position(message: &str, at: Position) -> String {
    let suffix = format!(" at line {} column {}", at.line, at.column);
    message.replacen(&suffix, "", 1)
}

/// Finds where the value at `key_path` starts: mapping keys by name, sequence items by index
/// (`["nodes", "2", "view"]`). For semantic errors found after parsing (an unknown view name,
/// a duplicate node name), so they point at the offending value like syntax errors do.
pub fn locate(text: &str, key_path: &[&str]) -> Option<Position> {
    seek(text, key_path, Fallback::None)
}

/// A semantic error at the value `key_path` names, or at its nearest ancestor that exists.
pub fn error_at(
    text: &str,
    path: &Path,
    key_path: &[&str],
    message: impl Into<String>,
) -> YamlError {
    let at =
        seek(text, key_path, Fallback::NearestAncestor).unwrap_or(Position { line: 1, column: 1 });
    YamlError {
        path: path.to_path_buf(),
        line: at.line,
        column: at.column,
        message: message.into(),
    }
}

/// Where to stop when `key_path` goes further than the document.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fallback {
    None,
    NearestAncestor,
}

/// One walk of the document to the node `key_path` names. serde_yaml exposes no spans, but it
/// stamps the mark of the node being read onto any error raised while reading it
/// (`Error::location`): the walk raises one at the node it stops on and notes that it did, so
/// the mark is the node's and any other error (a syntax error on the way) is told apart.
fn seek(text: &str, key_path: &[&str], fallback: Fallback) -> Option<Position> {
    let found = Cell::new(false);
    let seek = Seek {
        key_path,
        fallback,
        found: &found,
    };
    let err = seek
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .err()?;
    if !found.get() {
        return None;
    }
    err.location().map(|loc| Position {
        line: loc.line(),
        column: loc.column(),
    })
}

/// Walks the document along `key_path`, skipping everything else.
#[derive(Clone, Copy)]
struct Seek<'p> {
    key_path: &'p [&'p str],
    fallback: Fallback,
    found: &'p Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.key_path.split_first() else {
            return Err(self.here());
        };
        let target = first.parse::<usize>().ok();
        let mut index = 0;
        loop {
            let more = if Some(index) == target {
                seq.next_element_seed(self.deeper(rest))?
            } else {
                seq.next_element_seed(Skip)?
            };
            if more.is_none() {
                return self.missing();
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.key_path.split_first() else {
            return Err(self.here());
        };
        while let Some(key) = map.next_key_seed(KeyText)? {
            if key == *first {
                map.next_value_seed(self.deeper(rest))?;
            } else {
                map.next_value_seed(Skip)?;
            }
        }
        self.missing()
    }
}

impl<'p> Seek<'p> {
    fn deeper(self, rest: &'p [&'p str]) -> Seek<'p> {
        Seek {
            key_path: rest,
            ..self
        }
    }

    /// The marker error raised at the node the walk stops on; never shown to anyone.
    fn here<E: de::Error>(&self) -> E {
        self.found.set(true);
        E::custom("zkpilot-yaml-locate-found")
    }

    /// The rest of the path is not in this collection (or goes below a scalar).
    fn missing<E: de::Error>(&self) -> Result<(), E> {
        match self.fallback {
            Fallback::NearestAncestor => Err(self.here()),
            Fallback::None => Ok(()),
        }
    }

    /// A scalar: the target if the path ends here; a path that goes deeper does not exist.
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.key_path.is_empty() {
            Err(self.here())
        } else {
            self.missing()
        }
    }
}

/// Reads past a node without keeping it.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        <de::IgnoredAny as de::Deserialize>::deserialize(deserializer).map(|_| ())
    }
}

/// A mapping key as text, whatever scalar type YAML resolved it to (`1:`, `true:`, `p:`).
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        // Scalars of any resolved type deserialize as their text; non-scalar keys never match.
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> de::Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(String::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default)]
        table: BTreeMap<String, Vec<String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        id: u32,
    }

    const TEXT: &str = "\
# a comment
name: demo
items:
  - id: 1
  - {id: 2}
  - id: 3
table:
  old: [server.1=p:2888:3888, server.2=q:2888:3888]
  five:
    - server.1=p:2888:3888
    - \"server.2=q:2888:3888\"
";

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn parses_flow_lists_of_server_lines() {
        let doc: Doc = from_str(TEXT, Path::new("d.yaml")).unwrap();
        assert_eq!(doc.table["old"][1], "server.2=q:2888:3888");
        assert_eq!(doc.name, "demo");
        assert_eq!(doc.items[2].id, 3);
    }

    #[test]
    fn unknown_keys_are_errors_at_the_key() {
        let text = "name: x\nitems:\n  - id: 1\n  - {id: 2, colour: red}\n";
        let err = from_str::<Doc>(text, Path::new("s/d.yaml")).unwrap_err();
        assert_eq!((err.line, err.column), (4, 13), "{err}");
        assert!(err.message.contains("unknown field `colour`"), "{err}");
        assert!(err
            .to_string()
            .starts_with("s/d.yaml:4:13: items[1]: unknown field"));
        assert!(!err.message.contains("at line"), "{err}");
    }

    #[test]
    fn type_and_syntax_errors_carry_positions() {
        let err = from_str::<Doc>("name: x\nitems:\n  - id: many\n", Path::new("d")).unwrap_err();
        assert_eq!((err.line, err.column), (3, 9), "{err}");
        let err = from_str::<Doc>("name: [x\nitems: 1\n", Path::new("d")).unwrap_err();
        assert!(err.line >= 1 && err.column >= 1, "{err}");
        let err = from_str::<Doc>("", Path::new("d")).unwrap_err();
        assert_eq!((err.line, err.column), (1, 1), "{err}");
    }

    #[test]
    fn errors_never_quote_the_file() {
        let err = from_str::<Doc>("root:x:0:0:root:/root:/bin/bash\n", Path::new("p")).unwrap_err();
        assert!(!err.to_string().contains("root:x"), "{err}");
        assert!(err.message.contains("invalid type: string,"), "{err}");
        let err =
            from_str::<Doc>("name: x\nitems: [{id: \"a\\\"b\"}]\n", Path::new("p")).unwrap_err();
        assert!(
            !err.message.contains("a\\\"b") && !err.message.contains('b'),
            "{err}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_bad_bytes_are_placed() {
        let doc: Doc = from_str("\u{feff}name: x\n", Path::new("d")).unwrap();
        assert_eq!(doc.name, "x");
        let text = decode(b"\xEF\xBB\xBFname: x\n", Path::new("d")).unwrap();
        assert_eq!(from_str::<Doc>(&text, Path::new("d")).unwrap().name, "x");
        let err = decode(b"name: x\nitems: \xff\n", Path::new("d")).unwrap_err();
        assert_eq!((err.line, err.column), (2, 8), "{err}");
        assert!(err.message.contains("not UTF-8"), "{err}");
        let err = decode(b"name: x\n  a\x00", Path::new("d")).unwrap_err();
        assert_eq!((err.line, err.column), (2, 4), "{err}");
        assert!(err.message.contains("NUL"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("name: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let err = from_str::<Doc>(&deep, Path::new("d")).unwrap_err();
        assert_eq!((err.line, err.column), (1, 71), "{err}");
        let dashes = format!("items:\n{}x\n", "- ".repeat(200));
        let err = from_str::<Doc>(&dashes, Path::new("d")).unwrap_err();
        assert!(err.message.contains("nest deeper"), "{err}");
        let hidden = format!(
            "name: {}{}\n",
            "[\"]\", ".repeat(20_000),
            "]".repeat(20_000)
        );
        let err = from_str::<Doc>(&hidden, Path::new("d")).unwrap_err();
        assert!(err.message.contains("more than 10000"), "{err}");
        let fine = "name: x\ntable: {a: [[1, 2]], b: [\"[[[\"]}\n";
        assert!(from_str::<serde_yaml::Value>(fine, Path::new("d")).is_ok());
    }

    #[test]
    fn locates_values_by_key_path() {
        assert_eq!(locate(TEXT, &["name"]), at(2, 7));
        assert_eq!(locate(TEXT, &["items"]), at(4, 3));
        assert_eq!(locate(TEXT, &["items", "1"]), at(5, 5));
        assert_eq!(locate(TEXT, &["items", "1", "id"]), at(5, 10));
        assert_eq!(locate(TEXT, &["items", "2", "id"]), at(6, 9));
        assert_eq!(locate(TEXT, &["table", "old", "1"]), at(8, 31));
        assert_eq!(locate(TEXT, &["table", "five", "1"]), at(11, 7));
        assert_eq!(locate(TEXT, &[]), at(2, 1));
    }

    #[test]
    fn missing_paths_are_none() {
        assert_eq!(locate(TEXT, &["nope"]), None);
        assert_eq!(locate(TEXT, &["items", "9"]), None);
        assert_eq!(locate(TEXT, &["items", "x"]), None);
        assert_eq!(locate(TEXT, &["name", "deeper"]), None);
        assert_eq!(locate("a: [1\nb: 2\n", &["b"]), None);
    }

    #[test]
    fn semantic_errors_fall_back_to_the_nearest_ancestor() {
        let err = error_at(TEXT, Path::new("d"), &["items", "1", "colour"], "no colour");
        assert_eq!((err.line, err.column), (5, 5));
        assert_eq!(err.to_string(), "d:5:5: no colour");
    }

    #[test]
    fn an_included_file_is_described_by_kind_never_by_value() {
        let err = from_included_str::<Doc>("root:x:0:0:root\n", Path::new("p")).unwrap_err();
        assert_eq!((err.line, err.column), (1, 1), "{err}");
        assert!(
            err.message
                .starts_with("invalid type: string, expected a mapping"),
            "{err}"
        );
        let err =
            from_included_str::<Doc>("name: x\nitems: [{id: 1, secret9: 77}]\n", Path::new("p"))
                .unwrap_err();
        assert_eq!((err.line, err.column), (2, 17), "{err}");
        assert!(
            !err.message.contains("secret9") && !err.message.contains("77"),
            "{err}"
        );
        let err = from_included_str::<Doc>("name: [x\nitems: 1\n", Path::new("p")).unwrap_err();
        assert!(err.message.starts_with("not valid YAML"), "{err}");
    }

    #[test]
    fn a_path_below_a_scalar_falls_back_to_the_scalar() {
        let err = error_at(TEXT, Path::new("d"), &["name", "deeper"], "no");
        assert_eq!((err.line, err.column), (2, 7));
        let err = error_at(TEXT, Path::new("d"), &["items", "9", "id"], "no");
        assert_eq!((err.line, err.column), (4, 3));
    }
}
