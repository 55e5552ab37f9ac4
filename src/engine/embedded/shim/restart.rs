//! Restart policy decisions with Docker's backoff: after an exit the first restart waits
//! 100 ms, each further one twice as long, capped at one minute; a run that lasted at least
//! 10 s resets the delay. A container stopped by a user is never restarted, and
//! `on-failure:N` gives up after N restarts.

use std::time::Duration;

use crate::engine::RestartPolicy;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
const RESET_AFTER: Duration = Duration::from_secs(10);

/// The backoff state of one container.
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    delay: Option<Duration>,
}

impl Backoff {
    /// Whether (and after how long) to restart after an exit with `exit_code` that ended a
    /// run of `ran_for`, given the restarts done so far.
    pub fn decide(
        &mut self,
        policy: &RestartPolicy,
        exit_code: i64,
        manually_stopped: bool,
        restart_count: u32,
        ran_for: Duration,
    ) -> Option<Duration> {
        if manually_stopped {
            return None;
        }
        let restart = match policy {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => {
                exit_code != 0 && max.is_none_or(|m| m == 0 || restart_count < m)
            }
        };
        if !restart {
            return None;
        }
        if ran_for >= RESET_AFTER {
            self.delay = None;
        }
        let next = match self.delay {
            None => FIRST_DELAY,
            Some(d) => (d * 2).min(MAX_DELAY),
        };
        self.delay = Some(next);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(50);

    #[test]
    fn delays_double_up_to_a_minute_and_reset_after_a_long_run() {
        let mut b = Backoff::default();
        let p = RestartPolicy::Always;
        let got: Vec<u128> = (0..12)
            .map(|i| b.decide(&p, 1, false, i, SHORT).unwrap().as_millis())
            .collect();
        assert_eq!(
            got,
            vec![100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
        assert_eq!(
            b.decide(&p, 0, false, 12, Duration::from_secs(11)),
            Some(FIRST_DELAY)
        );
    }

    #[test]
    fn policies() {
        let mut b = Backoff::default();
        assert_eq!(b.decide(&RestartPolicy::No, 1, false, 0, SHORT), None);
        assert!(b
            .decide(&RestartPolicy::Always, 0, false, 0, SHORT)
            .is_some());
        assert!(b
            .decide(&RestartPolicy::UnlessStopped, 0, false, 0, SHORT)
            .is_some());
        assert_eq!(b.decide(&RestartPolicy::Always, 1, true, 0, SHORT), None);
        let of = RestartPolicy::OnFailure(Some(2));
        assert_eq!(b.decide(&of, 0, false, 0, SHORT), None);
        assert!(b.decide(&of, 3, false, 1, SHORT).is_some());
        assert_eq!(b.decide(&of, 3, false, 2, SHORT), None);
        assert!(b
            .decide(&RestartPolicy::OnFailure(None), 3, false, 99, SHORT)
            .is_some());
    }
}
