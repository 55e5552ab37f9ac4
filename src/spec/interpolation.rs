//! Interpolation phase: substitutes `${VAR}` in every string value of a file's tree.
//!
//! Runs per file, before merging, on values only (mapping keys are never interpolated),
//! exactly like compose-go. Errors name the dotted path of the value and its position;
//! every failing value of the file is reported, not only the first.

use std::fmt::Write;

use super::error::{LoadError, Problem};
use super::interpolate::{self, TemplateError};
use super::node::{Node, Value};

/// Variables used unset, for the "variable is not set" warnings (deduplicated by the caller).
pub type Unset = Vec<String>;

/// Interpolates `node` in place. `path` is the dotted path of `node` (empty for the root).
pub fn apply(
    node: &mut Node,
    path: &mut String,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Unset,
    errors: &mut Vec<LoadError>,
) {
    walk(node, &At::Root(path), lookup, unset, errors);
}

/// Where a value sits, as a chain of borrowed steps: the dotted path text is only needed for
/// an error, so it is not built for each of the (many) values visited.
enum At<'p> {
    Root(&'p str),
    Key(&'p At<'p>, &'p str),
    Index(&'p At<'p>, usize),
}

impl At<'_> {
    fn render(&self, out: &mut String) {
        match self {
            At::Root(r) => out.push_str(r),
            At::Key(parent, k) => {
                parent.render(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            At::Index(parent, i) => {
                parent.render(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

fn walk(
    node: &mut Node,
    at: &At<'_>,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Unset,
    errors: &mut Vec<LoadError>,
) {
    match &mut node.value {
        Value::String(s) => {
            // Most values have no `$`; a byte scan is cheaper than `str::contains` on them.
            if !s.bytes().any(|c| c == b'$') {
                return;
            }
            match interpolate::substitute(s, lookup) {
                Ok(out) => {
                    unset.extend(out.unset);
                    *s = out.value;
                }
                Err(e) => {
                    let mut path = String::new();
                    at.render(&mut path);
                    errors.push(template_error(e, &path, s).at(node.span).path(&path))
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &At::Index(at, i), lookup, unset, errors);
            }
        }
        Value::Map(map) => {
            for (k, entry) in map.iter_mut() {
                walk(&mut entry.value, &At::Key(at, k), lookup, unset, errors);
            }
        }
        _ => {}
    }
}

fn template_error(e: TemplateError, path: &str, template: &str) -> LoadError {
    match e {
        TemplateError::Required { .. } => {
            LoadError::new(Problem::Interpolation, format!("error while interpolating {path}: {e}"))
        }
        TemplateError::Invalid { .. } => LoadError::new(
            Problem::Interpolation,
            format!("invalid interpolation format for {path}.\nYou may need to escape any $ with another $.\n{template}"),
        ),
        TemplateError::TooDeep => LoadError::new(Problem::Interpolation, format!("error while interpolating {path}: {e}")),
    }
}
