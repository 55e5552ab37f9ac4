//! Human-readable sizes and durations as Docker prints them (go-units), shared by the CLI and
//! the embedded engine (its `ps` status text).
//! (`HumanSizeWithPrecision`, `BytesSize`, `HumanDuration`).

/// Go's `%.<precision>g`: `precision` significant digits, trailing zeros removed, exponent
/// form only when the exponent is below -4 or at least `precision`.
pub fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value == 0.0 {
            "0".into()
        } else {
            value.to_string()
        };
    }
    let p = precision.max(1);
    // The exponent after rounding to `p` significant digits.
    let sci = format!("{:.*e}", p - 1, value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= i32::try_from(p).unwrap_or(i32::MAX) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = usize::try_from(i32::try_from(p).unwrap_or(0) - 1 - exp).unwrap_or(0);
        trim(&format!("{value:.decimals$}"))
    }
}

fn custom_size(size: f64, base: f64, units: &[&str], precision: usize) -> String {
    let mut size = size;
    let mut i = 0;
    while size >= base && i + 1 < units.len() {
        size /= base;
        i += 1;
    }
    format!("{}{}", format_g(size, precision), units[i])
}

/// Decimal units, 3 significant digits: `1.98MB`, `1.18kB`, `0B` (`HumanSizeWithPrecision`).
pub fn size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    custom_size(bytes, 1000.0, &UNITS, 3)
}

/// Decimal units, 4 significant digits: `3.623MB`, `32.77kB`, `266B` (`HumanSize`, as in
/// Docker's progress bars).
pub fn size4(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    custom_size(bytes, 1000.0, &UNITS, 4)
}

/// Binary units, 4 significant digits: `592KiB`, `23.54GiB` (`BytesSize`).
pub fn bytes_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    custom_size(bytes, 1024.0, &UNITS, 4)
}

/// `Less than a second`, `1 second`, `About a minute`, `3 hours`, `2 weeks`...
/// (`HumanDuration`; hours are rounded, as Go's `Duration.Round(time.Hour)`).
pub fn duration(secs: f64) -> String {
    let seconds = secs as i64;
    let minutes = seconds / 60;
    let hours = (secs / 3600.0).round() as i64;
    if seconds < 1 {
        "Less than a second".into()
    } else if seconds == 1 {
        "1 second".into()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", seconds / 3600 / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_units() {
        assert_eq!(size(1_984_243.0), "1.98MB");
        assert_eq!(size(1180.0), "1.18kB");
        assert_eq!(size(0.0), "0B");
        assert_eq!(size(1000.0), "1kB");
        assert_eq!(size(999.0), "999B");
        assert_eq!(bytes_size(592.0 * 1024.0), "592KiB");
        assert_eq!(bytes_size(25_275_772_928.0), "23.54GiB");
        assert_eq!(bytes_size(0.0), "0B");
        assert_eq!(format_g(0.000_012_3, 3), "1.23e-05");
        assert_eq!(duration(0.5), "Less than a second");
        assert_eq!(duration(59.0), "59 seconds");
        assert_eq!(duration(90.0), "About a minute");
        assert_eq!(duration(52.0 * 60.0), "52 minutes");
        assert_eq!(duration(2.0 * 3600.0), "2 hours");
        assert_eq!(duration(3.0 * 86400.0), "3 days");
    }
}
