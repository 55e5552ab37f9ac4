//! Loading errors: typed, positioned, and rendered like compiler diagnostics.
//!
//! Every error has a [`Problem`] kind (for tests and exit codes), a message in compose-go's
//! wording where one exists, and where possible a [`Span`] (`file:line:col`) and/or the dotted
//! path of the value (`services.web.ports[0]`). Loading collects all errors it can before
//! stopping; [`render`] prints them with the source line and a caret.

use std::fmt;

use super::source::{SourceMap, Span};

/// What kind of problem an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The file could not be read, or is too large, or is not UTF-8.
    Io,
    /// YAML syntax, aliases, nesting.
    Syntax,
    /// A value has the wrong type or shape (compose-go's schema errors).
    Schema,
    /// A value is well-typed but invalid (bad port, bad duration...).
    Invalid,
    /// `${...}` could not be substituted.
    Interpolation,
    /// A `.env` / `env_file` could not be parsed or found.
    EnvFile,
    /// A reference to an undefined service, network, volume, secret or config.
    Reference,
    /// A dependency, `extends` or `include` cycle.
    Cycle,
    /// Conflicting definitions (container names, include conflicts, mutually exclusive keys).
    Conflict,
    /// Project name or command-line problems.
    Usage,
}

/// One loading error.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    pub problem: Problem,
    pub message: String,
    pub span: Option<Span>,
    pub path: Option<String>,
}

impl LoadError {
    pub fn new(problem: Problem, message: impl Into<String>) -> Self {
        LoadError {
            problem,
            message: message.into(),
            span: None,
            path: None,
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        if !span.is_synthetic() {
            self.span = Some(span);
        }
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        if let Some(s) = span {
            self = self.at(s);
        }
        self
    }

    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_string());
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// All errors of one load.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadErrors {
    pub errors: Vec<LoadError>,
    pub sources: SourceMap,
}

impl LoadErrors {
    pub fn one(e: LoadError, sources: SourceMap) -> Self {
        LoadErrors {
            errors: vec![e],
            sources,
        }
    }

    /// The diagnostics, without colour.
    pub fn render(&self) -> String {
        self.errors
            .iter()
            .map(|e| render(e, &self.sources))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl PartialEq for SourceMap {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for LoadErrors {}

/// Renders one error:
///
/// ```text
/// error: services.web additional properties 'imagee' not allowed
///   --> /p/compose.yaml:4:5
///    |
///  4 |     imagee: nginx
///    |     ^
/// ```
pub fn render(e: &LoadError, sources: &SourceMap) -> String {
    let mut out = format!("error: {}", e.message);
    match e.span {
        Some(span) => {
            out.push_str(&format!("\n  --> {}", sources.describe(span)));
            if let Some(line) = sources.line_text(span.file, span.line) {
                let num = span.line.to_string();
                let pad = " ".repeat(num.len());
                // Long lines are shown as a window around the caret.
                let col0 = span.col.max(1) as usize - 1;
                let skip = col0.saturating_sub(120);
                let mut line_shown: String = line.chars().skip(skip).take(200).collect();
                if skip > 0 {
                    line_shown.insert_str(0, "...");
                }
                let caret_col =
                    (col0 - skip + if skip > 0 { 3 } else { 0 }).min(line_shown.chars().count());
                let lead: String = line_shown
                    .chars()
                    .take(caret_col)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!(
                    "\n {pad} |\n {num} | {line_shown}\n {pad} | {lead}^"
                ));
            }
        }
        None => {
            if let Some(p) = &e.path {
                if !e.message.contains(p.as_str()) {
                    out.push_str(&format!("\n  --> at {p}"));
                }
            }
        }
    }
    out
}
