//! Variable substitution in Dockerfile arguments, as Docker's shell lexer (`ProcessWord`)
//! does it for the instructions it applies to (`FROM`, `ARG`, `ENV`, `LABEL`, `COPY`, `ADD`,
//! `WORKDIR`, `USER`, `EXPOSE`, `VOLUME`, `STOPSIGNAL`): `$V`, `${V}`, `${V:-word}`,
//! `${V-word}`, `${V:+word}`, `${V+word}`, `${V:?msg}`, quotes removed (nothing is
//! substituted inside single quotes), the escape character taking the next one literally.
//! `RUN`, `CMD` and `ENTRYPOINT` are left to the shell, as Docker leaves them.

use std::collections::BTreeMap;

/// The variables in scope: name to value (an `ENV` wins over an `ARG` of the same name; the
/// caller merges them).
pub type Vars = BTreeMap<String, String>;

/// Why a word could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    #[error("unterminated quote in `{0}`")]
    Quote(String),
    #[error("missing `}}` in `{0}`")]
    Brace(String),
    #[error("bad substitution in `{0}`")]
    Bad(String),
    #[error("{name}: {message}")]
    Required { name: String, message: String },
}

/// One word: substituted, quotes removed.
pub fn word(input: &str, vars: &Vars, escape: char) -> Result<String, SubstError> {
    let mut words = Lexer::new(input, vars, escape).run(false)?;
    Ok(words.pop().unwrap_or_default())
}

/// Words split on unquoted whitespace, each substituted with its quotes removed.
pub fn words(input: &str, vars: &Vars, escape: char) -> Result<Vec<String>, SubstError> {
    Lexer::new(input, vars, escape).run(true)
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    vars: &'a Vars,
    escape: char,
    input: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str, vars: &'a Vars, escape: char) -> Self {
        Lexer {
            chars: input.chars().collect(),
            pos: 0,
            vars,
            escape,
            input,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    fn run(mut self, split: bool) -> Result<Vec<String>, SubstError> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut started = false;
        while let Some(c) = self.next() {
            match c {
                c if split && c.is_whitespace() => {
                    if started {
                        out.push(std::mem::take(&mut cur));
                        started = false;
                    }
                }
                '\'' => {
                    started = true;
                    loop {
                        match self.next() {
                            Some('\'') => break,
                            Some(c) => cur.push(c),
                            None => return Err(SubstError::Quote(self.input.to_string())),
                        }
                    }
                }
                '"' => {
                    started = true;
                    loop {
                        match self.next() {
                            Some('"') => break,
                            Some('$') => {
                                let v = self.dollar()?;
                                cur.push_str(&v);
                            }
                            Some(c) if c == self.escape => match self.next() {
                                Some(n) if n == '"' || n == '$' || n == self.escape => cur.push(n),
                                Some(n) => {
                                    cur.push(c);
                                    cur.push(n);
                                }
                                None => return Err(SubstError::Quote(self.input.to_string())),
                            },
                            Some(c) => cur.push(c),
                            None => return Err(SubstError::Quote(self.input.to_string())),
                        }
                    }
                }
                '$' => {
                    started = true;
                    let v = self.dollar()?;
                    cur.push_str(&v);
                }
                c if c == self.escape => {
                    started = true;
                    match self.next() {
                        Some(n) => cur.push(n),
                        None => cur.push(c),
                    }
                }
                c => {
                    started = true;
                    cur.push(c);
                }
            }
        }
        if started || !split {
            out.push(cur);
        }
        Ok(out)
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    /// After a `$`: the variable's value, or `$` itself when no name follows.
    fn dollar(&mut self) -> Result<String, SubstError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let name = self.name();
                if name.is_empty() {
                    return Err(SubstError::Bad(self.input.to_string()));
                }
                let value = self.vars.get(&name);
                match self.next() {
                    Some('}') => Ok(value.cloned().unwrap_or_default()),
                    Some(':') => {
                        let op = self
                            .next()
                            .ok_or_else(|| SubstError::Brace(self.input.into()))?;
                        let w = self.braced_word()?;
                        let set = value.is_some_and(|v| !v.is_empty());
                        self.apply(op, &name, value, set, w)
                    }
                    Some(op @ ('-' | '+' | '?')) => {
                        let w = self.braced_word()?;
                        self.apply(op, &name, value, value.is_some(), w)
                    }
                    Some(_) => Err(SubstError::Bad(self.input.to_string())),
                    None => Err(SubstError::Brace(self.input.to_string())),
                }
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name();
                Ok(self.vars.get(&name).cloned().unwrap_or_default())
            }
            _ => Ok("$".to_string()),
        }
    }

    fn apply(
        &self,
        op: char,
        name: &str,
        value: Option<&String>,
        set: bool,
        word: String,
    ) -> Result<String, SubstError> {
        match op {
            '-' => Ok(if set {
                value.cloned().unwrap_or_default()
            } else {
                word
            }),
            '+' => Ok(if set { word } else { String::new() }),
            '?' if set => Ok(value.cloned().unwrap_or_default()),
            '?' => Err(SubstError::Required {
                name: name.to_string(),
                message: if word.is_empty() {
                    "is not allowed to be unset".into()
                } else {
                    word
                },
            }),
            _ => Err(SubstError::Bad(self.input.to_string())),
        }
    }

    /// The word of `${V:-word}` up to the closing brace, itself substituted.
    fn braced_word(&mut self) -> Result<String, SubstError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('}') => return Ok(out),
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(c) if c == self.escape => {
                    if let Some(n) = self.next() {
                        out.push(n);
                    }
                }
                Some(c) => out.push(c),
                None => return Err(SubstError::Brace(self.input.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [("A", "1"), ("E", ""), ("S", "two words")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms() {
        let v = vars();
        let w = |s: &str| word(s, &v, '\\').unwrap();
        assert_eq!(w("$A"), "1");
        assert_eq!(w("${A}x"), "1x");
        assert_eq!(w("$Ax"), "");
        assert_eq!(w("${N:-dflt}"), "dflt");
        assert_eq!(w("${E:-dflt}"), "dflt");
        assert_eq!(w("${E-dflt}"), "");
        assert_eq!(w("${A:+set}"), "set");
        assert_eq!(w("${N:+set}"), "");
        assert_eq!(w("${N:-${A}}"), "1");
        assert_eq!(w("a$"), "a$");
        assert_eq!(w("100%"), "100%");
        assert!(word("${N:?needed}", &v, '\\').is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        let v = vars();
        let w = |s: &str| word(s, &v, '\\').unwrap();
        assert_eq!(w("'$A'"), "$A");
        assert_eq!(w("\"$A b\""), "1 b");
        assert_eq!(w("\\$A"), "$A");
        assert_eq!(w("x\\ y"), "x y");
        assert_eq!(w("\"a\\\"b\""), "a\"b");
        assert_eq!(word("`$A", &v, '`').unwrap(), "$A");
        assert!(word("\"open", &v, '\\').is_err());
        assert!(word("${A", &v, '\\').is_err());
    }

    #[test]
    fn words_split_outside_quotes() {
        let v = vars();
        assert_eq!(
            words("a \"b c\" $A ''", &v, '\\').unwrap(),
            vec!["a", "b c", "1", ""]
        );
        assert_eq!(words("  ", &v, '\\').unwrap(), Vec::<String>::new());
    }
}
