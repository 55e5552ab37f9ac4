//! Source files and positions.
//!
//! Every value loaded from a compose file keeps a [`Span`] so that an error can name
//! `file:line:column`, also in override and included files. Files are registered once in
//! a [`SourceMap`] and referred to by a small [`FileId`], which keeps spans `Copy` and small.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Index of a file in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A position in a source file: 1-based line and column (column counted in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
}

impl Span {
    /// A span for values that do not come from a file (defaults, command line).
    pub const SYNTHETIC: Span = Span {
        file: FileId(u32::MAX),
        line: 0,
        col: 0,
    };

    pub fn new(file: FileId, line: u32, col: u32) -> Self {
        Span { file, line, col }
    }

    pub fn is_synthetic(&self) -> bool {
        self.file.0 == u32::MAX || self.line == 0
    }
}

/// One loaded source file.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as shown to users (absolute, or `-` for stdin).
    pub path: PathBuf,
    pub text: String,
}

/// All files read while loading a project. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Arc<RwLock<Vec<Arc<SourceFile>>>>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a file and returns its id.
    pub fn add(&self, path: impl Into<PathBuf>, text: impl Into<String>) -> FileId {
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        files.push(Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
        }));
        FileId((files.len() - 1) as u32)
    }

    pub fn get(&self, id: FileId) -> Option<Arc<SourceFile>> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files.get(id.0 as usize).cloned()
    }

    pub fn path(&self, id: FileId) -> Option<PathBuf> {
        self.get(id).map(|f| f.path.clone())
    }

    /// The text of one line (1-based), without its line terminator.
    pub fn line_text(&self, id: FileId, line: u32) -> Option<String> {
        let file = self.get(id)?;
        file.text
            .split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.trim_end_matches('\r').to_string())
    }

    /// `file:line:col` for a span, or just the file when the span has no line.
    pub fn describe(&self, span: Span) -> String {
        match self.path(span.file) {
            Some(p) if span.line > 0 => format!("{}:{}:{}", display_path(&p), span.line, span.col),
            Some(p) => display_path(&p),
            None => String::from("<unknown>"),
        }
    }
}

pub fn display_path(p: &Path) -> String {
    p.display().to_string()
}
