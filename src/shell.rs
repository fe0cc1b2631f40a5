//! Shell quoting: a value interpolated into a command is always one word, never code.

/// Quotes a value for a POSIX shell when it needs it: nothing inside single quotes is special
/// but the quote itself.
pub fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("/tmp/sbx/zkctl"), "/tmp/sbx/zkctl");
        assert_eq!(
            quote("server.1=127.0.0.1:2888:3888"),
            "server.1=127.0.0.1:2888:3888"
        );
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("x;reboot"), "'x;reboot'");
    }
}
