//! A fast event source for the plain shape most compose files have, emitting exactly the
//! events and marks `yaml-rust2` would, or giving up.
//!
//! `yaml-rust2` reads a character at a time through a look-ahead buffer, and was most of the
//! time of loading a large file. Compose files are nearly always simple block YAML, so this
//! reader handles that subset line by line: block mappings and sequences (also compact
//! `- key: value` items and indentless sequences), one-line plain, single- and double-quoted
//! scalars, one-line flow sequences of scalars, `{}`, anchors, aliases and comments, in an
//! ASCII text without tabs or carriage returns. Anything else (block scalars, tags,
//! multi-line scalars, `---`, explicit keys, ...), and anything that might be an error, makes
//! it return [`Unsupported`]; the caller then reads the whole stream again with `yaml-rust2`,
//! so errors and their positions always come from `yaml-rust2`. It never accepts a text
//! `yaml-rust2` would reject, and for what it accepts its events and marks are the same
//! (including `yaml-rust2`'s marks: a block mapping at the `:` of its first key, an
//! indentless sequence at its first item's content, ends and empty values at the next
//! token); `tests::fast_path_matches_yaml_rust2` compares both on every YAML file at hand.

use std::collections::{HashMap, VecDeque};

use yaml_rust2::parser::Event;
use yaml_rust2::scanner::TScalarStyle;

use super::{all_bytes, find_either, Mark};

/// The text is outside the subset: read it with `yaml-rust2` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported;

type R<T> = Result<T, Unsupported>;

/// Longest key taken here (`yaml-rust2` rejects simple keys over 1024 characters).
const MAX_KEY: usize = 1000;

struct Block {
    seq: bool,
    indent: usize,
    /// A sequence at the indentation of its parent mapping's keys (`key:\n- item`).
    indentless: bool,
}

/// A `key:` or `-` with nothing after it on its line: the value is on the next lines.
struct Pending {
    /// Indentation of the mapping's keys, or column of the `-`.
    parent_indent: usize,
    in_seq: bool,
    anchor: usize,
}

/// One content line (neither blank nor only a comment).
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    indent: usize,
    line: usize,
}

struct Key {
    value: String,
    style: TScalarStyle,
    colon: usize,
}

#[derive(PartialEq)]
enum Phase {
    Start,
    Body,
    Done,
}

pub struct Events<'a> {
    b: &'a [u8],
    text: &'a str,
    /// Start of the next line to read, and its 1-based number.
    pos: usize,
    line_no: usize,
    queue: VecDeque<(Event, Mark)>,
    blocks: Vec<Block>,
    pending: Option<Pending>,
    anchors: HashMap<&'a str, usize>,
    next_anchor: usize,
    phase: Phase,
}

/// Whether the text may be in the subset: ASCII without tabs, carriage returns or other
/// control characters than line feeds, and not ending in an unterminated line of only blanks
/// or a comment.
pub fn eligible(text: &str) -> bool {
    let b = text.as_bytes();
    if !all_bytes(b, |c| c == b'\n' || (b' '..=b'~').contains(&c)) {
        return false;
    }
    // A last line of only blanks or a comment and no line break: yaml-rust2 marks some block
    // ends on it (found by the fuzzer for an indented comment).
    let last = &b[b.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1)..];
    let content = last.iter().position(|&c| c != b' ').map(|i| last[i]);
    last.is_empty() || !matches!(content, None | Some(b'#'))
}

impl<'a> Events<'a> {
    /// A reader of a text for which [`eligible`] holds.
    pub fn new(text: &'a str) -> Self {
        let b = text.as_bytes();
        Events {
            b,
            text,
            pos: 0,
            line_no: 1,
            queue: VecDeque::new(),
            blocks: Vec::new(),
            pending: None,
            anchors: HashMap::new(),
            next_anchor: 1,
            phase: Phase::Start,
        }
    }

    pub fn next_event(&mut self) -> R<(Event, Mark)> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Ok(e);
            }
            self.step()?;
        }
    }

    fn emit(&mut self, ev: Event, m: Mark) {
        self.queue.push_back((ev, m));
    }

    fn mark(&self, l: &Line, at: usize) -> Mark {
        Mark {
            index: at,
            line: l.line,
            col: at - l.start,
        }
    }

    /// Where `yaml-rust2` puts the end of the stream, once every line is read: after an
    /// implied final line break.
    fn eof_mark(&self) -> Mark {
        Mark {
            index: self.b.len(),
            line: self.line_no,
            col: 0,
        }
    }

    /// The next line with content, skipping blank and comment-only lines.
    fn next_line(&mut self) -> Option<Line> {
        let b = self.b;
        while self.pos < b.len() {
            let start = self.pos;
            let end = find_either(b, start, b'\n', b'\n');
            let line = self.line_no;
            self.pos = end + 1;
            self.line_no += 1;
            let indent = b[start..end].iter().take_while(|&&c| c == b' ').count();
            if start + indent == end || b[start + indent] == b'#' {
                continue;
            }
            return Some(Line {
                start,
                end,
                indent,
                line,
            });
        }
        self.pos = b.len();
        None
    }

    fn step(&mut self) -> R<()> {
        match self.phase {
            Phase::Start => {
                self.emit(
                    Event::StreamStart,
                    Mark {
                        index: 0,
                        line: 1,
                        col: 0,
                    },
                );
                let l = self.next_line().ok_or(Unsupported)?;
                if l.indent != 0 {
                    return Err(Unsupported);
                }
                self.check_line(&l)?;
                let key = self.find_key(&l, l.start)?.ok_or(Unsupported)?;
                let m = self.mark(&l, key.colon);
                self.emit(Event::DocumentStart, m);
                self.emit(Event::MappingStart(0, None), m);
                self.blocks.push(Block {
                    seq: false,
                    indent: 0,
                    indentless: false,
                });
                self.phase = Phase::Body;
                self.map_entry(&l, l.start, key)
            }
            Phase::Body => match self.next_line() {
                Some(l) => self.line(&l),
                None => {
                    let m = self.eof_mark();
                    if let Some(p) = self.pending.take() {
                        if p.in_seq || p.anchor != 0 {
                            return Err(Unsupported);
                        }
                        self.emit(empty_scalar(), m);
                    }
                    while let Some(top) = self.blocks.pop() {
                        self.emit(end_event(&top), m);
                    }
                    self.emit(Event::DocumentEnd, m);
                    self.emit(Event::StreamEnd, m);
                    self.phase = Phase::Done;
                    Ok(())
                }
            },
            // Nothing follows the stream's end (the loader stops at it).
            Phase::Done => Err(Unsupported),
        }
    }

    /// Lines `yaml-rust2` reads as document markers or directives.
    fn check_line(&self, l: &Line) -> R<()> {
        if l.indent == 0 {
            let rest = &self.b[l.start..l.end];
            if rest[0] == b'%' {
                return Err(Unsupported);
            }
            for marker in [b"---", b"..."] {
                if rest.starts_with(marker) && rest.get(3).is_none_or(|&c| c == b' ') {
                    return Err(Unsupported);
                }
            }
        }
        Ok(())
    }

    fn is_seq_entry(&self, l: &Line) -> bool {
        let at = l.start + l.indent;
        self.b[at] == b'-' && (at + 1 == l.end || self.b[at + 1] == b' ')
    }

    fn line(&mut self, l: &Line) -> R<()> {
        self.check_line(l)?;
        let ind = l.indent;
        let first = l.start + ind;
        let m = self.mark(l, first);
        if let Some(p) = self.pending.take() {
            if ind > p.parent_indent {
                // The value is a block collection on the following lines.
                if self.is_seq_entry(l) {
                    self.emit(Event::SequenceStart(p.anchor, None), m);
                    self.blocks.push(Block {
                        seq: true,
                        indent: ind,
                        indentless: false,
                    });
                    return self.seq_entry(l);
                }
                let key = self.find_key(l, first)?.ok_or(Unsupported)?;
                let cm = self.mark(l, key.colon);
                self.emit(Event::MappingStart(p.anchor, None), cm);
                self.blocks.push(Block {
                    seq: false,
                    indent: ind,
                    indentless: false,
                });
                return self.map_entry(l, first, key);
            }
            if ind == p.parent_indent && !p.in_seq && self.is_seq_entry(l) {
                // `key:\n- item`: yaml-rust2 marks the sequence at the first item's content.
                let content = self.skip_spaces(first + 1, l.end);
                if content == l.end || matches!(self.b[content], b'#' | b'&' | b'*') {
                    return Err(Unsupported);
                }
                let cm = self.mark(l, content);
                self.emit(Event::SequenceStart(p.anchor, None), cm);
                self.blocks.push(Block {
                    seq: true,
                    indent: ind,
                    indentless: true,
                });
                return self.seq_entry(l);
            }
            // An empty value (yaml-rust2 marks it at the next token). An empty item of a
            // block sequence has a mark of its own kind: leave it to yaml-rust2.
            if p.in_seq || p.anchor != 0 {
                return Err(Unsupported);
            }
            self.emit(empty_scalar(), m);
        }
        while let Some(top) = self.blocks.last() {
            let closes =
                top.indent > ind || (top.indentless && top.indent == ind && !self.is_seq_entry(l));
            if !closes {
                break;
            }
            let ev = end_event(top);
            self.blocks.pop();
            self.emit(ev, m);
        }
        let Some(top) = self.blocks.last() else {
            return Err(Unsupported);
        };
        if top.indent != ind {
            return Err(Unsupported);
        }
        if top.seq {
            if !self.is_seq_entry(l) {
                return Err(Unsupported);
            }
            self.seq_entry(l)
        } else {
            let key = self.find_key(l, first)?.ok_or(Unsupported)?;
            self.map_entry(l, first, key)
        }
    }

    fn skip_spaces(&self, mut i: usize, end: usize) -> usize {
        while i < end && self.b[i] == b' ' {
            i += 1;
        }
        i
    }

    /// `key: ...` with the key starting at `at`.
    fn map_entry(&mut self, l: &Line, at: usize, key: Key) -> R<()> {
        let km = self.mark(l, at);
        self.emit(Event::Scalar(key.value, key.style, 0, None), km);
        let indent = at - l.start;
        self.value(l, key.colon + 1, indent, false)
    }

    /// `- ...` with the `-` at the line's indentation.
    fn seq_entry(&mut self, l: &Line) -> R<()> {
        let dash = l.start + l.indent;
        let content = self.skip_spaces(dash + 1, l.end);
        if content < l.end && self.b[content] == b'-' && self.is_dash_entry(content, l.end) {
            return Err(Unsupported);
        }
        if content < l.end && self.b[content] != b'#' {
            if let Some(key) = self.find_key(l, content)? {
                // A compact mapping: its keys line up with this first one.
                let cm = self.mark(l, key.colon);
                self.emit(Event::MappingStart(0, None), cm);
                self.blocks.push(Block {
                    seq: false,
                    indent: content - l.start,
                    indentless: false,
                });
                return self.map_entry(l, content, key);
            }
        }
        self.value(l, dash + 1, l.indent, true)
    }

    fn is_dash_entry(&self, at: usize, end: usize) -> bool {
        at + 1 == end || self.b[at + 1] == b' '
    }

    /// The key of a mapping entry starting at `at`, if the line is one.
    fn find_key(&self, l: &Line, at: usize) -> R<Option<Key>> {
        let b = self.b;
        let end = l.end;
        let c = b[at];
        let (value, style, after) = match c {
            b'"' | b'\'' => {
                // Most quoted scalars at the start of an item are values: find the closing
                // quote before decoding anything.
                let Some(after) = self.quoted_end(at, end) else {
                    return Ok(None);
                };
                if after >= end || b[after] != b':' {
                    return Ok(None);
                }
                let Ok((value, after)) = self.quoted(at, end) else {
                    return Ok(None);
                };
                let style = if c == b'"' {
                    TScalarStyle::DoubleQuoted
                } else {
                    TScalarStyle::SingleQuoted
                };
                (value, style, after)
            }
            _ if is_indicator(c) => return Ok(None),
            _ => {
                let mut j = at;
                loop {
                    if j == end {
                        return Ok(None);
                    }
                    match b[j] {
                        b':' if j + 1 == end || b[j + 1] == b' ' => break,
                        b'#' if b[j - 1] == b' ' => return Ok(None),
                        _ => j += 1,
                    }
                }
                if b[j - 1] == b' ' {
                    return Err(Unsupported);
                }
                (self.text[at..j].to_string(), TScalarStyle::Plain, j)
            }
        };
        if after >= end || b[after] != b':' || !(after + 1 == end || b[after + 1] == b' ') {
            return Ok(None);
        }
        if after - at > MAX_KEY {
            return Err(Unsupported);
        }
        Ok(Some(Key {
            value,
            style,
            colon: after,
        }))
    }

    /// The rest of a line after `key:` or `-` (from `from`): an inline value, or nothing
    /// (the value follows on the next lines). `indent` is that of the enclosing collection.
    fn value(&mut self, l: &Line, from: usize, indent: usize, in_seq: bool) -> R<()> {
        let b = self.b;
        let end = l.end;
        let mut i = self.skip_spaces(from, end);
        if i < end && i == from {
            return Err(Unsupported); // `key:x` is not an entry; `-x` not an item
        }
        let mut anchor = 0;
        if i < end && b[i] == b'&' {
            let name_end = self.name_end(i + 1, end)?;
            let name = &self.text[i + 1..name_end];
            anchor = self.next_anchor;
            self.next_anchor += 1;
            self.anchors.insert(name, anchor);
            let j = self.skip_spaces(name_end, end);
            if j < end && j == name_end {
                return Err(Unsupported);
            }
            i = j;
        }
        if i == end || b[i] == b'#' {
            self.pending = Some(Pending {
                parent_indent: indent,
                in_seq,
                anchor,
            });
            return Ok(());
        }
        let m = self.mark(l, i);
        let after = match b[i] {
            b'*' => {
                if anchor != 0 {
                    return Err(Unsupported);
                }
                let name_end = self.name_end(i + 1, end)?;
                let id = *self
                    .anchors
                    .get(&self.text[i + 1..name_end])
                    .ok_or(Unsupported)?;
                self.emit(Event::Alias(id), m);
                name_end
            }
            b'"' | b'\'' => {
                let (value, after) = self.quoted(i, end)?;
                let style = if b[i] == b'"' {
                    TScalarStyle::DoubleQuoted
                } else {
                    TScalarStyle::SingleQuoted
                };
                self.emit(Event::Scalar(value, style, anchor, None), m);
                after
            }
            b'[' => self.flow_seq(l, i, anchor)?,
            b'{' => self.flow_map(l, i, anchor)?,
            b'|' => return self.literal(l, i, indent, anchor),
            b'-' if self.is_dash_entry(i, end) => return Err(Unsupported),
            c if c != b'-' && is_indicator(c) => return Err(Unsupported),
            _ => {
                // A plain scalar up to a comment or the end of the line.
                let mut j = i;
                while j < end && !(b[j] == b'#' && b[j - 1] == b' ') {
                    if b[j] == b':' && (j + 1 == end || b[j + 1] == b' ') {
                        return Err(Unsupported);
                    }
                    j += 1;
                }
                let mut k = j;
                while b[k - 1] == b' ' {
                    k -= 1;
                }
                self.emit(
                    Event::Scalar(
                        self.text[i..k].to_string(),
                        TScalarStyle::Plain,
                        anchor,
                        None,
                    ),
                    m,
                );
                k
            }
        };
        self.rest_is_comment(after, end)
    }

    /// A literal block scalar (`|` or `|-` alone at the end of the line, at `at`), whose lines
    /// are read from the next line on; `indent` is that of the enclosing collection.
    /// yaml-rust2 marks it at its first content character. Leading blank lines, blank lines
    /// holding more than the indentation, other headers and a scalar running into the end of
    /// a text without a final line break are left to yaml-rust2.
    fn literal(&mut self, l: &Line, at: usize, indent: usize, anchor: usize) -> R<()> {
        let b = self.b;
        let mut i = at + 1;
        let strip = i < l.end && b[i] == b'-';
        if strip {
            i += 1;
        }
        if self.skip_spaces(i, l.end) != l.end {
            return Err(Unsupported);
        }
        let mut pos = self.pos;
        let mut line_no = self.line_no;
        let mut lines: Vec<&str> = Vec::new();
        let mut n = 0;
        let mut mark = None;
        while pos < b.len() {
            let end = find_either(b, pos, b'\n', b'\n');
            if end == b.len() {
                return Err(Unsupported);
            }
            let sp = b[pos..end].iter().take_while(|&&c| c == b' ').count();
            if pos + sp == end {
                if mark.is_none() || sp > n {
                    return Err(Unsupported);
                }
                lines.push("");
            } else {
                if mark.is_none() {
                    if sp <= indent {
                        return Err(Unsupported);
                    }
                    n = sp;
                    mark = Some(Mark {
                        index: pos + n,
                        line: line_no,
                        col: n,
                    });
                } else if sp < n {
                    break;
                }
                lines.push(&self.text[pos + n..end]);
            }
            pos = end + 1;
            line_no += 1;
        }
        let mark = mark.ok_or(Unsupported)?;
        while lines.last() == Some(&"") {
            lines.pop();
        }
        let mut value = lines.join("\n");
        if !strip {
            value.push('\n');
        }
        self.pos = pos;
        self.line_no = line_no;
        self.emit(
            Event::Scalar(value, TScalarStyle::Literal, anchor, None),
            mark,
        );
        Ok(())
    }

    /// Only blanks and a comment may follow a complete value on its line.
    fn rest_is_comment(&self, from: usize, end: usize) -> R<()> {
        let j = self.skip_spaces(from, end);
        if j == end || (self.b[j] == b'#' && j > from) {
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    /// End of an anchor or alias name starting at `from` (it must be followed by a blank).
    fn name_end(&self, from: usize, end: usize) -> R<usize> {
        let b = self.b;
        let mut j = from;
        while j < end && b[j] != b' ' {
            if matches!(b[j], b',' | b'[' | b']' | b'{' | b'}') {
                return Err(Unsupported);
            }
            j += 1;
        }
        if j == from {
            return Err(Unsupported);
        }
        Ok(j)
    }

    /// `[a, "b", 'c']` on one line; returns the position after the `]`.
    fn flow_seq(&mut self, l: &Line, open: usize, anchor: usize) -> R<usize> {
        let b = self.b;
        let end = l.end;
        let om = self.mark(l, open);
        self.emit(Event::SequenceStart(anchor, None), om);
        let mut i = self.skip_spaces(open + 1, end);
        loop {
            if i == end {
                return Err(Unsupported);
            }
            if b[i] == b']' {
                let cm = self.mark(l, i);
                self.emit(Event::SequenceEnd, cm);
                return Ok(i + 1);
            }
            let m = self.mark(l, i);
            let after = match b[i] {
                b'"' | b'\'' => {
                    let (value, after) = self.quoted(i, end)?;
                    let style = if b[i] == b'"' {
                        TScalarStyle::DoubleQuoted
                    } else {
                        TScalarStyle::SingleQuoted
                    };
                    self.emit(Event::Scalar(value, style, 0, None), m);
                    after
                }
                c if is_indicator(c) => return Err(Unsupported),
                _ => self.flow_plain(i, end, b']', m)?,
            };
            let j = self.skip_spaces(after, end);
            if j == end {
                return Err(Unsupported);
            }
            match b[j] {
                b',' => {
                    // A trailing comma has marks of its own kind: leave it to yaml-rust2.
                    i = self.skip_spaces(j + 1, end);
                    if i < end && matches!(b[i], b',' | b']' | b'}') {
                        return Err(Unsupported);
                    }
                }
                b']' => i = j,
                _ => return Err(Unsupported),
            }
        }
    }

    /// `{a: 1, "b": c}` on one line (scalar keys and values, none empty); returns the
    /// position after the `}`.
    fn flow_map(&mut self, l: &Line, open: usize, anchor: usize) -> R<usize> {
        let b = self.b;
        let end = l.end;
        let om = self.mark(l, open);
        self.emit(Event::MappingStart(anchor, None), om);
        let mut i = self.skip_spaces(open + 1, end);
        loop {
            if i == end {
                return Err(Unsupported);
            }
            if b[i] == b'}' {
                let cm = self.mark(l, i);
                self.emit(Event::MappingEnd, cm);
                return Ok(i + 1);
            }
            // The key, right before a `: `.
            let m = self.mark(l, i);
            let colon = match b[i] {
                b'"' | b'\'' => self.flow_quoted(i, end, m)?,
                c if is_indicator(c) => return Err(Unsupported),
                _ => {
                    let mut j = i;
                    while j < end && b[j] != b':' {
                        if matches!(b[j], b',' | b'#' | b'[' | b']' | b'{' | b'}' | b'"' | b'\'') {
                            return Err(Unsupported);
                        }
                        j += 1;
                    }
                    if j == end || b[j - 1] == b' ' {
                        return Err(Unsupported);
                    }
                    self.emit(
                        Event::Scalar(self.text[i..j].to_string(), TScalarStyle::Plain, 0, None),
                        m,
                    );
                    j
                }
            };
            if colon + 1 >= end || b[colon] != b':' || b[colon + 1] != b' ' {
                return Err(Unsupported);
            }
            let v = self.skip_spaces(colon + 1, end);
            if v == end {
                return Err(Unsupported);
            }
            let vm = self.mark(l, v);
            let after = match b[v] {
                b'"' | b'\'' => self.flow_quoted(v, end, vm)?,
                c if is_indicator(c) => return Err(Unsupported),
                _ => self.flow_plain(v, end, b'}', vm)?,
            };
            let j = self.skip_spaces(after, end);
            if j == end {
                return Err(Unsupported);
            }
            match b[j] {
                b',' => {
                    // A trailing comma has marks of its own kind: leave it to yaml-rust2.
                    i = self.skip_spaces(j + 1, end);
                    if i < end && matches!(b[i], b',' | b']' | b'}') {
                        return Err(Unsupported);
                    }
                }
                b'}' => i = j,
                _ => return Err(Unsupported),
            }
        }
    }

    /// A quoted scalar in a flow collection, emitted; returns the position after it.
    fn flow_quoted(&mut self, at: usize, end: usize, m: Mark) -> R<usize> {
        let (value, after) = self.quoted(at, end)?;
        let style = if self.b[at] == b'"' {
            TScalarStyle::DoubleQuoted
        } else {
            TScalarStyle::SingleQuoted
        };
        self.emit(Event::Scalar(value, style, 0, None), m);
        Ok(after)
    }

    /// A plain scalar in a flow collection closed by `close`, up to a `,` or `close` (with
    /// none of the characters that would make it something else), emitted; returns the
    /// position after it.
    fn flow_plain(&mut self, at: usize, end: usize, close: u8, m: Mark) -> R<usize> {
        let b = self.b;
        let mut j = at;
        while j < end && b[j] != b',' && b[j] != close {
            if matches!(b[j], b':' | b'#' | b'[' | b']' | b'{' | b'}' | b'"' | b'\'') {
                return Err(Unsupported);
            }
            j += 1;
        }
        let mut k = j;
        while b[k - 1] == b' ' {
            k -= 1;
        }
        self.emit(
            Event::Scalar(self.text[at..k].to_string(), TScalarStyle::Plain, 0, None),
            m,
        );
        Ok(j)
    }

    /// The position after the closing quote of a quoted scalar starting at `at`, if it is
    /// closed on the same line.
    fn quoted_end(&self, at: usize, end: usize) -> Option<usize> {
        let b = self.b;
        let q = b[at];
        let mut i = at + 1;
        while i < end {
            match b[i] {
                b'\\' if q == b'"' => i += 2,
                b'\'' if q == b'\'' && i + 1 < end && b[i + 1] == b'\'' => i += 2,
                c if c == q => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// A quoted scalar starting at `at` and closed on the same line: its value and the
    /// position after the closing quote.
    fn quoted(&self, at: usize, end: usize) -> R<(String, usize)> {
        let b = self.b;
        let q = b[at];
        let mut out = String::new();
        let mut i = at + 1;
        let mut run = i;
        while i < end {
            let c = b[i];
            if q == b'\'' {
                if c == b'\'' {
                    out.push_str(&self.text[run..i]);
                    if i + 1 < end && b[i + 1] == b'\'' {
                        out.push('\'');
                        i += 2;
                        run = i;
                        continue;
                    }
                    return Ok((out, i + 1));
                }
                i += 1;
                continue;
            }
            match c {
                b'"' => {
                    out.push_str(&self.text[run..i]);
                    return Ok((out, i + 1));
                }
                b'\\' => {
                    out.push_str(&self.text[run..i]);
                    let e = *b.get(i + 1).filter(|_| i + 1 < end).ok_or(Unsupported)?;
                    let (ch, len) = match e {
                        b'0' => ('\0', 2),
                        b'a' => ('\x07', 2),
                        b'b' => ('\x08', 2),
                        b't' => ('\t', 2),
                        b'n' => ('\n', 2),
                        b'v' => ('\x0b', 2),
                        b'f' => ('\x0c', 2),
                        b'r' => ('\r', 2),
                        b'e' => ('\x1b', 2),
                        b' ' => (' ', 2),
                        b'"' => ('"', 2),
                        b'/' => ('/', 2),
                        b'\\' => ('\\', 2),
                        b'N' => ('\u{85}', 2),
                        b'_' => ('\u{a0}', 2),
                        b'L' => ('\u{2028}', 2),
                        b'P' => ('\u{2029}', 2),
                        b'x' | b'u' | b'U' => {
                            let n = match e {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = self.text.get(i + 2..i + 2 + n).filter(|_| i + 2 + n <= end);
                            let code = hex
                                .filter(|h| h.bytes().all(|d| d.is_ascii_hexdigit()))
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                                .ok_or(Unsupported)?;
                            (code, 2 + n)
                        }
                        _ => return Err(Unsupported),
                    };
                    out.push(ch);
                    i += len;
                    run = i;
                }
                _ => i += 1,
            }
        }
        Err(Unsupported)
    }
}

fn empty_scalar() -> Event {
    Event::Scalar(String::new(), TScalarStyle::Plain, 0, None)
}

fn end_event(b: &Block) -> Event {
    if b.seq {
        Event::SequenceEnd
    } else {
        Event::MappingEnd
    }
}

/// Characters that cannot start a plain scalar (or start something this reader leaves to
/// `yaml-rust2`). `-` is one unless followed by a non-blank; callers check that case.
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}
