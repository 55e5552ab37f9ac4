//! Interpolation phase: substitutes `${VAR}` in every string value of a file's tree.
//!
//! Runs per file, before merging, on values only (mapping keys are never interpolated),
//! exactly like compose-go. Errors name the dotted path of the value and its position;
//! every failing value of the file is reported, not only the first.

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
    match &mut node.value {
        Value::String(s) => {
            if !s.contains('$') {
                return;
            }
            match interpolate::substitute(s, lookup) {
                Ok(out) => {
                    unset.extend(out.unset);
                    *s = out.value;
                }
                Err(e) => errors.push(template_error(e, path, s).at(node.span).path(path)),
            }
        }
        Value::Seq(items) => {
            let len = path.len();
            for (i, item) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                apply(item, path, lookup, unset, errors);
                path.truncate(len);
            }
        }
        Value::Map(map) => {
            let len = path.len();
            for (k, entry) in map.iter_mut() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                apply(&mut entry.value, path, lookup, unset, errors);
                path.truncate(len);
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
