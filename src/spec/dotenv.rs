//! `.env` / `env_file` parsing with the exact behaviour of compose-go's `dotenv` package
//! (compose-go v2.9.1, as shipped in Docker Compose v2.40.3), plus the `format: raw` parser that
//! the docker compose CLI registers (docker/cli's `kvfile`, the `docker run --env-file` format).
//!
//! Why: the values, line numbers and error texts must match `docker compose` byte for byte, and
//! compose-go's parser has behaviour no generic dotenv crate reproduces, e.g.:
//! * keys end at `=`, `:` (YAML style `KEY: value`) or a newline (a bare `KEY` line inherits the
//!   value from the caller's environment); a last line without `=` and without a trailing newline
//!   becomes the value of the empty key (`FOO` at EOF gives `"" = "FOO"`);
//! * after a closing quote, parsing simply continues on the same line (`A="x" B=2` sets both);
//! * unquoted values stop at the first ` #` (a space then `#`), then trailing white space goes;
//! * double-quoted values decode `\a \b \f \n \r \t \v \\ \" \$` and `\0ddd` octal (a failed
//!   octal keeps the text minus the `0`), then are interpolated; single-quoted values only turn
//!   `\'` into `'`;
//! * the line number of an unterminated quote error counts every newline up to end of file.
//!
//! Interpolation uses [`super::interpolate`]; variables resolve from the caller's `lookup`
//! first, then keys defined earlier in this text, then an optional `base` (see [`parse_layered`]).

use super::interpolate::{self, TemplateError};
use std::collections::HashMap;

/// A parse failure. `Display` reproduces compose-go's text (without the `failed to read <file>: `
/// / `failed to parse env_file <file>: ` prefix the caller adds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.kind, .line, .message))]
pub struct DotenvError {
    /// 1-based line the error refers to (for [`DotenvErrorKind::Syntax`], compose-go's number).
    pub line: usize,
    /// The 1-based line where the faulty statement starts (where a diagnostic points; for an
    /// unterminated quote, the line of the opening quote, unlike `line`).
    pub start_line: usize,
    /// The message; for `Syntax` without the `line N: ` prefix.
    pub message: String,
    pub kind: DotenvErrorKind,
}

/// Which part of the parser failed; decides whether `Display` carries a `line N: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotenvErrorKind {
    /// dotenv syntax error; displayed as `line N: message`.
    Syntax,
    /// Interpolation of a value failed; displayed as the template error alone, as compose-go does.
    Interpolation(TemplateError),
    /// `format: raw` error (docker/cli wording, no line prefix).
    Raw,
    /// Any other error, displayed as the message alone.
    Other,
}

fn render(kind: &DotenvErrorKind, line: &usize, message: &str) -> String {
    match kind {
        DotenvErrorKind::Syntax => format!("line {line}: {message}"),
        _ => message.to_string(),
    }
}

impl DotenvError {
    fn syntax(line: usize, message: impl Into<String>) -> Self {
        DotenvError {
            line,
            start_line: line,
            message: message.into(),
            kind: DotenvErrorKind::Syntax,
        }
    }

    fn raw(line: usize, message: impl Into<String>) -> Self {
        DotenvError {
            line,
            start_line: line,
            message: message.into(),
            kind: DotenvErrorKind::Raw,
        }
    }
}

/// Entries plus the unset-variable warnings interpolation produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParseOutput {
    /// One entry per key, at the key's first position, holding its last value. `None`: a bare
    /// `KEY` line that `lookup` could not resolve and no earlier line set; compose-go leaves such
    /// a key out of the result, so callers should treat `None` as "not defined here".
    pub entries: Vec<(String, Option<String>)>,
    /// Variables used without default and not set (one per use, in order); the caller warns
    /// `The "X" variable is not set. Defaulting to a blank string.`
    pub unset: Vec<String>,
}

/// Parses a `.env` / `env_file` text. `lookup` answers variables for interpolation inside values
/// (the caller's environment); keys defined earlier in this text are consulted after `lookup`
/// fails. A bare `KEY` line yields `(KEY, lookup(KEY))`; when unresolved it keeps an earlier value
/// of the same key, else it is `(KEY, None)`. Later duplicates win, at the first position.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    parse_layered(text, lookup, &|_| None).map(|out| out.entries)
}

/// [`parse`] with a third lookup layer and the warnings. Interpolation resolves a name from
/// `lookup`, then from this text's earlier keys, then from `base`. This is compose-go's order when
/// several files are read into one map: for `.env` files pass the OS environment as `lookup` and
/// the values of the earlier `--env-file`s as `base`; for a service's `env_file`s pass the project
/// environment then the service's `environment` as `lookup`, and the service's `environment`
/// merged with the earlier `env_file`s as `base`.
pub fn parse_layered(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    base: &dyn Fn(&str) -> Option<String>,
) -> Result<ParseOutput, DotenvError> {
    let src = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut parser = Parser {
        line: 1,
        lookup,
        base,
        entries: Entries::default(),
        unset: Vec::new(),
    };
    parser.run(src)?;
    Ok(ParseOutput {
        entries: parser.entries.list,
        unset: parser.unset,
    })
}

/// `env_file` with `format: raw` (docker/cli `kvfile`): one `KEY=VALUE` per line, value kept
/// verbatim (quotes, `#`, `$`, trailing blanks), no `export`, no interpolation; blank lines and
/// lines starting with `#` (after leading white space) are skipped. A bare `KEY` line yields
/// `(KEY, None)` unless an earlier line set it; use [`parse_raw_with_lookup`] to resolve it.
pub fn parse_raw(text: &str) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    parse_raw_with_lookup(text, &|_| None)
}

/// [`parse_raw`] resolving bare `KEY` lines with `lookup` (compose passes the project
/// environment, then the service's `environment`).
pub fn parse_raw_with_lookup(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    // bufio.Scanner's default limit: a line plus its newline must fit in 64 KiB.
    const MAX_LINE: usize = 64 * 1024;
    let mut entries = Entries::default();
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let token = raw_line.strip_suffix('\n').unwrap_or(raw_line);
        if token.len() >= MAX_LINE {
            return Err(DotenvError::raw(number, "bufio.Scanner: token too long"));
        }
        let mut line = token.strip_suffix('\r').unwrap_or(token);
        if number == 1 {
            line = line.strip_prefix('\u{FEFF}').unwrap_or(line);
        }
        let line = line.trim_start_matches(is_unicode_space);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(DotenvError::raw(
                number,
                format!("no variable name on line '{line}'"),
            ));
        }
        if key.contains([' ', '\t']) {
            return Err(DotenvError::raw(
                number,
                format!("variable '{key}' contains whitespaces"),
            ));
        }
        match value {
            Some(v) => entries.set(key, v.to_string()),
            None => match lookup(key) {
                Some(v) => entries.set(key, v),
                None => entries.declare(key),
            },
        }
    }
    Ok(entries.list)
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Entries {
    list: Vec<(String, Option<String>)>,
    index: HashMap<String, usize>,
}

impl Entries {
    fn set(&mut self, key: &str, value: String) {
        match self.index.get(key).and_then(|&i| self.list.get_mut(i)) {
            Some(slot) => slot.1 = Some(value),
            None => {
                self.index.insert(key.to_string(), self.list.len());
                self.list.push((key.to_string(), Some(value)));
            }
        }
    }

    /// A bare key that could not be resolved: compose-go leaves the map untouched.
    fn declare(&mut self, key: &str) {
        if !self.index.contains_key(key) {
            self.index.insert(key.to_string(), self.list.len());
            self.list.push((key.to_string(), None));
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        let &i = self.index.get(key)?;
        self.list.get(i)?.1.as_deref()
    }
}

struct Parser<'a> {
    line: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    base: &'a dyn Fn(&str) -> Option<String>,
    entries: Entries,
    unset: Vec<String>,
}

impl Parser<'_> {
    fn run(&mut self, src: &str) -> Result<(), DotenvError> {
        let mut cut = src;
        loop {
            cut = self.statement_start(cut);
            if cut.is_empty() {
                return Ok(());
            }
            let (key, left, inherited) = self.locate_key(cut)?;
            if key.contains(' ') {
                return Err(DotenvError::syntax(self.line, "key cannot contain a space"));
            }
            if inherited {
                match (self.lookup)(key) {
                    Some(v) => self.entries.set(key, v),
                    None => self.entries.declare(key),
                }
                cut = left;
                continue;
            }
            let (value, left) = self.extract_value(left)?;
            self.entries.set(key, value);
            cut = left;
        }
    }

    /// Skips white space and `#` comment lines, counting newlines.
    fn statement_start<'s>(&mut self, mut src: &'s str) -> &'s str {
        loop {
            let mut found = None;
            for (i, c) in src.char_indices() {
                if c == '\n' {
                    self.line += 1;
                }
                if !is_unicode_space(c) {
                    found = Some(i);
                    break;
                }
            }
            let Some(rest) = found.and_then(|i| src.get(i..)) else {
                return "";
            };
            if !rest.starts_with('#') {
                return rest;
            }
            match rest.find('\n').and_then(|p| rest.get(p..)) {
                Some(next) => src = next,
                None => return "",
            }
        }
    }

    /// Returns (key, text after the separator with leading blanks removed, inherited).
    fn locate_key<'s>(&mut self, src: &'s str) -> Result<(&'s str, &'s str, bool), DotenvError> {
        let mut src = src;
        if let Some(after) = src.strip_prefix("export") {
            // `^export\s+` where Go's `\s` is [\t\n\f\r ]
            if after.starts_with(['\t', '\n', '\u{c}', '\r', ' ']) {
                src = after.trim_start_matches(is_blank);
            }
        }
        let mut separator = None;
        for (i, c) in src.char_indices() {
            if is_blank(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    separator = Some((i, c == '\n'));
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if is_letter_or_number(c) => {}
                c => {
                    let first_line = src.split('\n').next().unwrap_or("");
                    return Err(DotenvError::syntax(
                        self.line,
                        format!(
                            "unexpected character {} in variable name {}",
                            interpolate::go_quote(c.encode_utf8(&mut [0; 4])),
                            interpolate::go_quote(first_line)
                        ),
                    ));
                }
            }
        }
        if src.is_empty() {
            return Err(DotenvError {
                line: self.line,
                start_line: self.line,
                message: "zero length string".to_string(),
                kind: DotenvErrorKind::Other,
            });
        }
        // Without a separator (last line, no newline) the key is empty and the whole text
        // becomes the value, as in compose-go.
        let (key, offset, inherited) = match separator {
            Some((i, inherited)) => (src.get(..i).unwrap_or(""), i + 1, inherited),
            None => ("", 0, false),
        };
        if inherited && !key.contains(' ') {
            self.line += 1;
        }
        let key = key.trim_end_matches(is_unicode_space);
        let rest = src.get(offset..).unwrap_or("").trim_start_matches(is_blank);
        Ok((key, rest, inherited))
    }

    /// Reads a value (quoted or not); returns it and the text after it.
    fn extract_value<'s>(&mut self, src: &'s str) -> Result<(String, &'s str), DotenvError> {
        let start_line = self.line;
        let quote = match src.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => {
                let (value, rest) = match src.split_once('\n') {
                    Some((v, r)) => (v, r),
                    None => (src, ""),
                };
                self.line += 1;
                let value = value.split(" #").next().unwrap_or("");
                let value = value.trim_end_matches(is_unicode_space);
                let value = self.expand(value, start_line)?;
                return Ok((value, rest));
            }
        };
        let bytes = src.as_bytes();
        let mut chars: Vec<u8> = Vec::new();
        let mut escaped = false;
        let mut i = 1;
        while let Some(&c) = bytes.get(i) {
            i += 1;
            if c == b'\n' {
                self.line += 1;
            }
            if c != quote {
                if !escaped && c == b'\\' {
                    escaped = true;
                    continue;
                }
                if escaped {
                    escaped = false;
                    chars.push(b'\\');
                }
                chars.push(c);
                continue;
            }
            if escaped {
                // `\"` inside "..." or `\'` inside '...': the quote, without the backslash
                escaped = false;
                chars.push(c);
                continue;
            }
            // Only ASCII bytes were dropped, so `chars` is still UTF-8.
            let value = String::from_utf8(chars)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let value = if quote == b'"' {
                self.expand(&expand_escapes(&value), start_line)?
            } else {
                value
            };
            return Ok((value, src.get(i..).unwrap_or("")));
        }
        let first_line = src.split('\n').next().unwrap_or("");
        let mut e =
            DotenvError::syntax(self.line, format!("unterminated quoted value {first_line}"));
        e.start_line = start_line;
        Err(e)
    }

    fn expand(&mut self, value: &str, line: usize) -> Result<String, DotenvError> {
        let entries = &self.entries;
        let lookup = self.lookup;
        let base = self.base;
        let resolve = |name: &str| {
            lookup(name)
                .or_else(|| entries.get(name).map(str::to_string))
                .or_else(|| base(name))
        };
        match interpolate::substitute(value, &resolve) {
            Ok(done) => {
                self.unset.extend(done.unset);
                Ok(done.value)
            }
            Err(e) => Err(DotenvError {
                line,
                start_line: line,
                message: e.to_string(),
                kind: DotenvErrorKind::Interpolation(e),
            }),
        }
    }
}

/// Decodes the escapes compose-go supports in double-quoted values. `\$` becomes `$$` so that
/// interpolation then yields a literal `$`.
fn expand_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('\\') {
        out.push_str(rest.get(..p).unwrap_or(""));
        let after = rest.get(p + 1..).unwrap_or("");
        let Some(c) = after.chars().next() else {
            out.push('\\');
            rest = after;
            break;
        };
        let mut consumed = c.len_utf8();
        match c {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '$' => out.push_str("$$"),
            // matched by compose-go's pattern but rejected by Go's unquoting: kept as is
            'c' => out.push_str("\\c"),
            '0' => {
                let digits_len = after
                    .bytes()
                    .skip(1)
                    .take_while(u8::is_ascii_digit)
                    .take(3)
                    .count();
                let digits = after.get(1..1 + digits_len).unwrap_or("");
                consumed += digits_len;
                match octal(digits) {
                    Some(ch) => out.push(ch),
                    // compose-go drops the `0` before giving up on the sequence
                    None => {
                        out.push('\\');
                        out.push_str(digits);
                    }
                }
            }
            _ => {
                out.push('\\');
                consumed = 0;
            }
        }
        rest = after.get(consumed..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Go's `\ooo` escape: exactly three octal digits, at most 0o377.
fn octal(digits: &str) -> Option<char> {
    if digits.len() != 3 {
        return None;
    }
    let mut v = 0u32;
    for b in digits.bytes() {
        let d = b.checked_sub(b'0').filter(|d| *d < 8)?;
        v = v * 8 + u32::from(d);
    }
    if v > 0o377 {
        return None;
    }
    char::from_u32(v)
}

/// compose-go's `isSpace`: blanks that do not end a line.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    )
}

/// Go's `unicode.IsSpace`.
fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Go's `unicode.IsLetter(c) || unicode.IsNumber(c)`.
fn is_letter_or_number(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    let c = c as u32;
    let (mut lo, mut hi) = (0usize, LETTER_OR_NUMBER.len() / 2);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (Some(&start), Some(&end)) = (
            LETTER_OR_NUMBER.get(2 * mid),
            LETTER_OR_NUMBER.get(2 * mid + 1),
        ) else {
            return false;
        };
        if c < start {
            hi = mid;
        } else if c > end {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    false
}

/// Non-ASCII code points that Go's `unicode.IsLetter || unicode.IsNumber` accepts (categories L and N).
/// Flat list of inclusive `[start, end]` code point pairs, sorted, generated from
/// Unicode 15.0.0 (the version of Go 1.24's `unicode` tables).
#[rustfmt::skip]
const LETTER_OR_NUMBER: &[u32] = &[
    0xAA, 0xAA, 0xB2, 0xB3, 0xB5, 0xB5, 0xB9, 0xBA, 0xBC, 0xBE,
    0xC0, 0xD6, 0xD8, 0xF6, 0xF8, 0x2C1, 0x2C6, 0x2D1, 0x2E0, 0x2E4,
    0x2EC, 0x2EC, 0x2EE, 0x2EE, 0x370, 0x374, 0x376, 0x377, 0x37A, 0x37D,
    0x37F, 0x37F, 0x386, 0x386, 0x388, 0x38A, 0x38C, 0x38C, 0x38E, 0x3A1,
    0x3A3, 0x3F5, 0x3F7, 0x481, 0x48A, 0x52F, 0x531, 0x556, 0x559, 0x559,
    0x560, 0x588, 0x5D0, 0x5EA, 0x5EF, 0x5F2, 0x620, 0x64A, 0x660, 0x669,
    0x66E, 0x66F, 0x671, 0x6D3, 0x6D5, 0x6D5, 0x6E5, 0x6E6, 0x6EE, 0x6FC,
    0x6FF, 0x6FF, 0x710, 0x710, 0x712, 0x72F, 0x74D, 0x7A5, 0x7B1, 0x7B1,
    0x7C0, 0x7EA, 0x7F4, 0x7F5, 0x7FA, 0x7FA, 0x800, 0x815, 0x81A, 0x81A,
    0x824, 0x824, 0x828, 0x828, 0x840, 0x858, 0x860, 0x86A, 0x870, 0x887,
    0x889, 0x88E, 0x8A0, 0x8C9, 0x904, 0x939, 0x93D, 0x93D, 0x950, 0x950,
    0x958, 0x961, 0x966, 0x96F, 0x971, 0x980, 0x985, 0x98C, 0x98F, 0x990,
    0x993, 0x9A8, 0x9AA, 0x9B0, 0x9B2, 0x9B2, 0x9B6, 0x9B9, 0x9BD, 0x9BD,
    0x9CE, 0x9CE, 0x9DC, 0x9DD, 0x9DF, 0x9E1, 0x9E6, 0x9F1, 0x9F4, 0x9F9,
    0x9FC, 0x9FC, 0xA05, 0xA0A, 0xA0F, 0xA10, 0xA13, 0xA28, 0xA2A, 0xA30,
    0xA32, 0xA33, 0xA35, 0xA36, 0xA38, 0xA39, 0xA59, 0xA5C, 0xA5E, 0xA5E,
    0xA66, 0xA6F, 0xA72, 0xA74, 0xA85, 0xA8D, 0xA8F, 0xA91, 0xA93, 0xAA8,
    0xAAA, 0xAB0, 0xAB2, 0xAB3, 0xAB5, 0xAB9, 0xABD, 0xABD, 0xAD0, 0xAD0,
    0xAE0, 0xAE1, 0xAE6, 0xAEF, 0xAF9, 0xAF9, 0xB05, 0xB0C, 0xB0F, 0xB10,
    0xB13, 0xB28, 0xB2A, 0xB30, 0xB32, 0xB33, 0xB35, 0xB39, 0xB3D, 0xB3D,
    0xB5C, 0xB5D, 0xB5F, 0xB61, 0xB66, 0xB6F, 0xB71, 0xB77, 0xB83, 0xB83,
    0xB85, 0xB8A, 0xB8E, 0xB90, 0xB92, 0xB95, 0xB99, 0xB9A, 0xB9C, 0xB9C,
    0xB9E, 0xB9F, 0xBA3, 0xBA4, 0xBA8, 0xBAA, 0xBAE, 0xBB9, 0xBD0, 0xBD0,
    0xBE6, 0xBF2, 0xC05, 0xC0C, 0xC0E, 0xC10, 0xC12, 0xC28, 0xC2A, 0xC39,
    0xC3D, 0xC3D, 0xC58, 0xC5A, 0xC5D, 0xC5D, 0xC60, 0xC61, 0xC66, 0xC6F,
    0xC78, 0xC7E, 0xC80, 0xC80, 0xC85, 0xC8C, 0xC8E, 0xC90, 0xC92, 0xCA8,
    0xCAA, 0xCB3, 0xCB5, 0xCB9, 0xCBD, 0xCBD, 0xCDD, 0xCDE, 0xCE0, 0xCE1,
    0xCE6, 0xCEF, 0xCF1, 0xCF2, 0xD04, 0xD0C, 0xD0E, 0xD10, 0xD12, 0xD3A,
    0xD3D, 0xD3D, 0xD4E, 0xD4E, 0xD54, 0xD56, 0xD58, 0xD61, 0xD66, 0xD78,
    0xD7A, 0xD7F, 0xD85, 0xD96, 0xD9A, 0xDB1, 0xDB3, 0xDBB, 0xDBD, 0xDBD,
    0xDC0, 0xDC6, 0xDE6, 0xDEF, 0xE01, 0xE30, 0xE32, 0xE33, 0xE40, 0xE46,
    0xE50, 0xE59, 0xE81, 0xE82, 0xE84, 0xE84, 0xE86, 0xE8A, 0xE8C, 0xEA3,
    0xEA5, 0xEA5, 0xEA7, 0xEB0, 0xEB2, 0xEB3, 0xEBD, 0xEBD, 0xEC0, 0xEC4,
    0xEC6, 0xEC6, 0xED0, 0xED9, 0xEDC, 0xEDF, 0xF00, 0xF00, 0xF20, 0xF33,
    0xF40, 0xF47, 0xF49, 0xF6C, 0xF88, 0xF8C, 0x1000, 0x102A, 0x103F, 0x1049,
    0x1050, 0x1055, 0x105A, 0x105D, 0x1061, 0x1061, 0x1065, 0x1066, 0x106E, 0x1070,
    0x1075, 0x1081, 0x108E, 0x108E, 0x1090, 0x1099, 0x10A0, 0x10C5, 0x10C7, 0x10C7,
    0x10CD, 0x10CD, 0x10D0, 0x10FA, 0x10FC, 0x1248, 0x124A, 0x124D, 0x1250, 0x1256,
    0x1258, 0x1258, 0x125A, 0x125D, 0x1260, 0x1288, 0x128A, 0x128D, 0x1290, 0x12B0,
    0x12B2, 0x12B5, 0x12B8, 0x12BE, 0x12C0, 0x12C0, 0x12C2, 0x12C5, 0x12C8, 0x12D6,
    0x12D8, 0x1310, 0x1312, 0x1315, 0x1318, 0x135A, 0x1369, 0x137C, 0x1380, 0x138F,
    0x13A0, 0x13F5, 0x13F8, 0x13FD, 0x1401, 0x166C, 0x166F, 0x167F, 0x1681, 0x169A,
    0x16A0, 0x16EA, 0x16EE, 0x16F8, 0x1700, 0x1711, 0x171F, 0x1731, 0x1740, 0x1751,
    0x1760, 0x176C, 0x176E, 0x1770, 0x1780, 0x17B3, 0x17D7, 0x17D7, 0x17DC, 0x17DC,
    0x17E0, 0x17E9, 0x17F0, 0x17F9, 0x1810, 0x1819, 0x1820, 0x1878, 0x1880, 0x1884,
    0x1887, 0x18A8, 0x18AA, 0x18AA, 0x18B0, 0x18F5, 0x1900, 0x191E, 0x1946, 0x196D,
    0x1970, 0x1974, 0x1980, 0x19AB, 0x19B0, 0x19C9, 0x19D0, 0x19DA, 0x1A00, 0x1A16,
    0x1A20, 0x1A54, 0x1A80, 0x1A89, 0x1A90, 0x1A99, 0x1AA7, 0x1AA7, 0x1B05, 0x1B33,
    0x1B45, 0x1B4C, 0x1B50, 0x1B59, 0x1B83, 0x1BA0, 0x1BAE, 0x1BE5, 0x1C00, 0x1C23,
    0x1C40, 0x1C49, 0x1C4D, 0x1C7D, 0x1C80, 0x1C88, 0x1C90, 0x1CBA, 0x1CBD, 0x1CBF,
    0x1CE9, 0x1CEC, 0x1CEE, 0x1CF3, 0x1CF5, 0x1CF6, 0x1CFA, 0x1CFA, 0x1D00, 0x1DBF,
    0x1E00, 0x1F15, 0x1F18, 0x1F1D, 0x1F20, 0x1F45, 0x1F48, 0x1F4D, 0x1F50, 0x1F57,
    0x1F59, 0x1F59, 0x1F5B, 0x1F5B, 0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4,
    0x1FB6, 0x1FBC, 0x1FBE, 0x1FBE, 0x1FC2, 0x1FC4, 0x1FC6, 0x1FCC, 0x1FD0, 0x1FD3,
    0x1FD6, 0x1FDB, 0x1FE0, 0x1FEC, 0x1FF2, 0x1FF4, 0x1FF6, 0x1FFC, 0x2070, 0x2071,
    0x2074, 0x2079, 0x207F, 0x2089, 0x2090, 0x209C, 0x2102, 0x2102, 0x2107, 0x2107,
    0x210A, 0x2113, 0x2115, 0x2115, 0x2119, 0x211D, 0x2124, 0x2124, 0x2126, 0x2126,
    0x2128, 0x2128, 0x212A, 0x212D, 0x212F, 0x2139, 0x213C, 0x213F, 0x2145, 0x2149,
    0x214E, 0x214E, 0x2150, 0x2189, 0x2460, 0x249B, 0x24EA, 0x24FF, 0x2776, 0x2793,
    0x2C00, 0x2CE4, 0x2CEB, 0x2CEE, 0x2CF2, 0x2CF3, 0x2CFD, 0x2CFD, 0x2D00, 0x2D25,
    0x2D27, 0x2D27, 0x2D2D, 0x2D2D, 0x2D30, 0x2D67, 0x2D6F, 0x2D6F, 0x2D80, 0x2D96,
    0x2DA0, 0x2DA6, 0x2DA8, 0x2DAE, 0x2DB0, 0x2DB6, 0x2DB8, 0x2DBE, 0x2DC0, 0x2DC6,
    0x2DC8, 0x2DCE, 0x2DD0, 0x2DD6, 0x2DD8, 0x2DDE, 0x2E2F, 0x2E2F, 0x3005, 0x3007,
    0x3021, 0x3029, 0x3031, 0x3035, 0x3038, 0x303C, 0x3041, 0x3096, 0x309D, 0x309F,
    0x30A1, 0x30FA, 0x30FC, 0x30FF, 0x3105, 0x312F, 0x3131, 0x318E, 0x3192, 0x3195,
    0x31A0, 0x31BF, 0x31F0, 0x31FF, 0x3220, 0x3229, 0x3248, 0x324F, 0x3251, 0x325F,
    0x3280, 0x3289, 0x32B1, 0x32BF, 0x3400, 0x4DBF, 0x4E00, 0xA48C, 0xA4D0, 0xA4FD,
    0xA500, 0xA60C, 0xA610, 0xA62B, 0xA640, 0xA66E, 0xA67F, 0xA69D, 0xA6A0, 0xA6EF,
    0xA717, 0xA71F, 0xA722, 0xA788, 0xA78B, 0xA7CA, 0xA7D0, 0xA7D1, 0xA7D3, 0xA7D3,
    0xA7D5, 0xA7D9, 0xA7F2, 0xA801, 0xA803, 0xA805, 0xA807, 0xA80A, 0xA80C, 0xA822,
    0xA830, 0xA835, 0xA840, 0xA873, 0xA882, 0xA8B3, 0xA8D0, 0xA8D9, 0xA8F2, 0xA8F7,
    0xA8FB, 0xA8FB, 0xA8FD, 0xA8FE, 0xA900, 0xA925, 0xA930, 0xA946, 0xA960, 0xA97C,
    0xA984, 0xA9B2, 0xA9CF, 0xA9D9, 0xA9E0, 0xA9E4, 0xA9E6, 0xA9FE, 0xAA00, 0xAA28,
    0xAA40, 0xAA42, 0xAA44, 0xAA4B, 0xAA50, 0xAA59, 0xAA60, 0xAA76, 0xAA7A, 0xAA7A,
    0xAA7E, 0xAAAF, 0xAAB1, 0xAAB1, 0xAAB5, 0xAAB6, 0xAAB9, 0xAABD, 0xAAC0, 0xAAC0,
    0xAAC2, 0xAAC2, 0xAADB, 0xAADD, 0xAAE0, 0xAAEA, 0xAAF2, 0xAAF4, 0xAB01, 0xAB06,
    0xAB09, 0xAB0E, 0xAB11, 0xAB16, 0xAB20, 0xAB26, 0xAB28, 0xAB2E, 0xAB30, 0xAB5A,
    0xAB5C, 0xAB69, 0xAB70, 0xABE2, 0xABF0, 0xABF9, 0xAC00, 0xD7A3, 0xD7B0, 0xD7C6,
    0xD7CB, 0xD7FB, 0xF900, 0xFA6D, 0xFA70, 0xFAD9, 0xFB00, 0xFB06, 0xFB13, 0xFB17,
    0xFB1D, 0xFB1D, 0xFB1F, 0xFB28, 0xFB2A, 0xFB36, 0xFB38, 0xFB3C, 0xFB3E, 0xFB3E,
    0xFB40, 0xFB41, 0xFB43, 0xFB44, 0xFB46, 0xFBB1, 0xFBD3, 0xFD3D, 0xFD50, 0xFD8F,
    0xFD92, 0xFDC7, 0xFDF0, 0xFDFB, 0xFE70, 0xFE74, 0xFE76, 0xFEFC, 0xFF10, 0xFF19,
    0xFF21, 0xFF3A, 0xFF41, 0xFF5A, 0xFF66, 0xFFBE, 0xFFC2, 0xFFC7, 0xFFCA, 0xFFCF,
    0xFFD2, 0xFFD7, 0xFFDA, 0xFFDC, 0x10000, 0x1000B, 0x1000D, 0x10026, 0x10028, 0x1003A,
    0x1003C, 0x1003D, 0x1003F, 0x1004D, 0x10050, 0x1005D, 0x10080, 0x100FA, 0x10107, 0x10133,
    0x10140, 0x10178, 0x1018A, 0x1018B, 0x10280, 0x1029C, 0x102A0, 0x102D0, 0x102E1, 0x102FB,
    0x10300, 0x10323, 0x1032D, 0x1034A, 0x10350, 0x10375, 0x10380, 0x1039D, 0x103A0, 0x103C3,
    0x103C8, 0x103CF, 0x103D1, 0x103D5, 0x10400, 0x1049D, 0x104A0, 0x104A9, 0x104B0, 0x104D3,
    0x104D8, 0x104FB, 0x10500, 0x10527, 0x10530, 0x10563, 0x10570, 0x1057A, 0x1057C, 0x1058A,
    0x1058C, 0x10592, 0x10594, 0x10595, 0x10597, 0x105A1, 0x105A3, 0x105B1, 0x105B3, 0x105B9,
    0x105BB, 0x105BC, 0x10600, 0x10736, 0x10740, 0x10755, 0x10760, 0x10767, 0x10780, 0x10785,
    0x10787, 0x107B0, 0x107B2, 0x107BA, 0x10800, 0x10805, 0x10808, 0x10808, 0x1080A, 0x10835,
    0x10837, 0x10838, 0x1083C, 0x1083C, 0x1083F, 0x10855, 0x10858, 0x10876, 0x10879, 0x1089E,
    0x108A7, 0x108AF, 0x108E0, 0x108F2, 0x108F4, 0x108F5, 0x108FB, 0x1091B, 0x10920, 0x10939,
    0x10980, 0x109B7, 0x109BC, 0x109CF, 0x109D2, 0x10A00, 0x10A10, 0x10A13, 0x10A15, 0x10A17,
    0x10A19, 0x10A35, 0x10A40, 0x10A48, 0x10A60, 0x10A7E, 0x10A80, 0x10A9F, 0x10AC0, 0x10AC7,
    0x10AC9, 0x10AE4, 0x10AEB, 0x10AEF, 0x10B00, 0x10B35, 0x10B40, 0x10B55, 0x10B58, 0x10B72,
    0x10B78, 0x10B91, 0x10BA9, 0x10BAF, 0x10C00, 0x10C48, 0x10C80, 0x10CB2, 0x10CC0, 0x10CF2,
    0x10CFA, 0x10D23, 0x10D30, 0x10D39, 0x10E60, 0x10E7E, 0x10E80, 0x10EA9, 0x10EB0, 0x10EB1,
    0x10F00, 0x10F27, 0x10F30, 0x10F45, 0x10F51, 0x10F54, 0x10F70, 0x10F81, 0x10FB0, 0x10FCB,
    0x10FE0, 0x10FF6, 0x11003, 0x11037, 0x11052, 0x1106F, 0x11071, 0x11072, 0x11075, 0x11075,
    0x11083, 0x110AF, 0x110D0, 0x110E8, 0x110F0, 0x110F9, 0x11103, 0x11126, 0x11136, 0x1113F,
    0x11144, 0x11144, 0x11147, 0x11147, 0x11150, 0x11172, 0x11176, 0x11176, 0x11183, 0x111B2,
    0x111C1, 0x111C4, 0x111D0, 0x111DA, 0x111DC, 0x111DC, 0x111E1, 0x111F4, 0x11200, 0x11211,
    0x11213, 0x1122B, 0x1123F, 0x11240, 0x11280, 0x11286, 0x11288, 0x11288, 0x1128A, 0x1128D,
    0x1128F, 0x1129D, 0x1129F, 0x112A8, 0x112B0, 0x112DE, 0x112F0, 0x112F9, 0x11305, 0x1130C,
    0x1130F, 0x11310, 0x11313, 0x11328, 0x1132A, 0x11330, 0x11332, 0x11333, 0x11335, 0x11339,
    0x1133D, 0x1133D, 0x11350, 0x11350, 0x1135D, 0x11361, 0x11400, 0x11434, 0x11447, 0x1144A,
    0x11450, 0x11459, 0x1145F, 0x11461, 0x11480, 0x114AF, 0x114C4, 0x114C5, 0x114C7, 0x114C7,
    0x114D0, 0x114D9, 0x11580, 0x115AE, 0x115D8, 0x115DB, 0x11600, 0x1162F, 0x11644, 0x11644,
    0x11650, 0x11659, 0x11680, 0x116AA, 0x116B8, 0x116B8, 0x116C0, 0x116C9, 0x11700, 0x1171A,
    0x11730, 0x1173B, 0x11740, 0x11746, 0x11800, 0x1182B, 0x118A0, 0x118F2, 0x118FF, 0x11906,
    0x11909, 0x11909, 0x1190C, 0x11913, 0x11915, 0x11916, 0x11918, 0x1192F, 0x1193F, 0x1193F,
    0x11941, 0x11941, 0x11950, 0x11959, 0x119A0, 0x119A7, 0x119AA, 0x119D0, 0x119E1, 0x119E1,
    0x119E3, 0x119E3, 0x11A00, 0x11A00, 0x11A0B, 0x11A32, 0x11A3A, 0x11A3A, 0x11A50, 0x11A50,
    0x11A5C, 0x11A89, 0x11A9D, 0x11A9D, 0x11AB0, 0x11AF8, 0x11C00, 0x11C08, 0x11C0A, 0x11C2E,
    0x11C40, 0x11C40, 0x11C50, 0x11C6C, 0x11C72, 0x11C8F, 0x11D00, 0x11D06, 0x11D08, 0x11D09,
    0x11D0B, 0x11D30, 0x11D46, 0x11D46, 0x11D50, 0x11D59, 0x11D60, 0x11D65, 0x11D67, 0x11D68,
    0x11D6A, 0x11D89, 0x11D98, 0x11D98, 0x11DA0, 0x11DA9, 0x11EE0, 0x11EF2, 0x11F02, 0x11F02,
    0x11F04, 0x11F10, 0x11F12, 0x11F33, 0x11F50, 0x11F59, 0x11FB0, 0x11FB0, 0x11FC0, 0x11FD4,
    0x12000, 0x12399, 0x12400, 0x1246E, 0x12480, 0x12543, 0x12F90, 0x12FF0, 0x13000, 0x1342F,
    0x13441, 0x13446, 0x14400, 0x14646, 0x16800, 0x16A38, 0x16A40, 0x16A5E, 0x16A60, 0x16A69,
    0x16A70, 0x16ABE, 0x16AC0, 0x16AC9, 0x16AD0, 0x16AED, 0x16B00, 0x16B2F, 0x16B40, 0x16B43,
    0x16B50, 0x16B59, 0x16B5B, 0x16B61, 0x16B63, 0x16B77, 0x16B7D, 0x16B8F, 0x16E40, 0x16E96,
    0x16F00, 0x16F4A, 0x16F50, 0x16F50, 0x16F93, 0x16F9F, 0x16FE0, 0x16FE1, 0x16FE3, 0x16FE3,
    0x17000, 0x187F7, 0x18800, 0x18CD5, 0x18D00, 0x18D08, 0x1AFF0, 0x1AFF3, 0x1AFF5, 0x1AFFB,
    0x1AFFD, 0x1AFFE, 0x1B000, 0x1B122, 0x1B132, 0x1B132, 0x1B150, 0x1B152, 0x1B155, 0x1B155,
    0x1B164, 0x1B167, 0x1B170, 0x1B2FB, 0x1BC00, 0x1BC6A, 0x1BC70, 0x1BC7C, 0x1BC80, 0x1BC88,
    0x1BC90, 0x1BC99, 0x1D2C0, 0x1D2D3, 0x1D2E0, 0x1D2F3, 0x1D360, 0x1D378, 0x1D400, 0x1D454,
    0x1D456, 0x1D49C, 0x1D49E, 0x1D49F, 0x1D4A2, 0x1D4A2, 0x1D4A5, 0x1D4A6, 0x1D4A9, 0x1D4AC,
    0x1D4AE, 0x1D4B9, 0x1D4BB, 0x1D4BB, 0x1D4BD, 0x1D4C3, 0x1D4C5, 0x1D505, 0x1D507, 0x1D50A,
    0x1D50D, 0x1D514, 0x1D516, 0x1D51C, 0x1D51E, 0x1D539, 0x1D53B, 0x1D53E, 0x1D540, 0x1D544,
    0x1D546, 0x1D546, 0x1D54A, 0x1D550, 0x1D552, 0x1D6A5, 0x1D6A8, 0x1D6C0, 0x1D6C2, 0x1D6DA,
    0x1D6DC, 0x1D6FA, 0x1D6FC, 0x1D714, 0x1D716, 0x1D734, 0x1D736, 0x1D74E, 0x1D750, 0x1D76E,
    0x1D770, 0x1D788, 0x1D78A, 0x1D7A8, 0x1D7AA, 0x1D7C2, 0x1D7C4, 0x1D7CB, 0x1D7CE, 0x1D7FF,
    0x1DF00, 0x1DF1E, 0x1DF25, 0x1DF2A, 0x1E030, 0x1E06D, 0x1E100, 0x1E12C, 0x1E137, 0x1E13D,
    0x1E140, 0x1E149, 0x1E14E, 0x1E14E, 0x1E290, 0x1E2AD, 0x1E2C0, 0x1E2EB, 0x1E2F0, 0x1E2F9,
    0x1E4D0, 0x1E4EB, 0x1E4F0, 0x1E4F9, 0x1E7E0, 0x1E7E6, 0x1E7E8, 0x1E7EB, 0x1E7ED, 0x1E7EE,
    0x1E7F0, 0x1E7FE, 0x1E800, 0x1E8C4, 0x1E8C7, 0x1E8CF, 0x1E900, 0x1E943, 0x1E94B, 0x1E94B,
    0x1E950, 0x1E959, 0x1EC71, 0x1ECAB, 0x1ECAD, 0x1ECAF, 0x1ECB1, 0x1ECB4, 0x1ED01, 0x1ED2D,
    0x1ED2F, 0x1ED3D, 0x1EE00, 0x1EE03, 0x1EE05, 0x1EE1F, 0x1EE21, 0x1EE22, 0x1EE24, 0x1EE24,
    0x1EE27, 0x1EE27, 0x1EE29, 0x1EE32, 0x1EE34, 0x1EE37, 0x1EE39, 0x1EE39, 0x1EE3B, 0x1EE3B,
    0x1EE42, 0x1EE42, 0x1EE47, 0x1EE47, 0x1EE49, 0x1EE49, 0x1EE4B, 0x1EE4B, 0x1EE4D, 0x1EE4F,
    0x1EE51, 0x1EE52, 0x1EE54, 0x1EE54, 0x1EE57, 0x1EE57, 0x1EE59, 0x1EE59, 0x1EE5B, 0x1EE5B,
    0x1EE5D, 0x1EE5D, 0x1EE5F, 0x1EE5F, 0x1EE61, 0x1EE62, 0x1EE64, 0x1EE64, 0x1EE67, 0x1EE6A,
    0x1EE6C, 0x1EE72, 0x1EE74, 0x1EE77, 0x1EE79, 0x1EE7C, 0x1EE7E, 0x1EE7E, 0x1EE80, 0x1EE89,
    0x1EE8B, 0x1EE9B, 0x1EEA1, 0x1EEA3, 0x1EEA5, 0x1EEA9, 0x1EEAB, 0x1EEBB, 0x1F100, 0x1F10C,
    0x1FBF0, 0x1FBF9, 0x20000, 0x2A6DF, 0x2A700, 0x2B739, 0x2B740, 0x2B81D, 0x2B820, 0x2CEA1,
    0x2CEB0, 0x2EBE0, 0x2F800, 0x2FA1D, 0x30000, 0x3134A, 0x31350, 0x323AF,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    type Entries = Vec<(String, Option<String>)>;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_env(text: &str, pairs: &[(&str, &str)]) -> Result<Entries, DotenvError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(text, &|k: &str| env.get(k).cloned())
    }

    fn ok(text: &str) -> Entries {
        match parse(text, &no_env) {
            Ok(e) => e,
            Err(e) => panic!("{text:?}: unexpected error {e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(text, &no_env) {
            Ok(e) => panic!("{text:?}: expected an error, got {e:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn kv(pairs: &[(&str, &str)]) -> Entries {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    }

    #[test]
    fn corpus_plain() {
        let text = "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\n\
                    OPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n";
        assert_eq!(
            ok(text),
            kv(&[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", "3"),
                ("OPTION_D", "4"),
                ("OPTION_E", "5"),
                ("456", "ABC"),
                ("OPTION_F", ""),
                ("OPTION_G", ""),
                ("OPTION_H", "my string"),
            ])
        );
    }

    #[test]
    fn corpus_utf8_bom_and_crlf() {
        assert_eq!(
            ok("\u{FEFF}OPTION_A=1\r\nOPTION_B=\"x\"\r\nOPTION_C='y'\r\nOPTION_H = my string # c\r\n"),
            kv(&[
                ("OPTION_A", "1"),
                ("OPTION_B", "x"),
                ("OPTION_C", "y"),
                ("OPTION_H", "my string"),
            ])
        );
        // a carriage return inside an unquoted value is kept
        assert_eq!(ok("A=a\rb\n"), kv(&[("A", "a\rb")]));
    }

    #[test]
    fn corpus_quoted() {
        let text = "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\n\
                    OPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\n\
                    OPTION_I = \"echo 'asd'\" # Inline comment\n\
                    OPTION_J = 'first line\nsecond line\nthird line\nand so on'\n\
                    OPTION_K='Let\\'s go!'\nOPTION_Z = \"last value\"\n";
        assert_eq!(
            ok(text),
            kv(&[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", ""),
                ("OPTION_D", "\\n"),
                ("OPTION_E", "1"),
                ("OPTION_F", "2"),
                ("OPTION_G", ""),
                ("OPTION_H", "\n"),
                ("OPTION_I", "echo 'asd'"),
                ("OPTION_J", "first line\nsecond line\nthird line\nand so on"),
                ("OPTION_K", "Let's go!"),
                ("OPTION_Z", "last value"),
            ])
        );
    }

    #[test]
    fn corpus_substitutions() {
        let expected = kv(&[
            ("OPTION_A", "1"),
            ("OPTION_B", "1"),
            ("OPTION_C", "1"),
            ("OPTION_D", "1_1"),
            ("OPTION_E", ""),
        ]);
        let tail = "OPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\n\
                    OPTION_E=${OPTION_NOT_DEFINED}\n";
        assert_eq!(ok(&format!("OPTION_A=1\n{tail}")), expected);
        assert_eq!(ok(&format!("OPTION_A=${{OPTION_A:-1}}\n{tail}")), expected);
        let out = parse_layered(&format!("OPTION_A=1\n{tail}"), &no_env, &no_env);
        assert_eq!(
            out.map(|o| o.unset),
            Ok(vec!["OPTION_NOT_DEFINED".to_string()])
        );
    }

    #[test]
    fn corpus_exported() {
        assert_eq!(
            ok("export OPTION_A=2\nexport OPTION_B='\\n'\n"),
            kv(&[("OPTION_A", "2"), ("OPTION_B", "\\n")])
        );
        assert_eq!(
            ok("export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n\n"),
            kv(&[(
                "OPTION_A",
                "postgres://localhost:5432/database?sslmode=disable"
            )])
        );
    }

    #[test]
    fn corpus_invalid_line() {
        let text = "# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix";
        assert_eq!(err(text), "line 7: key cannot contain a space");
        let e = parse(text, &no_env).err();
        assert_eq!(e.as_ref().map(|e| e.line), Some(7));
        assert_eq!(e.map(|e| e.kind), Some(DotenvErrorKind::Syntax));
    }

    #[test]
    fn corpus_raw() {
        assert_eq!(
            parse_raw("TEST_VAR='{\"key\": \"value\"}'\n"),
            Ok(kv(&[("TEST_VAR", "'{\"key\": \"value\"}'")]))
        );
    }

    #[test]
    fn special_key_characters() {
        assert_eq!(
            ok("VAR.WITH.DOTS=1\nVAR_WITH_UNDERSCORES=2\nVAR-WITH-DASHES=3\nV[0]=4\nété=5\n١=6\n"),
            kv(&[
                ("VAR.WITH.DOTS", "1"),
                ("VAR_WITH_UNDERSCORES", "2"),
                ("VAR-WITH-DASHES", "3"),
                ("V[0]", "4"),
                ("été", "5"),
                ("١", "6"),
            ])
        );
        // blanks other than U+0020 may sit inside keys
        assert_eq!(
            ok("FOO\tBAR=1\nA\u{A0}B=2\n"),
            kv(&[("FOO\tBAR", "1"), ("A\u{A0}B", "2")])
        );
    }

    #[test]
    fn key_errors() {
        assert_eq!(
            err("FOO$=1\n"),
            "line 1: unexpected character \"$\" in variable name \"FOO$=1\""
        );
        assert_eq!(
            err("A=1\nA\u{200B}B=1\n"),
            "line 2: unexpected character \"\\u200b\" in variable name \"A\\u200bB=1\""
        );
        // combining marks and other-alphabetic symbols are not letters for Go
        assert_eq!(
            err("A\u{301}=1\n"),
            "line 1: unexpected character \"\u{301}\" in variable name \"A\u{301}=1\""
        );
        assert_eq!(
            err("\u{24B6}=1\n"),
            "line 1: unexpected character \"\u{24B6}\" in variable name \"\u{24B6}=1\""
        );
        assert_eq!(
            err("A=1\n\nFOO BAR=1\n"),
            "line 3: key cannot contain a space"
        );
        assert_eq!(
            err("A='x' junk here\n"),
            "line 1: key cannot contain a space"
        );
        // the export prefix is removed before the name is quoted
        assert_eq!(
            err("export FO\"O=1"),
            "line 1: unexpected character \"\\\"\" in variable name \"FO\\\"O=1\""
        );
    }

    #[test]
    fn export_prefix() {
        let env = [("C", "c")];
        assert_eq!(
            parse_env(
                "export A=1\nexport\tB=2\nexport=3\nexport C\nexportD=4\n",
                &env
            ),
            Ok(kv(&[
                ("A", "1"),
                ("B", "2"),
                ("export", "3"),
                ("C", "c"),
                ("exportD", "4")
            ]))
        );
        // `export` then a newline: an empty bare key, then the next line
        assert_eq!(
            ok("export\nFOO=1\n"),
            vec![
                ("".to_string(), None),
                ("FOO".to_string(), Some("1".to_string()))
            ]
        );
    }

    #[test]
    fn comments() {
        assert_eq!(
            ok("   # c\n  A=1 # x\n\t#y\nB=2"),
            kv(&[("A", "1"), ("B", "2")])
        );
        assert_eq!(ok("# only a comment"), vec![]);
        assert_eq!(ok(""), vec![]);
        assert_eq!(ok("\n\n  \n"), vec![]);
    }

    #[test]
    fn inline_comments_need_a_space() {
        assert_eq!(
            ok("A= #foo\nB=val#x\nC=val #x\nD=val\t#x\nE=#x\n"),
            kv(&[
                ("A", "#foo"),
                ("B", "val#x"),
                ("C", "val"),
                ("D", "val\t#x"),
                ("E", "#x")
            ])
        );
        assert_eq!(ok("A=\"x\" # c\nB='y' #c\n"), kv(&[("A", "x"), ("B", "y")]));
        assert_eq!(ok("A=\"a #b\"\n"), kv(&[("A", "a #b")]));
    }

    #[test]
    fn yaml_style_separator() {
        assert_eq!(
            ok("  FOO:bar\nBAZ: qux\nA:B=1\n"),
            kv(&[("FOO", "bar"), ("BAZ", "qux"), ("A", "B=1")])
        );
    }

    #[test]
    fn parsing_continues_after_closing_quote() {
        assert_eq!(ok("A=\"x\" B=2\n"), kv(&[("A", "x"), ("B", "2")]));
        // `y` becomes a bare key that nothing resolves
        assert_eq!(
            ok("A=\"x\"y\nC=1\n"),
            vec![
                ("A".to_string(), Some("x".to_string())),
                ("y".to_string(), None),
                ("C".to_string(), Some("1".to_string()))
            ]
        );
    }

    #[test]
    fn last_line_without_separator_is_the_empty_key() {
        assert_eq!(
            ok("A=1\nINVALID LINE"),
            kv(&[("A", "1"), ("", "INVALID LINE")])
        );
        assert_eq!(ok("=foo\n"), kv(&[("", "foo")]));
    }

    #[test]
    fn unterminated_quotes() {
        assert_eq!(err("A=1\nB='abc"), "line 2: unterminated quoted value 'abc");
        // every later newline is counted
        assert_eq!(
            err("A=1\n\n\nB=\"abc\nFOO BAR\n"),
            "line 6: unterminated quoted value \"abc"
        );
        assert_eq!(
            err("A=1\nB='abc\n\n\nlast\n"),
            "line 6: unterminated quoted value 'abc"
        );
        assert_eq!(err("A=\"x\\\n"), "line 2: unterminated quoted value \"x\\");
        assert_eq!(
            err("A=\"x\\\""),
            "line 1: unterminated quoted value \"x\\\""
        );
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            parse_env("A='$B ${C} \\n \\\\ \\x'\n", &[("B", "b")]),
            Ok(kv(&[("A", "$B ${C} \\n \\\\ \\x")]))
        );
        assert_eq!(ok("A='it\\'s'\n"), kv(&[("A", "it's")]));
        assert_eq!(ok("A='say \"hi\"'\n"), kv(&[("A", "say \"hi\"")]));
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(
            ok("A=\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\"\n"),
            kv(&[("A", "\u{7}\u{8}\u{c}\n\r\t\u{b}\\\"")])
        );
        // unknown escapes and `\c` stay; no \x or \u support
        assert_eq!(
            ok("A=\"\\c\\x41\\u0041\\q\"\n"),
            kv(&[("A", "\\c\\x41\\u0041\\q")])
        );
        // octal: `\0` + three digits; on failure the `0` is dropped
        assert_eq!(
            ok("A=\"\\0\" B=\"\\012\" C=\"\\0123\" D=\"\\0189\" E=\"\\0777\" F=\"\\01234\" G=\"\\0000\"\n"),
            kv(&[
                ("A", "\\"),
                ("B", "\\12"),
                ("C", "S"),
                ("D", "\\189"),
                ("E", "\\777"),
                ("F", "S4"),
                ("G", "\u{0}"),
            ])
        );
        assert_eq!(ok("A=\"\\0377\"\n"), kv(&[("A", "\u{FF}")]));
        assert_eq!(ok("A=\"\\\\\\\"\"\n"), kv(&[("A", "\\\"")]));
        assert_eq!(ok("A=\"multi\nline\"\n"), kv(&[("A", "multi\nline")]));
    }

    #[test]
    fn dollar_handling() {
        let env = [("B", "b")];
        assert_eq!(
            parse_env(
                "A=\\$B\nC=$$B\nD='$B'\nE=\"$B\"\nF=\"\\$B\"\nG=\"$$B\"\n",
                &env
            ),
            Ok(kv(&[
                ("A", "\\b"),
                ("C", "$B"),
                ("D", "$B"),
                ("E", "b"),
                ("F", "$B"),
                ("G", "$B")
            ]))
        );
    }

    #[test]
    fn interpolation_sources() {
        // lookup wins over keys of this text
        assert_eq!(
            parse_env("A=1\nB=$A\n", &[("A", "os")]),
            Ok(kv(&[("A", "1"), ("B", "os")]))
        );
        // later definitions are not visible earlier; redefinitions are
        assert_eq!(
            ok("A=$B\nB=1\nC=$B\n"),
            kv(&[("A", ""), ("B", "1"), ("C", "1")])
        );
        assert_eq!(ok("A=1\nA=2\nB=$A\n"), kv(&[("A", "2"), ("B", "2")]));
        // base comes last
        let base = |k: &str| (k == "A" || k == "Z").then(|| "base".to_string());
        let out = parse_layered("A=own\nB=$A\nC=$Z\n", &no_env, &base);
        assert_eq!(
            out.map(|o| o.entries),
            Ok(kv(&[("A", "own"), ("B", "own"), ("C", "base")]))
        );
        // defaults and warnings
        let out = parse_layered("A=${X:-$B}\nC=${D:-d}\n", &no_env, &no_env);
        assert_eq!(
            out,
            Ok(ParseOutput {
                entries: kv(&[("A", ""), ("C", "d")]),
                unset: vec!["B".to_string()],
            })
        );
    }

    #[test]
    fn interpolation_errors_have_no_line_prefix() {
        assert_eq!(
            err("A=${B:?oops}\n"),
            "required variable B is missing a value: oops"
        );
        assert_eq!(err("A=${B\n"), "Invalid template: \"${B\"");
        assert_eq!(err("A=\"${B\nc\"\n"), "Invalid template: \"${B\\nc\"");
        let e = parse("X=1\nA=${B:?}\n", &no_env).err();
        assert_eq!(e.as_ref().map(|e| e.line), Some(2));
        assert_eq!(
            e.map(|e| e.kind),
            Some(DotenvErrorKind::Interpolation(TemplateError::Required {
                name: "B".into(),
                message: String::new()
            }))
        );
    }

    #[test]
    fn bare_keys() {
        assert_eq!(
            parse_env("A\nB=1\n", &[("A", "osA")]),
            Ok(kv(&[("A", "osA"), ("B", "1")]))
        );
        assert_eq!(
            ok("A\nB=1\n"),
            vec![
                ("A".to_string(), None),
                ("B".to_string(), Some("1".to_string()))
            ]
        );
        // an unresolved bare key keeps an earlier value
        assert_eq!(ok("A=1\nA\n"), kv(&[("A", "1")]));
        assert_eq!(
            parse_env("A=1\nA\n", &[("A", "os")]),
            Ok(kv(&[("A", "os")]))
        );
        assert_eq!(ok("A \r\n"), vec![("A".to_string(), None)]);
    }

    #[test]
    fn duplicates_keep_first_position_last_value() {
        assert_eq!(ok("A=1\nB=2\nA=3\n"), kv(&[("A", "3"), ("B", "2")]));
    }

    #[test]
    fn raw_format() {
        let text =
            "\u{FEFF}  A=1  \n# c\n\n  #d\nC\nD='{\"key\": \"value\"}'\r\nE=\"q\" # not comment\n\
                    F=$HOME ${X}\nG=a=b\n\u{A0}H=1\nI=\n";
        let env = |k: &str| (k == "C").then(|| "cc".to_string());
        assert_eq!(
            parse_raw_with_lookup(text, &env),
            Ok(kv(&[
                ("A", "1  "),
                ("C", "cc"),
                ("D", "'{\"key\": \"value\"}'"),
                ("E", "\"q\" # not comment"),
                ("F", "$HOME ${X}"),
                ("G", "a=b"),
                ("H", "1"),
                ("I", ""),
            ]))
        );
        assert_eq!(parse_raw("C\n"), Ok(vec![("C".to_string(), None)]));
        assert_eq!(parse_raw("A=1\nA\n"), Ok(kv(&[("A", "1")])));
        assert_eq!(
            parse_raw_with_lookup("A=1\nA\n", &|_| Some("os".into())),
            Ok(kv(&[("A", "os")]))
        );
        // BOM only stripped on the first line; one trailing CR dropped per line
        assert_eq!(
            parse_raw("A=1\n\u{FEFF}B=2\n"),
            Ok(kv(&[("A", "1"), ("\u{FEFF}B", "2")]))
        );
        assert_eq!(
            parse_raw("A=1\r\n\r\nB=2\r"),
            Ok(kv(&[("A", "1"), ("B", "2")]))
        );
        assert_eq!(parse_raw("A=x\u{0}y"), Ok(kv(&[("A", "x\u{0}y")])));
        assert_eq!(parse_raw(""), Ok(vec![]));
    }

    #[test]
    fn raw_errors() {
        let e = |t: &str| parse_raw(t).err().map(|e| e.to_string());
        assert_eq!(e("=x\n"), Some("no variable name on line '=x'".into()));
        assert_eq!(
            e("export B=2\n"),
            Some("variable 'export B' contains whitespaces".into())
        );
        assert_eq!(
            e("A\tB\n"),
            Some("variable 'A\tB' contains whitespaces".into())
        );
        assert_eq!(parse_raw("A\u{A0}B=1\n"), Ok(kv(&[("A\u{A0}B", "1")])));
        let long = format!("A={}\n", "x".repeat(65_533));
        assert!(parse_raw(&long).is_ok());
        let too_long = format!("A={}\n", "x".repeat(65_534));
        assert_eq!(e(&too_long), Some("bufio.Scanner: token too long".into()));
        assert_eq!(parse_raw("A=1\n=2").err().map(|e| e.line), Some(2));
    }

    #[test]
    fn never_panics_on_odd_input() {
        let samples = [
            "\"",
            "'",
            "=",
            ":",
            "\n",
            "\\",
            "A=\"\\",
            "A='\\'",
            "A=\"\\0",
            "A=\"\\01",
            "é",
            "A=é\"",
            "export",
            "export ",
            "export\t\n",
            "\u{FEFF}",
            "#",
            "A=${",
            "A=\"${A:-${\"",
            "A=$\u{17F}",
            "\u{2028}A=1",
            "A=\"\\\u{E9}\"",
            "[]=x",
            "A=1 #",
            "\r",
            "\r\n\r\n",
        ];
        for s in samples {
            let _ = parse(s, &no_env);
            let _ = parse(s, &|_| Some(String::new()));
            let _ = parse_raw(s);
        }
    }
}
