//! Variable interpolation (`$VAR`, `${VAR:-default}`, ...) with the exact semantics of
//! compose-go's `template` package (compose-go v2.9.1, as shipped in Docker Compose v2.40.3).
//!
//! Why a hand-written scanner: compose-go drives substitution with one regular expression
//! (`\$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:([_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|()))`) plus some
//! post-processing, and `docker compose` users depend on the resulting quirks. This module
//! reproduces that behaviour without a regex engine and without unbounded recursion:
//!
//! * Names are `[_a-zA-Z][_a-zA-Z0-9]*`; because the Go pattern is case-insensitive with Unicode
//!   case folding, `ſ` (U+017F) and the Kelvin sign `K` (U+212A) are name characters too.
//! * `$$` is a literal `$`; a `$` that starts nothing valid (`$5`, `$(`, trailing `$`) stays literal.
//!   `${` that is not followed by `NAME}` or `NAME<op>...}` on the same line is an invalid template.
//! * With an operator, the match greedily runs to the *last* `}` of the line; the operand then ends
//!   at the first balanced `}` (compose-go's brace counter, which skips the byte after each `{`),
//!   and the remainder of the match is substituted as a separate template. That is why
//!   `${A:-{}x}` gives `{}x` and why an invalid template reported from that remainder names only
//!   the remainder (`${A:-x} ${B }` reports `" ${B }"`).
//! * Default, alternate and error-message operands are always substituted, even when unused, so
//!   unset-variable warnings and errors inside them surface regardless of the outer variable.
//! * Nesting of operands is capped at [`MAX_NESTING`] levels ([`TemplateError::TooDeep`]);
//!   compose-go has no cap, everything else matches it.

use std::fmt::Write as _;

/// Deepest allowed nesting of operands (`${A:-${B:-...}}`) before [`TemplateError::TooDeep`].
pub const MAX_NESTING: usize = 64;

/// The result of a successful substitution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Substituted {
    /// The substituted text (with `$$` already turned into `$`).
    pub value: String,
    /// Names used with no default/alternate that were not set, in evaluation order, one entry per
    /// use (compose warns once per use):
    /// `The "X" variable is not set. Defaulting to a blank string.`
    pub unset: Vec<String>,
}

/// Why a template could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${VAR:?msg}` / `${VAR?msg}` failed; `message` is the substituted `msg` (may be empty).
    #[error("{}", required_message(.name, .message))]
    Required { name: String, message: String },
    /// A `${` that does not form a valid expression. `template` is the string compose-go was
    /// scanning when it found it: the whole value, a default/alternate/message operand, or the
    /// remainder of a line after an operator expression.
    #[error("Invalid template: {}", go_quote(.template))]
    Invalid { template: String },
    /// More than [`MAX_NESTING`] levels of nested operands.
    #[error("too many nested variable substitutions")]
    TooDeep,
}

fn required_message(name: &str, message: &str) -> String {
    if message.is_empty() {
        format!("required variable {name} is missing a value")
    } else {
        format!("required variable {name} is missing a value: {message}")
    }
}

/// One variable use, as listed by `docker compose config --variables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableUse {
    /// Variable name. Empty for an invalid `${` (compose-go lists it that way).
    pub name: String,
    /// Used with `:?` or `?`.
    pub required: bool,
    /// Operand of `:-` / `-`, unsubstituted (`Some("")` for `${A-}`).
    pub default: Option<String>,
    /// Operand of `:+` / `+`, unsubstituted.
    pub alternate: Option<String>,
}

/// Substitutes every variable in `template`. `lookup` answers `Some(value)` for set variables
/// (an empty value is "set but empty").
pub fn substitute(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Substituted, TemplateError> {
    let mut ctx = Ctx {
        lookup,
        unset: Vec::new(),
    };
    let value = ctx.substitute(template, 0)?;
    Ok(Substituted {
        value,
        unset: ctx.unset,
    })
}

/// Every variable `template` uses, in compose-go's order (when a name occurs several times,
/// compose-go keeps the entry that comes *last* in this list). Operands of defaults and
/// alternates are searched too; error messages of `?`/`:?` are not. Invalid `${` yields an
/// entry with an empty name instead of an error, as in compose-go; the only error is
/// [`TemplateError::TooDeep`].
pub fn extract_variables(template: &str) -> Result<Vec<VariableUse>, TemplateError> {
    let mut out = Vec::new();
    extract_into(template, 0, &mut out)?;
    Ok(out)
}

/// Quotes `s` the way Go's `strconv.Quote` (and `%q` / `%#v` on strings) does.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_printable(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and ASCII space.
fn is_go_printable(c: char) -> bool {
    let c = c as u32;
    if c < 0x80 {
        return (0x20..=0x7e).contains(&c);
    }
    in_table(GO_PRINTABLE, c)
}

fn in_table(table: &[u32], c: u32) -> bool {
    let (mut lo, mut hi) = (0usize, table.len() / 2);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (Some(&start), Some(&end)) = (table.get(2 * mid), table.get(2 * mid + 1)) else {
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

// ---------------------------------------------------------------------------------------------
// Tokenizer: one step of compose-go's regular expression, applied at a `$`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    /// `:-` / `-`
    Default,
    /// `:?` / `?`
    Required,
    /// `:+` / `+`
    Alternate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    kind: OpKind,
    /// `:` form: an empty value counts as unset.
    colon: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `$$`
    Escaped,
    /// A `$` that starts no match.
    Literal,
    /// `$NAME`; the name ends at `name_end`.
    Named { name_end: usize },
    /// `${NAME}`; the name ends at `name_end` (where the `}` is).
    Braced { name_end: usize },
    /// `${NAME<op>...}`: the operand starts at `arg_start`; the match ends at `end` (one past the
    /// last `}` of the line).
    BracedOp {
        name_end: usize,
        op: Op,
        arg_start: usize,
        end: usize,
    },
    /// `${` followed by anything else; the match is the two bytes `${`.
    Invalid,
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || c == '\u{17F}' || c == '\u{212A}'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

/// End of the name starting at `start` (`start` itself when there is none).
fn scan_name(s: &str, start: usize) -> usize {
    let Some(tail) = s.get(start..) else {
        return start;
    };
    let mut chars = tail.char_indices();
    match chars.next() {
        Some((_, c)) if is_name_start(c) => {}
        _ => return start,
    }
    for (i, c) in chars {
        if !is_name_char(c) {
            return start + i;
        }
    }
    s.len()
}

/// compose-go's `getFirstBraceClosingIndex`: index of the `}` that brings the brace depth back
/// to zero; the byte following each `{` is not examined.
fn first_closing_brace(b: &[u8]) -> Option<usize> {
    let mut open: i64 = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
        if c == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

struct Scanner<'a> {
    s: &'a str,
    /// Cache for `last_brace_on_line`: (queried from, end of that line, last `}` in between).
    line_cache: Option<(usize, usize, Option<usize>)>,
}

impl<'a> Scanner<'a> {
    fn new(s: &'a str) -> Self {
        Scanner {
            s,
            line_cache: None,
        }
    }

    /// The last `}` at or after `from` and before the next newline (the regex's greedy `.*}`).
    /// Cached per line so that many operator expressions on one long line stay linear.
    fn last_brace_on_line(&mut self, from: usize) -> Option<usize> {
        if let Some((cached_from, line_end, last)) = self.line_cache {
            if cached_from <= from && from <= line_end {
                return last.filter(|&p| p >= from);
            }
        }
        let tail = self.s.get(from..).unwrap_or("");
        let line_end = from + tail.find('\n').unwrap_or(tail.len());
        let last = tail
            .get(..line_end - from)
            .and_then(|line| line.rfind('}'))
            .map(|p| from + p);
        self.line_cache = Some((from, line_end, last));
        last
    }

    /// The token starting at byte `d`, which holds a `$`.
    fn token(&mut self, d: usize) -> Token {
        let b = self.s.as_bytes();
        match b.get(d + 1) {
            None => Token::Literal,
            Some(b'$') => Token::Escaped,
            Some(b'{') => self.braced(d + 2),
            Some(_) => {
                let name_end = scan_name(self.s, d + 1);
                if name_end > d + 1 {
                    Token::Named { name_end }
                } else {
                    Token::Literal
                }
            }
        }
    }

    fn braced(&mut self, start: usize) -> Token {
        let b = self.s.as_bytes();
        let name_end = scan_name(self.s, start);
        if name_end == start {
            return Token::Invalid;
        }
        let op_char = |c: u8| match c {
            b'-' => Some(OpKind::Default),
            b'?' => Some(OpKind::Required),
            b'+' => Some(OpKind::Alternate),
            _ => None,
        };
        let first = b.get(name_end).copied();
        let second = b.get(name_end + 1).copied();
        let op = match (first, second.and_then(op_char)) {
            (Some(b':'), Some(kind)) => Some((Op { kind, colon: true }, name_end + 2)),
            _ => first
                .and_then(op_char)
                .map(|kind| (Op { kind, colon: false }, name_end + 1)),
        };
        match op {
            Some((op, arg_start)) => match self.last_brace_on_line(arg_start) {
                Some(close) => Token::BracedOp {
                    name_end,
                    op,
                    arg_start,
                    end: close + 1,
                },
                // Without the operator group the regex needs `}` right after the name, and
                // an operator character is there instead.
                None => Token::Invalid,
            },
            None if first == Some(b'}') => Token::Braced { name_end },
            None => Token::Invalid,
        }
    }
}

/// Splits an operator match `s[d..end]` into its operand end and the start of the remainder
/// that compose-go substitutes separately (`None` when the braces never balance).
fn split_operator_match(s: &str, d: usize, end: usize) -> (usize, Option<usize>) {
    let matched = s.get(d..end).unwrap_or("");
    match first_closing_brace(matched.as_bytes()) {
        Some(c) => (d + c, Some(d + c + 1)),
        None => (end.saturating_sub(1), None),
    }
}

// ---------------------------------------------------------------------------------------------
// Substitution.

struct Ctx<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: Vec<String>,
}

impl Ctx<'_> {
    fn plain(&mut self, name: &str, out: &mut String) {
        match (self.lookup)(name) {
            Some(v) => out.push_str(&v),
            None => self.unset.push(name.to_string()),
        }
    }

    fn substitute(&mut self, s: &str, depth: usize) -> Result<String, TemplateError> {
        if depth > MAX_NESTING {
            return Err(TemplateError::TooDeep);
        }
        let mut scanner = Scanner::new(s);
        let mut out = String::with_capacity(s.len());
        let mut pos = 0;
        // The remainder of an operator match currently being scanned: compose-go scans it as a
        // template of its own, which only shows in the text of an invalid-template error. All
        // nested remainders end at the same place (the last `}` of the line).
        let mut remainder: Option<(usize, usize)> = None;
        while let Some(off) = s.get(pos..).and_then(|t| t.find('$')) {
            let d = pos + off;
            out.push_str(s.get(pos..d).unwrap_or(""));
            if matches!(remainder, Some((_, end)) if d >= end) {
                remainder = None;
            }
            match scanner.token(d) {
                Token::Escaped => {
                    out.push('$');
                    pos = d + 2;
                }
                Token::Literal => {
                    out.push('$');
                    pos = d + 1;
                }
                Token::Named { name_end } => {
                    self.plain(s.get(d + 1..name_end).unwrap_or(""), &mut out);
                    pos = name_end;
                }
                Token::Braced { name_end } => {
                    self.plain(s.get(d + 2..name_end).unwrap_or(""), &mut out);
                    pos = name_end + 1;
                }
                Token::BracedOp {
                    name_end,
                    op,
                    arg_start,
                    end,
                } => {
                    let (arg_end, rest) = split_operator_match(s, d, end);
                    let name = s.get(d + 2..name_end).unwrap_or("");
                    let arg = s.get(arg_start..arg_end).unwrap_or("");
                    let value = self.apply(name, op, arg, depth)?;
                    out.push_str(&value);
                    match rest {
                        Some(r) if r < end => {
                            remainder = Some((r, end));
                            pos = r;
                        }
                        _ => pos = end,
                    }
                }
                Token::Invalid => {
                    let template = match remainder {
                        Some((a, b)) => s.get(a..b).unwrap_or(s),
                        None => s,
                    };
                    return Err(TemplateError::Invalid {
                        template: template.to_string(),
                    });
                }
            }
        }
        out.push_str(s.get(pos..).unwrap_or(""));
        Ok(out)
    }

    fn apply(
        &mut self,
        name: &str,
        op: Op,
        arg: &str,
        depth: usize,
    ) -> Result<String, TemplateError> {
        // compose-go substitutes the operand before looking at the variable, used or not.
        let operand = self.substitute(arg, depth + 1)?;
        let current = (self.lookup)(name);
        let usable = |v: &String| !(op.colon && v.is_empty());
        match op.kind {
            OpKind::Default => Ok(match current {
                Some(v) if usable(&v) => v,
                _ => operand,
            }),
            OpKind::Alternate => Ok(match current {
                Some(v) if usable(&v) => operand,
                Some(v) => v,
                None => String::new(),
            }),
            OpKind::Required => match current {
                Some(v) if usable(&v) => Ok(v),
                _ => Err(TemplateError::Required {
                    name: name.to_string(),
                    message: operand,
                }),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Variable extraction (`config --variables`), compose-go's `extractVariable`.

fn extract_into(s: &str, depth: usize, out: &mut Vec<VariableUse>) -> Result<(), TemplateError> {
    if depth > MAX_NESTING {
        return Err(TemplateError::TooDeep);
    }
    let mut scanner = Scanner::new(s);
    let mut pos = 0;
    // compose-go lists the variables of an operator match's remainder *before* the match's own
    // variable. Remainders are scanned in place; the entries they precede wait here until the
    // scan passes the end of the remainder.
    let mut pending: Vec<(usize, Vec<VariableUse>)> = Vec::new();
    loop {
        let next = s.get(pos..).and_then(|t| t.find('$')).map(|off| pos + off);
        while let Some((end, _)) = pending.last() {
            if next.is_some_and(|d| d < *end) {
                break;
            }
            if let Some((_, group)) = pending.pop() {
                out.extend(group);
            }
        }
        let Some(d) = next else {
            break;
        };
        match scanner.token(d) {
            Token::Escaped => pos = d + 2,
            Token::Literal => pos = d + 1,
            Token::Named { name_end } => {
                describe(s.get(d + 1..name_end).unwrap_or(""), depth, out)?;
                pos = name_end;
            }
            Token::Braced { name_end } => {
                describe(s.get(d + 2..name_end).unwrap_or(""), depth, out)?;
                pos = name_end + 1;
            }
            Token::BracedOp { end, .. } => {
                let (content_end, rest) = split_operator_match(s, d, end);
                let content = s.get(d + 2..content_end).unwrap_or("");
                match rest {
                    Some(r) if r < end => {
                        let mut group = Vec::new();
                        describe(content, depth, &mut group)?;
                        pending.push((end, group));
                        pos = r;
                    }
                    _ => {
                        describe(content, depth, out)?;
                        pos = end;
                    }
                }
            }
            Token::Invalid => {
                describe("", depth, out)?;
                pos = d + 2;
            }
        }
    }
    Ok(())
}

/// Splits `NAME<op>operand` the way compose-go does (at the first byte that is not an ASCII
/// letter, digit or `_`) and appends the entry followed by the operand's own variables.
fn describe(content: &str, depth: usize, out: &mut Vec<VariableUse>) -> Result<(), TemplateError> {
    let split = content.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    let (name, rest) = match split {
        Some(i) if i > 0 => (
            content.get(..i).unwrap_or(""),
            content.get(i..).unwrap_or(""),
        ),
        _ => (content, ""),
    };
    let mut var = VariableUse {
        name: name.to_string(),
        required: false,
        default: None,
        alternate: None,
    };
    if rest.starts_with(":?") || rest.starts_with('?') {
        var.required = true;
    } else if let Some(d) = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-')) {
        var.default = Some(d.to_string());
    } else if let Some(a) = rest.strip_prefix(":+").or_else(|| rest.strip_prefix('+')) {
        var.alternate = Some(a.to_string());
    }
    let default = var.default.clone().unwrap_or_default();
    let alternate = var.alternate.clone().unwrap_or_default();
    out.push(var);
    if !default.is_empty() {
        extract_into(&default, depth + 1, out)?;
    }
    if !alternate.is_empty() {
        extract_into(&alternate, depth + 1, out)?;
    }
    Ok(())
}

/// Non-ASCII code points that Go's `strconv.IsPrint` accepts (categories L, M, N, P, S).
/// Flat list of inclusive `[start, end]` code point pairs, sorted, generated from
/// Unicode 15.0.0 (the version of Go 1.24's `unicode` tables).
#[rustfmt::skip]
const GO_PRINTABLE: &[u32] = &[
    0xA1, 0xAC, 0xAE, 0x377, 0x37A, 0x37F, 0x384, 0x38A, 0x38C, 0x38C,
    0x38E, 0x3A1, 0x3A3, 0x52F, 0x531, 0x556, 0x559, 0x58A, 0x58D, 0x58F,
    0x591, 0x5C7, 0x5D0, 0x5EA, 0x5EF, 0x5F4, 0x606, 0x61B, 0x61D, 0x6DC,
    0x6DE, 0x70D, 0x710, 0x74A, 0x74D, 0x7B1, 0x7C0, 0x7FA, 0x7FD, 0x82D,
    0x830, 0x83E, 0x840, 0x85B, 0x85E, 0x85E, 0x860, 0x86A, 0x870, 0x88E,
    0x898, 0x8E1, 0x8E3, 0x983, 0x985, 0x98C, 0x98F, 0x990, 0x993, 0x9A8,
    0x9AA, 0x9B0, 0x9B2, 0x9B2, 0x9B6, 0x9B9, 0x9BC, 0x9C4, 0x9C7, 0x9C8,
    0x9CB, 0x9CE, 0x9D7, 0x9D7, 0x9DC, 0x9DD, 0x9DF, 0x9E3, 0x9E6, 0x9FE,
    0xA01, 0xA03, 0xA05, 0xA0A, 0xA0F, 0xA10, 0xA13, 0xA28, 0xA2A, 0xA30,
    0xA32, 0xA33, 0xA35, 0xA36, 0xA38, 0xA39, 0xA3C, 0xA3C, 0xA3E, 0xA42,
    0xA47, 0xA48, 0xA4B, 0xA4D, 0xA51, 0xA51, 0xA59, 0xA5C, 0xA5E, 0xA5E,
    0xA66, 0xA76, 0xA81, 0xA83, 0xA85, 0xA8D, 0xA8F, 0xA91, 0xA93, 0xAA8,
    0xAAA, 0xAB0, 0xAB2, 0xAB3, 0xAB5, 0xAB9, 0xABC, 0xAC5, 0xAC7, 0xAC9,
    0xACB, 0xACD, 0xAD0, 0xAD0, 0xAE0, 0xAE3, 0xAE6, 0xAF1, 0xAF9, 0xAFF,
    0xB01, 0xB03, 0xB05, 0xB0C, 0xB0F, 0xB10, 0xB13, 0xB28, 0xB2A, 0xB30,
    0xB32, 0xB33, 0xB35, 0xB39, 0xB3C, 0xB44, 0xB47, 0xB48, 0xB4B, 0xB4D,
    0xB55, 0xB57, 0xB5C, 0xB5D, 0xB5F, 0xB63, 0xB66, 0xB77, 0xB82, 0xB83,
    0xB85, 0xB8A, 0xB8E, 0xB90, 0xB92, 0xB95, 0xB99, 0xB9A, 0xB9C, 0xB9C,
    0xB9E, 0xB9F, 0xBA3, 0xBA4, 0xBA8, 0xBAA, 0xBAE, 0xBB9, 0xBBE, 0xBC2,
    0xBC6, 0xBC8, 0xBCA, 0xBCD, 0xBD0, 0xBD0, 0xBD7, 0xBD7, 0xBE6, 0xBFA,
    0xC00, 0xC0C, 0xC0E, 0xC10, 0xC12, 0xC28, 0xC2A, 0xC39, 0xC3C, 0xC44,
    0xC46, 0xC48, 0xC4A, 0xC4D, 0xC55, 0xC56, 0xC58, 0xC5A, 0xC5D, 0xC5D,
    0xC60, 0xC63, 0xC66, 0xC6F, 0xC77, 0xC8C, 0xC8E, 0xC90, 0xC92, 0xCA8,
    0xCAA, 0xCB3, 0xCB5, 0xCB9, 0xCBC, 0xCC4, 0xCC6, 0xCC8, 0xCCA, 0xCCD,
    0xCD5, 0xCD6, 0xCDD, 0xCDE, 0xCE0, 0xCE3, 0xCE6, 0xCEF, 0xCF1, 0xCF3,
    0xD00, 0xD0C, 0xD0E, 0xD10, 0xD12, 0xD44, 0xD46, 0xD48, 0xD4A, 0xD4F,
    0xD54, 0xD63, 0xD66, 0xD7F, 0xD81, 0xD83, 0xD85, 0xD96, 0xD9A, 0xDB1,
    0xDB3, 0xDBB, 0xDBD, 0xDBD, 0xDC0, 0xDC6, 0xDCA, 0xDCA, 0xDCF, 0xDD4,
    0xDD6, 0xDD6, 0xDD8, 0xDDF, 0xDE6, 0xDEF, 0xDF2, 0xDF4, 0xE01, 0xE3A,
    0xE3F, 0xE5B, 0xE81, 0xE82, 0xE84, 0xE84, 0xE86, 0xE8A, 0xE8C, 0xEA3,
    0xEA5, 0xEA5, 0xEA7, 0xEBD, 0xEC0, 0xEC4, 0xEC6, 0xEC6, 0xEC8, 0xECE,
    0xED0, 0xED9, 0xEDC, 0xEDF, 0xF00, 0xF47, 0xF49, 0xF6C, 0xF71, 0xF97,
    0xF99, 0xFBC, 0xFBE, 0xFCC, 0xFCE, 0xFDA, 0x1000, 0x10C5, 0x10C7, 0x10C7,
    0x10CD, 0x10CD, 0x10D0, 0x1248, 0x124A, 0x124D, 0x1250, 0x1256, 0x1258, 0x1258,
    0x125A, 0x125D, 0x1260, 0x1288, 0x128A, 0x128D, 0x1290, 0x12B0, 0x12B2, 0x12B5,
    0x12B8, 0x12BE, 0x12C0, 0x12C0, 0x12C2, 0x12C5, 0x12C8, 0x12D6, 0x12D8, 0x1310,
    0x1312, 0x1315, 0x1318, 0x135A, 0x135D, 0x137C, 0x1380, 0x1399, 0x13A0, 0x13F5,
    0x13F8, 0x13FD, 0x1400, 0x167F, 0x1681, 0x169C, 0x16A0, 0x16F8, 0x1700, 0x1715,
    0x171F, 0x1736, 0x1740, 0x1753, 0x1760, 0x176C, 0x176E, 0x1770, 0x1772, 0x1773,
    0x1780, 0x17DD, 0x17E0, 0x17E9, 0x17F0, 0x17F9, 0x1800, 0x180D, 0x180F, 0x1819,
    0x1820, 0x1878, 0x1880, 0x18AA, 0x18B0, 0x18F5, 0x1900, 0x191E, 0x1920, 0x192B,
    0x1930, 0x193B, 0x1940, 0x1940, 0x1944, 0x196D, 0x1970, 0x1974, 0x1980, 0x19AB,
    0x19B0, 0x19C9, 0x19D0, 0x19DA, 0x19DE, 0x1A1B, 0x1A1E, 0x1A5E, 0x1A60, 0x1A7C,
    0x1A7F, 0x1A89, 0x1A90, 0x1A99, 0x1AA0, 0x1AAD, 0x1AB0, 0x1ACE, 0x1B00, 0x1B4C,
    0x1B50, 0x1B7E, 0x1B80, 0x1BF3, 0x1BFC, 0x1C37, 0x1C3B, 0x1C49, 0x1C4D, 0x1C88,
    0x1C90, 0x1CBA, 0x1CBD, 0x1CC7, 0x1CD0, 0x1CFA, 0x1D00, 0x1F15, 0x1F18, 0x1F1D,
    0x1F20, 0x1F45, 0x1F48, 0x1F4D, 0x1F50, 0x1F57, 0x1F59, 0x1F59, 0x1F5B, 0x1F5B,
    0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4, 0x1FB6, 0x1FC4, 0x1FC6, 0x1FD3,
    0x1FD6, 0x1FDB, 0x1FDD, 0x1FEF, 0x1FF2, 0x1FF4, 0x1FF6, 0x1FFE, 0x2010, 0x2027,
    0x2030, 0x205E, 0x2070, 0x2071, 0x2074, 0x208E, 0x2090, 0x209C, 0x20A0, 0x20C0,
    0x20D0, 0x20F0, 0x2100, 0x218B, 0x2190, 0x2426, 0x2440, 0x244A, 0x2460, 0x2B73,
    0x2B76, 0x2B95, 0x2B97, 0x2CF3, 0x2CF9, 0x2D25, 0x2D27, 0x2D27, 0x2D2D, 0x2D2D,
    0x2D30, 0x2D67, 0x2D6F, 0x2D70, 0x2D7F, 0x2D96, 0x2DA0, 0x2DA6, 0x2DA8, 0x2DAE,
    0x2DB0, 0x2DB6, 0x2DB8, 0x2DBE, 0x2DC0, 0x2DC6, 0x2DC8, 0x2DCE, 0x2DD0, 0x2DD6,
    0x2DD8, 0x2DDE, 0x2DE0, 0x2E5D, 0x2E80, 0x2E99, 0x2E9B, 0x2EF3, 0x2F00, 0x2FD5,
    0x2FF0, 0x2FFB, 0x3001, 0x303F, 0x3041, 0x3096, 0x3099, 0x30FF, 0x3105, 0x312F,
    0x3131, 0x318E, 0x3190, 0x31E3, 0x31F0, 0x321E, 0x3220, 0xA48C, 0xA490, 0xA4C6,
    0xA4D0, 0xA62B, 0xA640, 0xA6F7, 0xA700, 0xA7CA, 0xA7D0, 0xA7D1, 0xA7D3, 0xA7D3,
    0xA7D5, 0xA7D9, 0xA7F2, 0xA82C, 0xA830, 0xA839, 0xA840, 0xA877, 0xA880, 0xA8C5,
    0xA8CE, 0xA8D9, 0xA8E0, 0xA953, 0xA95F, 0xA97C, 0xA980, 0xA9CD, 0xA9CF, 0xA9D9,
    0xA9DE, 0xA9FE, 0xAA00, 0xAA36, 0xAA40, 0xAA4D, 0xAA50, 0xAA59, 0xAA5C, 0xAAC2,
    0xAADB, 0xAAF6, 0xAB01, 0xAB06, 0xAB09, 0xAB0E, 0xAB11, 0xAB16, 0xAB20, 0xAB26,
    0xAB28, 0xAB2E, 0xAB30, 0xAB6B, 0xAB70, 0xABED, 0xABF0, 0xABF9, 0xAC00, 0xD7A3,
    0xD7B0, 0xD7C6, 0xD7CB, 0xD7FB, 0xF900, 0xFA6D, 0xFA70, 0xFAD9, 0xFB00, 0xFB06,
    0xFB13, 0xFB17, 0xFB1D, 0xFB36, 0xFB38, 0xFB3C, 0xFB3E, 0xFB3E, 0xFB40, 0xFB41,
    0xFB43, 0xFB44, 0xFB46, 0xFBC2, 0xFBD3, 0xFD8F, 0xFD92, 0xFDC7, 0xFDCF, 0xFDCF,
    0xFDF0, 0xFE19, 0xFE20, 0xFE52, 0xFE54, 0xFE66, 0xFE68, 0xFE6B, 0xFE70, 0xFE74,
    0xFE76, 0xFEFC, 0xFF01, 0xFFBE, 0xFFC2, 0xFFC7, 0xFFCA, 0xFFCF, 0xFFD2, 0xFFD7,
    0xFFDA, 0xFFDC, 0xFFE0, 0xFFE6, 0xFFE8, 0xFFEE, 0xFFFC, 0xFFFD, 0x10000, 0x1000B,
    0x1000D, 0x10026, 0x10028, 0x1003A, 0x1003C, 0x1003D, 0x1003F, 0x1004D, 0x10050, 0x1005D,
    0x10080, 0x100FA, 0x10100, 0x10102, 0x10107, 0x10133, 0x10137, 0x1018E, 0x10190, 0x1019C,
    0x101A0, 0x101A0, 0x101D0, 0x101FD, 0x10280, 0x1029C, 0x102A0, 0x102D0, 0x102E0, 0x102FB,
    0x10300, 0x10323, 0x1032D, 0x1034A, 0x10350, 0x1037A, 0x10380, 0x1039D, 0x1039F, 0x103C3,
    0x103C8, 0x103D5, 0x10400, 0x1049D, 0x104A0, 0x104A9, 0x104B0, 0x104D3, 0x104D8, 0x104FB,
    0x10500, 0x10527, 0x10530, 0x10563, 0x1056F, 0x1057A, 0x1057C, 0x1058A, 0x1058C, 0x10592,
    0x10594, 0x10595, 0x10597, 0x105A1, 0x105A3, 0x105B1, 0x105B3, 0x105B9, 0x105BB, 0x105BC,
    0x10600, 0x10736, 0x10740, 0x10755, 0x10760, 0x10767, 0x10780, 0x10785, 0x10787, 0x107B0,
    0x107B2, 0x107BA, 0x10800, 0x10805, 0x10808, 0x10808, 0x1080A, 0x10835, 0x10837, 0x10838,
    0x1083C, 0x1083C, 0x1083F, 0x10855, 0x10857, 0x1089E, 0x108A7, 0x108AF, 0x108E0, 0x108F2,
    0x108F4, 0x108F5, 0x108FB, 0x1091B, 0x1091F, 0x10939, 0x1093F, 0x1093F, 0x10980, 0x109B7,
    0x109BC, 0x109CF, 0x109D2, 0x10A03, 0x10A05, 0x10A06, 0x10A0C, 0x10A13, 0x10A15, 0x10A17,
    0x10A19, 0x10A35, 0x10A38, 0x10A3A, 0x10A3F, 0x10A48, 0x10A50, 0x10A58, 0x10A60, 0x10A9F,
    0x10AC0, 0x10AE6, 0x10AEB, 0x10AF6, 0x10B00, 0x10B35, 0x10B39, 0x10B55, 0x10B58, 0x10B72,
    0x10B78, 0x10B91, 0x10B99, 0x10B9C, 0x10BA9, 0x10BAF, 0x10C00, 0x10C48, 0x10C80, 0x10CB2,
    0x10CC0, 0x10CF2, 0x10CFA, 0x10D27, 0x10D30, 0x10D39, 0x10E60, 0x10E7E, 0x10E80, 0x10EA9,
    0x10EAB, 0x10EAD, 0x10EB0, 0x10EB1, 0x10EFD, 0x10F27, 0x10F30, 0x10F59, 0x10F70, 0x10F89,
    0x10FB0, 0x10FCB, 0x10FE0, 0x10FF6, 0x11000, 0x1104D, 0x11052, 0x11075, 0x1107F, 0x110BC,
    0x110BE, 0x110C2, 0x110D0, 0x110E8, 0x110F0, 0x110F9, 0x11100, 0x11134, 0x11136, 0x11147,
    0x11150, 0x11176, 0x11180, 0x111DF, 0x111E1, 0x111F4, 0x11200, 0x11211, 0x11213, 0x11241,
    0x11280, 0x11286, 0x11288, 0x11288, 0x1128A, 0x1128D, 0x1128F, 0x1129D, 0x1129F, 0x112A9,
    0x112B0, 0x112EA, 0x112F0, 0x112F9, 0x11300, 0x11303, 0x11305, 0x1130C, 0x1130F, 0x11310,
    0x11313, 0x11328, 0x1132A, 0x11330, 0x11332, 0x11333, 0x11335, 0x11339, 0x1133B, 0x11344,
    0x11347, 0x11348, 0x1134B, 0x1134D, 0x11350, 0x11350, 0x11357, 0x11357, 0x1135D, 0x11363,
    0x11366, 0x1136C, 0x11370, 0x11374, 0x11400, 0x1145B, 0x1145D, 0x11461, 0x11480, 0x114C7,
    0x114D0, 0x114D9, 0x11580, 0x115B5, 0x115B8, 0x115DD, 0x11600, 0x11644, 0x11650, 0x11659,
    0x11660, 0x1166C, 0x11680, 0x116B9, 0x116C0, 0x116C9, 0x11700, 0x1171A, 0x1171D, 0x1172B,
    0x11730, 0x11746, 0x11800, 0x1183B, 0x118A0, 0x118F2, 0x118FF, 0x11906, 0x11909, 0x11909,
    0x1190C, 0x11913, 0x11915, 0x11916, 0x11918, 0x11935, 0x11937, 0x11938, 0x1193B, 0x11946,
    0x11950, 0x11959, 0x119A0, 0x119A7, 0x119AA, 0x119D7, 0x119DA, 0x119E4, 0x11A00, 0x11A47,
    0x11A50, 0x11AA2, 0x11AB0, 0x11AF8, 0x11B00, 0x11B09, 0x11C00, 0x11C08, 0x11C0A, 0x11C36,
    0x11C38, 0x11C45, 0x11C50, 0x11C6C, 0x11C70, 0x11C8F, 0x11C92, 0x11CA7, 0x11CA9, 0x11CB6,
    0x11D00, 0x11D06, 0x11D08, 0x11D09, 0x11D0B, 0x11D36, 0x11D3A, 0x11D3A, 0x11D3C, 0x11D3D,
    0x11D3F, 0x11D47, 0x11D50, 0x11D59, 0x11D60, 0x11D65, 0x11D67, 0x11D68, 0x11D6A, 0x11D8E,
    0x11D90, 0x11D91, 0x11D93, 0x11D98, 0x11DA0, 0x11DA9, 0x11EE0, 0x11EF8, 0x11F00, 0x11F10,
    0x11F12, 0x11F3A, 0x11F3E, 0x11F59, 0x11FB0, 0x11FB0, 0x11FC0, 0x11FF1, 0x11FFF, 0x12399,
    0x12400, 0x1246E, 0x12470, 0x12474, 0x12480, 0x12543, 0x12F90, 0x12FF2, 0x13000, 0x1342F,
    0x13440, 0x13455, 0x14400, 0x14646, 0x16800, 0x16A38, 0x16A40, 0x16A5E, 0x16A60, 0x16A69,
    0x16A6E, 0x16ABE, 0x16AC0, 0x16AC9, 0x16AD0, 0x16AED, 0x16AF0, 0x16AF5, 0x16B00, 0x16B45,
    0x16B50, 0x16B59, 0x16B5B, 0x16B61, 0x16B63, 0x16B77, 0x16B7D, 0x16B8F, 0x16E40, 0x16E9A,
    0x16F00, 0x16F4A, 0x16F4F, 0x16F87, 0x16F8F, 0x16F9F, 0x16FE0, 0x16FE4, 0x16FF0, 0x16FF1,
    0x17000, 0x187F7, 0x18800, 0x18CD5, 0x18D00, 0x18D08, 0x1AFF0, 0x1AFF3, 0x1AFF5, 0x1AFFB,
    0x1AFFD, 0x1AFFE, 0x1B000, 0x1B122, 0x1B132, 0x1B132, 0x1B150, 0x1B152, 0x1B155, 0x1B155,
    0x1B164, 0x1B167, 0x1B170, 0x1B2FB, 0x1BC00, 0x1BC6A, 0x1BC70, 0x1BC7C, 0x1BC80, 0x1BC88,
    0x1BC90, 0x1BC99, 0x1BC9C, 0x1BC9F, 0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46, 0x1CF50, 0x1CFC3,
    0x1D000, 0x1D0F5, 0x1D100, 0x1D126, 0x1D129, 0x1D172, 0x1D17B, 0x1D1EA, 0x1D200, 0x1D245,
    0x1D2C0, 0x1D2D3, 0x1D2E0, 0x1D2F3, 0x1D300, 0x1D356, 0x1D360, 0x1D378, 0x1D400, 0x1D454,
    0x1D456, 0x1D49C, 0x1D49E, 0x1D49F, 0x1D4A2, 0x1D4A2, 0x1D4A5, 0x1D4A6, 0x1D4A9, 0x1D4AC,
    0x1D4AE, 0x1D4B9, 0x1D4BB, 0x1D4BB, 0x1D4BD, 0x1D4C3, 0x1D4C5, 0x1D505, 0x1D507, 0x1D50A,
    0x1D50D, 0x1D514, 0x1D516, 0x1D51C, 0x1D51E, 0x1D539, 0x1D53B, 0x1D53E, 0x1D540, 0x1D544,
    0x1D546, 0x1D546, 0x1D54A, 0x1D550, 0x1D552, 0x1D6A5, 0x1D6A8, 0x1D7CB, 0x1D7CE, 0x1DA8B,
    0x1DA9B, 0x1DA9F, 0x1DAA1, 0x1DAAF, 0x1DF00, 0x1DF1E, 0x1DF25, 0x1DF2A, 0x1E000, 0x1E006,
    0x1E008, 0x1E018, 0x1E01B, 0x1E021, 0x1E023, 0x1E024, 0x1E026, 0x1E02A, 0x1E030, 0x1E06D,
    0x1E08F, 0x1E08F, 0x1E100, 0x1E12C, 0x1E130, 0x1E13D, 0x1E140, 0x1E149, 0x1E14E, 0x1E14F,
    0x1E290, 0x1E2AE, 0x1E2C0, 0x1E2F9, 0x1E2FF, 0x1E2FF, 0x1E4D0, 0x1E4F9, 0x1E7E0, 0x1E7E6,
    0x1E7E8, 0x1E7EB, 0x1E7ED, 0x1E7EE, 0x1E7F0, 0x1E7FE, 0x1E800, 0x1E8C4, 0x1E8C7, 0x1E8D6,
    0x1E900, 0x1E94B, 0x1E950, 0x1E959, 0x1E95E, 0x1E95F, 0x1EC71, 0x1ECB4, 0x1ED01, 0x1ED3D,
    0x1EE00, 0x1EE03, 0x1EE05, 0x1EE1F, 0x1EE21, 0x1EE22, 0x1EE24, 0x1EE24, 0x1EE27, 0x1EE27,
    0x1EE29, 0x1EE32, 0x1EE34, 0x1EE37, 0x1EE39, 0x1EE39, 0x1EE3B, 0x1EE3B, 0x1EE42, 0x1EE42,
    0x1EE47, 0x1EE47, 0x1EE49, 0x1EE49, 0x1EE4B, 0x1EE4B, 0x1EE4D, 0x1EE4F, 0x1EE51, 0x1EE52,
    0x1EE54, 0x1EE54, 0x1EE57, 0x1EE57, 0x1EE59, 0x1EE59, 0x1EE5B, 0x1EE5B, 0x1EE5D, 0x1EE5D,
    0x1EE5F, 0x1EE5F, 0x1EE61, 0x1EE62, 0x1EE64, 0x1EE64, 0x1EE67, 0x1EE6A, 0x1EE6C, 0x1EE72,
    0x1EE74, 0x1EE77, 0x1EE79, 0x1EE7C, 0x1EE7E, 0x1EE7E, 0x1EE80, 0x1EE89, 0x1EE8B, 0x1EE9B,
    0x1EEA1, 0x1EEA3, 0x1EEA5, 0x1EEA9, 0x1EEAB, 0x1EEBB, 0x1EEF0, 0x1EEF1, 0x1F000, 0x1F02B,
    0x1F030, 0x1F093, 0x1F0A0, 0x1F0AE, 0x1F0B1, 0x1F0BF, 0x1F0C1, 0x1F0CF, 0x1F0D1, 0x1F0F5,
    0x1F100, 0x1F1AD, 0x1F1E6, 0x1F202, 0x1F210, 0x1F23B, 0x1F240, 0x1F248, 0x1F250, 0x1F251,
    0x1F260, 0x1F265, 0x1F300, 0x1F6D7, 0x1F6DC, 0x1F6EC, 0x1F6F0, 0x1F6FC, 0x1F700, 0x1F776,
    0x1F77B, 0x1F7D9, 0x1F7E0, 0x1F7EB, 0x1F7F0, 0x1F7F0, 0x1F800, 0x1F80B, 0x1F810, 0x1F847,
    0x1F850, 0x1F859, 0x1F860, 0x1F887, 0x1F890, 0x1F8AD, 0x1F8B0, 0x1F8B1, 0x1F900, 0x1FA53,
    0x1FA60, 0x1FA6D, 0x1FA70, 0x1FA7C, 0x1FA80, 0x1FA88, 0x1FA90, 0x1FABD, 0x1FABF, 0x1FAC5,
    0x1FACE, 0x1FADB, 0x1FAE0, 0x1FAE8, 0x1FAF0, 0x1FAF8, 0x1FB00, 0x1FB92, 0x1FB94, 0x1FBCA,
    0x1FBF0, 0x1FBF9, 0x20000, 0x2A6DF, 0x2A700, 0x2B739, 0x2B740, 0x2B81D, 0x2B820, 0x2CEA1,
    0x2CEB0, 0x2EBE0, 0x2F800, 0x2FA1D, 0x30000, 0x3134A, 0x31350, 0x323AF, 0xE0100, 0xE01EF,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sub_env(t: &str, pairs: &[(&str, &str)]) -> Result<Substituted, TemplateError> {
        let e = env(pairs);
        substitute(t, &|k: &str| e.get(k).cloned())
    }

    /// Substituted value; panics (test only) on error.
    fn val(t: &str, pairs: &[(&str, &str)]) -> String {
        match sub_env(t, pairs) {
            Ok(s) => s.value,
            Err(e) => panic!("{t:?}: unexpected error {e}"),
        }
    }

    fn unset(t: &str, pairs: &[(&str, &str)]) -> Vec<String> {
        match sub_env(t, pairs) {
            Ok(s) => s.unset,
            Err(e) => panic!("{t:?}: unexpected error {e}"),
        }
    }

    fn err(t: &str, pairs: &[(&str, &str)]) -> String {
        match sub_env(t, pairs) {
            Ok(s) => panic!("{t:?}: expected an error, got {:?}", s.value),
            Err(e) => e.to_string(),
        }
    }

    fn invalid(t: &str) -> String {
        match sub_env(t, &[]) {
            Err(TemplateError::Invalid { template }) => template,
            other => panic!("{t:?}: expected invalid template, got {other:?}"),
        }
    }

    #[test]
    fn plain_and_braced_names() {
        let e = [("A", "1"), ("B", "2"), ("a_b1", "low"), ("_", "u")];
        assert_eq!(val("$A$B", &e), "12");
        assert_eq!(val("${A}-${B}", &e), "1-2");
        assert_eq!(val("${a_b1} $a_b1", &e), "low low");
        assert_eq!(val("x${_}y", &e), "xuy");
        assert_eq!(val("$A.b", &e), "1.b");
        assert_eq!(val("no vars", &e), "no vars");
        assert_eq!(val("", &e), "");
    }

    #[test]
    fn unset_variables_become_empty_and_are_reported_per_use() {
        assert_eq!(val("a${X}b$X", &[]), "ab");
        assert_eq!(unset("$X $X ${X}", &[]), vec!["X", "X", "X"]);
        assert!(unset("$A", &[("A", "")]).is_empty());
    }

    #[test]
    fn dollar_escapes_and_literal_dollars() {
        let e = [("A", "1")];
        assert_eq!(val("$$A", &e), "$A");
        assert_eq!(val("$$$A", &e), "$1");
        assert_eq!(val("$$ $5 $ $(seq 10)", &e), "$ $5 $ $(seq 10)");
        assert_eq!(val("a$", &e), "a$");
        assert_eq!(val("$1A", &e), "$1A");
        assert_eq!(val("$}", &e), "$}");
        assert_eq!(val("${A}}", &e), "1}");
    }

    #[test]
    fn default_operators() {
        assert_eq!(val("${A:-x}", &[]), "x");
        assert_eq!(val("${A:-x}", &[("A", "")]), "x");
        assert_eq!(val("${A:-x}", &[("A", "v")]), "v");
        assert_eq!(val("${A-x}", &[]), "x");
        assert_eq!(val("${A-x}", &[("A", "")]), "");
        assert_eq!(val("${A-x-y}", &[]), "x-y");
        assert_eq!(val("${A:-:-}", &[]), ":-");
        assert_eq!(val("${A-}", &[]), "");
        assert!(unset("${A:-x}", &[]).is_empty());
    }

    #[test]
    fn alternate_operators() {
        assert_eq!(val("${A:+x}", &[]), "");
        assert_eq!(val("${A:+x}", &[("A", "")]), "");
        assert_eq!(val("${A:+x}", &[("A", "v")]), "x");
        assert_eq!(val("${A+x}", &[]), "");
        assert_eq!(val("${A+x}", &[("A", "")]), "x");
        assert_eq!(val("${A+x}", &[("A", "v")]), "x");
    }

    #[test]
    fn required_operators() {
        assert_eq!(
            err("${A:?must}", &[]),
            "required variable A is missing a value: must"
        );
        assert_eq!(err("${A:?}", &[]), "required variable A is missing a value");
        assert_eq!(
            err("${A:?}", &[("A", "")]),
            "required variable A is missing a value"
        );
        assert_eq!(val("${A?}", &[("A", "")]), "");
        assert_eq!(
            err("${A?oops}", &[]),
            "required variable A is missing a value: oops"
        );
        assert_eq!(val("${A:?x}", &[("A", "v")]), "v");
        // the message is itself substituted
        assert_eq!(
            err("${A:?msg $B}", &[("B", "b")]),
            "required variable A is missing a value: msg b"
        );
        assert_eq!(
            sub_env("${A:?m}", &[]),
            Err(TemplateError::Required {
                name: "A".into(),
                message: "m".into()
            })
        );
    }

    #[test]
    fn nested_operands() {
        assert_eq!(val("${A:-${B:-${C:-deep}}}", &[]), "deep");
        assert_eq!(val("${A:-${B:-x}y}z", &[]), "xyz");
        assert_eq!(val("${A:-$B}", &[("B", "b")]), "b");
        assert_eq!(val("${A:+[$B]}", &[("A", "1"), ("B", "b")]), "[b]");
        assert_eq!(val("${A:-x}-${B}", &[("B", "2")]), "x-2");
        assert_eq!(val("${A:-x}}", &[]), "x}");
        assert_eq!(val("${A:-x}y}", &[]), "xy}");
        assert_eq!(val("${A:-a}${B:-b}${C:-c}", &[("B", "B")]), "aBc");
    }

    #[test]
    fn operands_are_evaluated_even_when_unused() {
        // compose-go substitutes the default before looking at the variable
        assert_eq!(
            err("${A:-${B:?must}}", &[("A", "1")]),
            "required variable B is missing a value: must"
        );
        assert_eq!(unset("${A:-$B}", &[("A", "1")]), vec!["B"]);
        assert_eq!(unset("${A:+$B}", &[]), vec!["B"]);
    }

    #[test]
    fn brace_counting_quirk() {
        // the byte after `{` is skipped by compose-go's counter, so the braces never balance
        // and the whole match up to the last `}` is the default
        assert_eq!(val("${A:-{}x}", &[]), "{}x");
        assert_eq!(invalid("${A:-${B}"), "${B");
    }

    #[test]
    fn invalid_templates() {
        for t in [
            "${}",
            "${ BAD}",
            "${VAR/a/b}",
            "${A:x}",
            "${A",
            "${1A}",
            "x ${",
            "${A:-a\nb}",
        ] {
            assert_eq!(invalid(t), t, "{t:?}");
        }
        assert_eq!(invalid("${A:-a}\n${B }"), "${A:-a}\n${B }");
        // errors in the remainder after an operator expression name only that remainder
        assert_eq!(invalid("${A:-x} ${B }"), " ${B }");
        assert_eq!(invalid("${A:-x}${B:-y}${C }"), "${C }");
        assert_eq!(err("${A:-a\nb}", &[]), "Invalid template: \"${A:-a\\nb}\"");
    }

    #[test]
    fn unicode_case_folding_names() {
        // (?i)[a-z] also matches U+017F and U+212A in Go
        assert_eq!(
            unset("$\u{17F} $\u{212A}", &[]),
            vec!["\u{17F}", "\u{212A}"]
        );
        assert_eq!(val("${\u{17F}}", &[("\u{17F}", "s")]), "s");
        assert_eq!(val("$é", &[]), "$é");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut t = String::from("x");
        for _ in 0..MAX_NESTING {
            t = format!("${{A:-{t}}}");
        }
        assert_eq!(val(&t, &[]), "x");
        let deeper = format!("${{A:-{t}}}");
        assert_eq!(sub_env(&deeper, &[]), Err(TemplateError::TooDeep));
        assert_eq!(
            TemplateError::TooDeep.to_string(),
            "too many nested variable substitutions"
        );
        assert_eq!(extract_variables(&deeper), Err(TemplateError::TooDeep));
        // very deep input does not overflow the stack
        let huge = "${A:-".repeat(100_000) + &"}".repeat(100_000);
        assert_eq!(sub_env(&huge, &[]), Err(TemplateError::TooDeep));
    }

    #[test]
    fn long_chains_are_not_nesting() {
        let t = "${A:-x}".repeat(10_000);
        assert_eq!(val(&t, &[]), "x".repeat(10_000));
        let vars = extract_variables(&t).unwrap_or_default();
        assert_eq!(vars.len(), 10_000);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let samples = [
            "$",
            "${",
            "${A",
            "${A:",
            "${A:-",
            "${A:-}",
            "}{$",
            "$$$",
            "${A:-{",
            "${A-{}",
            "é${A:-é}é",
            "${A:-x\u{2028}}",
            "${\u{17F}:-}",
            "$\u{212A}x",
            "\r\n$A\r\n",
            "${A:?}",
            "${A?",
        ];
        for s in samples {
            let _ = substitute(s, &|_| None);
            let _ = substitute(s, &|_| Some(String::new()));
            let _ = extract_variables(s);
        }
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            go_quote("\n\t\r\u{7}\u{8}\u{c}\u{b}"),
            "\"\\n\\t\\r\\a\\b\\f\\v\""
        );
        assert_eq!(go_quote("\u{0}\u{1f}\u{7f}"), "\"\\x00\\x1f\\x7f\"");
        assert_eq!(go_quote("é€😀"), "\"é€😀\"");
        assert_eq!(
            go_quote("\u{a0}\u{ad}\u{200b}\u{feff}"),
            "\"\\u00a0\\u00ad\\u200b\\ufeff\""
        );
        assert_eq!(go_quote("\u{e0001}\u{f0000}"), "\"\\U000e0001\\U000f0000\"");
        assert_eq!(go_quote("\u{301}"), "\"\u{301}\"");
    }

    fn var(
        name: &str,
        required: bool,
        default: Option<&str>,
        alternate: Option<&str>,
    ) -> VariableUse {
        VariableUse {
            name: name.into(),
            required,
            default: default.map(Into::into),
            alternate: alternate.map(Into::into),
        }
    }

    #[test]
    fn extract_simple() {
        assert_eq!(
            extract_variables("$A ${B} $$C ${D:-x} ${E-} ${F:?err} ${G?} ${H:+alt} ${I+}"),
            Ok(vec![
                var("A", false, None, None),
                var("B", false, None, None),
                var("I", false, None, Some("")),
                var("H", false, None, Some("alt")),
                var("G", true, None, None),
                var("F", true, None, None),
                var("E", false, Some(""), None),
                var("D", false, Some("x"), None),
            ])
        );
        assert_eq!(extract_variables("no vars $$"), Ok(vec![]));
    }

    #[test]
    fn extract_nested_and_remainders() {
        // operands are searched (not `?` messages); remainder variables come first
        assert_eq!(
            extract_variables("${A:-${B:-z}} ${C:+${D}} ${E:?${F}}"),
            Ok(vec![
                var("E", true, None, None),
                var("C", false, None, Some("${D}")),
                var("D", false, None, None),
                var("A", false, Some("${B:-z}"), None),
                var("B", false, Some("z"), None),
            ])
        );
        // compose-go keeps the last entry per name: here `x`
        let v = extract_variables("${A:-x}${A:-y}").unwrap_or_default();
        assert_eq!(v.last(), Some(&var("A", false, Some("x"), None)));
    }

    #[test]
    fn extract_quirks() {
        // invalid `${` is listed with an empty name
        assert_eq!(
            extract_variables("${}"),
            Ok(vec![var("", false, None, None)])
        );
        assert_eq!(
            extract_variables("${A:-${B}"),
            Ok(vec![
                var("A", false, Some("${B"), None),
                var("", false, None, None)
            ])
        );
        assert_eq!(
            extract_variables("${A:-x} ${B }"),
            Ok(vec![
                var("", false, None, None),
                var("A", false, Some("x"), None)
            ])
        );
        // the name is split at the first non-ASCII-word byte
        assert_eq!(
            extract_variables("$\u{17F} ${\u{17F}:-a}"),
            Ok(vec![
                var("\u{17F}", false, None, None),
                var("\u{17F}:-a", false, None, None)
            ])
        );
    }
}
