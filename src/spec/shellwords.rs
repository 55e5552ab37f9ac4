//! Splitting of string-form commands (`command:`, `entrypoint:`, hook `command:`...) into
//! argument lists, exactly like `github.com/mattn/go-shellwords` v1.0.12 `Parse` with its default
//! settings (no environment expansion, no backtick execution) — which is what compose-go v2.9.1
//! (`types.ShellCommand`) calls, as shipped in Docker Compose v2.40.3.
//!
//! Why not a POSIX shell lexer: go-shellwords is *not* POSIX, and compose users see its quirks:
//!
//! * Separators are only space, `\t`, `\r` and `\n`.
//! * `\` escapes the next character everywhere except inside single quotes, including inside
//!   double quotes (`"c\"d"` → `c"d`, `"a\b"` → `ab`); a trailing `\` is an error.
//! * Parsing silently *stops* at the first unquoted `;`, `&`, `|`, `<` or `>`; the rest of the
//!   line is dropped. If the current word starts with an ASCII digit when a `>` is met (`2>x`,
//!   `12abc>x`) that word is dropped too.
//! * Backticks and `$(`...`)` are kept verbatim (spaces inside included) as part of the word;
//!   a `(` anywhere else (outside quotes/backticks) is an error, and so is a nested `(` inside
//!   `$(`. A stray `)` toggles the same "inside `$(`" state, so `b)` is an error (unterminated)
//!   while `b) c)` is the single word `b) c)`.
//! * Quotes still toggle inside backticks; inside `$(`...`)` they are literal.
//! * Every error is the same message: `invalid command line string`.
//!
//! The empty string (or only separators) gives an empty list, which compose keeps as an explicit
//! empty command (`command: ""` → `[]`).

/// Error returned by [`split`]; go-shellwords has a single message for every failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellwordsError {
    /// Unterminated quote, backtick or `$(`, trailing backslash, or misplaced `(`.
    #[error("invalid command line string")]
    Invalid,
}

/// Splits `s` into words the way go-shellwords `Parse` does with default settings.
pub fn split(s: &str) -> Result<Vec<String>, ShellwordsError> {
    let mut args: Vec<String> = Vec::new();
    let mut buf = String::new();
    // Whether `buf` holds a word (possibly empty, e.g. `""`).
    let mut have_word = false;
    let mut escaped = false;
    let mut double_quoted = false;
    let mut single_quoted = false;
    let mut back_quote = false;
    let mut dollar_quote = false;

    for c in s.chars() {
        if escaped {
            buf.push(c);
            escaped = false;
            have_word = true;
            continue;
        }
        if c == '\\' {
            if single_quoted {
                buf.push(c);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if single_quoted || double_quoted || back_quote || dollar_quote {
                buf.push(c);
            } else if have_word {
                args.push(std::mem::take(&mut buf));
                have_word = false;
            }
            continue;
        }
        let unquoted = !single_quoted && !double_quoted;
        match c {
            '`' if unquoted && !dollar_quote => back_quote = !back_quote,
            ')' if unquoted && !back_quote => dollar_quote = !dollar_quote,
            '(' if unquoted && !back_quote => {
                if !dollar_quote && buf.ends_with('$') {
                    dollar_quote = true;
                    buf.push('(');
                    continue;
                }
                return Err(ShellwordsError::Invalid);
            }
            '"' if !single_quoted && !dollar_quote => {
                if double_quoted {
                    have_word = true;
                }
                double_quoted = !double_quoted;
                continue;
            }
            '\'' if !double_quoted && !dollar_quote => {
                if single_quoted {
                    have_word = true;
                }
                single_quoted = !single_quoted;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if unquoted && !back_quote && !dollar_quote => {
                if c == '>' && buf.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                    // `2>file`: the file-descriptor word is dropped.
                    have_word = false;
                }
                break;
            }
            _ => {}
        }
        have_word = true;
        buf.push(c);
    }

    if have_word {
        args.push(buf);
    }
    if escaped || single_quoted || double_quoted || back_quote || dollar_quote {
        return Err(ShellwordsError::Invalid);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        split(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) {
        let e = split(s).expect_err(s);
        assert_eq!(e.to_string(), "invalid command line string");
    }

    #[test]
    fn stops_at_unquoted_semicolon() {
        assert_eq!(
            ok(r#"sh -c 'echo "hi" >> /x' ; echo a | b && c"#),
            ["sh", "-c", r#"echo "hi" >> /x"#]
        );
        assert_eq!(ok(";"), Vec::<String>::new());
        assert_eq!(ok("a;b"), ["a"]);
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(
            ok(r#"echo $HOME a\ b "c\"d" 'e\f'"#),
            ["echo", "$HOME", "a b", "c\"d", "e\\f"]
        );
        assert_eq!(ok(r#""a\b""#), ["ab"]);
        assert_eq!(ok(r#"a "b"c d"#), ["a", "bc", "d"]);
        assert_eq!(ok(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(ok(r#"'a"b' "c'd""#), ["a\"b", "c'd"]);
        assert_eq!(ok(r"\;x"), [";x"]);
        assert_eq!(ok(r"a\\b"), [r"a\b"]);
    }

    #[test]
    fn empty_and_separators() {
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(ok("  "), Vec::<String>::new());
        assert_eq!(ok("''"), [""]);
        assert_eq!(ok(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(ok("a\tb\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(ok("  a   b  "), ["a", "b"]);
        // Only ASCII space/tab/CR/LF separate; NBSP does not.
        assert_eq!(ok("echo \u{a0}x"), ["echo", "\u{a0}x"]);
        assert_eq!(ok("a\u{b}b"), ["a\u{b}b"]);
        assert_eq!(ok("'a b'\t\"c\nd\""), ["a b", "c\nd"]);
    }

    #[test]
    fn operators_stop_parsing() {
        assert_eq!(ok("a | b"), ["a"]);
        assert_eq!(ok("a & b"), ["a"]);
        assert_eq!(ok("a < b"), ["a"]);
        assert_eq!(ok("a > b"), ["a"]);
        assert_eq!(ok("a>b"), ["a"]);
        assert_eq!(ok("a 2>b"), ["a"]);
        assert_eq!(ok("a 2>&1"), ["a"]);
        assert_eq!(ok("a 12x>b"), ["a"]);
        assert_eq!(ok("a x2>b"), ["a", "x2"]);
        assert_eq!(ok(r#"a "2">b"#), ["a"]);
        assert_eq!(ok(r#"a "">b"#), ["a", ""]);
        assert_eq!(ok("a 2<b"), ["a", "2"]);
        assert_eq!(ok("a '|' \"&\" b"), ["a", "|", "&", "b"]);
        // Text after the stop is never looked at, even if it would be an error.
        assert_eq!(ok("a ; 'unterminated"), ["a"]);
    }

    #[test]
    fn backticks_and_dollar_parens_kept_verbatim() {
        assert_eq!(ok("a `b c` d"), ["a", "`b c`", "d"]);
        assert_eq!(ok("a $(b c) d"), ["a", "$(b c)", "d"]);
        assert_eq!(ok("a `b;c|d` e"), ["a", "`b;c|d`", "e"]);
        assert_eq!(ok("a $(b;c) e"), ["a", "$(b;c)", "e"]);
        assert_eq!(ok("a $('x y') e"), ["a", "$('x y')", "e"]);
        assert_eq!(ok("x`a b`y"), ["x`a b`y"]);
        assert_eq!(ok("\"$\"(a b)"), ["$(a b)"]);
        // A stray `)` toggles the `$(` state.
        assert_eq!(ok("a b) c)"), ["a", "b) c)"]);
        // Inside quotes, parentheses are plain characters.
        assert_eq!(ok("'(a)' \"(b)\""), ["(a)", "(b)"]);
        assert_eq!(ok("`(a)`"), ["`(a)`"]);
    }

    #[test]
    fn errors() {
        err("a `b");
        err("a $(b");
        err("a (b)");
        err("(");
        err("a b)");
        err(r#"a "b"#);
        err("a 'b");
        err("a \\");
        err("$((1+2))");
        err("a $(b (c)) d");
        err(r#"a "x`y" `z "w` v"#);
        err("x)");
    }

    /// Pseudo-random inputs over an alphabet of significant characters must never panic.
    #[test]
    fn never_panics() {
        let alphabet: Vec<char> = "ab \t\n\\\"'`$()|;&<>2é".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 59) as usize;
            let mut s = String::new();
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let _ = split(&s);
        }
    }
}
