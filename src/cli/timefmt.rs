//! Times printed the way Docker Compose (Go) prints them: broken down in the local time zone
//! (`events`, `ps`'s `CreatedAt`). Human durations ("2 minutes ago") are in
//! [`super::human`].

/// A time broken down in the local time zone (as Go's `time.Unix(0, n)` prints it).
pub struct LocalTime {
    tm: libc::tm,
    nanos: u32,
}

impl LocalTime {
    pub fn at(time_nanos: i64) -> LocalTime {
        Self::broken_down(time_nanos, libc::localtime_r)
    }

    #[cfg(test)]
    pub fn utc(time_nanos: i64) -> LocalTime {
        Self::broken_down(time_nanos, libc::gmtime_r)
    }

    fn broken_down(
        time_nanos: i64,
        convert: unsafe extern "C" fn(*const libc::time_t, *mut libc::tm) -> *mut libc::tm,
    ) -> LocalTime {
        let secs = time_nanos.div_euclid(1_000_000_000);
        let nanos = time_nanos.rem_euclid(1_000_000_000) as u32;
        // SAFETY: the conversion fills the zeroed struct we own; `t` outlives the call.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let t: libc::time_t = secs as libc::time_t;
        unsafe { convert(&t, &mut tm) };
        LocalTime { tm, nanos }
    }

    fn date_time(&self, sep: char) -> String {
        let tm = &self.tm;
        format!(
            "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        )
    }

    /// Go's `2006-01-02 15:04:05.000000`.
    pub fn plain(&self) -> String {
        format!("{}.{:06}", self.date_time(' '), self.nanos / 1000)
    }

    /// Go's RFC 3339 with nanoseconds: fraction without trailing zeros, `Z` or `±hh:mm`.
    pub fn rfc3339_nanos(&self) -> String {
        let mut s = self.date_time('T');
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        let off = self.tm.tm_gmtoff;
        if off == 0 {
            s.push('Z');
        } else {
            let sign = if off < 0 { '-' } else { '+' };
            let off = off.unsigned_abs();
            s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off % 3600 / 60));
        }
        s
    }
}

impl LocalTime {
    /// Go's `time.Time.String()` for a whole second: `2006-01-02 15:04:05 -0700 MST`.
    pub fn go_string(&self) -> String {
        let off = self.tm.tm_gmtoff;
        let sign = if off < 0 { '-' } else { '+' };
        let abs = off.unsigned_abs();
        // SAFETY: tm_zone points at a static NUL-terminated abbreviation (or is null).
        let zone = if self.tm.tm_zone.is_null() {
            String::new()
        } else {
            unsafe { std::ffi::CStr::from_ptr(self.tm.tm_zone) }
                .to_string_lossy()
                .into_owned()
        };
        format!(
            "{} {sign}{:02}{:02} {zone}",
            self.date_time(' '),
            abs / 3600,
            abs % 3600 / 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_string_in_utc() {
        assert_eq!(
            LocalTime::utc(1_795_556_930_000_000_000).go_string(),
            "2026-11-24 21:48:50 +0000 GMT"
        );
    }
}
