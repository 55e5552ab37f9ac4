//! The Dockerfile parser of the embedded builder: text to a list of [`Instruction`]s, each
//! with the line it starts on, as Docker's classic parser reads it.
//!
//! What it does, in Docker's order: parser directives at the very top (`# escape=`; `# syntax=`
//! is accepted and ignored), comment lines dropped everywhere (also inside a continued
//! instruction), lines ending in the escape character joined with the next one, the
//! instruction keyword case-insensitive, leading `--flag=value` words split off for the
//! instructions that take flags, and the JSON (exec) form told apart from the shell form.
//! Nothing is substituted here: which arguments see `$VARS` depends on the instruction and on
//! the build arguments, which is the executor's business ([`super::substitute`]).

use std::fmt;

/// A Dockerfile problem, with the line it is on (Docker's `Dockerfile parse error line N`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dockerfile parse error line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The arguments of `RUN`, `CMD`, `ENTRYPOINT`: a JSON array, or text for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    Exec(Vec<String>),
    Shell(String),
}

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the keyword.
    pub line: usize,
    /// The keyword, upper case (`RUN`).
    pub keyword: String,
    /// `--name=value` flags before the arguments (for the instructions that take flags).
    pub flags: Vec<(String, String)>,
    /// The rest of the line after the keyword and the flags, trimmed.
    pub args: String,
    /// The instruction as Docker prints it in `Step i/N : ...` (the keyword as written, the
    /// continuation lines joined).
    pub original: String,
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Instructions whose leading `--` words are flags.
const TAKES_FLAGS: &[&str] = &["FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"];

/// Parses a whole Dockerfile.
pub fn parse(text: &str) -> Result<Vec<Instruction>, ParseError> {
    parse_with_escape(text).map(|(v, _)| v)
}

/// Parses a whole Dockerfile; also returns its escape character (`# escape=`).
pub fn parse_with_escape(text: &str) -> Result<(Vec<Instruction>, char), ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    let mut i = 0;
    // Directives: `# key=value` lines at the very top (Docker stops at the first other line).
    while i < lines.len() {
        let Some(rest) = lines[i].trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.contains(char::is_whitespace) || key.is_empty() {
            break;
        }
        match key.as_str() {
            "escape" => {
                escape = match value.trim() {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(ParseError {
                            line: i + 1,
                            message: format!(
                                "invalid escape token '{other}' does not match ` or \\"
                            ),
                        })
                    }
                }
            }
            "syntax" | "check" => {}
            _ => break,
        }
        i += 1;
    }
    let mut out = Vec::new();
    while i < lines.len() {
        let start = i;
        let first = lines[i];
        i += 1;
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut joined = String::new();
        let mut current = first.trim_start().to_string();
        loop {
            match continued(&current, escape) {
                Some(head) => {
                    joined.push_str(head);
                    // The next line that is not a comment or blank continues it.
                    let mut next = None;
                    while i < lines.len() {
                        let l = lines[i];
                        i += 1;
                        let t = l.trim_start();
                        if t.starts_with('#') || t.is_empty() {
                            continue;
                        }
                        next = Some(l.to_string());
                        break;
                    }
                    match next {
                        Some(n) => current = n,
                        None => break,
                    }
                }
                None => {
                    joined.push_str(&current);
                    break;
                }
            }
        }
        out.push(instruction(start + 1, joined.trim())?);
    }
    Ok((out, escape))
}

/// The line without its trailing escape character when it continues on the next line.
fn continued(line: &str, escape: char) -> Option<&str> {
    let t = line.trim_end();
    let head = t.strip_suffix(escape)?;
    Some(head)
}

fn instruction(line: usize, text: &str) -> Result<Instruction, ParseError> {
    let (word, rest) = match text.find(char::is_whitespace) {
        Some(p) => (&text[..p], text[p..].trim_start()),
        None => (text, ""),
    };
    let keyword = word.to_ascii_uppercase();
    const KNOWN: &[&str] = &[
        "FROM",
        "ARG",
        "ENV",
        "LABEL",
        "RUN",
        "COPY",
        "ADD",
        "WORKDIR",
        "CMD",
        "ENTRYPOINT",
        "USER",
        "EXPOSE",
        "VOLUME",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
        "ONBUILD",
        "MAINTAINER",
    ];
    if !KNOWN.contains(&keyword.as_str()) {
        return Err(ParseError {
            line,
            message: format!("unknown instruction: {word}"),
        });
    }
    let mut args = rest;
    let mut flags = Vec::new();
    if TAKES_FLAGS.contains(&keyword.as_str()) {
        while let Some(f) = args.strip_prefix("--") {
            let end = f.find(char::is_whitespace).unwrap_or(f.len());
            let (name, value) = match f[..end].split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (f[..end].to_string(), String::new()),
            };
            if name.is_empty() {
                return Err(ParseError {
                    line,
                    message: format!("{keyword}: an empty flag name"),
                });
            }
            flags.push((name, value));
            args = f[end..].trim_start();
        }
    }
    if args.is_empty() && !matches!(keyword.as_str(), "RUN" | "CMD" | "ENTRYPOINT") {
        return Err(ParseError {
            line,
            message: format!("{keyword} requires at least one argument"),
        });
    }
    Ok(Instruction {
        line,
        keyword,
        flags,
        args: args.to_string(),
        original: format!("{word} {rest}").trim_end().to_string(),
    })
}

/// `RUN`/`CMD`/`ENTRYPOINT`/`SHELL` arguments: a JSON array of strings is the exec form,
/// anything else (including broken JSON, as Docker does) the shell form.
pub fn command_form(args: &str) -> CommandForm {
    match json_list(args) {
        Some(v) => CommandForm::Exec(v),
        None => CommandForm::Shell(args.to_string()),
    }
}

/// A JSON array of strings, or `None`.
pub fn json_list(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Splits `args` into `name=value` pairs (`ENV`, `LABEL`, `ARG`) the way Docker's
/// `parseNameVal` does: words separated by unquoted whitespace, quotes kept for the later
/// substitution to remove. The legacy form `NAME value with spaces` (one pair, no `=` in the
/// first word) gives one pair with the rest of the line as its value.
pub fn name_values(
    args: &str,
    line: usize,
    keyword: &str,
) -> Result<Vec<(String, String)>, ParseError> {
    let words = split_words(args);
    let Some(first) = words.first() else {
        return Err(ParseError {
            line,
            message: format!("{keyword} requires at least one argument"),
        });
    };
    if !first.contains('=') {
        // Legacy form: `ENV NAME value...`.
        let t = args.trim();
        let (name, value) = match t.find(char::is_whitespace) {
            Some(p) => (&t[..p], t[p..].trim_start()),
            None => (t, ""),
        };
        if keyword != "ARG" && value.is_empty() {
            return Err(ParseError {
                line,
                message: format!("{keyword} names must be followed by a value (`{name}`)"),
            });
        }
        return Ok(vec![(name.to_string(), value.to_string())]);
    }
    let mut out = Vec::new();
    for w in words {
        match w.split_once('=') {
            Some((n, v)) if !n.is_empty() => out.push((n.to_string(), v.to_string())),
            _ => {
                return Err(ParseError {
                    line,
                    message: format!("{keyword}: `{w}` is not of the form NAME=VALUE"),
                })
            }
        }
    }
    Ok(out)
}

/// Words separated by whitespace outside quotes; quotes and backslashes are kept.
pub fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (q, '\\') if q != Some('\'') => {
                cur.push('\\');
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_continuations_and_case() {
        let text = "# escape=\\\n# a comment\nfrom busybox AS base\nRUN echo a \\\n  # inside\n  && echo b\n\ncopy --chown=1:2 --from=base a b\n";
        let got = parse(text).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].keyword, "FROM");
        assert_eq!(got[0].line, 3);
        assert_eq!(got[0].args, "busybox AS base");
        assert_eq!(got[1].keyword, "RUN");
        assert_eq!(got[1].args, "echo a   && echo b");
        assert_eq!(got[2].line, 8);
        assert_eq!(
            got[2].flags,
            vec![
                ("chown".into(), "1:2".into()),
                ("from".into(), "base".into())
            ]
        );
        assert_eq!(got[2].args, "a b");
    }

    #[test]
    fn escape_directive_backtick() {
        let got = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n").unwrap();
        assert_eq!(got[1].args, "dir c:\\   && echo");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("FROM x\n\nFOO bar\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            "Dockerfile parse error line 3: unknown instruction: FOO"
        );
        let e = parse("FROM x\nWORKDIR\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn exec_and_shell_forms() {
        assert_eq!(
            command_form(r#"["sh", "-c", "x"]"#),
            CommandForm::Exec(vec!["sh".into(), "-c".into(), "x".into()])
        );
        assert_eq!(
            command_form("[not json"),
            CommandForm::Shell("[not json".into())
        );
        assert_eq!(
            command_form("echo hi"),
            CommandForm::Shell("echo hi".into())
        );
    }

    #[test]
    fn name_value_forms() {
        assert_eq!(
            name_values(r#"A=1 B="two words" C=x\ y"#, 1, "ENV").unwrap(),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"two words\"".into()),
                ("C".into(), "x\\ y".into())
            ]
        );
        assert_eq!(
            name_values("NAME some value", 1, "ENV").unwrap(),
            vec![("NAME".into(), "some value".into())]
        );
        assert!(name_values("A=1 junk", 4, "LABEL").is_err());
        assert!(name_values("ALONE", 4, "ENV").is_err());
    }
}
