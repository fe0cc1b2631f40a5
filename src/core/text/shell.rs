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

/// Where a `${…}` of a shell template stands, when the shell would not see it as a word of its
/// own: the quoted value would then be re-read inside quotes, a comment or a here-document,
/// where its own quotes are text, and the value could become code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misplaced {
    /// Byte offset of the `${` in the template.
    pub offset: usize,
    pub reason: &'static str,
}

/// Checks that every `${…}` in `template` stands where a POSIX shell sees a separate unquoted
/// word (after a blank or an operator, and followed by one or by the end), so the quoted value
/// `quote` puts there is read as exactly one word.
pub fn check_placeholders(template: &str) -> Result<(), Misplaced> {
    #[derive(Clone, Copy, PartialEq)]
    enum Context {
        Plain,
        Single,
        Double,
        Backtick,
        Comment,
        /// `$((…))` or `((…))`, to the parenthesis that closes it (depth inside): bash
        /// evaluates a quoted `'a[$(cmd)]'` there, running `cmd`.
        Arithmetic(usize),
        /// `[[ … ]]`: bash evaluates the operands of `-eq` and its kin in the same way.
        Test,
    }
    let bytes = template.as_bytes();
    let operator = |b: u8| b";&|()<>".contains(&b);
    let blank = |b: u8| b" \t\n".contains(&b);
    let mut context = Context::Plain;
    // Whether the current unquoted word has begun: `${` must start one.
    let mut in_word = false;
    // A `<<` was seen: its body, after the next newline, expands `$(…)` whatever the quotes.
    let mut heredoc = false;
    let mut heredoc_body = false;
    // The words of the current simple command so far, and where the word being read began:
    // what a `${…}` is an argument of decides whether bash evaluates it.
    let mut words: Vec<&str> = Vec::new();
    let mut word_start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if context == Context::Plain {
            let ends = blank(b) || operator(b);
            match word_start {
                Some(start) if ends => {
                    words.push(&template[start..i]);
                    word_start = None;
                }
                None if !ends && !in_word => word_start = Some(i),
                _ => {}
            }
            // A new command: after `;`, `&`, `|`, parentheses or a line break.
            if (operator(b) && !b"<>".contains(&b)) || b == b'\n' {
                words.clear();
            }
        }
        if bytes[i..].starts_with(b"${") {
            let refuse = |reason| Err(Misplaced { offset: i, reason });
            // A redirection's target (`<${file}`) is a path, never an argument.
            let redirected = template[..i].trim_end().ends_with(['<', '>']);
            if context == Context::Plain && !heredoc_body && !in_word && !redirected {
                if let Some(reason) = evaluated_argument(&words) {
                    return refuse(reason);
                }
            }
            match context {
                Context::Single => return refuse("inside single quotes"),
                Context::Double => return refuse("inside double quotes"),
                Context::Backtick => return refuse("inside a backquoted command"),
                Context::Comment => return refuse("inside a comment"),
                Context::Arithmetic(_) => return refuse("inside an arithmetic expression"),
                Context::Test => return refuse("inside `[[ ]]`, where bash may evaluate it"),
                Context::Plain if heredoc_body => return refuse("inside a here-document"),
                Context::Plain if in_word => return refuse("glued to the text before it"),
                Context::Plain => {}
            }
            let Some(end) = template[i..].find('}').map(|e| i + e + 1) else {
                return refuse("never closed");
            };
            if end < bytes.len() && !blank(bytes[end]) && !operator(bytes[end]) {
                return refuse("glued to the text after it");
            }
            in_word = true;
            i = end;
            continue;
        }
        match (context, b) {
            (Context::Single, b'\'') | (Context::Double, b'"') | (Context::Backtick, b'`') => {
                context = Context::Plain;
            }
            // An escaped character is skipped, but never a `$`: the interpolator replaces every
            // `${…}`, escaped or not, so each must be checked where it stands.
            (Context::Double | Context::Backtick, b'\\') if !escapes_dollar(bytes, i) => i += 1,
            (Context::Comment, b'\n') => {
                context = Context::Plain;
                in_word = false;
                heredoc_body |= heredoc;
            }
            (Context::Arithmetic(depth), b'(') => context = Context::Arithmetic(depth + 1),
            (Context::Arithmetic(depth), b')') => {
                context = match depth.checked_sub(1) {
                    Some(depth) => Context::Arithmetic(depth),
                    None => {
                        in_word = true;
                        Context::Plain
                    }
                };
            }
            (Context::Test, b']') if bytes[i..].starts_with(b"]]") => {
                (context, in_word) = (Context::Plain, true);
                i += 1;
            }
            (
                Context::Single
                | Context::Double
                | Context::Backtick
                | Context::Comment
                | Context::Arithmetic(_)
                | Context::Test,
                _,
            ) => {}
            (Context::Plain, b'$' | b'(')
                if bytes[i..].starts_with(b"((") || bytes[i..].starts_with(b"$((") =>
            {
                // The two opening parentheses; the closing pair ends it at depth 0.
                context = Context::Arithmetic(0);
                i += if b == b'$' { 2 } else { 1 };
            }
            (Context::Plain, b'[') if !in_word && bytes[i..].starts_with(b"[[") => {
                context = Context::Test;
                i += 1;
            }
            (Context::Plain, b'\'') => (context, in_word) = (Context::Single, true),
            (Context::Plain, b'"') => (context, in_word) = (Context::Double, true),
            (Context::Plain, b'`') => (context, in_word) = (Context::Backtick, true),
            (Context::Plain, b'#') if !in_word => context = Context::Comment,
            (Context::Plain, b'\\') => {
                in_word = true;
                i += usize::from(!escapes_dollar(bytes, i));
            }
            (Context::Plain, b'\n') => {
                in_word = false;
                heredoc_body |= heredoc;
            }
            (Context::Plain, b'<') if bytes[i..].starts_with(b"<<") => {
                heredoc |= !bytes[i..].starts_with(b"<<<");
                in_word = false;
                i += 1 + usize::from(bytes[i..].starts_with(b"<<<"));
            }
            (Context::Plain, b) if blank(b) || operator(b) => in_word = false,
            (Context::Plain, _) => in_word = true,
        }
        i += 1;
    }
    Ok(())
}

/// Whether the arguments of the command whose words so far are `words` are evaluated by bash
/// as code, as arithmetic or as a variable name (where a subscript `a[$(cmd)]` is arithmetic):
/// a quoted value is one word, but these builtins read that word again. `let`, `declare` and
/// their kin; `read`, `mapfile`, `getopts`, `unset` (names); `eval` and `trap` (code);
/// `printf -v`, `test -v`, `wait -p` (a name after the option).
fn evaluated_argument(words: &[&str]) -> Option<&'static str> {
    // Words before the command's name: assignments, reserved words, and the builtins that
    // only run the builtin after them.
    let name = words.iter().position(|w| {
        let assignment = w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        });
        !assignment
            && !matches!(
                *w,
                "!" | "{"
                    | "then"
                    | "do"
                    | "else"
                    | "elif"
                    | "if"
                    | "while"
                    | "until"
                    | "time"
                    | "command"
                    | "builtin"
            )
    })?;
    let option = |flag: &str| words[name + 1..].iter().any(|w| w.starts_with(flag));
    match words[name] {
        "let" | "declare" | "typeset" | "local" | "export" | "readonly" | "read" | "mapfile"
        | "readarray" | "getopts" | "unset" => {
            Some("an argument of a bash builtin that reads it as a variable name or arithmetic")
        }
        "eval" | "trap" => Some("an argument of a bash builtin that runs it as code"),
        "printf" if option("-v") => Some("an argument of `printf -v`, which bash may evaluate"),
        "test" | "[" if option("-v") => Some("an argument of `test -v`, which bash may evaluate"),
        "wait" if option("-p") => Some("an argument of `wait -p`, which bash may evaluate"),
        _ => None,
    }
}

fn escapes_dollar(bytes: &[u8], backslash: usize) -> bool {
    bytes.get(backslash + 1) == Some(&b'$')
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

    fn misplaced(template: &str) -> Option<&'static str> {
        check_placeholders(template).err().map(|m| m.reason)
    }

    #[test]
    fn placeholders_must_be_words_of_their_own() {
        for good in [
            "echo ${v}",
            "${v}",
            "a ${v} b",
            "x;${v}|${w}&&(${u})",
            "cat >${file}",
            "echo $(ls ${dir})",
            "echo 'lit' ${v} \"lit\"",
            "echo a\\ b ${v}",
            "cat <<<${v}",
            "# comment\necho ${v}",
            "echo $((1 + (2))) ${v}",
            "[[ -d /x ]] && echo ${v}",
            "echo $(cd /; ls ${v})",
        ] {
            assert_eq!(misplaced(good), None, "{good}");
        }
        let cases = [
            ("echo B \"${v}\"", "inside double quotes"),
            ("echo '${v}'", "inside single quotes"),
            ("echo $'${v}'", "inside single quotes"),
            ("echo `ls ${v}`", "inside a backquoted command"),
            ("echo a${v}", "glued to the text before it"),
            ("echo ${v}b", "glued to the text after it"),
            ("echo ${v}${w}", "glued to the text after it"),
            ("echo \\${v}", "glued to the text before it"),
            ("echo \"\\${v}\"", "inside double quotes"),
            ("echo \\ ${v}", "glued to the text before it"),
            ("true # ${v}", "inside a comment"),
            ("cat <<EOF\n${v}\nEOF", "inside a here-document"),
            ("cat <<'EOF'\nx ${v}\nEOF", "inside a here-document"),
            ("echo ${v", "never closed"),
            ("echo $(( ${v} + 1 ))", "inside an arithmetic expression"),
            ("(( n = ${v} ))", "inside an arithmetic expression"),
            (
                "[[ ${v} -eq 1 ]]",
                "inside `[[ ]]`, where bash may evaluate it",
            ),
        ];
        for (bad, reason) in cases {
            assert_eq!(misplaced(bad), Some(reason), "{bad}");
        }
        // Builtins that read a word again as a name, arithmetic or code: a quoted
        // `'a[$(cmd)]'` runs `cmd` there.
        for bad in [
            "let ${v}",
            "let n=1 ${v}",
            "printf -v ${v} %s x",
            "read -r ${v}",
            "true; read ${v} <f",
            "declare -i ${v}",
            "export ${v}",
            "local ${v}",
            "unset ${v}",
            "mapfile -t ${v} <f",
            "eval ${v}",
            "trap ${v} EXIT",
            "if true; then let ${v}; fi",
            "X=1 command read ${v}",
            "[ -v ${v} ]",
            "echo ok && typeset ${v}",
        ] {
            assert!(
                misplaced(bad).is_some_and(|r| r.contains("bash")),
                "{bad}: {:?}",
                misplaced(bad)
            );
        }
        for good in [
            "printf %s ${v}",
            "[ -f ${v} ]",
            "echo let ${v}",
            "let n=1; echo ${v}",
            "read -r x <${file}",
            "test -d ${dir} && cat ${dir}",
            "mapfile -t lines <${file}",
        ] {
            assert_eq!(misplaced(good), None, "{good}");
        }
        assert_eq!(check_placeholders("echo a${v}").unwrap_err().offset, 6);
    }
}
