//! `.dockerignore` for build contexts, as the docker CLI reads it: one pattern a line, `#`
//! comments, `!` exceptions, the last matching line wins; patterns are cleaned paths relative
//! to the context (a leading `/` is dropped) whose segments use Go's `filepath.Match` syntax
//! (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes), plus `**` for any number of directories. A pattern
//! that matches a directory excludes everything below it.
//!
//! Not supported: `**` inside a segment (`**.go` is read as `*.go`).

use std::path::{Component, Path};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    /// `false` for an exception (`!pattern`).
    exclude: bool,
    segments: Vec<String>,
}

/// The rules of one `.dockerignore`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ignore {
    rules: Vec<Rule>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclude, pattern) = match line.strip_prefix('!') {
                Some(p) => (false, p.trim()),
                None => (true, line),
            };
            let mut segments: Vec<String> = Vec::new();
            for s in pattern.split('/') {
                match s {
                    "" | "." => {}
                    ".." => {
                        segments.pop();
                    }
                    s => segments.push(s.to_string()),
                }
            }
            if !segments.is_empty() {
                rules.push(Rule { exclude, segments });
            }
        }
        Ignore { rules }
    }

    /// The `.dockerignore` of `context`, if it has one.
    pub fn load(context: &Path) -> std::io::Result<Option<Ignore>> {
        match std::fs::read_to_string(context.join(".dockerignore")) {
            Ok(text) => Ok(Some(Ignore::parse(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| !r.exclude)
    }

    /// Whether `rel` (relative to the context) is left out of the context.
    pub fn excludes(&self, rel: &Path) -> bool {
        let parts: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let mut excluded = false;
        for rule in &self.rules {
            let hit = (1..=parts.len()).any(|n| match_segments(&rule.segments, &parts[..n]));
            if hit {
                excluded = rule.exclude;
            }
        }
        excluded
    }
}

fn match_segments(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|k| match_segments(rest, &path[k..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, path_rest)) => {
                glob(first.as_bytes(), name.as_bytes()) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Go's `filepath.Match` for one segment.
pub(crate) fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => {
            let rest = {
                let mut r = rest;
                while let Some((b'*', more)) = r.split_first() {
                    r = more;
                }
                r
            };
            (0..=s.len()).any(|k| glob(rest, &s[k..]))
        }
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some((&c, s_rest)) = s.split_first() else {
                return false;
            };
            let (negate, mut body) = match rest.split_first() {
                Some((b'^' | b'!', b)) => (true, b),
                _ => (false, rest),
            };
            let mut matched = false;
            let mut first = true;
            loop {
                match body.split_first() {
                    None => return false, // unterminated class: no match
                    Some((b']', after)) if !first => {
                        body = after;
                        break;
                    }
                    Some(_) => {
                        let (lo, after) = class_char(body);
                        let (hi, after) = match after.split_first() {
                            Some((b'-', more)) if more.first() != Some(&b']') => class_char(more),
                            _ => (lo, after),
                        };
                        if lo <= c && c <= hi {
                            matched = true;
                        }
                        body = after;
                    }
                }
                first = false;
            }
            matched != negate && glob(body, s_rest)
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && glob(&rest[1..], &s[1..])
        }
        Some((&c, rest)) => s.first() == Some(&c) && glob(rest, &s[1..]),
    }
}

fn class_char(p: &[u8]) -> (u8, &[u8]) {
    match p {
        [b'\\', c, rest @ ..] => (*c, rest),
        [c, rest @ ..] => (*c, rest),
        [] => (0, p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let i = Ignore::parse(
            "# comment\n*.log\n/secret\nnode_modules\n**/tmp\ndocs/*\n!docs/keep.md\n[a-c].txt\n",
        );
        let ex = |p: &str| i.excludes(Path::new(p));
        assert!(ex("a.log"));
        assert!(!ex("sub/a.log"), "`*.log` is anchored at the context root");
        assert!(ex("secret"));
        assert!(ex("secret/inner"));
        assert!(ex("node_modules/x/y"));
        assert!(ex("tmp"));
        assert!(ex("a/b/tmp/c"));
        assert!(ex("docs/a.md"));
        assert!(!ex("docs/keep.md"));
        assert!(ex("b.txt"));
        assert!(!ex("d.txt"));
        assert!(!ex("src/main.rs"));
        assert!(i.has_exceptions());
    }
}
