//! The stages of a Dockerfile and which of them a build needs: the `ARG`s before the first
//! `FROM` (the meta arguments, the only variables `FROM` lines see), then one stage per
//! `FROM`, named by `AS name`. Only the target stage (the `target` asked for, else the last)
//! and the stages it depends on (`FROM <stage>`, `COPY --from=<stage>`) are built, in file
//! order; the others are skipped, as BuildKit does, so a broken unused stage costs nothing.

use std::collections::BTreeSet;

use super::dockerfile::{name_values, Instruction, ParseError};
use super::substitute::{self, Vars};

/// One `FROM` and the instructions after it.
#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lower case.
    pub name: Option<String>,
    /// The base as written after substitution of the meta arguments.
    pub base: String,
    /// The `FROM` instruction itself.
    pub from: Instruction,
    pub body: Vec<Instruction>,
}

/// What a build runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub meta: Vec<Instruction>,
    /// The meta arguments' values (build arguments over defaults).
    pub meta_args: Vars,
    pub stages: Vec<Stage>,
    /// Indexes of the stages to build, ascending; the last is the target.
    pub needed: Vec<usize>,
}

impl Plan {
    /// The step count Docker prints (`Step i/N`): the meta `ARG`s and every instruction of
    /// the stages built.
    pub fn total_steps(&self) -> usize {
        self.meta.len()
            + self
                .needed
                .iter()
                .map(|i| 1 + self.stages[*i].body.len())
                .sum::<usize>()
    }

    /// The stage a `FROM` or `--from` value names (by name, or by index for `--from`).
    pub fn stage_named(&self, name: &str, before: usize, by_index: bool) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self.stages[..before]
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(s.index);
        }
        if by_index {
            return name.parse::<usize>().ok().filter(|i| *i < before);
        }
        None
    }
}

/// Splits `instructions` into stages and picks those needed for `target`.
pub fn plan(
    instructions: Vec<Instruction>,
    target: Option<&str>,
    build_args: &std::collections::BTreeMap<String, String>,
    escape: char,
) -> Result<Plan, ParseError> {
    let mut meta = Vec::new();
    let mut meta_args = Vars::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "FROM" {
            let err = |message: String| ParseError {
                line: ins.line,
                message,
            };
            let words = substitute::words(&ins.args, &meta_args, escape)
                .map_err(|e| err(format!("FROM: {e}")))?;
            let (base, name) = match words.as_slice() {
                [b] => (b.clone(), None),
                [b, as_, n] if as_.eq_ignore_ascii_case("as") => {
                    (b.clone(), Some(n.to_ascii_lowercase()))
                }
                _ => {
                    return Err(err(
                        "FROM requires either one or three arguments (`FROM image [AS name]`)"
                            .into(),
                    ))
                }
            };
            if base.is_empty() {
                return Err(err("FROM: the base image name is empty".into()));
            }
            if let Some(n) = &name {
                if stages.iter().any(|s| s.name.as_ref() == Some(n)) {
                    return Err(err(format!("duplicate name {n}")));
                }
            }
            stages.push(Stage {
                index: stages.len(),
                name,
                base,
                from: ins,
                body: Vec::new(),
            });
            continue;
        }
        match stages.last_mut() {
            Some(s) => s.body.push(ins),
            None if ins.keyword == "ARG" => {
                for (k, v) in name_values(&ins.args, ins.line, "ARG")? {
                    let value = match build_args.get(&k) {
                        Some(v) => Some(v.clone()),
                        None if ins.args.contains('=') => {
                            Some(substitute::word(&v, &meta_args, escape).map_err(|e| {
                                ParseError {
                                    line: ins.line,
                                    message: format!("ARG: {e}"),
                                }
                            })?)
                        }
                        None => None,
                    };
                    if let Some(v) = value {
                        meta_args.insert(k, v);
                    }
                }
                meta.push(ins);
            }
            None => {
                return Err(ParseError {
                    line: ins.line,
                    message: format!(
                        "{} before the first FROM (only ARG may come first)",
                        ins.keyword
                    ),
                })
            }
        }
    }
    if stages.is_empty() {
        return Err(ParseError {
            line: 1,
            message: "the Dockerfile has no FROM instruction".into(),
        });
    }
    let mut plan = Plan {
        meta,
        meta_args,
        stages,
        needed: Vec::new(),
    };
    let target_index = match target {
        None => plan.stages.len() - 1,
        Some(t) => plan
            .stage_named(t, plan.stages.len(), false)
            .ok_or_else(|| ParseError {
                line: 1,
                message: format!("failed to reach build target {t} in Dockerfile"),
            })?,
    };
    let mut needed = BTreeSet::new();
    let mut todo = vec![target_index];
    while let Some(i) = todo.pop() {
        if !needed.insert(i) {
            continue;
        }
        let stage = &plan.stages[i];
        if let Some(dep) = plan.stage_named(&stage.base, i, false) {
            todo.push(dep);
        }
        for ins in &stage.body {
            if !matches!(ins.keyword.as_str(), "COPY" | "ADD") {
                continue;
            }
            for (k, v) in &ins.flags {
                if k == "from" {
                    if let Some(dep) = plan.stage_named(v, i, true) {
                        todo.push(dep);
                    }
                }
            }
        }
    }
    plan.needed = needed.into_iter().collect();
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::dockerfile::parse;
    use super::*;

    fn args(kv: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn target_and_dependencies_only() {
        let text = "ARG BASE=busybox\nFROM ${BASE} AS base\nRUN a\nFROM base AS final\nCOPY --from=helper / /\nRUN b\nFROM base AS unused\nRUN exit 7\n";
        // `helper` does not exist: a --from that names no stage is an image.
        let p = plan(parse(text).unwrap(), Some("final"), &args(&[]), '\\').unwrap();
        assert_eq!(p.needed, vec![0, 1]);
        assert_eq!(p.stages[0].base, "busybox");
        assert_eq!(p.total_steps(), 1 + 2 + 3);
        let p = plan(
            parse(text).unwrap(),
            None,
            &args(&[("BASE", "alpine")]),
            '\\',
        )
        .unwrap();
        assert_eq!(p.needed, vec![0, 2]);
        assert_eq!(p.stages[0].base, "alpine");
    }

    #[test]
    fn copy_from_a_stage_by_index() {
        let text = "FROM a\nRUN x\nFROM b\nRUN y\nFROM c\nCOPY --from=0 /x /x\n";
        let p = plan(parse(text).unwrap(), None, &args(&[]), '\\').unwrap();
        assert_eq!(p.needed, vec![0, 2]);
    }

    #[test]
    fn errors() {
        let e = plan(parse("RUN x\n").unwrap(), None, &args(&[]), '\\').unwrap_err();
        assert_eq!(e.line, 1);
        let e = plan(parse("FROM a\nFROM b c\n").unwrap(), None, &args(&[]), '\\').unwrap_err();
        assert_eq!(e.line, 2);
        let e = plan(parse("FROM a AS x\n").unwrap(), Some("y"), &args(&[]), '\\').unwrap_err();
        assert!(e.message.contains("target y"), "{e}");
    }
}
