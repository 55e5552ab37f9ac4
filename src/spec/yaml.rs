//! YAML → spanned [`Node`] tree, resolving scalars the way Docker Compose does.
//!
//! Docker Compose v2 (compose-go) reads files with Go's `gopkg.in/yaml.v3`, decoding into
//! `interface{}`, and then rejects non-string mapping keys. Exact parity needs exactly that
//! behaviour, so this module reproduces what that pipeline makes of a file, while keeping a
//! [`Span`] on every node and key so later phases can point at `file:line:col`:
//!
//! * plain scalars resolve like yaml.v3 (`0755` is 493, `08` is the float 8, `yes` is a
//!   string, `0b-101` is -5, `1e400` is a string); quoted and block scalars are strings.
//!   Timestamps stay strings (the tree has no time type): see [`is_timestamp`];
//! * core tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!binary`, `!!timestamp`)
//!   convert or fail with yaml.v3's "cannot decode" error; `!reset` / `!override` become
//!   [`Tag::Reset`] / [`Tag::Override`]; any other tag is ignored as Docker Compose does (a
//!   tagged scalar is a string, a tagged collection stays what it is);
//! * `<<` merge keys, duplicate keys, anchors and aliases follow yaml.v3 (anchors live across
//!   the documents of a stream), and non-string keys give compose-go's
//!   `non-string key in <path>: <key>` error (after the other errors of the document, and not
//!   inside `!reset` values, which compose-go drops first);
//! * hostile input is bounded by [`Limits`]: nesting depth (also through aliases), the number
//!   of nodes materialised through aliases and scalar size.
//!
//! It works in one pass over the `yaml-rust2` events, with an explicit stack (no recursion).
//! The events of the plain block YAML most compose files are written in come from a much
//! faster line-based reader instead ([`fast`]), which gives exactly `yaml-rust2`'s events and
//! marks or gives up, and then the stream is read again with `yaml-rust2`; so everything below
//! (limits, errors and their positions) is the same whichever reader is used.
//! Each event is first checked against the limits using the size and height of every anchored
//! subtree, computed once where the anchor is defined, so a billion-laughs file fails before
//! anything is copied. Anchored nodes are copied as they complete, for the aliases that may
//! follow; should these copies get out of proportion with the input (nested anchors that
//! nothing uses), the stream is read again, first to learn which anchors are used, then to
//! build copying only those.
//!
//! `yaml-rust2` quirks worked around here: 0-based columns; block mappings marked at the end
//! of their first key and indentless sequences at their first item (we use the first key and
//! the `-`); empty values marked at the next token, often lines later (we use the key, or the
//! `-` / tag written before); block scalars marked at their content (we use the `|` / `>`);
//! tab errors marked at the start of the token (we find the tab); an unclosed `[`/`{`
//! reported at the end of the file (we point at the bracket); a NUL silently ending the input
//! and no check for control characters (we pre-scan the text like libyaml's reader does); a
//! leading BOM not skipped; an empty implicit key (`: x`) accepted; a flow-nesting limit of
//! 255 levels of its own (reported as "nesting too deep"). Anchor names are read back from
//! the text because its events only carry anchor ids.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, Parser, Tag as YTag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::node::{format_go_float, Entry, Map, Node, Tag, Value};
use super::source::{FileId, Span};

mod fast;

/// Bounds that protect the loader from hostile files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest allowed nesting of sequences and mappings (also through aliases).
    pub max_depth: usize,
    /// Total number of nodes that alias expansions may materialise in one stream.
    pub max_alias_nodes: usize,
    /// Longest allowed scalar, in bytes.
    pub max_scalar_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_alias_nodes: 1_000_000,
            max_scalar_bytes: 8 * 1024 * 1024,
        }
    }
}

/// A YAML error. The message never includes the position: the caller prints `file:line:col`
/// from [`YamlError::span`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// A scanner or parser error from the YAML grammar.
    #[error("{message}")]
    Syntax { message: String, span: Span },
    /// A character libyaml refuses to read (NUL, other C0/C1 controls, DEL, U+FFFE/U+FFFF).
    #[error("control characters are not allowed (found U+{code:04X})")]
    ControlCharacter { code: u32, span: Span },
    #[error("nesting too deep (more than {limit} levels)")]
    NestingTooDeep { limit: usize, span: Span },
    #[error("alias expansion limit exceeded (more than {limit} nodes)")]
    AliasLimit { limit: usize, span: Span },
    #[error("scalar too long ({len} bytes, limit is {limit})")]
    ScalarTooLong {
        len: usize,
        limit: usize,
        span: Span,
    },
    #[error("unknown anchor '{name}' referenced")]
    UnknownAnchor { name: String, span: Span },
    #[error("anchor '{name}' value contains itself")]
    RecursiveAlias { name: String, span: Span },
    /// Same wording as yaml.v3; `first_line` is the line of the earlier definition.
    #[error("mapping key {key:?} already defined at line {first_line}")]
    DuplicateKey {
        key: String,
        first_line: u32,
        span: Span,
    },
    /// A sequence or mapping used as a mapping key.
    #[error("invalid map key: a {kind} cannot be a mapping key")]
    InvalidKey { kind: &'static str, span: Span },
    /// compose-go's error for keys that do not resolve to strings (`123:`, `true:`, `~:`).
    /// `path` is empty at the top level; `key` is Go's `%#v` of the key.
    #[error("non-string key {}: {key}", key_location(path))]
    NonStringKey {
        path: String,
        key: String,
        span: Span,
    },
    #[error("map merge requires map or sequence of maps as the value")]
    MergeNotMap { span: Span },
    /// A core tag the value does not fit (`!!int abc`), worded like yaml.v3.
    #[error("cannot decode {found} `{value}` as a {tag}")]
    TagMismatch {
        found: &'static str,
        value: String,
        tag: &'static str,
        span: Span,
    },
    #[error("!!binary value contains invalid base64 data")]
    InvalidBinary { span: Span },
    /// A tag that is neither a YAML core tag nor `!reset` / `!override` (`!!python/object`,
    /// `!custom`). Docker Compose ignores such tags; rcompose refuses them, as a tag that asks
    /// for a language object or an application type is never what a compose file means.
    #[error("unknown tag {tag}: only the YAML core tags, !reset and !override are allowed")]
    UnknownTag { tag: String, span: Span },
}

fn key_location(path: &str) -> String {
    if path.is_empty() {
        "at top level".to_string()
    } else {
        format!("in {path}")
    }
}

impl YamlError {
    pub fn span(&self) -> Span {
        match self {
            YamlError::Syntax { span, .. }
            | YamlError::ControlCharacter { span, .. }
            | YamlError::NestingTooDeep { span, .. }
            | YamlError::AliasLimit { span, .. }
            | YamlError::ScalarTooLong { span, .. }
            | YamlError::UnknownAnchor { span, .. }
            | YamlError::RecursiveAlias { span, .. }
            | YamlError::DuplicateKey { span, .. }
            | YamlError::InvalidKey { span, .. }
            | YamlError::NonStringKey { span, .. }
            | YamlError::MergeNotMap { span }
            | YamlError::TagMismatch { span, .. }
            | YamlError::InvalidBinary { span }
            | YamlError::UnknownTag { span, .. } => *span,
        }
    }
}

/// All documents of the stream (a file may hold several `---` documents). A file with no
/// document (empty, only comments) returns an empty Vec; an explicit empty document is Null.
pub fn parse(text: &str, file: FileId, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_characters(text, file)?;
    let index = TextIndex::new(text, file);
    // The common shape of compose files is read by a much faster reader giving the same
    // events; when it meets anything else, the whole stream is read again by yaml-rust2.
    if fast::eligible(text) {
        if let Ok(result) = parse_with(&index, limits, true) {
            return result;
        }
    }
    match parse_with(&index, limits, false) {
        Ok(result) => result,
        Err(fast::Unsupported) => unreachable!("only the fast reader gives up"),
    }
}

/// [`parse`] with one event source; `Err` when the fast one gave up.
fn parse_with(
    index: &TextIndex<'_>,
    limits: &Limits,
    fast: bool,
) -> Result<Result<Vec<Node>, YamlError>, fast::Unsupported> {
    // One pass, copying every anchored node as it completes (an alias may follow).
    match Loader::new(index, limits, Keep::All, fast).run() {
        Ok(docs) => return Ok(Ok(docs)),
        Err(Stop::Error(e)) => return Ok(Err(e)),
        Err(Stop::Unsupported) => return Err(fast::Unsupported),
        Err(Stop::TooManyCopies) => {}
    }
    // The copies got out of proportion with the input (nested anchors that nothing uses, or
    // aliases heading for the expansion limit): check the whole stream first, learning which
    // anchors are used, then build the documents before the first failing one, copying only
    // those anchors.
    let mut learn = Loader::new(index, limits, Keep::Learn, fast);
    let checked = learn.run();
    if matches!(checked, Err(Stop::Unsupported)) {
        return Err(fast::Unsupported);
    }
    let mut build = Loader::new(
        index,
        limits,
        Keep::Only(std::mem::take(&mut learn.referenced)),
        fast,
    );
    if checked.is_err() {
        build.max_docs = learn.docs_done;
    }
    let docs = match build.run() {
        Ok(docs) => docs,
        Err(Stop::Error(e)) => return Ok(Err(e)),
        Err(Stop::Unsupported) => return Err(fast::Unsupported),
        Err(Stop::TooManyCopies) => unreachable!("only Keep::All has a copy budget"),
    };
    Ok(match checked {
        Err(Stop::Error(e)) => Err(e),
        _ => Ok(docs),
    })
}

// ---------------------------------------------------------------------------------------------
// Event sources

/// A position as yaml-rust2 marks it: index in characters, 1-based line, 0-based column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    index: usize,
    line: usize,
    col: usize,
}

impl Mark {
    fn index(&self) -> usize {
        self.index
    }
    fn line(&self) -> usize {
        self.line
    }
    fn col(&self) -> usize {
        self.col
    }
}

impl From<&Marker> for Mark {
    fn from(m: &Marker) -> Self {
        Mark {
            index: m.index(),
            line: m.line(),
            col: m.col(),
        }
    }
}

enum SourceError {
    Scan(ScanError),
    /// The fast reader gave up (see [`fast`]).
    Unsupported,
}

/// Where the loader's events come from: yaml-rust2, or the fast reader of the common subset.
enum Source<'a> {
    Full(Box<Parser<std::str::Chars<'a>>>),
    Fast(Box<fast::Events<'a>>),
}

impl<'a> Source<'a> {
    fn new(text: &'a str, fast: bool) -> Self {
        if fast {
            Source::Fast(Box::new(fast::Events::new(text)))
        } else {
            Source::Full(Box::new(Parser::new_from_str(text)))
        }
    }

    fn next(&mut self) -> Result<(Event, Mark), SourceError> {
        match self {
            Source::Full(p) => p
                .next_token()
                .map(|(e, m)| (e, Mark::from(&m)))
                .map_err(SourceError::Scan),
            Source::Fast(f) => f.next_event().map_err(|_| SourceError::Unsupported),
        }
    }

    /// After the loader stopped at an error: whether the fast reader accepts the rest of the
    /// stream. Only then are its events up to the error those of yaml-rust2, which could
    /// otherwise have failed first on a token it reads ahead.
    fn rest_supported(&mut self) -> bool {
        match self {
            Source::Full(_) => true,
            Source::Fast(f) => loop {
                match f.next_event() {
                    Ok((Event::StreamEnd, _)) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Positions

/// Maps yaml-rust2 markers (1-based line, 0-based column, index in chars) to spans and bytes.
struct TextIndex<'a> {
    text: &'a str,
    file: FileId,
    ascii: bool,
    /// Byte offset of every 64th character (only for non-ASCII text).
    checkpoints: Vec<usize>,
    /// Byte offset where each line starts (line breaks: `\r\n`, `\n`, `\r`), built on first
    /// use so that positions are a binary search, not a rescan of the text.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> TextIndex<'a> {
    fn new(text: &'a str, file: FileId) -> Self {
        let ascii = text.is_ascii();
        let checkpoints = if ascii {
            Vec::new()
        } else {
            text.char_indices().step_by(64).map(|(b, _)| b).collect()
        };
        TextIndex {
            text,
            file,
            ascii,
            checkpoints,
            line_starts: std::cell::OnceCell::new(),
        }
    }

    fn span(&self, m: &Mark) -> Span {
        Span::new(self.file, to_u32(m.line().max(1)), to_u32(m.col() + 1))
    }

    /// Byte offset of the character with index `ci` (clamped to the end of the text).
    fn byte_of(&self, ci: usize) -> usize {
        if self.ascii {
            return ci.min(self.text.len());
        }
        let Some(&start) = self.checkpoints.get(ci / 64) else {
            return self.text.len();
        };
        self.text[start..]
            .char_indices()
            .nth(ci % 64)
            .map_or(self.text.len(), |(b, _)| start + b)
    }

    /// Where the tag of the node marked at `m` starts: yaml-rust2 marks a tagged node at its
    /// content (or at the next token when it is empty), so this looks back for the nearest
    /// `!` that starts a token. Only for error positions; `m`'s span when none is found.
    fn tag_span(&self, m: &Mark) -> Span {
        let end = self.byte_of(m.index());
        let bytes = self.text.as_bytes();
        let floor = end.saturating_sub(4096);
        let mut i = end;
        while i > floor {
            i -= 1;
            let starts_token = i == 0
                || matches!(
                    bytes[i - 1],
                    b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b','
                );
            if bytes[i] == b'!' && starts_token {
                return self.span_of_byte(i);
            }
        }
        self.span(m)
    }

    fn char_at(&self, m: &Mark) -> Option<char> {
        self.text[self.byte_of(m.index())..].chars().next()
    }

    /// Span of the byte offset `b`, computed from the text (yaml-rust2's line breaks: `\r\n`,
    /// `\n`, `\r`).
    fn span_of_byte(&self, b: usize) -> Span {
        let starts = self.line_starts.get_or_init(|| {
            let bytes = self.text.as_bytes();
            let mut v = vec![0];
            let mut i = find_break(bytes, 0);
            while i < bytes.len() {
                if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                    v.push(i + 1);
                }
                i = find_break(bytes, i + 1);
            }
            v
        });
        let b = b.min(self.text.len());
        let line_idx = starts.partition_point(|&s| s <= b).saturating_sub(1);
        let line_start = starts[line_idx];
        let col = self
            .text
            .get(line_start..b)
            .map_or(0, |t| t.chars().count())
            + 1;
        Span::new(self.file, to_u32(line_idx + 1), to_u32(col))
    }

    /// Where an empty value that yaml-rust2 places at a *later* token really is: the start of
    /// the last word before `m` (the `-` of an empty sequence entry, a tag, `---`), skipping
    /// blanks, line breaks and comments. For an empty entry of a block sequence yaml-rust2's
    /// mark is just after the *next* entry's `-`, so that dash is stepped over first.
    fn span_before(&self, m: &Mark, seq_entry: bool) -> Span {
        let text = self.text;
        let mut end = self.byte_of(m.index());
        if seq_entry {
            let line_start = text[..end].rfind(['\n', '\r']).map_or(0, |p| p + 1);
            let mut prefix = &text[line_start..end];
            if let Some(c) = comment_start(prefix) {
                prefix = &prefix[..c];
            }
            let prefix = prefix.trim_end_matches([' ', '\t']);
            let dash_alone = prefix
                .strip_suffix('-')
                .is_some_and(|p| p.is_empty() || p.ends_with([' ', '\t']));
            if dash_alone {
                end = line_start + prefix.len() - 1;
            }
        }
        loop {
            let trimmed = text[..end].trim_end_matches([' ', '\t', '\n', '\r']);
            if trimmed.is_empty() {
                return self.span(m);
            }
            end = trimmed.len();
            let line_start = text[..end].rfind(['\n', '\r']).map_or(0, |p| p + 1);
            if let Some(c) = comment_start(&text[line_start..end]) {
                end = line_start + c;
                continue;
            }
            let word_start = text[line_start..end]
                .rfind([' ', '\t'])
                .map_or(line_start, |p| line_start + p + 1);
            return self.span_of_byte(word_start);
        }
    }

    /// The tab a tab-related scanner error is about (yaml-rust2 reports the start of the
    /// token instead): a tab in the indentation of the marker's line, else a tab later on that
    /// line, else a tab in the indentation of a following line.
    fn find_tab(&self, m: &Mark) -> Option<Span> {
        let text = self.text;
        let at = self.byte_of(m.index());
        let line_start = text[..at].rfind(['\n', '\r']).map_or(0, |p| p + 1);
        let line_end = text[at..].find(['\n', '\r']).map_or(text.len(), |p| at + p);
        let indent = |start: usize| -> Option<usize> {
            let line = &text[start..];
            let ws = line.len() - line.trim_start_matches([' ', '\t']).len();
            line[..ws].find('\t').map(|p| start + p)
        };
        let found = indent(line_start)
            .or_else(|| text[at..line_end].find('\t').map(|p| at + p))
            .or_else(|| {
                let mut pos = line_end;
                while pos < text.len() {
                    pos += 1;
                    if let Some(t) = indent(pos) {
                        return Some(t);
                    }
                    pos = text[pos..]
                        .find(['\n', '\r'])
                        .map_or(text.len(), |p| pos + p);
                }
                None
            })?;
        Some(self.span_of_byte(found))
    }

    /// Whether the last token before `m` is an explicit-key indicator `?`.
    fn after_question_mark(&self, m: &Mark) -> bool {
        let before = &self.text[..self.byte_of(m.index())];
        let trimmed = before.trim_end_matches([' ', '\t', '\n', '\r']);
        trimmed
            .strip_suffix('?')
            .is_some_and(|p| p.is_empty() || p.ends_with([' ', '\t', '\n', '\r', '{', ',', '[']))
    }

    /// The anchor name of an alias written at `m` (`*name`).
    fn alias_name(&self, m: &Mark) -> String {
        let rest = &self.text[self.byte_of(m.index())..];
        let rest = rest.strip_prefix('*').unwrap_or(rest);
        rest.chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
            .collect()
    }
}

/// Byte offset of a `#` comment in one line (a `#` at the start or after a blank, outside
/// quotes); good enough for the lines `span_before` looks at.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && (prev == ' ' || prev == '\t') => return Some(i),
            None if (c == '"' || c == '\'') && (prev == ' ' || prev == '\t' || i == 0) => {
                quote = Some(c)
            }
            None => {}
        }
        prev = c;
    }
    None
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Rejects what libyaml's reader rejects: everything but TAB, LF, CR, printable ASCII, NEL,
/// U+00A0..U+D7FF, U+E000..U+FFFD and the supplementary planes.
fn check_characters(text: &str, file: FileId) -> Result<(), YamlError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}')
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}'
    };
    // Nearly always plain ASCII: check that a word at a time first.
    if all_bytes(text.as_bytes(), |c| {
        matches!(c, b'\t' | b'\n' | b'\r' | b' '..=b'~')
    }) {
        return Ok(());
    }
    if let Some((b, c)) = text.char_indices().find(|&(_, c)| !allowed(c)) {
        let span = TextIndex::new(&text[..b], file).span_of_byte(b);
        return Err(YamlError::ControlCharacter {
            code: c as u32,
            span,
        });
    }
    Ok(())
}

// Texts are megabytes long, so these scans work on many bytes per step.

/// Whether every byte satisfies `ok` (written so that it is vectorized: no early exit inside a
/// chunk).
#[inline]
fn all_bytes(b: &[u8], ok: impl Fn(u8) -> bool) -> bool {
    let mut chunks = b.chunks_exact(32);
    for c in &mut chunks {
        if !c.iter().fold(true, |acc, &x| acc & ok(x)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&x| ok(x))
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` equal to `byte`. Only the lowest set bit is exact (a
/// borrow can mark higher bytes too), which is all the callers use.
#[inline]
fn bytes_equal(x: u64, byte: u8) -> u64 {
    let v = x ^ (LO * u64::from(byte));
    v.wrapping_sub(LO) & !v & HI
}

/// Index of the first `a` or `b` in `text` at or after `from` (`text.len()` if none),
/// eight bytes at a time.
#[inline]
fn find_either(text: &[u8], from: usize, a: u8, b: u8) -> usize {
    let mut i = from;
    while i + 8 <= text.len() {
        let x = u64::from_le_bytes(text[i..i + 8].try_into().expect("8 bytes"));
        let z = bytes_equal(x, a) | bytes_equal(x, b);
        if z != 0 {
            return i + (z.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < text.len() && text[i] != a && text[i] != b {
        i += 1;
    }
    i
}

/// Index of the next line break character (`\n` or `\r`) at or after `from`.
#[inline]
fn find_break(text: &[u8], from: usize) -> usize {
    find_either(text, from, b'\n', b'\r')
}

// ---------------------------------------------------------------------------------------------
// The loader: one pass over the events, checking the limits and building the tree.
//
// Each event is first checked against the limits, using the size and height of every anchored
// subtree (computed once where the anchor is defined), so a billion-laughs file fails before
// anything is copied; then it goes to the tree builder. Errors keep yaml.v3's order: a
// limit, anchor or syntax error of a document wins over the tree errors (duplicate keys, merge,
// tags, ...) of the same document, which win over anything in later documents. So after a
// tree error the rest of the document is still checked, just not built.

/// Which completed anchored nodes are copied for later aliases.
enum Keep {
    /// All of them, within a budget proportional to the input ([`Stop::TooManyCopies`]).
    All,
    /// Build nothing; record which anchors aliases refer to.
    Learn,
    /// Those in the set (learnt by a [`Keep::Learn`] pass).
    Only(HashSet<usize>),
}

enum Stop {
    Error(YamlError),
    /// [`Keep::All`] copied too much: start over with [`Keep::Learn`].
    TooManyCopies,
    /// The fast reader gave up: read the stream with yaml-rust2.
    Unsupported,
}

impl From<YamlError> for Stop {
    fn from(e: YamlError) -> Self {
        Stop::Error(e)
    }
}

/// Nodes [`Keep::All`] may copy (anchored nodes and alias expansions) beyond one per node read.
const COPY_SLACK: u64 = 100_000;

/// Limit bookkeeping of an open collection.
struct GFrame {
    anchor: usize,
    marker: Mark,
    start_count: u64,
    max_child_height: usize,
}

/// Tree-building state of the document being read.
struct DocState {
    stack: Vec<Frame>,
    root: Option<Node>,
    /// A non-string key error, reported at the end of the document.
    deferred: Option<YamlError>,
}

struct Loader<'a> {
    ix: &'a TextIndex<'a>,
    limits: &'a Limits,
    keep: Keep,
    /// Size (nodes) and height of every completed anchored node; anchors live across the
    /// documents of a stream, as in yaml.v3.
    stats: HashMap<usize, (u64, usize)>,
    alias_total: u64,
    /// Anchor ids that some alias refers to (filled by [`Keep::Learn`] only).
    referenced: HashSet<usize>,
    /// Completed anchored nodes that are kept, by yaml-rust2 anchor id (stream-wide).
    anchors: HashMap<usize, Node>,
    /// Nodes read so far in the stream, and nodes copied (anchored nodes and alias expansions).
    read: u64,
    copied: u64,
    /// Documents read, and how many to read at most.
    docs_done: usize,
    max_docs: usize,
    /// Events from the fast reader (see [`fast`]) rather than yaml-rust2.
    fast: bool,
}

impl<'a> Loader<'a> {
    fn new(ix: &'a TextIndex<'a>, limits: &'a Limits, keep: Keep, fast: bool) -> Self {
        Loader {
            ix,
            limits,
            keep,
            stats: HashMap::new(),
            alias_total: 0,
            referenced: HashSet::new(),
            anchors: HashMap::new(),
            read: 0,
            copied: 0,
            docs_done: 0,
            max_docs: usize::MAX,
            fast,
        }
    }

    fn run(&mut self) -> Result<Vec<Node>, Stop> {
        let mut source = Source::new(self.ix.text, self.fast);
        let result = self.read(&mut source);
        match result {
            Err(Stop::Error(_)) if !source.rest_supported() => Err(Stop::Unsupported),
            other => other,
        }
    }

    fn read(&mut self, parser: &mut Source<'_>) -> Result<Vec<Node>, Stop> {
        let mut docs = Vec::new();
        loop {
            let (ev, m) = match parser.next() {
                Ok(x) => x,
                Err(SourceError::Scan(e)) => return Err(Stop::Error(self.scan_error(&e))),
                Err(SourceError::Unsupported) => return Err(Stop::Unsupported),
            };
            match ev {
                Event::StreamStart | Event::Nothing => continue,
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart if self.docs_done == self.max_docs => return Ok(docs),
                Event::DocumentStart => {
                    docs.push(self.document(parser)?);
                    self.docs_done += 1;
                }
                other => {
                    return Err(Stop::Error(YamlError::Syntax {
                        message: format!("unexpected event {other:?} outside a document"),
                        span: self.ix.span(&m),
                    }))
                }
            }
        }
    }

    /// The events after a `DocumentStart`, up to its `DocumentEnd`.
    fn document(&mut self, parser: &mut Source<'_>) -> Result<Node, Stop> {
        let mut frames: Vec<GFrame> = Vec::new();
        let mut count: u64 = 0;
        let mut doc = DocState {
            stack: Vec::new(),
            root: None,
            deferred: None,
        };
        let mut failed: Option<YamlError> = None;
        let build = !matches!(self.keep, Keep::Learn);
        loop {
            let (ev, m) = match parser.next() {
                Ok(x) => x,
                Err(SourceError::Scan(e)) => return Err(Stop::Error(self.unclosed(&e, &frames))),
                Err(SourceError::Unsupported) => return Err(Stop::Unsupported),
            };
            if self.check(&ev, &m, &mut frames, &mut count)? {
                break;
            }
            if build && failed.is_none() {
                match self.event(&mut doc, ev, m) {
                    Ok(()) => {}
                    Err(Stop::Error(e)) => {
                        failed = Some(e);
                        doc.stack = Vec::new();
                    }
                    Err(stop) => return Err(stop),
                }
            }
        }
        if let Some(e) = failed.or(doc.deferred) {
            return Err(Stop::Error(e));
        }
        Ok(doc
            .root
            .unwrap_or_else(|| Node::null(Span::new(self.ix.file, 1, 1))))
    }

    fn scan_error(&self, e: &ScanError) -> YamlError {
        let marker = Mark::from(e.marker());
        let span = self.ix.span(&marker);
        let info = e.info();
        if info == "recursion limit exceeded" {
            return YamlError::NestingTooDeep {
                limit: self.limits.max_depth.min(255),
                span,
            };
        }
        if info == "while parsing node, found unknown anchor" {
            return YamlError::UnknownAnchor {
                name: self.ix.alias_name(&marker),
                span,
            };
        }
        let (message, tab) = syntax_message(info);
        let span = if tab {
            self.ix.find_tab(&marker).unwrap_or(span)
        } else {
            span
        };
        YamlError::Syntax { message, span }
    }

    /// A scanner error inside a document: an unclosed `[` / `{` is reported at the end of the
    /// file; point at the bracket instead.
    fn unclosed(&self, e: &ScanError, frames: &[GFrame]) -> YamlError {
        let mut err = self.scan_error(e);
        if self.ix.byte_of(e.marker().index()) >= self.ix.text.len() {
            let open = frames
                .iter()
                .rev()
                .find_map(|f| match self.ix.char_at(&f.marker) {
                    Some('[') => Some((f.marker, ']')),
                    Some('{') => Some((f.marker, '}')),
                    _ => None,
                });
            if let (YamlError::Syntax { message, span }, Some((marker, close))) = (&mut err, open) {
                *span = self.ix.span(&marker);
                *message = format!("did not find expected ',' or '{close}' (unclosed collection)");
            }
        }
        err
    }

    /// Checks one event of a document against the limits. Returns true at the document's end.
    fn check(
        &mut self,
        ev: &Event,
        m: &Mark,
        frames: &mut Vec<GFrame>,
        count: &mut u64,
    ) -> Result<bool, YamlError> {
        let limits = *self.limits;
        // Height of a completed child node, to propagate to its parent.
        let mut child: Option<usize> = None;
        match ev {
            Event::DocumentEnd => return Ok(true),
            Event::Scalar(v, _, anchor, _) => {
                if v.len() > limits.max_scalar_bytes {
                    return Err(YamlError::ScalarTooLong {
                        len: v.len(),
                        limit: limits.max_scalar_bytes,
                        span: self.ix.span(m),
                    });
                }
                *count += 1;
                self.read += 1;
                if *anchor > 0 {
                    self.stats.insert(*anchor, (1, 1));
                }
                child = Some(1);
            }
            Event::Alias(id) => {
                if matches!(self.keep, Keep::Learn) {
                    self.referenced.insert(*id);
                }
                let Some(&(size, height)) = self.stats.get(id) else {
                    let name = self.ix.alias_name(m);
                    let span = self.ix.span(m);
                    if frames.iter().any(|f| f.anchor == *id) {
                        return Err(YamlError::RecursiveAlias { name, span });
                    }
                    return Err(YamlError::UnknownAnchor { name, span });
                };
                self.alias_total = self.alias_total.saturating_add(size);
                if self.alias_total > limits.max_alias_nodes as u64 {
                    return Err(YamlError::AliasLimit {
                        limit: limits.max_alias_nodes,
                        span: self.ix.span(m),
                    });
                }
                if frames.len() + height > limits.max_depth {
                    return Err(YamlError::NestingTooDeep {
                        limit: limits.max_depth,
                        span: self.ix.span(m),
                    });
                }
                *count = count.saturating_add(size);
                child = Some(height);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if frames.len() >= limits.max_depth {
                    return Err(YamlError::NestingTooDeep {
                        limit: limits.max_depth,
                        span: self.ix.span(m),
                    });
                }
                frames.push(GFrame {
                    anchor: *anchor,
                    marker: *m,
                    start_count: *count,
                    max_child_height: 0,
                });
                *count += 1;
                self.read += 1;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(f) = frames.pop() {
                    let height = f.max_child_height + 1;
                    if f.anchor > 0 {
                        self.stats
                            .insert(f.anchor, (*count - f.start_count, height));
                    }
                    child = Some(height);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::Nothing => {
                return Err(YamlError::Syntax {
                    message: "unexpected end of document".into(),
                    span: self.ix.span(m),
                });
            }
        }
        if let (Some(h), Some(top)) = (child, frames.last_mut()) {
            top.max_child_height = top.max_child_height.max(h);
        }
        Ok(false)
    }

    /// Builds one (checked) event into the document.
    fn event(&mut self, doc: &mut DocState, ev: Event, m: Mark) -> Result<(), Stop> {
        let span = self.ix.span(&m);
        let stack = &mut doc.stack;
        match ev {
            Event::DocumentStart
            | Event::DocumentEnd
            | Event::StreamStart
            | Event::StreamEnd
            | Event::Nothing => {}
            Event::Scalar(text, style, anchor, tag) => {
                let tk = classify_checked(tag.as_ref(), self.ix, &m).map_err(Stop::Error)?;
                let empty_plain = text.is_empty() && style == TScalarStyle::Plain;
                if let Some(Frame {
                    kind: Kind::Map(mf),
                    flow,
                    ..
                }) = stack.last()
                {
                    if mf.key.is_none() {
                        // yaml-rust2 accepts an empty implicit key (`: value`); yaml.v3 does
                        // not (an explicit `? ` with no key is a null key in both).
                        if empty_plain
                            && tag.is_none()
                            && anchor == 0
                            && self.ix.char_at(&m) == Some(':')
                            && !self.ix.after_question_mark(&m)
                        {
                            let message = if *flow {
                                "did not find expected node content"
                            } else {
                                "did not find expected key"
                            };
                            return Err(Stop::Error(YamlError::Syntax {
                                message: message.into(),
                                span,
                            }));
                        }
                        let is_merge = text == "<<"
                            && ((tk == TagKind::None && style == TScalarStyle::Plain)
                                || tk == TagKind::Merge);
                        // The key text, when the key is not simply that string.
                        let raw = if tk == TagKind::None
                            && (style != TScalarStyle::Plain || resolve(&text, true).1.is_none())
                        {
                            None
                        } else {
                            Some(text.clone())
                        };
                        let node = scalar_node(text, style, tk, span)?;
                        self.remember(anchor, 1, &node)?;
                        key(stack, raw, node, span, is_merge)?;
                        return Ok(());
                    }
                }
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                let node_span = if block {
                    self.ix.span_before(&m, false)
                } else if empty_plain {
                    match stack.last() {
                        Some(Frame {
                            kind: Kind::Map(mf),
                            ..
                        }) if mf.key.is_some() => mf.key.as_ref().map_or(span, |k| k.span),
                        Some(Frame {
                            kind: Kind::Seq(_), ..
                        }) => self.ix.span_before(&m, true),
                        _ => self.ix.span_before(&m, false),
                    }
                } else {
                    span
                };
                let node = scalar_node(text, style, tk, node_span)?;
                self.remember(anchor, 1, &node)?;
                deliver(doc, node)?;
            }
            Event::Alias(id) => {
                let size = self.stats.get(&id).map_or(1, |s| s.0);
                self.copy_budget(size)?;
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(Stop::Error(YamlError::UnknownAnchor {
                        name: self.ix.alias_name(&m),
                        span,
                    }));
                };
                let mut node = anchored.clone();
                node.span = span;
                if let Some(Frame {
                    kind: Kind::Map(mf),
                    ..
                }) = stack.last()
                {
                    if mf.key.is_none() {
                        if matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                            return Err(Stop::Error(YamlError::InvalidKey {
                                kind: kind_word(&node),
                                span,
                            }));
                        }
                        let raw = format!("*{}", self.ix.alias_name(&m));
                        key(stack, Some(raw), node, span, false)?;
                        return Ok(());
                    }
                }
                deliver(doc, node)?;
            }
            Event::SequenceStart(anchor, tag) => self.open(stack, false, anchor, tag, &m, span)?,
            Event::MappingStart(anchor, tag) => self.open(stack, true, anchor, tag, &m, span)?,
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Ok(());
                };
                let node_span = frame.span.unwrap_or(frame.fallback_span);
                let value = match frame.kind {
                    Kind::Seq(items) => Value::Seq(items),
                    Kind::Map(mf) => Value::Map(apply_merge(mf.map, mf.merge)?),
                };
                let node = Node {
                    value,
                    span: node_span,
                    tag: frame.tag,
                    quoted: false,
                };
                let size = if frame.anchor > 0 {
                    self.stats.get(&frame.anchor).map_or(1, |s| s.0)
                } else {
                    0
                };
                self.remember(frame.anchor, size, &node)?;
                deliver(doc, node)?;
            }
        }
        Ok(())
    }

    /// A sequence or mapping starts.
    fn open(
        &self,
        stack: &mut Vec<Frame>,
        is_map: bool,
        anchor: usize,
        tag: Option<YTag>,
        m: &Mark,
        span: Span,
    ) -> Result<(), YamlError> {
        if let Some(Frame {
            kind: Kind::Map(mf),
            ..
        }) = stack.last()
        {
            if mf.key.is_none() {
                let kind = if is_map { "mapping" } else { "sequence" };
                return Err(YamlError::InvalidKey { kind, span });
            }
        }
        let tag = match classify_checked(tag.as_ref(), self.ix, m)? {
            TagKind::Reset => Tag::Reset,
            TagKind::Override => Tag::Override,
            _ => Tag::None,
        };
        let in_reset = tag == Tag::Reset || stack.last().is_some_and(|f| f.in_reset);
        let c = self.ix.char_at(m);
        let flow = matches!(c, Some('{') | Some('['));
        let (kind, node_span) = if is_map {
            let flow = c == Some('{');
            (Kind::Map(Box::default()), flow.then_some(span))
        } else {
            let s = if matches!(c, Some('[') | Some('-')) {
                span
            } else {
                self.dash_before(m)
            };
            (Kind::Seq(Vec::new()), Some(s))
        };
        stack.push(Frame {
            kind,
            span: node_span,
            fallback_span: span,
            tag,
            anchor,
            in_reset,
            flow,
        });
        Ok(())
    }

    /// Keeps a copy of a completed anchored node of `size` nodes for later aliases.
    fn remember(&mut self, anchor: usize, size: u64, node: &Node) -> Result<(), Stop> {
        if anchor == 0 {
            return Ok(());
        }
        match &self.keep {
            Keep::Learn => return Ok(()),
            Keep::Only(set) if !set.contains(&anchor) => return Ok(()),
            Keep::Only(_) => {}
            Keep::All => self.copy_budget(size)?,
        }
        self.anchors.insert(anchor, node.clone());
        Ok(())
    }

    /// Counts `size` copied nodes against the budget of [`Keep::All`].
    fn copy_budget(&mut self, size: u64) -> Result<(), Stop> {
        if matches!(self.keep, Keep::All) {
            self.copied = self.copied.saturating_add(size);
            if self.copied > self.read.saturating_add(COPY_SLACK) {
                return Err(Stop::TooManyCopies);
            }
        }
        Ok(())
    }

    /// For an indentless block sequence yaml-rust2 marks the first entry's content; the caret
    /// is better on its `-`.
    fn dash_before(&self, m: &Mark) -> Span {
        let b = self.ix.byte_of(m.index());
        let before = &self.ix.text[..b];
        let trimmed = before.trim_end_matches([' ', '\t']);
        if trimmed.ends_with('-') {
            self.ix.span_of_byte(trimmed.len() - 1)
        } else {
            self.ix.span(m)
        }
    }
}

/// Rewords yaml-rust2's messages where they are unclear or where yaml.v3's wording is better
/// known. Returns the message and whether the error is about a tab.
fn syntax_message(info: &str) -> (String, bool) {
    const TAB: &str = "found a tab character that violates indentation (indent with spaces)";
    let msg = match info {
        "tabs disallowed within this context (block indentation)"
        | "tab cannot be used as indentation"
        | "while scanning a plain scalar, found a tab"
        | "tabs disallowed in this context" => return (TAB.into(), true),
        "a block scalar content cannot start with a tab" => {
            return (
                "found a tab character where an indentation space is expected".into(),
                true,
            )
        }
        "while parsing a flow sequence, expected ',' or ']'" => "did not find expected ',' or ']'",
        "while parsing a flow mapping, did not find expected ',' or '}'" => {
            "did not find expected ',' or '}'"
        }
        "invalid trailing content after double-quoted scalar" => {
            "did not find expected key (unexpected text after a quoted scalar)"
        }
        "the handle wasn't declared" => "found undefined tag handle",
        _ => {
            if let Some(c) = info
                .strip_prefix("unexpected character: `")
                .and_then(|r| r.strip_suffix('\''))
            {
                return (
                    format!("found character that cannot start any token (`{c}` is reserved)"),
                    false,
                );
            }
            info
        }
    };
    (msg.to_string(), false)
}

// ---------------------------------------------------------------------------------------------
// Tree building.

struct PendingKey {
    name: String,
    span: Span,
    merge: bool,
    /// Go `%#v` of a key that is not a string.
    non_string: Option<String>,
}

#[derive(Default)]
struct MapFrame {
    map: Map,
    key: Option<PendingKey>,
    merge: Option<Node>,
    merge_key_span: Option<Span>,
}

enum Kind {
    Seq(Vec<Node>),
    Map(Box<MapFrame>),
}

struct Frame {
    kind: Kind,
    /// `None` for a block mapping until its first key arrives.
    span: Option<Span>,
    fallback_span: Span,
    tag: Tag,
    anchor: usize,
    in_reset: bool,
    flow: bool,
}

/// A scalar (or alias) in key position of the mapping on top of the stack. `raw` is the key as
/// written when that is not the string value itself (a non-string key, a tag, an alias).
fn key(
    stack: &mut [Frame],
    raw: Option<String>,
    node: Node,
    span: Span,
    merge: bool,
) -> Result<(), YamlError> {
    let Some(frame) = stack.last_mut() else {
        return Ok(());
    };
    if frame.span.is_none() {
        frame.span = Some(span);
    }
    let Kind::Map(mf) = &mut frame.kind else {
        return Ok(());
    };
    let (name, non_string) = match node.value {
        // yaml.v3 decodes a timestamp key to a time.Time, which compose-go rejects.
        Value::String(s) if !node.quoted && is_timestamp(&s) => {
            let repr = go_time_repr(&s);
            (s, Some(repr))
        }
        Value::String(s) => (s, None),
        other => (raw.clone().unwrap_or_default(), Some(go_repr(&other))),
    };
    // yaml.v3 compares the key texts, so `1` and `"1"` clash; a non-string key is kept
    // under its text for this check (the document fails anyway).
    let first = mf.map.get(&name).map(|e| e.key_span).or(if name == "<<" {
        mf.merge_key_span
    } else {
        None
    });
    if let Some(first) = first {
        return Err(YamlError::DuplicateKey {
            key: raw.unwrap_or(name),
            first_line: first.line,
            span,
        });
    }
    mf.key = Some(PendingKey {
        name,
        span,
        merge,
        non_string,
    });
    Ok(())
}

/// A completed value: the document root, a sequence item or the value of the pending key.
fn deliver(doc: &mut DocState, node: Node) -> Result<(), YamlError> {
    let stack = &mut doc.stack;
    let Some(frame) = stack.last_mut() else {
        doc.root = Some(node);
        return Ok(());
    };
    let in_reset = frame.in_reset;
    let key = match &mut frame.kind {
        Kind::Seq(items) => {
            items.push(node);
            return Ok(());
        }
        Kind::Map(mf) => match mf.key.take() {
            Some(key) => key,
            None => return Ok(()),
        },
    };
    if let Some(repr) = key.non_string {
        // Reported at the end of the document, after yaml-level errors, like compose-go
        // which checks keys after decoding; `!reset` subtrees are dropped before that.
        if doc.deferred.is_none() && !in_reset && node.tag != Tag::Reset {
            doc.deferred = Some(YamlError::NonStringKey {
                path: key_path(stack),
                key: repr,
                span: key.span,
            });
        }
    }
    if let Some(Frame {
        kind: Kind::Map(mf),
        ..
    }) = stack.last_mut()
    {
        if key.merge {
            mf.merge = Some(node);
            mf.merge_key_span = Some(key.span);
        } else {
            mf.map.insert(
                key.name,
                Entry {
                    key_span: key.span,
                    value: node,
                },
            );
        }
    }
    Ok(())
}

/// The path of the collection on top of the stack as compose-go prints it (`a.b[0].c`): each
/// open collection is the value of its parent's pending key, or its parent's next item.
fn key_path(stack: &[Frame]) -> String {
    let mut path = String::new();
    for parent in &stack[..stack.len().saturating_sub(1)] {
        match &parent.kind {
            Kind::Map(mf) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(mf.key.as_ref().map_or("", |k| k.name.as_str()));
            }
            Kind::Seq(items) => path.push_str(&format!("[{}]", items.len())),
        }
    }
    path
}

/// Applies a `<<` value: explicit keys win, then earlier merged maps over later ones.
fn apply_merge(mut map: Map, merge: Option<Node>) -> Result<Map, YamlError> {
    let Some(merge) = merge else { return Ok(map) };
    let span = merge.span;
    let sources = match merge.value {
        Value::Map(m) => vec![m],
        Value::Seq(items) => {
            let mut maps = Vec::with_capacity(items.len());
            for item in items {
                match item.value {
                    Value::Map(m) => maps.push(m),
                    _ => return Err(YamlError::MergeNotMap { span: item.span }),
                }
            }
            maps
        }
        _ => return Err(YamlError::MergeNotMap { span }),
    };
    for src in sources {
        for (k, e) in src {
            map.entry(k).or_insert(e);
        }
    }
    Ok(map)
}

fn kind_word(node: &Node) -> &'static str {
    match node.value {
        Value::Seq(_) => "sequence",
        Value::Map(_) => "mapping",
        _ => "scalar",
    }
}

/// Go's `%#v` of a decoded key, as compose-go prints it.
fn go_repr(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => format!("{u:#x}"),
        Value::Float(f) => format_go_float(*f),
        Value::String(s) => format!("{s:?}"),
        Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tags and scalar resolution

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TagKind {
    None,
    Str,
    Int,
    Float,
    Bool,
    Null,
    Binary,
    Timestamp,
    Merge,
    Reset,
    Override,
    /// `!!map`, `!!seq` and the other core collection tags.
    Collection,
    /// Anything else: refused (see [`YamlError::UnknownTag`]).
    Other,
}

/// How a tag is written in messages: `!!suffix` for the core schema, else as in the file.
fn tag_display(t: &YTag) -> String {
    let full = format!("{}{}", t.handle, t.suffix);
    match full.strip_prefix("tag:yaml.org,2002:") {
        Some(core) => format!("!!{core}"),
        None => full,
    }
}

/// The tag of a node, or the error for one rcompose does not accept.
fn classify_checked(
    tag: Option<&YTag>,
    ix: &TextIndex<'_>,
    m: &Mark,
) -> Result<TagKind, YamlError> {
    match classify(tag) {
        TagKind::Other => Err(YamlError::UnknownTag {
            tag: tag.map(tag_display).unwrap_or_default(),
            span: ix.tag_span(m),
        }),
        tk => Ok(tk),
    }
}

fn classify(tag: Option<&YTag>) -> TagKind {
    let Some(t) = tag else { return TagKind::None };
    let full = format!("{}{}", t.handle, t.suffix);
    if let Some(core) = full.strip_prefix("tag:yaml.org,2002:") {
        return match core {
            "str" => TagKind::Str,
            "int" => TagKind::Int,
            "float" => TagKind::Float,
            "bool" => TagKind::Bool,
            "null" => TagKind::Null,
            "binary" => TagKind::Binary,
            "timestamp" => TagKind::Timestamp,
            "merge" => TagKind::Merge,
            "map" | "seq" | "omap" | "set" | "pairs" => TagKind::Collection,
            _ => TagKind::Other,
        };
    }
    match full.as_str() {
        "" | "!" => TagKind::None,
        "!reset" => TagKind::Reset,
        "!override" => TagKind::Override,
        _ => TagKind::Other,
    }
}

/// What yaml.v3's resolver made of a scalar text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RTag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    Timestamp,
}

impl RTag {
    fn name(self) -> &'static str {
        match self {
            RTag::Str => "!!str",
            RTag::Int => "!!int",
            RTag::Float => "!!float",
            RTag::Bool => "!!bool",
            RTag::Null => "!!null",
            RTag::Timestamp => "!!timestamp",
        }
    }
}

fn scalar_node(
    text: String,
    style: TScalarStyle,
    tk: TagKind,
    span: Span,
) -> Result<Node, YamlError> {
    let plain = style == TScalarStyle::Plain;
    let string = |s: String, tag: Tag| Node {
        value: Value::String(s),
        span,
        tag,
        quoted: true,
    };
    let want = match tk {
        TagKind::None if plain => {
            let (_, value) = resolve(&text, true);
            return Ok(Node {
                value: value.unwrap_or(Value::String(text)),
                span,
                tag: Tag::None,
                quoted: false,
            });
        }
        // yaml.v3 reads a core collection tag on a scalar as a string, as Compose does.
        TagKind::None | TagKind::Str | TagKind::Merge | TagKind::Collection | TagKind::Other => {
            return Ok(string(text, Tag::None))
        }
        TagKind::Reset | TagKind::Override => {
            let tag = if tk == TagKind::Reset {
                Tag::Reset
            } else {
                Tag::Override
            };
            if text.is_empty() && plain {
                return Ok(Node {
                    value: Value::Null,
                    span,
                    tag,
                    quoted: false,
                });
            }
            return Ok(string(text, tag));
        }
        TagKind::Binary => {
            let bytes = decode_base64(&text).ok_or(YamlError::InvalidBinary { span })?;
            return Ok(string(
                String::from_utf8_lossy(&bytes).into_owned(),
                Tag::None,
            ));
        }
        TagKind::Int => RTag::Int,
        TagKind::Float => RTag::Float,
        TagKind::Bool => RTag::Bool,
        TagKind::Null => RTag::Null,
        TagKind::Timestamp => RTag::Timestamp,
    };
    let (rtag, value) = resolve(&text, want == RTag::Timestamp);
    let value = match (want, rtag, value) {
        (w, r, v) if w == r => v,
        (RTag::Float, RTag::Int, Some(Value::Int(i))) => Some(Value::Float(i as f64)),
        _ => {
            return Err(YamlError::TagMismatch {
                found: rtag.name(),
                value: text,
                tag: want.name(),
                span,
            })
        }
    };
    // A `!!timestamp` is kept as its text, unquoted like a resolved plain timestamp.
    let value = value.unwrap_or(Value::String(text));
    Ok(Node {
        value,
        span,
        tag: Tag::None,
        quoted: false,
    })
}

/// yaml.v3's `resolve` for an untagged plain scalar. `None` value means "the text itself" (a
/// string, or a timestamp, which compose-go would see as a `time.Time`).
fn resolve(s: &str, timestamps: bool) -> (RTag, Option<Value>) {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return (RTag::Null, Some(Value::Null)),
        "true" | "True" | "TRUE" => return (RTag::Bool, Some(Value::Bool(true))),
        "false" | "False" | "FALSE" => return (RTag::Bool, Some(Value::Bool(false))),
        ".nan" | ".NaN" | ".NAN" => return (RTag::Float, Some(Value::Float(f64::NAN))),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return (RTag::Float, Some(Value::Float(f64::INFINITY)))
        }
        "-.inf" | "-.Inf" | "-.INF" => return (RTag::Float, Some(Value::Float(f64::NEG_INFINITY))),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        if let Some(f) = go_parse_float_dot(s) {
            return (RTag::Float, Some(Value::Float(f)));
        }
        return (RTag::Str, None);
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return (RTag::Str, None);
    }
    if timestamps && is_timestamp(s) {
        return (RTag::Timestamp, None);
    }
    let plain = s.replace('_', "");
    if let Some(i) = go_parse_int(&plain, 0) {
        return (RTag::Int, Some(Value::Int(i)));
    }
    if let Some(u) = go_parse_uint(&plain, 0) {
        return (RTag::Int, Some(Value::UInt(u)));
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            if f.is_finite() {
                return (RTag::Float, Some(Value::Float(f)));
            }
        }
    }
    // yaml.v3's own 0b / 0o handling: it parses what follows the prefix with a sign allowed,
    // so `0b-101` is -5.
    for (prefix, base) in [("0b", 2), ("0o", 8)] {
        if let Some(rest) = plain.strip_prefix(prefix) {
            if let Some(i) = go_parse_int(rest, base) {
                return (RTag::Int, Some(Value::Int(i)));
            }
            if let Some(u) = go_parse_uint(rest, base) {
                return (RTag::Int, Some(Value::UInt(u)));
            }
        } else if let Some(rest) = plain.strip_prefix('-').and_then(|r| r.strip_prefix(prefix)) {
            if let Some(i) = go_parse_int(&format!("-{rest}"), base) {
                return (RTag::Int, Some(Value::Int(i)));
            }
        }
    }
    (RTag::Str, None)
}

/// Go's `strconv.ParseUint(s, base, 64)` (base 0: `0b`/`0o`/`0x` prefixes and legacy octal).
fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, base) = if base == 0 {
        let b = s.as_bytes();
        if b[0] == b'0' {
            match b.get(1).map(u8::to_ascii_lowercase) {
                Some(b'b') if s.len() >= 3 => (&s[2..], 2),
                Some(b'o') if s.len() >= 3 => (&s[2..], 8),
                Some(b'x') if s.len() >= 3 => (&s[2..], 16),
                _ => (&s[1..], 8),
            }
        } else {
            (s, 10)
        }
    } else {
        (s, base)
    };
    let mut n: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`.
fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest, base)?;
    if neg {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat` for a text starting with `.` (underscores allowed between
/// digits, out-of-range values rejected).
fn go_parse_float_dot(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 1;
    let mut saw_digit = false;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        saw_digit |= b[i] != b'_';
        i += 1;
    }
    if !saw_digit {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    if i != b.len() || !underscore_ok(s) {
        return None;
    }
    let f: f64 = s.replace('_', "").parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `underscoreOK` (no base prefix): every `_` sits between two digits.
fn underscore_ok(s: &str) -> bool {
    let mut saw = '^';
    for c in s.chars() {
        if c.is_ascii_digit() {
            saw = '0';
        } else if c == '_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
    }
    saw != '_'
}

/// Whether yaml.v3 resolves a plain scalar to a timestamp (Go `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2 15:4:5.999999999` and
/// `2006-1-2`). Such values stay strings in our tree; compose-go would hold a `time.Time`
/// (which its schema rejects as "invalid jsonType time.Time", and prints as RFC 3339 in
/// extensions). Later phases can call this on unquoted strings to do the same.
pub fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_some()
}

struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    /// `None` for UTC (`Z` or no zone), else the offset in minutes.
    offset: Option<i32>,
}

fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: u32 = s[..4].parse().ok()?;
    let mut i = 5;
    // Go's getnum: one or two digits.
    let num = |i: &mut usize| -> Option<u32> {
        let d0 = *b.get(*i).filter(|c| c.is_ascii_digit())?;
        *i += 1;
        match b.get(*i).filter(|c| c.is_ascii_digit()) {
            Some(&d1) => {
                *i += 1;
                Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
            }
            None => Some(u32::from(d0 - b'0')),
        }
    };
    let expect = |i: &mut usize, c: u8| -> Option<()> { (b.get(*i) == Some(&c)).then(|| *i += 1) };
    let month = num(&mut i).filter(|m| (1..=12).contains(m))?;
    expect(&mut i, b'-')?;
    let day = num(&mut i)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > days {
        return None;
    }
    let mut ts = Timestamp {
        year,
        month,
        day,
        hour: 0,
        min: 0,
        sec: 0,
        nanos: 0,
        offset: None,
    };
    if i == b.len() {
        return Some(ts);
    }
    let sep = b[i];
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    i += 1;
    ts.hour = num(&mut i).filter(|&h| h < 24)?;
    expect(&mut i, b':')?;
    ts.min = num(&mut i).filter(|&m| m < 60)?;
    expect(&mut i, b':')?;
    ts.sec = num(&mut i).filter(|&s| s < 60)?;
    if i + 1 < b.len() && matches!(b[i], b'.' | b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i.min(start + 9)];
        ts.nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32);
    }
    if sep == b' ' {
        return (i == b.len()).then_some(ts);
    }
    match &b[i..] {
        [b'Z'] => Some(ts),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            if ![h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let h = i32::from(h1 - b'0') * 10 + i32::from(h2 - b'0');
            let m = i32::from(m1 - b'0') * 10 + i32::from(m2 - b'0');
            if h > 24 || m > 60 {
                return None;
            }
            ts.offset = Some(if *sign == b'-' {
                -(h * 60 + m)
            } else {
                h * 60 + m
            });
            Some(ts)
        }
        _ => None,
    }
}

/// Go's `%#v` of the `time.Time` yaml.v3 makes of a timestamp, e.g.
/// `time.Date(2001, time.January, 1, 0, 0, 0, 0, time.UTC)`. A zero offset is shown as
/// `time.Local`, which is what Go prints on a machine whose local zone is UTC.
fn go_time_repr(s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let Some(t) = parse_timestamp(s) else {
        return s.to_string();
    };
    let loc = match t.offset {
        None => "time.UTC",
        Some(0) => "time.Local",
        Some(_) => "time.Location(\"\")",
    };
    format!(
        "time.Date({}, time.{}, {}, {}, {}, {}, {}, {loc})",
        t.year,
        MONTHS[(t.month - 1) as usize],
        t.day,
        t.hour,
        t.min,
        t.sec,
        t.nanos
    )
}

/// Go's `base64.StdEncoding.DecodeString` (padding required, CR/LF ignored).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let chars: Vec<u8> = s.bytes().filter(|&c| c != b'\r' && c != b'\n').collect();
    if chars.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    let quads = chars.len() / 4;
    for (qi, q) in chars.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && qi + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Differential check of the fast reader (tests and the `yaml` fuzz target)

/// All of `yaml-rust2`'s events and marks, `Err` when it rejects the text.
fn full_events(text: &str) -> Result<Vec<(Event, Mark)>, ()> {
    let mut p = Parser::new_from_str(text);
    let mut out = Vec::new();
    loop {
        let (e, m) = p.next_token().map_err(|_| ())?;
        let end = e == Event::StreamEnd;
        out.push((e, Mark::from(&m)));
        if end {
            return Ok(out);
        }
    }
}

/// The fast reader's events, `None` when it gives up (`the last event read before that
/// is printed with `RCOMPOSE_FAST_DEBUG=1`).
fn fast_events(text: &str) -> Option<Vec<(Event, Mark)>> {
    if !fast::eligible(text) {
        return None;
    }
    let mut f = fast::Events::new(text);
    let mut out = Vec::new();
    loop {
        match f.next_event() {
            Ok((e, m)) => {
                let end = e == Event::StreamEnd;
                out.push((e, m));
                if end {
                    return Some(out);
                }
            }
            Err(_) => {
                if std::env::var_os("RCOMPOSE_FAST_DEBUG").is_some() {
                    eprintln!("fast reader gave up after {:?}", out.last());
                }
                return None;
            }
        }
    }
}

/// Compares the fast reader's events and marks with `yaml-rust2`'s on `text` and panics on
/// any difference, or when the fast reader takes a text `yaml-rust2` rejects. Returns whether
/// the fast reader took the text. Not part of the API: public for the fuzz targets.
#[doc(hidden)]
pub fn fast_agrees(text: &str, what: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if check_characters(text, FileId(0)).is_err() {
        return false;
    }
    let Some(fast) = fast_events(text) else {
        return false;
    };
    match full_events(text) {
        Ok(full) => {
            for (i, (a, b)) in fast.iter().zip(full.iter()).enumerate() {
                assert_eq!(a, b, "{what}: event {i} differs\n{text}");
            }
            assert_eq!(fast.len(), full.len(), "{what}: event counts\n{text}");
        }
        Err(()) => panic!("{what}: the fast reader took a text yaml-rust2 rejects\n{text}"),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const F: FileId = FileId(7);

    fn docs(text: &str) -> Vec<Node> {
        parse(text, F, &Limits::default())
            .unwrap_or_else(|e| panic!("{text:?}: {e} at {:?}", e.span()))
    }

    fn one(text: &str) -> Node {
        let mut d = docs(text);
        assert_eq!(d.len(), 1, "{text:?}");
        d.remove(0)
    }

    fn err(text: &str) -> YamlError {
        err_with(text, &Limits::default())
    }

    fn err_with(text: &str, limits: &Limits) -> YamlError {
        match parse(text, F, limits) {
            Ok(d) => panic!("{text:?} parsed: {d:?}"),
            Err(e) => e,
        }
    }

    /// The value of `v:` after `v: <scalar>`.
    fn val(scalar: &str) -> Node {
        one(&format!("v: {scalar}\n")).get("v").cloned().unwrap()
    }

    fn pos(e: &YamlError) -> (u32, u32) {
        (e.span().line, e.span().col)
    }

    fn at(n: &Node) -> (u32, u32) {
        (n.span.line, n.span.col)
    }

    fn key_at(n: &Node, key: &str) -> (u32, u32) {
        let e = &n.as_map().unwrap()[key];
        (e.key_span.line, e.key_span.col)
    }

    // --- rule 1: scalar resolution ------------------------------------------------------------

    #[test]
    fn plain_scalars_resolve_like_yaml_v3() {
        use Value::*;
        let cases: &[(&str, Value)] = &[
            ("~", Null),
            ("null", Null),
            ("Null", Null),
            ("NULL", Null),
            ("", Null),
            ("nULL", String("nULL".into())),
            ("true", Bool(true)),
            ("True", Bool(true)),
            ("TRUE", Bool(true)),
            ("false", Bool(false)),
            ("False", Bool(false)),
            ("FALSE", Bool(false)),
            ("tRUE", String("tRUE".into())),
            ("yes", String("yes".into())),
            ("no", String("no".into())),
            ("on", String("on".into())),
            ("off", String("off".into())),
            ("y", String("y".into())),
            ("12", Int(12)),
            ("-12", Int(-12)),
            ("+12", Int(12)),
            ("-0", Int(0)),
            ("0", Int(0)),
            ("00", Int(0)),
            ("0755", Int(493)),
            ("0440", Int(288)),
            ("012_3", Int(83)),
            ("0o17", Int(15)),
            ("-0o17", Int(-15)),
            ("0x1F", Int(31)),
            ("0X1f", Int(31)),
            ("-0x1f", Int(-31)),
            ("+0x1f", Int(31)),
            ("0x_1f", Int(31)),
            ("0b101", Int(5)),
            ("0B101", Int(5)),
            ("-0b101", Int(-5)),
            ("+0b11", Int(3)),
            ("0b-101", Int(-5)), // yaml.v3 quirk
            ("0o+17", Int(15)),  // yaml.v3 quirk
            ("1_000", Int(1000)),
            ("1__0", Int(10)),
            ("1_", Int(1)),
            ("9223372036854775807", Int(i64::MAX)),
            ("-9223372036854775808", Int(i64::MIN)),
            ("9223372036854775808", UInt(9223372036854775808)),
            ("18446744073709551615", UInt(u64::MAX)),
            ("18446744073709551616", Float(18446744073709551616.0)),
            ("-9223372036854775809", Float(-9223372036854775809.0)),
            ("08", Float(8.0)),
            ("-08", Float(-8.0)),
            ("0_8", Float(8.0)),
            ("1.50", Float(1.5)),
            ("1.", Float(1.0)),
            ("0.", Float(0.0)),
            (".5", Float(0.5)),
            ("-.5", Float(-0.5)),
            ("+.5", Float(0.5)),
            ("1e3", Float(1000.0)),
            ("1E5", Float(100000.0)),
            ("1.5e+3", Float(1500.0)),
            ("1.e5", Float(100000.0)),
            ("0e5", Float(0.0)),
            ("1_0.5", Float(10.5)),
            (".5_0", Float(0.5)),
            ("1e-400", Float(0.0)),
            (".inf", Float(f64::INFINITY)),
            (".Inf", Float(f64::INFINITY)),
            ("+.INF", Float(f64::INFINITY)),
            ("-.inf", Float(f64::NEG_INFINITY)),
            ("-.INF", Float(f64::NEG_INFINITY)),
            ("1e400", String("1e400".into())),
            (".5e400", String(".5e400".into())),
            (".Nan", String(".Nan".into())),
            ("._5", String("._5".into())),
            ("._", String("._".into())),
            (".e1", String(".e1".into())),
            (".5e", String(".5e".into())),
            ("1e", String("1e".into())),
            ("0o", String("0o".into())),
            ("0x", String("0x".into())),
            ("0b", String("0b".into())),
            ("0o8", String("0o8".into())),
            ("-0o8", String("-0o8".into())),
            ("-0b-1", String("-0b-1".into())),
            ("0x-1f", String("0x-1f".into())),
            ("0x1p3", String("0x1p3".into())),
            ("_1", String("_1".into())),
            ("+-1", String("+-1".into())),
            ("+", String("+".into())),
            ("2001-12-14", String("2001-12-14".into())),
            ("1.2.3", String("1.2.3".into())),
            ("8080:80", String("8080:80".into())),
        ];
        for (text, want) in cases {
            let n = val(text);
            assert_eq!(&n.value, want, "{text:?}");
            assert!(!n.quoted, "{text:?}");
            assert_eq!(n.tag, Tag::None);
        }
        for text in [".nan", ".NaN", ".NAN"] {
            assert!(
                matches!(val(text).value, Value::Float(f) if f.is_nan()),
                "{text}"
            );
        }
    }

    #[test]
    fn quoted_and_block_scalars_are_strings() {
        for (src, want) in [
            ("\"0755\"", "0755"),
            ("'true'", "true"),
            ("\"\"", ""),
            ("'~'", "~"),
            ("\"a\\tb\"", "a\tb"),
            ("'it''s'", "it's"),
        ] {
            let n = val(src);
            assert_eq!(n.value, Value::String(want.into()), "{src}");
            assert!(n.quoted, "{src}");
        }
        let doc = one("a: |\n  12\nb: >-\n  true\n  x\n");
        assert_eq!(doc.get("a").unwrap().value, Value::String("12\n".into()));
        assert!(doc.get("a").unwrap().quoted);
        assert_eq!(doc.get("b").unwrap().value, Value::String("true x".into()));
        // The caret of a block scalar is its indicator.
        assert_eq!(at(doc.get("a").unwrap()), (1, 4));
        assert_eq!(at(doc.get("b").unwrap()), (3, 4));
    }

    #[test]
    fn core_tags_convert_or_fail_like_yaml_v3() {
        assert_eq!(val("!!str 12").value, Value::String("12".into()));
        assert!(val("!!str 12").quoted);
        assert_eq!(val("!!str ~").value, Value::String("~".into()));
        assert_eq!(val("!!int \"12\"").value, Value::Int(12));
        assert_eq!(val("!!int 0x1f").value, Value::Int(31));
        assert_eq!(val("!!int 1_000").value, Value::Int(1000));
        assert_eq!(val("!!float 1").value, Value::Float(1.0));
        assert_eq!(val("!!float \"1.5\"").value, Value::Float(1.5));
        assert_eq!(val("!!float .inf").value, Value::Float(f64::INFINITY));
        assert_eq!(val("!!bool true").value, Value::Bool(true));
        assert_eq!(val("!!null ~").value, Value::Null);
        assert_eq!(val("!!null \"\"").value, Value::Null);
        assert_eq!(
            val("!<tag:yaml.org,2002:str> 5").value,
            Value::String("5".into())
        );
        assert_eq!(
            val("!!timestamp 2001-1-1").value,
            Value::String("2001-1-1".into())
        );
        // The non-specific tag `!` resolves like no tag in yaml.v3.
        assert_eq!(val("! 12").value, Value::Int(12));
        assert_eq!(val("! \"12\"").value, Value::String("12".into()));

        let e = err("v: !!int abc\n");
        assert_eq!(e.to_string(), "cannot decode !!str `abc` as a !!int");
        assert_eq!(pos(&e), (1, 10));
        assert_eq!(
            err("v: !!int 1.5").to_string(),
            "cannot decode !!float `1.5` as a !!int"
        );
        assert_eq!(
            err("v: !!bool yes").to_string(),
            "cannot decode !!str `yes` as a !!bool"
        );
        assert_eq!(
            err("v: !!null 0").to_string(),
            "cannot decode !!int `0` as a !!null"
        );
        assert_eq!(
            err("v: !!float 1.5x").to_string(),
            "cannot decode !!str `1.5x` as a !!float"
        );
        assert_eq!(
            err("v: !!float 18446744073709551615").to_string(),
            "cannot decode !!int `18446744073709551615` as a !!float"
        );
        assert_eq!(
            err("v: !!timestamp '2001-02-29'").to_string(),
            "cannot decode !!str `2001-02-29` as a !!timestamp"
        );
    }

    #[test]
    fn binary_tag_decodes_base64() {
        assert_eq!(
            val("!!binary aGVsbG8=").value,
            Value::String("hello".into())
        );
        let n = one("v: !!binary |\n  aGVs\n  bG8=\n");
        assert_eq!(n.get("v").unwrap().value, Value::String("hello".into()));
        // Invalid UTF-8 is replaced, as Go's JSON output does.
        assert_eq!(val("!!binary /w==").value, Value::String("\u{fffd}".into()));
        let e = err("v: !!binary \"!!!\"");
        assert_eq!(e.to_string(), "!!binary value contains invalid base64 data");
        assert!(matches!(
            err("v: !!binary aGk"),
            YamlError::InvalidBinary { .. }
        ));
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert!(decode_base64("aG=k").is_none());
        assert!(decode_base64("aGk=aGk=").is_none());
    }

    #[test]
    fn reset_and_override_tags() {
        let doc = one(concat!(
            "a: !reset\nb: !reset []\nc: !override {x: 1}\n",
            "d: !override\n  - 1\ne: !override 12\nf: !reset null\n"
        ));
        let a = doc.get("a").unwrap();
        assert_eq!((a.tag, &a.value), (Tag::Reset, &Value::Null));
        let b = doc.get("b").unwrap();
        assert_eq!((b.tag, &b.value), (Tag::Reset, &Value::Seq(vec![])));
        let c = doc.get("c").unwrap();
        assert_eq!(c.tag, Tag::Override);
        assert_eq!(c.get("x").unwrap().value, Value::Int(1));
        let d = doc.get("d").unwrap();
        assert_eq!(d.tag, Tag::Override);
        assert_eq!(d.as_seq().unwrap().len(), 1);
        // yaml.v3 does not resolve scalars with a local tag: they are strings.
        let e = doc.get("e").unwrap();
        assert_eq!(
            (e.tag, &e.value),
            (Tag::Override, &Value::String("12".into()))
        );
        assert_eq!(doc.get("f").unwrap().tag, Tag::Reset);
        // Verbatim form.
        assert_eq!(val("!<!reset> 5").tag, Tag::Reset);
    }

    #[test]
    fn core_tags_read_like_yaml_v3_and_other_tags_are_refused() {
        // A core tag that does not fit is read as yaml.v3 reads it: a tagged scalar is a
        // string, a tagged collection stays what it is.
        for src in ["!!merge 12", "!!seq 12", "!!str 12"] {
            let n = val(src);
            assert_eq!(n.value, Value::String("12".into()), "{src}");
            assert_eq!(n.tag, Tag::None);
        }
        assert!(val("!!str {a: 1}").as_map().is_some());
        assert!(val("!!map [1]").as_seq().is_some());
        assert!(val("!!set {a: null}").as_map().is_some());
        assert_eq!(val("!!int {a: 1}").get("a").unwrap().value, Value::Int(1));
        // Any other tag is an error at the tag (reliability plan c.1 #30), on scalars and
        // collections, also without content and next to an anchor.
        for (src, tag, col) in [
            ("v: !foo 12\n", "!foo", 4),
            ("v: !!python/object 12\n", "!!python/object", 4),
            ("v: !!reset 12\n", "!!reset", 4),
            ("v: &a !foo {a: 1}\n", "!foo", 7),
            ("v: [1, !x 2]\n", "!x", 8),
            (
                "v: !python/name:os.system\nw: 1\n",
                "!python/name:os.system",
                4,
            ),
        ] {
            let e = err(src);
            assert_eq!(
                e.to_string(),
                format!(
                    "unknown tag {tag}: only the YAML core tags, !reset and !override are allowed"
                ),
                "{src}"
            );
            assert_eq!(pos(&e), (1, col), "{src}");
        }
        // An undeclared named handle is a syntax error.
        let e = err("v: !e!foo 1\n");
        assert_eq!(e.to_string(), "found undefined tag handle");
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2001-12-14",
            "2001-1-1",
            "2000-02-29",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14T21:59:43,5Z",
            "2001-12-14 21:59:43.10",
            "2001-12-14 1:2:3",
            "2001-12-14T21:59:43.123456789123Z",
            "2001-1-1T1:1:1+24:00",
            "2001-1-1T1:1:1+23:60",
            "2001-1-1T1:1:1-00:00",
        ] {
            assert!(is_timestamp(ok), "{ok}");
        }
        for bad in [
            "2001-02-29",
            "2001-13-01",
            "2001-00-01",
            "2001-1-00",
            "20011-12-14",
            "2001-12-1x",
            "2001-12-14T24:00:00Z",
            "2001-12-14T21:59:60Z",
            "2001-1-1T1:1:1.Z",
            "2001-1-1T1:1:1+23:61",
            "2001-1-1T1:1:1+25:00",
            "2001-12-14T21:59:43+0500",
            "2001-12-14 21:59:43.10 -5",
            "2001-123-1",
            "2001-12-14T21:59:43",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }

    // --- rule 2: spans ------------------------------------------------------------------------

    #[test]
    fn spans_of_nodes_and_keys() {
        let text = concat!(
            "# c\nservices:\n  web:\n    image: \"nginx\"\n    command: [a, {b: c}]\n",
            "    list:\n    - one\n    -   two\n    ports:\n      - 80\n    e:\n"
        );
        let doc = one(text);
        assert_eq!(at(&doc), (2, 1));
        assert_eq!(key_at(&doc, "services"), (2, 1));
        let services = doc.get("services").unwrap();
        assert_eq!(at(services), (3, 3));
        let web = services.get("web").unwrap();
        assert_eq!(key_at(services, "web"), (3, 3));
        assert_eq!(key_at(web, "image"), (4, 5));
        assert_eq!(at(web.get("image").unwrap()), (4, 12));
        let command = web.get("command").unwrap();
        assert_eq!(at(command), (5, 14));
        let items = command.as_seq().unwrap();
        assert_eq!(at(&items[0]), (5, 15));
        assert_eq!(at(&items[1]), (5, 18));
        assert_eq!(key_at(&items[1], "b"), (5, 19));
        assert_eq!(at(items[1].get("b").unwrap()), (5, 22));
        // Block sequences point at their first `-`, also when not indented.
        let list = web.get("list").unwrap();
        assert_eq!(at(list), (7, 5));
        assert_eq!(at(&list.as_seq().unwrap()[1]), (8, 9));
        assert_eq!(at(web.get("ports").unwrap()), (10, 7));
        // An empty value points at its key.
        assert_eq!(at(web.get("e").unwrap()), (11, 5));
        assert!(web.get("e").unwrap().is_null());
        assert_eq!(doc.span.file, F);
    }

    #[test]
    fn spans_of_empty_sequence_entries() {
        let doc = one("a:\n  -\n  - # c\n  - !reset\n  -   &q\nb: [x]\n");
        let a = doc.get("a").unwrap().as_seq().unwrap();
        let spans: Vec<_> = a.iter().map(at).collect();
        assert_eq!(spans, vec![(2, 3), (3, 3), (4, 5), (5, 7)]);
        assert!(a.iter().all(Node::is_null));
    }

    #[test]
    fn columns_count_characters() {
        let doc = one("é: ünïcode\nk: [ä, ö]\n");
        assert_eq!(at(doc.get("é").unwrap()), (1, 4));
        let k = doc.get("k").unwrap().as_seq().unwrap();
        assert_eq!(at(&k[1]), (2, 8));
    }

    // --- rule 3: keys --------------------------------------------------------------------------

    #[test]
    fn non_string_keys_are_rejected_like_compose_go() {
        let cases = [
            (
                "services:\n  123:\n    image: x\n",
                "non-string key in services: 123",
                (2, 3),
            ),
            (
                "a:\n  environment:\n    true: y\n",
                "non-string key in a.environment: true",
                (3, 5),
            ),
            ("123: x\n", "non-string key at top level: 123", (1, 1)),
            ("x-a:\n  ~: y\n", "non-string key in x-a: <nil>", (2, 3)),
            ("x-a:\n  1.5: y\n", "non-string key in x-a: 1.5", (2, 3)),
            ("x-a:\n  1.0: y\n", "non-string key in x-a: 1", (2, 3)),
            ("x-a:\n  .inf: y\n", "non-string key in x-a: +Inf", (2, 3)),
            (
                "x-a:\n  9223372036854775808: y\n",
                "non-string key in x-a: 0x8000000000000000",
                (2, 3),
            ),
            (
                "x-a:\n  - b:\n      c: [{1.0: x}]\n",
                "non-string key in x-a[0].b.c[0]: 1",
                (3, 12),
            ),
            (
                "x-a:\n  !!int \"5\": y\n",
                "non-string key in x-a: 5",
                (2, 9),
            ),
            (
                "x-a:\n  2001-01-01: y\n",
                "non-string key in x-a: time.Date(2001, time.January, 1, 0, 0, 0, 0, time.UTC)",
                (2, 3),
            ),
            (
                "x-a:\n  2001-01-01T10:00:00.5+05:00: y\n",
                concat!(
                    "non-string key in x-a: ",
                    "time.Date(2001, time.January, 1, 10, 0, 0, 500000000, time.Location(\"\"))"
                ),
                (2, 3),
            ),
        ];
        for (text, msg, p) in cases {
            let e = err(text);
            assert_eq!(e.to_string(), msg, "{text:?}");
            assert_eq!(pos(&e), p, "{text:?}");
        }
        // Strings that look like other things are fine.
        let doc = one("x-a:\n  \"123\": y\n  !!str 12: z\n  yes: 1\n");
        let keys: Vec<_> = doc
            .get("x-a")
            .unwrap()
            .as_map()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["123", "12", "yes"]);
        // compose-go drops `!reset` nodes before it checks keys.
        one("x-a: !reset\n  1: y\nx-b:\n  2: !reset z\n");
    }

    #[test]
    fn yaml_errors_win_over_non_string_keys() {
        let e = err("1: x\na: 1\na: 2\n");
        assert!(matches!(e, YamlError::DuplicateKey { .. }), "{e}");
    }

    #[test]
    fn collection_and_empty_keys() {
        let e = err("x:\n  [a]: y\n");
        assert_eq!(
            e.to_string(),
            "invalid map key: a sequence cannot be a mapping key"
        );
        assert_eq!(pos(&e), (2, 3));
        let e = err("x:\n  ? {a: 1}\n  : y\n");
        assert_eq!(
            e.to_string(),
            "invalid map key: a mapping cannot be a mapping key"
        );
        let e = err("a: &m {b: 1}\n*m : 2\n");
        assert!(
            matches!(
                e,
                YamlError::InvalidKey {
                    kind: "mapping",
                    ..
                }
            ),
            "{e}"
        );
        // yaml.v3 rejects an empty implicit key; an explicit empty key is a null key.
        let e = err("a: 1\n: y\n");
        assert_eq!(e.to_string(), "did not find expected key");
        assert_eq!(pos(&e), (2, 1));
        let e = err("a: {: y}\n");
        assert_eq!(e.to_string(), "did not find expected node content");
        let e = err("x-a:\n  ? \n  : y\n");
        assert_eq!(e.to_string(), "non-string key in x-a: <nil>");
        // A scalar alias is a fine key.
        let doc = one("a: &k key\n*k : 2\n");
        assert_eq!(doc.get("key").unwrap().value, Value::Int(2));
    }

    // --- rule 4: duplicate keys ----------------------------------------------------------------

    #[test]
    fn duplicate_keys() {
        let e = err("services:\n  web:\n    image: x\n\n    command: a\n    command: b\n");
        assert_eq!(
            e.to_string(),
            "mapping key \"command\" already defined at line 5"
        );
        assert_eq!(pos(&e), (6, 5));
        // yaml.v3 compares the key text: `1` and `"1"` clash.
        let e = err("x:\n  1: y\n  \"1\": z\n");
        assert_eq!(e.to_string(), "mapping key \"1\" already defined at line 2");
        let e = err("{a: 1, a: 2}");
        assert_eq!(pos(&e), (1, 8));
        let e = err("b: &b {p: 1}\na:\n  <<: *b\n  <<: *b\n");
        assert_eq!(
            e.to_string(),
            "mapping key \"<<\" already defined at line 3"
        );
        let e = err("a:\n  <<: {p: 1}\n  \"<<\": 3\n");
        assert!(matches!(e, YamlError::DuplicateKey { .. }));
        // The same key in different mappings is fine.
        one("a: {x: 1}\nb: {x: 2}\n");
    }

    // --- rule 5: anchors and aliases -----------------------------------------------------------

    #[test]
    fn aliases_copy_the_anchored_node() {
        let doc = one("a: &x\n  b: 1\n  c: [1, 2]\nd: *x\ne: &s !override hello\nf: *s\n");
        let a = doc.get("a").unwrap();
        let d = doc.get("d").unwrap();
        assert_eq!(a.value, d.value);
        // The alias node points at the alias; its content keeps the anchor's positions.
        assert_eq!(at(d), (4, 4));
        assert_eq!(key_at(d, "b"), (2, 3));
        let f = doc.get("f").unwrap();
        assert_eq!(
            (f.tag, &f.value),
            (Tag::Override, &Value::String("hello".into()))
        );
        // Redefinition: an alias refers to the latest definition.
        let doc = one("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
        assert_eq!(doc.get("b").unwrap().value, Value::Int(1));
        assert_eq!(doc.get("d").unwrap().value, Value::Int(2));
    }

    #[test]
    fn undefined_and_recursive_aliases() {
        let e = err("a: 1\nb: *nope\n");
        assert_eq!(e.to_string(), "unknown anchor 'nope' referenced");
        assert_eq!(pos(&e), (2, 4));
        let e = err("a: &a [1, *a]\n");
        assert_eq!(e.to_string(), "anchor 'a' value contains itself");
        assert_eq!(pos(&e), (1, 11));
        let e = err("a: &a\n  b:\n    c: *a\n");
        assert!(matches!(e, YamlError::RecursiveAlias { .. }), "{e}");
    }

    #[test]
    fn anchors_live_across_documents() {
        let d = docs("a: &a {b: 1}\n---\nc: *a\n");
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[1].get("c").unwrap().get("b").unwrap().value,
            Value::Int(1)
        );
    }

    fn billion_laughs() -> String {
        let mut s = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            s.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], refs));
        }
        s
    }

    #[test]
    fn billion_laughs_fails_fast() {
        let text = billion_laughs();
        let start = Instant::now();
        let e = err(&text);
        let elapsed = start.elapsed();
        assert!(matches!(e, YamlError::AliasLimit { .. }), "{e}");
        assert!(e.to_string().starts_with("alias expansion limit exceeded"));
        assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
        // The alias that crosses the limit is on the `g` line.
        assert_eq!(e.span().line, 7);
    }

    #[test]
    fn alias_budget_counts_subtree_sizes() {
        let limits = Limits {
            max_alias_nodes: 10,
            ..Limits::default()
        };
        // Each *a is 4 nodes (the sequence and 3 items): two fit, three do not.
        let ok = "a: &a [1, 2, 3]\nb: [*a, *a]\n";
        parse(ok, F, &limits).unwrap();
        let e = err_with("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", &limits);
        assert!(matches!(e, YamlError::AliasLimit { limit: 10, .. }), "{e}");
        assert_eq!(pos(&e), (2, 13));
    }

    #[test]
    fn nested_anchors_are_not_copied_unless_used() {
        // 200 nested anchors around a 50 000-item list: copying every anchored node would
        // materialise 10 million nodes.
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!("&a{i} ["));
        }
        text.push_str(&vec!["1"; 50_000].join(","));
        text.push_str(&"]".repeat(200));
        let start = Instant::now();
        let doc = one(&text);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(doc.as_seq().unwrap().len(), 1);
    }

    // --- rule 6: merge keys --------------------------------------------------------------------

    #[test]
    fn merge_key_precedence() {
        let text =
            "b: &b {p: 1, q: 2}\nc: &c {q: 3, r: 4, s: ~}\na:\n  r: 9\n  <<: [*b, *c]\n  p: 0\n";
        let doc = one(text);
        let a = doc.get("a").unwrap();
        let got: Vec<(String, Value)> = a
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, e)| (k.clone(), e.value.value.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("r".into(), Value::Int(9)),
                ("p".into(), Value::Int(0)),
                ("q".into(), Value::Int(2)),
                ("s".into(), Value::Null),
            ]
        );
        // Merged entries keep their own positions.
        assert_eq!(key_at(a, "q"), (1, 14));
        assert_eq!(key_at(a, "s"), (2, 20));
        assert!(a.as_map().unwrap().get("<<").is_none());
    }

    #[test]
    fn merge_forms() {
        let doc =
            one("x: &x {a: 1, b: 2}\ny:\n  <<: *x\n  b: 3\nz:\n  <<: {c: 4}\nw: {<<: [], d: 5}\n");
        assert_eq!(doc.get("y").unwrap().get("a").unwrap().value, Value::Int(1));
        assert_eq!(doc.get("y").unwrap().get("b").unwrap().value, Value::Int(3));
        assert_eq!(doc.get("z").unwrap().get("c").unwrap().value, Value::Int(4));
        assert_eq!(doc.get("w").unwrap().as_map().unwrap().len(), 1);
        // A merged map that has its own merge.
        let doc = one("a: &a {p: 1}\nb: &b {<<: *a, q: 2}\nc: {<<: *b}\n");
        let c = doc.get("c").unwrap();
        assert_eq!(c.get("p").unwrap().value, Value::Int(1));
        assert_eq!(c.get("q").unwrap().value, Value::Int(2));
        // Quoted "<<" is an ordinary key; `!!merge` marks a merge.
        let doc = one("a: {\"<<\": {p: 1}}\nb: {!!merge <<: {p: 1}}\n");
        assert!(doc.get("a").unwrap().get("<<").is_some());
        assert_eq!(doc.get("b").unwrap().get("p").unwrap().value, Value::Int(1));
    }

    #[test]
    fn merge_of_non_map_fails() {
        for text in [
            "b: &b 1\na:\n  <<: *b\n",
            "a:\n  <<: [{a: 1}, 2]\n",
            "a:\n  <<: ~\n",
            "a:\n  <<: x\n",
            "a: {<<: [[1]]}",
        ] {
            let e = err(text);
            assert_eq!(
                e.to_string(),
                "map merge requires map or sequence of maps as the value",
                "{text:?}"
            );
        }
        assert_eq!(pos(&err("a:\n  <<: [{a: 1}, 2]\n")), (2, 16));
    }

    // --- rule 7: nesting -----------------------------------------------------------------------

    #[test]
    fn deep_flow_nesting_fails_fast() {
        for open in ["[", "{"] {
            let text = open.repeat(20_000);
            let start = Instant::now();
            let e = err(&text);
            assert!(e.to_string().starts_with("nesting too deep"), "{e}");
            assert!(start.elapsed() < Duration::from_millis(200));
        }
    }

    #[test]
    fn deep_block_nesting_fails_fast() {
        let text = "- ".repeat(20_000) + "x\n";
        let start = Instant::now();
        let e = err(&text);
        assert!(
            matches!(e, YamlError::NestingTooDeep { limit: 256, .. }),
            "{e}"
        );
        assert!(start.elapsed() < Duration::from_millis(500));
        let mut text = String::new();
        for i in 0..2_000 {
            text.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert!(matches!(err(&text), YamlError::NestingTooDeep { .. }));
    }

    #[test]
    fn nesting_limit_is_configurable_and_covers_aliases() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        parse("a: {b: [1]}", F, &limits).unwrap();
        let e = err_with("a: {b: [[1]]}", &limits);
        assert_eq!(e.to_string(), "nesting too deep (more than 3 levels)");
        assert_eq!(pos(&e), (1, 9));
        // An alias of a deep node placed deeper.
        let e = err_with("x: &x [[1]]\ny: [*x]\n", &limits);
        assert!(matches!(e, YamlError::NestingTooDeep { .. }));
        assert_eq!(pos(&e), (2, 5));
    }

    // --- rule 8: scalar size and syntax errors -------------------------------------------------

    #[test]
    fn long_scalars_are_rejected() {
        let limits = Limits {
            max_scalar_bytes: 8,
            ..Limits::default()
        };
        parse("a: 12345678", F, &limits).unwrap();
        let e = err_with("a: b\nc: \"123456789\"\n", &limits);
        assert_eq!(e.to_string(), "scalar too long (9 bytes, limit is 8)");
        assert_eq!(pos(&e), (2, 4));
    }

    #[test]
    fn syntax_errors_have_positions() {
        // A tab used as indentation: the error is on the tab's line.
        let e = err("services:\n  web:\n\timage: x\n");
        assert!(e.to_string().contains("tab"), "{e}");
        assert_eq!(pos(&e), (3, 1));
        let e = err("x:\n  b: 1\n\tc: 2\n");
        assert!(e.to_string().contains("tab"), "{e}");
        assert_eq!(pos(&e), (3, 1));
        let e = err("a: |\n\tx\n");
        assert_eq!(
            e.to_string(),
            "found a tab character where an indentation space is expected"
        );
        assert_eq!(pos(&e), (2, 1));
        // Unterminated quotes point at the opening quote.
        let e = err("a: 1\nb: \"abc\n");
        assert_eq!(
            e.to_string(),
            "while scanning a quoted scalar, found unexpected end of stream"
        );
        assert_eq!(pos(&e), (2, 4));
        // An unclosed `[` points at the bracket.
        let e = err("a:\n  b: [1, 2\n");
        assert!(
            e.to_string()
                .starts_with("did not find expected ',' or ']'"),
            "{e}"
        );
        assert_eq!(pos(&e), (2, 6));
        let e = err("a: [1 [2]]\n");
        assert_eq!(e.to_string(), "did not find expected ',' or ']'");
        assert_eq!(pos(&e), (1, 7));
        let e = err("a: {b: [1, {c: 2}\n");
        assert_eq!(
            e.to_string(),
            "did not find expected ',' or ']' (unclosed collection)"
        );
        assert_eq!(pos(&e), (1, 8));
        let e = err("a: @x\n");
        assert!(
            e.to_string()
                .starts_with("found character that cannot start any token"),
            "{e}"
        );
        assert_eq!(pos(&e), (1, 4));
        let e = err("a: b: c\n");
        assert_eq!(
            e.to_string(),
            "mapping values are not allowed in this context"
        );
        let e = err("a: 'x' y\n");
        assert!(
            e.to_string().starts_with("did not find expected key"),
            "{e}"
        );
        let e = err("a:\n  - b\n  c: d\n");
        assert_eq!(pos(&e), (3, 3));
    }

    // --- rule 9: control characters ------------------------------------------------------------

    #[test]
    fn control_characters_are_rejected_with_a_position() {
        for (text, p) in [
            ("a: x\u{0}y\n", (1, 5)),
            ("a: 1\nb: \u{1}\n", (2, 4)),
            ("é: \u{7f}", (1, 4)),
            ("a: \u{9f}", (1, 4)),
        ] {
            let e = err(text);
            assert!(
                e.to_string()
                    .starts_with("control characters are not allowed"),
                "{e}"
            );
            assert_eq!(pos(&e), p, "{text:?}");
        }
        assert_eq!(
            err("\u{ffff}").to_string(),
            "control characters are not allowed (found U+FFFF)"
        );
        // Escapes in double quotes are fine, and so are tabs and CRLF.
        assert_eq!(val("\"a\\x01b\"").value, Value::String("a\u{1}b".into()));
        let doc = one("a: \"\t\"\r\nb: 2\r\n");
        assert_eq!(key_at(&doc, "b"), (2, 1));
        // A leading BOM is skipped.
        assert_eq!(one("\u{feff}a: 1\n").get("a").unwrap().value, Value::Int(1));
    }

    // --- rule 10: documents --------------------------------------------------------------------

    #[test]
    fn documents() {
        assert!(docs("").is_empty());
        assert!(docs("# only a comment\n\n").is_empty());
        assert!(docs("...\n").is_empty());
        let d = docs("---\n");
        assert_eq!(d.len(), 1);
        assert!(d[0].is_null());
        let d = docs("a: 1\n---\nb: 2\n...\n--- 3\n---\n");
        assert_eq!(d.len(), 4);
        assert_eq!(d[1].get("b").unwrap().value, Value::Int(2));
        assert_eq!(key_at(&d[1], "b"), (3, 1));
        assert_eq!(d[2].value, Value::Int(3));
        assert!(d[3].is_null());
        // An error in the second document.
        let e = err("a: 1\n---\nb: [\n");
        assert_eq!(e.span().line, 3);
        // A tree error in an earlier document comes before a syntax error in a later one.
        let e = err("a: 1\na: 2\n---\nb: [\n");
        assert!(matches!(e, YamlError::DuplicateKey { .. }), "{e}");
        // Syntax errors come before other errors of the same document.
        let e = err("a: 1\na: 2\nb: [\n");
        assert!(matches!(e, YamlError::Syntax { .. }), "{e}");
    }

    #[test]
    fn spans_of_errors_carry_the_file() {
        let e = err("a: *x");
        assert_eq!(e.span().file, F);
    }

    // -----------------------------------------------------------------------------------------
    // The fast reader against yaml-rust2.

    /// yaml-rust2's events and marks for `text`, up to the end of the stream or an error.
    #[test]
    fn fast_reader_agrees_at_end_of_text() {
        // Texts ending without a line break, after comments and blanks at various
        // indentations (the fuzzer found a trailing indented comment marked differently).
        let bodies = [
            "a:\n  b:\n    c: 1\n",
            "a:\n- x\n- y: 1\n  z: 2\n",
            "a: 1\n",
        ];
        let tails = [
            "",
            " #",
            "  #",
            "# x",
            "    # x",
            " ",
            "   ",
            "\n",
            " #\n",
            "z: 1 # c",
            "z: 1 ",
            "  # c\n #",
            "z:",
            "z: [1]  #",
        ];
        for body in bodies {
            for tail in tails {
                let t = format!("{body}{tail}");
                fast_agrees(&t, &t);
            }
        }
    }

    #[test]
    fn fast_reader_snippets() {
        let taken = [
            "a: 1\n",
            "a: 1",
            "# c\nname: x\na: &anc\n  k: v   # comment\n  k2: \"q\\\"s\"\nb:\n  <<: *anc\n  z: 'it''s'\n",
            "seq:\n  - a\n  - b: 1\n    c: 2\n  -   d\nind:\n- x\n- y\n",
            "flow: [\"a\", b, 'c']\nempty:\nlast: [ ]\nem: {}\ne: { }\nt: [a, b]\n",
            "a:\n- b: 1\n  c: 2\n-\n  - x\n- &an foo\n- *an\nd: &m\n- q\ne: 1 # c\n# trailing\n\n",
            "a:\n  b:\n    - x\n  c: y\n",
            "a: 1\nb:",
            "a: 1\n  # c\n",
            "a: \"\\x41\\u00e9\\t\\n\\/\\ \"\n",
            "\"q k\": 1\n'r': 2\nx y: 3\n",
            "a: &x [1, 2]\nb: &y {}\nc: *x\n",
            "a:\n  - &s\n    k: v\n  - *s\n",
            "a: http://x:80/p#frag\nb: x#y\nc: -1\nd: -x\n",
            "a:\n  b: 1\n\n\n  c: 2\n# end\n",
            "c:\n  content: |\n    listen: 8080\n    level: x\nd: 1\n",
            "c: |-\n  a\n\n  b\n\n\nd: 1\n",
            "c: |\n  a\n   b\n  # x\n# y\nd: 1\n",
            "c:\n- |\n  a\n\n- &x |-\n   b\n",
            "x: {com.example.net: \"0\"}\ny: { a: 1 , \"b\": \"2\", c: d }\nz: &q {'a': x y}\n",
        ];
        for t in taken {
            assert!(fast_agrees(t, t), "the fast reader gave up on {t:?}");
        }
        // Left to yaml-rust2 (some are errors, some outside the subset).
        let left = [
            "- a\n",
            "---\na: 1\n",
            "a: !reset x\n",
            "a: b: c\n",
            "a: x\n  y\n",
            "a:\tb\n",
            "a: 1\r\n",
            "a: [1,\n 2]\n",
            "a: \"x\n y\"\n",
            "a:\n-\n- b\n",
            "? a\n: b\n",
            "a : 1\n",
            "a: *nope\n",
            "a: 'x'y\n",
            "a: [[1]]\n",
            "a:\n  - - x\n",
            "é: 1\n",
            "a: 1\n...\n",
            "a:\n  b: 1\n c: 2\n",
            "a: 1\n  b: 2\n",
            "a: &x\nb: 1\n",
            "a: %x\n",
            "a: [a, , b]\n",
            "a: [a b: c]\n",
            "a: x #c\n  y\n",
            "a: {b: }\n",
            "a: {b}\n",
            "a: {b:1}\n",
            "a: {b: [1]}\n",
            "a: {b: 1\n",
            "a: {b: 1}}\n",
            "a:\n  b: 1\n  ",
            "a: [a, b,]\n",
            "a: {b: 1, }\n",
            "a: |\n  x",
            "a: |\n\n  x\n",
            "a: |\n  x\n   \n",
            "a: |2\n  x\n",
            "a: >\n  x\n",
            "a: |+\n  x\n",
            "a: | # c\n  x\n",
            "a:\n  b: |\n  x\n",
            "a: &a [1]\nb: [*a]\n",
            "a: &a x\nb: {c: *a}\n",
        ];
        for t in left {
            if fast_events(t).is_some() {
                assert!(fast_agrees(t, t));
                panic!("expected the fast reader to leave {t:?} to yaml-rust2");
            }
        }
    }

    /// Every YAML file at hand (tests, examples, the fuzz corpora and the shared conformance
    /// corpus, where present): where the fast reader takes one, it must agree with yaml-rust2.
    #[test]
    fn fast_path_matches_yaml_rust2() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dirs = [
            root.join("tests"),
            root.join("examples"),
            root.join("fuzz/corpus/yaml"),
            root.join("fuzz/corpus/load"),
            root.join("../shared/corpus"),
        ];
        let (mut taken, mut total) = (0, 0);
        let mut stack: Vec<std::path::PathBuf> = dirs.into_iter().filter(|d| d.is_dir()).collect();
        // More files or folders to compare, e.g. a generated benchmark project.
        if let Some(extra) = std::env::var_os("RCOMPOSE_FAST_EXTRA") {
            stack.extend(std::env::split_paths(&extra));
        }
        while let Some(dir) = stack.pop() {
            let paths: Vec<std::path::PathBuf> = match std::fs::read_dir(&dir) {
                Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
                Err(_) => vec![dir],
            };
            for path in paths {
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                if check_characters(text, F).is_err() {
                    continue;
                }
                total += 1;
                if fast_agrees(text, &path.display().to_string()) {
                    taken += 1;
                }
            }
        }
        eprintln!("fast reader: {taken} of {total} files");
    }
}
