//! The healthcheck state machine, as Docker runs it: probes every `interval` (every
//! `start_interval` during `start_period`), each bounded by `timeout`; `retries` failures in
//! a row make the container unhealthy, one success makes it healthy, and failures inside the
//! start period do not count until a first success. The last five results are kept.
//! Pure: the shim runs the probes and feeds the results in.

use std::time::Duration;

use super::super::record::{HealthResult, HealthState, HealthStatus};
use crate::engine::Healthcheck;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: u64 = 3;
const KEEP: usize = 5;
/// Docker keeps at most this much of a probe's output.
pub const MAX_OUTPUT: usize = 4096;

/// The settings with Docker's defaults filled in, and the command to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u64,
}

impl Probe {
    /// `None` when the healthcheck is disabled (`NONE`, `disable: true`) or has no command.
    pub fn from_healthcheck(h: &Healthcheck, image_default: Option<&Healthcheck>) -> Option<Self> {
        let test = if h.test.is_empty() {
            image_default.map(|d| d.test.clone()).unwrap_or_default()
        } else {
            h.test.clone()
        };
        let command = match test.first().map(String::as_str) {
            Some("CMD") => test[1..].to_vec(),
            Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")],
            Some("NONE") | None => return None,
            Some(_) => test.clone(),
        };
        if command.is_empty() {
            return None;
        }
        let nonzero = |d: Option<Duration>, def| d.filter(|d| !d.is_zero()).unwrap_or(def);
        Some(Probe {
            command,
            interval: nonzero(h.interval, DEFAULT_INTERVAL),
            timeout: nonzero(h.timeout, DEFAULT_TIMEOUT),
            start_period: h.start_period.unwrap_or_default(),
            start_interval: nonzero(h.start_interval, DEFAULT_START_INTERVAL),
            retries: h.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES),
        })
    }

    /// How long to wait before the next probe, `since_start` after the container started.
    pub fn next_delay(&self, state: &HealthState, since_start: Duration) -> Duration {
        let in_start_period = since_start < self.start_period;
        if in_start_period && state.status == HealthStatus::Starting {
            self.start_interval
        } else {
            self.interval
        }
    }
}

/// Applies one probe result. Returns whether the status changed.
pub fn record(
    probe: &Probe,
    state: &mut HealthState,
    result: HealthResult,
    since_start: Duration,
) -> bool {
    let before = state.status;
    let ok = result.exit_code == 0;
    state.log.push(result);
    if state.log.len() > KEEP {
        let drop = state.log.len() - KEEP;
        state.log.drain(..drop);
    }
    if ok {
        state.failing_streak = 0;
        state.status = HealthStatus::Healthy;
    } else if since_start < probe.start_period && state.status == HealthStatus::Starting {
        // Failures in the start period do not count.
    } else {
        state.failing_streak += 1;
        if state.failing_streak >= probe.retries {
            state.status = HealthStatus::Unhealthy;
        }
    }
    state.status != before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(retries: u64, start_period: u64) -> Probe {
        Probe {
            command: vec!["true".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            start_period: Duration::from_secs(start_period),
            start_interval: Duration::from_millis(200),
            retries,
        }
    }

    fn res(code: i64) -> HealthResult {
        HealthResult {
            start: "s".into(),
            end: "e".into(),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn retries_failures_make_it_unhealthy_and_one_success_heals() {
        let p = probe(2, 0);
        let mut st = HealthState::default();
        let t = Duration::from_secs(5);
        assert!(!record(&p, &mut st, res(1), t));
        assert_eq!(st.status, HealthStatus::Starting);
        assert!(record(&p, &mut st, res(1), t));
        assert_eq!(st.status, HealthStatus::Unhealthy);
        assert!(record(&p, &mut st, res(0), t));
        assert_eq!((st.status, st.failing_streak), (HealthStatus::Healthy, 0));
    }

    #[test]
    fn start_period_failures_do_not_count_and_use_start_interval() {
        let p = probe(1, 10);
        let mut st = HealthState::default();
        let early = Duration::from_secs(1);
        for _ in 0..7 {
            record(&p, &mut st, res(1), early);
        }
        assert_eq!(st.status, HealthStatus::Starting);
        assert_eq!(st.log.len(), 5);
        assert_eq!(p.next_delay(&st, early), Duration::from_millis(200));
        record(&p, &mut st, res(1), Duration::from_secs(11));
        assert_eq!(st.status, HealthStatus::Unhealthy);
        assert_eq!(p.next_delay(&st, early), Duration::from_secs(1));
    }

    #[test]
    fn test_forms_and_defaults() {
        let h = |t: &[&str]| Healthcheck {
            test: t.iter().map(|s| s.to_string()).collect(),
            interval: None,
            timeout: None,
            start_period: None,
            start_interval: None,
            retries: None,
        };
        let p = Probe::from_healthcheck(&h(&["CMD-SHELL", "exit 0"]), None).unwrap();
        assert_eq!(p.command, vec!["/bin/sh", "-c", "exit 0"]);
        assert_eq!((p.interval, p.retries), (DEFAULT_INTERVAL, 3));
        assert_eq!(
            Probe::from_healthcheck(&h(&["CMD", "true"]), None)
                .unwrap()
                .command,
            vec!["true"]
        );
        assert!(Probe::from_healthcheck(&h(&["NONE"]), None).is_none());
        assert!(Probe::from_healthcheck(&h(&[]), None).is_none());
    }
}
