//! Durations and byte sizes, parsed and printed exactly like the Go code behind Docker Compose
//! v2.40.3 (compose-go v2.9.1, Go 1.24):
//!
//! * [`parse_duration`] — Go's `time.ParseDuration` (units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`,
//!   `h`; fractions; sign; a lone `0`).
//! * [`parse_compose_duration`] — what compose-go actually uses for every `Duration` field
//!   (`healthcheck.interval`/`timeout`/`start_period`/`start_interval`, `stop_grace_period`,
//!   `deploy` delays, `pull_policy: every_<d>`...): `github.com/xhit/go-str2duration/v2` v2.1.0,
//!   a copy of an older `time.ParseDuration` that also accepts `d` (24h) and `w` (168h), works in
//!   signed 64-bit (so `-9223372036854775808ns` is rejected) and quotes the input verbatim in
//!   messages. The compose schema does not validate duration syntax, so these messages are what
//!   users see, wrapped by the caller as `'services[a].stop_grace_period' <message>`.
//!   Duration fields must be YAML strings (`stop_grace_period: 10` fails schema validation
//!   with `services.a.stop_grace_period must be a string`).
//! * [`format_duration`] — Go's `time.Duration.String()` (`1h0m0s`, `1.5s`, `500ms`, `1µs`, `0s`),
//!   which is how `docker compose config` prints every duration.
//! * [`parse_bytes`] — `github.com/docker/go-units` v0.5.0 `RAMInBytes` (binary multiples; used by
//!   compose-go's `UnitBytes`: `mem_limit`, `memswap_limit`, `mem_reservation`, `shm_size`...).
//!   compose-go only calls it for YAML *strings*; a YAML integer is taken as-is (`mem_limit: 1024`
//!   → 1024, `mem_limit: -1` → -1) and a YAML float is silently ignored (the field stays unset).
//!   Its number part goes through a faithful port of Go's `strconv.ParseFloat` (underscores,
//!   hex floats, `inf`/`nan`, range errors), and oversized values convert to `i64` the way Go on
//!   amd64 does (anything out of range, and NaN, becomes `i64::MIN`).
//!
//! Nothing here panics, whatever the input.

/// Why a duration or size could not be parsed. `Display` is the exact Go message.
///
/// String fields hold the text exactly as it appears in the message, quotes included where the Go
/// message has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    /// `time: invalid duration "<input>"`.
    #[error("time: invalid duration {0}")]
    InvalidDuration(String),
    /// `time: missing unit in duration "<input>"`.
    #[error("time: missing unit in duration {0}")]
    MissingUnit(String),
    /// `time: unknown unit "<unit>" in duration "<input>"`.
    #[error("time: unknown unit {unit} in duration {input}")]
    UnknownUnit { unit: String, input: String },
    /// `invalid size: '<input>'` (no digit at all, or a negative number).
    #[error("invalid size: '{0}'")]
    InvalidSize(String),
    /// `invalid suffix: '<suffix>'`.
    #[error("invalid suffix: '{0}'")]
    InvalidSuffix(String),
    /// `strconv.ParseFloat: parsing "<number>": invalid syntax`.
    #[error("strconv.ParseFloat: parsing {0}: invalid syntax")]
    FloatSyntax(String),
    /// `strconv.ParseFloat: parsing "<number>": value out of range`.
    #[error("strconv.ParseFloat: parsing {0}: value out of range")]
    FloatRange(String),
}

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const TWO_63: u64 = 1 << 63;

fn time_unit(u: &str) -> Option<u64> {
    Some(match u {
        "ns" => NS,
        "us" | "\u{b5}s" | "\u{3bc}s" => US,
        "ms" => MS,
        "s" => SEC,
        "m" => MIN,
        "h" => HOUR,
        _ => return None,
    })
}

/// Go's `time.ParseDuration` (Go 1.24): returns nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, UnitsError> {
    let invalid = || UnitsError::InvalidDuration(time_quote(s));
    let (neg, rest) = split_sign(s);
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut rest = rest;
    let mut d: u64 = 0;
    while !rest.is_empty() {
        let (v, f, scale, unit_str, after) = duration_component(rest).map_err(|e| match e {
            Component::Invalid => invalid(),
            Component::MissingUnit => UnitsError::MissingUnit(time_quote(s)),
        })?;
        rest = after;
        let unit = time_unit(unit_str).ok_or_else(|| UnitsError::UnknownUnit {
            unit: time_quote(unit_str),
            input: time_quote(s),
        })?;
        if v > TWO_63 / unit {
            return Err(invalid());
        }
        let mut v = v * unit;
        if f > 0 {
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > TWO_63 {
                return Err(invalid());
            }
        }
        // Go adds in uint64 (wrapping) and only then compares.
        d = d.wrapping_add(v);
        if d > TWO_63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > i64::MAX as u64 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// compose-go's duration parser (`go-str2duration/v2` v2.1.0): like [`parse_duration`] plus the
/// units `d` (24h) and `w` (168h), signed 64-bit arithmetic, and the input quoted verbatim in
/// error messages. Returns nanoseconds.
pub fn parse_compose_duration(s: &str) -> Result<i64, UnitsError> {
    let plain = |x: &str| format!("\"{x}\"");
    let invalid = || UnitsError::InvalidDuration(plain(s));
    let (neg, rest) = split_sign(s);
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut rest = rest;
    let mut d: i64 = 0;
    while !rest.is_empty() {
        let (v, f, scale, unit_str, after) = duration_component_i64(rest).map_err(|e| match e {
            Component::Invalid => invalid(),
            Component::MissingUnit => UnitsError::MissingUnit(plain(s)),
        })?;
        rest = after;
        let unit = match unit_str {
            "d" => 24 * HOUR,
            "w" => 168 * HOUR,
            u => time_unit(u).ok_or_else(|| UnitsError::UnknownUnit {
                unit: plain(unit_str),
                input: plain(s),
            })?,
        } as i64;
        if v > i64::MAX / unit {
            return Err(invalid());
        }
        let mut v = v * unit;
        if f > 0 {
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as i64);
            if v < 0 {
                return Err(invalid());
            }
        }
        d = d.wrapping_add(v);
        if d < 0 {
            return Err(invalid());
        }
    }
    Ok(if neg { d.wrapping_neg() } else { d })
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

enum Component {
    Invalid,
    MissingUnit,
}

/// Number of leading ASCII digits.
fn digit_run(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Fraction digits → (value, scale) the way Go's `leadingFraction` accumulates them: precision
/// stops growing once the value would pass the limit. `wide` is Go 1.24 (uint64, allows 1<<63);
/// otherwise the older int64 rule used by str2duration.
fn leading_fraction(digits: &[u8], wide: bool) -> (u64, f64) {
    let mut x: u64 = 0;
    let mut scale = 1.0f64;
    for &c in digits {
        if x > (TWO_63 - 1) / 10 {
            break;
        }
        let y = x * 10 + u64::from(c - b'0');
        if (wide && y > TWO_63) || (!wide && y > TWO_63 - 1) {
            break;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale)
}

/// One `[0-9]*(\.[0-9]*)?unit` component with Go 1.24's integer rules (uint64, up to 1<<63).
#[allow(clippy::type_complexity)]
fn duration_component(s: &str) -> Result<(u64, u64, f64, &str, &str), Component> {
    let b = s.as_bytes();
    if !(b[0] == b'.' || b[0].is_ascii_digit()) {
        return Err(Component::Invalid);
    }
    let n = digit_run(b);
    let mut x: u64 = 0;
    for &c in &b[..n] {
        if x > TWO_63 / 10 {
            return Err(Component::Invalid);
        }
        x = x * 10 + u64::from(c - b'0');
        if x > TWO_63 {
            return Err(Component::Invalid);
        }
    }
    let (f, scale, unit, after) = fraction_and_unit(s, n, true)?;
    Ok((x, f, scale, unit, after))
}

/// One component with str2duration's signed 64-bit integer rules.
#[allow(clippy::type_complexity)]
fn duration_component_i64(s: &str) -> Result<(i64, u64, f64, &str, &str), Component> {
    let b = s.as_bytes();
    if !(b[0] == b'.' || b[0].is_ascii_digit()) {
        return Err(Component::Invalid);
    }
    let n = digit_run(b);
    let mut x: i64 = 0;
    for &c in &b[..n] {
        if x > i64::MAX / 10 {
            return Err(Component::Invalid);
        }
        x = x
            .checked_mul(10)
            .and_then(|x| x.checked_add(i64::from(c - b'0')))
            .ok_or(Component::Invalid)?;
    }
    let (f, scale, unit, after) = fraction_and_unit(s, n, false)?;
    Ok((x, f, scale, unit, after))
}

/// After `n` integer digits: optional `.digits`, then the unit (up to the next digit or `.`).
fn fraction_and_unit(s: &str, n: usize, wide: bool) -> Result<(u64, f64, &str, &str), Component> {
    let b = s.as_bytes();
    let pre = n > 0;
    let mut i = n;
    let (mut f, mut scale, mut post) = (0, 1.0, false);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let m = digit_run(&b[i..]);
        (f, scale) = leading_fraction(&b[i..i + m], wide);
        post = m > 0;
        i += m;
    }
    if !pre && !post {
        return Err(Component::Invalid);
    }
    let u = b[i..]
        .iter()
        .take_while(|&&c| c != b'.' && !c.is_ascii_digit())
        .count();
    if u == 0 {
        return Err(Component::MissingUnit);
    }
    // Both boundaries sit next to ASCII bytes (or the ends), so slicing is safe.
    Ok((f, scale, &s[i..i + u], &s[i + u..]))
}

/// Go's `time.Duration.String()`.
pub fn format_duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    // Built back to front, like Go.
    let mut out: Vec<char> = Vec::with_capacity(32);
    if u < SEC {
        out.push('s');
        let prec;
        if u == 0 {
            return "0s".to_string();
        } else if u < US {
            prec = 0;
            out.push('n');
        } else if u < MS {
            prec = 3;
            out.push('\u{b5}');
        } else {
            prec = 6;
            out.push('m');
        }
        u = fmt_frac(&mut out, u, prec);
        fmt_int(&mut out, u);
    } else {
        out.push('s');
        u = fmt_frac(&mut out, u, 9);
        fmt_int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push('m');
            fmt_int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push('h');
                fmt_int(&mut out, u);
            }
        }
    }
    if neg {
        out.push('-');
    }
    out.iter().rev().collect()
}

/// Pushes (reversed) the fraction `v / 10^prec` without trailing zeros; returns the integer part.
fn fmt_frac(out: &mut Vec<char>, mut v: u64, prec: u32) -> u64 {
    let mut print = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        print = print || digit != 0;
        if print {
            out.push(char::from(b'0' + digit));
        }
        v /= 10;
    }
    if print {
        out.push('.');
    }
    v
}

/// Pushes (reversed) the decimal digits of `v`.
fn fmt_int(out: &mut Vec<char>, mut v: u64) {
    if v == 0 {
        out.push('0');
        return;
    }
    while v > 0 {
        out.push(char::from(b'0' + (v % 10) as u8));
        v /= 10;
    }
}

/// docker/go-units `RAMInBytes`: `<number>[ ]<suffix>` with binary multiples `k`, `m`, `g`,
/// `t`, `p` (optionally followed by `b` or `ib`, case-insensitive) or `b`.
pub fn parse_bytes(s: &str) -> Result<i64, UnitsError> {
    let b = s.as_bytes();
    let Some(sep) = b
        .iter()
        .rposition(|&c| c.is_ascii_digit() || c == b'.' || c == b' ')
    else {
        return Err(UnitsError::InvalidSize(s.to_string()));
    };
    let num = if b[sep] == b' ' {
        &s[..sep]
    } else {
        &s[..=sep]
    };
    let sfx = &s[sep + 1..];
    let mut size = go_parse_float(num)?;
    if size < 0.0 {
        return Err(UnitsError::InvalidSize(s.to_string()));
    }
    if sfx.is_empty() {
        return Ok(go_f64_to_i64(size));
    }
    if sfx.len() > 3 {
        return Err(UnitsError::InvalidSuffix(sfx.to_string()));
    }
    let lower = go_to_lower(sfx);
    let l = lower.as_bytes();
    let bad = || UnitsError::InvalidSuffix(lower.clone());
    let Some(&first) = l.first() else {
        return Err(bad());
    };
    if first == b'b' {
        if l.len() > 1 {
            return Err(bad());
        }
        return Ok(go_f64_to_i64(size));
    }
    let mul: u64 = match first {
        b'k' => 1 << 10,
        b'm' => 1 << 20,
        b'g' => 1 << 30,
        b't' => 1 << 40,
        b'p' => 1 << 50,
        _ => return Err(bad()),
    };
    size *= mul as f64;
    if (l.len() == 2 && l[1] != b'b') || (l.len() == 3 && &l[1..] != b"ib") {
        return Err(bad());
    }
    Ok(go_f64_to_i64(size))
}

/// Go's `int64(f)` on amd64: truncation, with NaN and out-of-range values giving `i64::MIN`.
fn go_f64_to_i64(f: f64) -> i64 {
    const TWO_63_F: f64 = 9_223_372_036_854_775_808.0; // 2^63, exactly representable
    if f.is_nan() || !(-TWO_63_F..TWO_63_F).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Go's `strings.ToLower` (simple per-character case mapping).
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                return 'i';
            }
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strconv.ParseFloat(s, 64)`, errors included.
pub(crate) fn go_parse_float(s: &str) -> Result<f64, UnitsError> {
    let syntax = || UnitsError::FloatSyntax(go_quote(s));
    if let Some(v) = special_float(s) {
        return Ok(v);
    }
    let r = read_float(s.as_bytes()).ok_or_else(syntax)?;
    let value = if r.hex {
        atof_hex(r.mantissa, r.exp, r.neg, r.trunc)
    } else {
        // Decimal: the exact value `digits × 10^exp10`, correctly rounded by Rust's parser (as it
        // is by Go's).
        let exp10 = r.dec_exp;
        let text = format!("{}{}e{}", if r.neg { "-" } else { "" }, r.dec_digits, exp10);
        text.parse::<f64>().map_err(|_| syntax())?
    };
    if value.is_infinite() {
        return Err(UnitsError::FloatRange(go_quote(s)));
    }
    Ok(value)
}

/// `inf`, `infinity` (optionally signed) and `nan`, case-insensitively, as the whole string.
fn special_float(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(f64::INFINITY * sign);
    }
    if rest.len() == s.len() && s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    None
}

struct ReadFloat {
    neg: bool,
    hex: bool,
    // Hex: mantissa (first 16 digits) and binary exponent, `trunc` if digits were dropped.
    mantissa: u64,
    exp: i64,
    trunc: bool,
    // Decimal: all significant digits and the power of ten to apply to them.
    dec_digits: String,
    dec_exp: i64,
}

/// Go's `readFloat`, requiring the whole input to be consumed. `None` = syntax error.
fn read_float(s: &[u8]) -> Option<ReadFloat> {
    let mut i = 0;
    let mut underscores = false;
    let mut neg = false;
    match s.first() {
        None => return None,
        Some(b'+') => i += 1,
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        _ => {}
    }
    let mut hex = false;
    let (mut base, mut max_mant_digits, mut exp_char) = (10u64, 19, b'e');
    if i + 2 < s.len() && s[i] == b'0' && s[i + 1].eq_ignore_ascii_case(&b'x') {
        hex = true;
        base = 16;
        max_mant_digits = 16;
        exp_char = b'p';
        i += 2;
    }
    let mut sawdot = false;
    let mut sawdigits = false;
    let mut nd: i64 = 0;
    let mut nd_mant: i64 = 0;
    let mut dp: i64 = 0;
    let mut mantissa: u64 = 0;
    let mut trunc = false;
    let mut dec_digits = String::new();
    let mut dec_frac: i64 = 0;
    while i < s.len() {
        let c = s[i];
        let lc = c.to_ascii_lowercase();
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if sawdot {
                break;
            }
            sawdot = true;
            dp = nd;
        } else if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lc)) {
            sawdigits = true;
            let d = if c.is_ascii_digit() {
                c - b'0'
            } else {
                lc - b'a' + 10
            };
            if !hex {
                dec_digits.push(char::from(c));
                if sawdot {
                    dec_frac += 1;
                }
            }
            if c == b'0' && nd == 0 {
                // Leading zeros only move the decimal point.
                dp -= 1;
            } else {
                nd += 1;
                if nd_mant < max_mant_digits {
                    mantissa = mantissa * base + u64::from(d);
                    nd_mant += 1;
                } else if c != b'0' {
                    trunc = true;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if hex {
        dp *= 4;
        nd_mant *= 4;
    }
    let mut e10: i64 = 0;
    if i < s.len() && s[i].to_ascii_lowercase() == exp_char {
        i += 1;
        if i >= s.len() {
            return None;
        }
        let mut esign = 1;
        if s[i] == b'+' {
            i += 1;
        } else if s[i] == b'-' {
            i += 1;
            esign = -1;
        }
        if i >= s.len() || !s[i].is_ascii_digit() {
            return None;
        }
        let mut e: i64 = 0;
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
        e10 = e * esign;
    } else if hex {
        return None;
    }
    if i != s.len() {
        return None;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
    Some(ReadFloat {
        neg,
        hex,
        mantissa,
        exp,
        trunc,
        dec_digits,
        dec_exp: e10 - dec_frac,
    })
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &[u8]) -> bool {
    let mut saw = b'^';
    let mut s = s;
    if let Some(b'-' | b'+') = s.first() {
        s = &s[1..];
    }
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&c.to_ascii_lowercase())) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `atofHex` for float64 (the range error is reported by the caller from the infinity).
fn atof_hex(mut mantissa: u64, exp: i64, neg: bool, trunc: bool) -> f64 {
    const MANTBITS: u32 = 52;
    const BIAS: i64 = -1023;
    const MAX_EXP: i64 = (1 << 11) + BIAS - 2;
    const MIN_EXP: i64 = BIAS + 1;
    let mut exp = exp + i64::from(MANTBITS);
    while mantissa != 0 && mantissa >> (MANTBITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTBITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < MIN_EXP - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTBITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTBITS == 0 {
        exp = BIAS;
    }
    let sign = if neg { -1.0 } else { 1.0 };
    if exp > MAX_EXP {
        return f64::INFINITY * sign;
    }
    let mut bits = mantissa & ((1 << MANTBITS) - 1);
    bits |= (((exp - BIAS) as u64) & ((1 << 11) - 1)) << MANTBITS;
    if neg {
        bits |= 1 << 63;
    }
    f64::from_bits(bits)
}

/// Go's `strconv.Quote`. Printability of non-ASCII characters approximates `unicode.IsPrint`
/// (controls, non-ASCII spaces, format characters, private-use and non-characters are escaped;
/// unassigned code points are not detected).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn go_is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_or_private = matches!(u,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        | 0xe000..=0xf8ff | 0xf0000..=0x10ffff | 0xfdd0..=0xfdef);
    !format_or_private && (u & 0xfffe) != 0xfffe
}

/// The `quote` of Go's `time` package: ASCII controls and every byte of non-ASCII characters
/// become `\xNN`; `"` and `\` are backslash-escaped.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn dur(s: &str) -> i64 {
        parse_duration(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn cdur(s: &str) -> i64 {
        parse_compose_duration(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn dur_err(s: &str) -> String {
        parse_duration(s).expect_err(s).to_string()
    }
    fn cdur_err(s: &str) -> String {
        parse_compose_duration(s).expect_err(s).to_string()
    }
    fn bytes(s: &str) -> i64 {
        parse_bytes(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn bytes_err(s: &str) -> String {
        parse_bytes(s).expect_err(s).to_string()
    }

    #[test]
    fn go_durations() {
        assert_eq!(dur("0"), 0);
        assert_eq!(dur("+0"), 0);
        assert_eq!(dur("-0"), 0);
        assert_eq!(dur("1h30m"), 90 * 60 * S);
        assert_eq!(dur("1.5s"), 1_500_000_000);
        assert_eq!(dur("500ms"), 500_000_000);
        assert_eq!(dur("-1.5h"), -5400 * S);
        assert_eq!(dur("2h45m"), (2 * 3600 + 45 * 60) * S);
        assert_eq!(dur("1ns"), 1);
        assert_eq!(dur("1us"), 1000);
        assert_eq!(dur("1µs"), 1000);
        assert_eq!(dur("1μs"), 1000);
        assert_eq!(dur(".5s"), 500_000_000);
        assert_eq!(dur("5.s"), 5 * S);
        assert_eq!(dur("1h1h"), 7200 * S);
        assert_eq!(dur("1.0000000000000000000001h"), 3600 * S);
        assert_eq!(dur("9223372036854775807ns"), i64::MAX);
        assert_eq!(dur("-9223372036854775808ns"), i64::MIN);
        assert_eq!(dur("0.3333333333333333333h"), 1_200_000_000_000);
    }

    #[test]
    fn go_duration_errors() {
        assert_eq!(dur_err(""), r#"time: invalid duration """#);
        assert_eq!(dur_err("-"), r#"time: invalid duration "-""#);
        assert_eq!(dur_err("10"), r#"time: missing unit in duration "10""#);
        assert_eq!(dur_err("1h5"), r#"time: missing unit in duration "1h5""#);
        assert_eq!(
            dur_err("10parsecs"),
            r#"time: unknown unit "parsecs" in duration "10parsecs""#
        );
        assert_eq!(dur_err("1d"), r#"time: unknown unit "d" in duration "1d""#);
        assert_eq!(dur_err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(dur_err("s"), r#"time: invalid duration "s""#);
        assert_eq!(
            dur_err("1s "),
            r#"time: unknown unit "s " in duration "1s ""#
        );
        assert_eq!(dur_err(" 1s"), r#"time: invalid duration " 1s""#);
        assert_eq!(
            dur_err("9223372036854775808ns"),
            r#"time: invalid duration "9223372036854775808ns""#
        );
        assert_eq!(
            dur_err("99999999999999999999s"),
            r#"time: invalid duration "99999999999999999999s""#
        );
        assert_eq!(dur_err("3000000h"), r#"time: invalid duration "3000000h""#);
        assert_eq!(
            dur_err("1µx"),
            r#"time: unknown unit "\xc2\xb5x" in duration "1\xc2\xb5x""#
        );
        assert_eq!(
            dur_err("1\"s"),
            r#"time: unknown unit "\"s" in duration "1\"s""#
        );
    }

    #[test]
    fn go_duration_wraps_like_go() {
        // Go adds components in uint64 without checking for wrap-around first.
        assert_eq!(dur("9223372036854775808ns9223372036854775808ns"), 0);
    }

    #[test]
    fn compose_durations() {
        assert_eq!(cdur("1h30m"), 5400 * S);
        assert_eq!(cdur("1.5s"), 1_500_000_000);
        assert_eq!(cdur("1d"), 86400 * S);
        assert_eq!(cdur("2w"), 336 * 3600 * S);
        assert_eq!(cdur("-1s"), -S);
        assert_eq!(cdur("0"), 0);
        assert_eq!(cdur("+0"), 0);
        assert_eq!(cdur("500ms"), 500_000_000);
        assert_eq!(cdur("9223372036854775807ns"), i64::MAX);
        assert_eq!(cdur("1.0000000000000000000001h"), 3600 * S);
        assert_eq!(cdur("1.5d"), 36 * 3600 * S);
        assert_eq!(cdur("0.3333333333333333333h"), 1_200_000_000_000);
        assert_eq!(cdur("5.s"), 5 * S);
        assert_eq!(cdur("2562047h47m16.854775807s"), i64::MAX);
    }

    #[test]
    fn compose_duration_errors() {
        assert_eq!(
            cdur_err("10parsecs"),
            r#"time: unknown unit "parsecs" in duration "10parsecs""#
        );
        assert_eq!(cdur_err(""), r#"time: invalid duration """#);
        assert_eq!(cdur_err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(cdur_err("10"), r#"time: missing unit in duration "10""#);
        assert_eq!(
            cdur_err("-9223372036854775808ns"),
            r#"time: invalid duration "-9223372036854775808ns""#
        );
        // Verbatim quoting (no escaping), unlike Go's time package.
        assert_eq!(
            cdur_err("1µx"),
            r#"time: unknown unit "µx" in duration "1µx""#
        );
        assert_eq!(
            cdur_err("9223372036854775807ns1ns"),
            r#"time: invalid duration "9223372036854775807ns1ns""#
        );
        assert_eq!(cdur_err("15251w"), r#"time: invalid duration "15251w""#);
        assert_eq!(
            cdur_err("1\"s"),
            r#"time: unknown unit ""s" in duration "1"s""#
        );
        assert_eq!(cdur_err("1h5"), r#"time: missing unit in duration "1h5""#);
        assert_eq!(
            cdur_err("1s "),
            r#"time: unknown unit "s " in duration "1s ""#
        );
    }

    #[test]
    fn duration_strings() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(3600 * S), "1h0m0s");
        assert_eq!(format_duration(120 * S), "2m0s");
        assert_eq!(format_duration(90 * S), "1m30s");
        assert_eq!(format_duration(5400 * S), "1h30m0s");
        assert_eq!(format_duration(500_000_000), "500ms");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(1000), "1µs");
        assert_eq!(format_duration(1500), "1.5µs");
        assert_eq!(format_duration(1), "1ns");
        assert_eq!(format_duration(-S), "-1s");
        assert_eq!(format_duration(86400 * S), "24h0m0s");
        assert_eq!(format_duration(336 * 3600 * S), "336h0m0s");
        assert_eq!(format_duration(1_000_001), "1.000001ms");
        assert_eq!(format_duration(10 * S + 1), "10.000000001s");
        assert_eq!(format_duration(i64::MAX), "2562047h47m16.854775807s");
        assert_eq!(format_duration(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn bytes_values() {
        assert_eq!(bytes("1.5G"), 1_610_612_736);
        assert_eq!(bytes("512m"), 536_870_912);
        assert_eq!(bytes("64m"), 67_108_864);
        assert_eq!(bytes("1024k"), 1_048_576);
        assert_eq!(bytes("1024"), 1024);
        assert_eq!(bytes("1_000"), 1000);
        assert_eq!(bytes("1 kb"), 1024);
        assert_eq!(bytes("12 KiB"), 12288);
        assert_eq!(bytes("1kib"), 1024);
        assert_eq!(bytes("1KiB"), 1024);
        assert_eq!(bytes("1KB"), 1024);
        assert_eq!(bytes("1b"), 1);
        assert_eq!(bytes("1B"), 1);
        assert_eq!(bytes("1.5b"), 1);
        assert_eq!(bytes("1 "), 1);
        assert_eq!(bytes("1."), 1);
        assert_eq!(bytes(".5k"), 512);
        assert_eq!(bytes("0.9k"), 921);
        assert_eq!(bytes("2.9999999999"), 2);
        assert_eq!(bytes("+5m"), 5_242_880);
        assert_eq!(bytes("-0"), 0);
        assert_eq!(bytes("1e3"), 1000);
        assert_eq!(bytes("1.5e3k"), 1_536_000);
        assert_eq!(bytes("1e1_0"), 10_000_000_000);
        assert_eq!(bytes("1t"), 1_099_511_627_776);
        assert_eq!(bytes("1pb"), 1_125_899_906_842_624);
        assert_eq!(bytes("1P"), 1 << 50);
        assert_eq!(bytes("1g"), 1 << 30);
        assert_eq!(bytes("0x1p4"), 16);
        assert_eq!(bytes("0x_1p4"), 16);
        assert_eq!(bytes("0x1.8p1k"), 3072);
        assert_eq!(bytes("0x1p-1074"), 0);
    }

    #[test]
    fn bytes_overflow_like_amd64() {
        assert_eq!(bytes("1e30"), i64::MIN);
        assert_eq!(bytes("9223372036854775807"), i64::MIN);
        assert_eq!(bytes("9223372036854775808"), i64::MIN);
        assert_eq!(bytes("8e18k"), i64::MIN);
        assert_eq!(bytes("inf b"), i64::MIN);
        assert_eq!(bytes("nan k"), i64::MIN);
        assert_eq!(bytes("Infinity m"), i64::MIN);
        assert_eq!(bytes("9223372036854774784"), 9_223_372_036_854_774_784);
    }

    #[test]
    fn bytes_errors() {
        assert_eq!(bytes_err("12xb"), "invalid suffix: 'xb'");
        assert_eq!(bytes_err(""), "invalid size: ''");
        assert_eq!(bytes_err("abc"), "invalid size: 'abc'");
        assert_eq!(bytes_err("-1"), "invalid size: '-1'");
        assert_eq!(bytes_err("-inf b"), "invalid size: '-inf b'");
        assert_eq!(
            bytes_err("1e400"),
            r#"strconv.ParseFloat: parsing "1e400": value out of range"#
        );
        assert_eq!(
            bytes_err("0x1p1024"),
            r#"strconv.ParseFloat: parsing "0x1p1024": value out of range"#
        );
        assert_eq!(
            bytes_err("1.5.5k"),
            r#"strconv.ParseFloat: parsing "1.5.5": invalid syntax"#
        );
        assert_eq!(
            bytes_err(" k"),
            r#"strconv.ParseFloat: parsing "": invalid syntax"#
        );
        assert_eq!(bytes_err("0x"), "invalid suffix: 'x'");
        assert_eq!(
            bytes_err("0x10"),
            r#"strconv.ParseFloat: parsing "0x10": invalid syntax"#
        );
        assert_eq!(bytes_err("1_0_"), "invalid suffix: '_'");
        assert_eq!(
            bytes_err("_10"),
            r#"strconv.ParseFloat: parsing "_10": invalid syntax"#
        );
        assert_eq!(
            bytes_err("1__0"),
            r#"strconv.ParseFloat: parsing "1__0": invalid syntax"#
        );
        assert_eq!(
            bytes_err("1.5.k"),
            r#"strconv.ParseFloat: parsing "1.5.": invalid syntax"#
        );
        assert_eq!(
            bytes_err("."),
            r#"strconv.ParseFloat: parsing ".": invalid syntax"#
        );
        assert_eq!(
            bytes_err("1 2"),
            r#"strconv.ParseFloat: parsing "1 2": invalid syntax"#
        );
        assert_eq!(
            bytes_err("1  k"),
            r#"strconv.ParseFloat: parsing "1 ": invalid syntax"#
        );
        assert_eq!(
            bytes_err("1k "),
            r#"strconv.ParseFloat: parsing "1k": invalid syntax"#
        );
        assert_eq!(
            bytes_err("1kb "),
            r#"strconv.ParseFloat: parsing "1kb": invalid syntax"#
        );
        assert_eq!(bytes_err("1e"), "invalid suffix: 'e'");
        assert_eq!(bytes_err("1e+"), "invalid suffix: 'e+'");
        assert_eq!(
            bytes_err("1e_1"),
            r#"strconv.ParseFloat: parsing "1e_1": invalid syntax"#
        );
        assert_eq!(bytes_err("1ib"), "invalid suffix: 'ib'");
        assert_eq!(bytes_err("1kbb"), "invalid suffix: 'kbb'");
        assert_eq!(bytes_err("1KBBB"), "invalid suffix: 'KBBB'");
        assert_eq!(bytes_err("1KX"), "invalid suffix: 'kx'");
        assert_eq!(
            bytes_err("\t5"),
            r#"strconv.ParseFloat: parsing "\t5": invalid syntax"#
        );
        assert_eq!(bytes_err("5\tk"), "invalid suffix: '\tk'");
        assert_eq!(bytes_err("1 ké"), "invalid suffix: 'ké'");
        assert_eq!(
            bytes_err("é5"),
            r#"strconv.ParseFloat: parsing "é5": invalid syntax"#
        );
        assert_eq!(bytes_err("1é"), "invalid suffix: 'é'");
        assert_eq!(bytes_err("1\u{a0}k"), "invalid suffix: '\u{a0}k'");
        assert_eq!(
            bytes_err("\u{a0}5"),
            r#"strconv.ParseFloat: parsing "\u00a05": invalid syntax"#
        );
    }

    #[test]
    fn parse_float_matches_go() {
        assert_eq!(go_parse_float("1_000.5").ok(), Some(1000.5));
        assert_eq!(go_parse_float("0x1.8p1").ok(), Some(3.0));
        assert_eq!(go_parse_float("0X1P-2").ok(), Some(0.25));
        assert_eq!(go_parse_float("0x0.01p0").ok(), Some(1.0 / 256.0));
        assert_eq!(go_parse_float("1e-400").ok(), Some(0.0));
        assert_eq!(go_parse_float("-inf").ok(), Some(f64::NEG_INFINITY));
        assert!(go_parse_float("NaN").is_ok_and(f64::is_nan));
        assert!(go_parse_float("+nan").is_err());
        assert!(go_parse_float("infx").is_err());
        assert!(go_parse_float("1e").is_err());
        assert!(go_parse_float("1_").is_err());
        assert!(go_parse_float("0x").is_err());
        assert!(go_parse_float("0x1").is_err());
        assert!(go_parse_float("").is_err());
        assert_eq!(
            go_parse_float("1e99999999999").map_err(|e| e.to_string()),
            Err(r#"strconv.ParseFloat: parsing "1e99999999999": value out of range"#.into())
        );
        assert_eq!(
            go_parse_float("123456789012345678901234567890").ok(),
            Some(1.2345678901234568e29)
        );
        assert_eq!(go_parse_float("0x1.fffffffffffff8p0").ok(), Some(2.0));
        assert_eq!(
            go_parse_float("0x1.fffffffffffff7p0").ok(),
            Some(1.9999999999999998)
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(
            go_quote("a\"b\\c\u{0}\u{7f}\u{200b}é\u{1F600}"),
            "\"a\\\"b\\\\c\\x00\\x7f\\u200bé😀\""
        );
        assert_eq!(time_quote("a\"é\t"), "\"a\\\"\\xc3\\xa9\\x09\"");
    }

    /// Pseudo-random inputs over an alphabet of significant characters must never panic.
    #[test]
    fn never_panics() {
        let alphabet: Vec<char> = "0123456789.+-_ eEpPxXkKmMgGbBiIhsnuµμdwaf\té"
            .chars()
            .collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 59) as usize;
            let mut s = String::new();
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let _ = (
                parse_duration(&s),
                parse_compose_duration(&s),
                parse_bytes(&s),
            );
        }
    }
}
