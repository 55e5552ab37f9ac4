//! Which images get pulled, and when: a service's `pull_policy` (or the `--pull`/`--policy`
//! override) read as compose-go reads it, with the two decisions Docker Compose 2.40.3 makes
//! from it — `up`/`create`/`run` pull what the policy requires before anything is created
//! ([`must_pull`]), `pull` pulls unless the policy or a present image says to skip
//! ([`pull_command_decision`]). Pure: the caller looks the images up first.

use std::time::Duration;

use crate::engine::ImageInfo;

/// A service's pull policy (compose-go's `GetPullPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    /// `missing`, `if_not_present`, unset, and any word compose-go does not know
    /// (`refresh`): pull when the image is not present.
    Missing,
    Always,
    Never,
    /// The image comes from the service's `build:` section.
    Build,
    /// `daily`, `weekly`, `every_<duration>`: pull when the image was last tagged longer ago.
    Refresh(Duration),
}

impl PullPolicy {
    /// The policy for the `pull_policy` value `s` (validated against the schema earlier).
    pub fn parse(s: &str) -> Result<PullPolicy, String> {
        Ok(match s {
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            "build" => PullPolicy::Build,
            "daily" => PullPolicy::Refresh(Duration::from_secs(24 * 3600)),
            "weekly" => PullPolicy::Refresh(Duration::from_secs(7 * 24 * 3600)),
            _ => match s.strip_prefix("every_") {
                Some(d) => {
                    let nanos = crate::spec::units::parse_compose_duration(d)
                        .map_err(|e| format!("invalid pull_policy {s:?}: {e}"))?;
                    PullPolicy::Refresh(Duration::from_nanos(nanos.max(0) as u64))
                }
                None => PullPolicy::Missing,
            },
        })
    }
}

/// The values `up --pull`/`create --pull` accept besides `policy` (keep the files' own).
pub const PULL_FLAG_VALUES: &[&str] = &["always", "missing", "never", "build", "if_not_present"];

/// `up`'s rule (Compose's `mustPull`): whether a service with `image` (empty: none) and
/// `policy` needs a pull now, given the local image (`None`: not present) and the time.
pub fn must_pull(
    image: &str,
    policy: PullPolicy,
    local: Option<&ImageInfo>,
    now_unix: i64,
) -> bool {
    if image.is_empty() {
        return false;
    }
    match policy {
        PullPolicy::Always => true,
        PullPolicy::Never | PullPolicy::Build => false,
        PullPolicy::Refresh(every) => match local {
            None => true,
            // Never tagged (or unknown): Go's zero time, long past.
            Some(img) => img
                .last_tag_unix
                .is_none_or(|t| now_unix > t.saturating_add(every.as_secs() as i64)),
        },
        PullPolicy::Missing => local.is_none(),
    }
}

/// What `rcompose pull` does with one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullDecision {
    Pull,
    /// Skipped, with Compose's progress text.
    Skip(String),
}

/// `pull`'s rule in Compose 2.40.3, for a service with `image` (empty: none), the raw
/// `pull_policy` text, whether it has a `build:` section, whether its image is present, and
/// which service (if any) already pulls the same image. An unset policy always pulls, and
/// so does a present `latest` tag under `missing` (the tag is expected to move).
pub fn pull_command_decision(
    image: &str,
    policy: &str,
    buildable: bool,
    ignore_buildable: bool,
    present: bool,
    pulled_by: Option<&str>,
) -> PullDecision {
    let skip = |why: &str| PullDecision::Skip(why.to_string());
    if image.is_empty() {
        return skip("Skipped - No image to be pulled");
    }
    match policy {
        "never" | "build" => return skip("Skipped"),
        "missing" | "if_not_present" if present && !is_latest_tag(image) => {
            return skip("Skipped - Image is already present locally")
        }
        _ => {}
    }
    if buildable && ignore_buildable {
        return skip("Skipped - Image can be built");
    }
    if let Some(other) = pulled_by {
        return PullDecision::Skip(format!(
            "Skipped - Image is already being pulled by {other}"
        ));
    }
    PullDecision::Pull
}

/// Whether `image` names the `latest` tag, a bare name included (`busybox`); a digest
/// reference does not.
pub fn is_latest_tag(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(last_tag_unix: Option<i64>) -> ImageInfo {
        ImageInfo {
            id: "sha256:1".into(),
            last_tag_unix,
            ..Default::default()
        }
    }

    #[test]
    fn policies_read_as_compose_go_reads_them() {
        assert_eq!(PullPolicy::parse("").unwrap(), PullPolicy::Missing);
        assert_eq!(
            PullPolicy::parse("if_not_present").unwrap(),
            PullPolicy::Missing
        );
        assert_eq!(PullPolicy::parse("refresh").unwrap(), PullPolicy::Missing);
        assert_eq!(PullPolicy::parse("always").unwrap(), PullPolicy::Always);
        assert_eq!(
            PullPolicy::parse("daily").unwrap(),
            PullPolicy::Refresh(Duration::from_secs(86400))
        );
        assert_eq!(
            PullPolicy::parse("weekly").unwrap(),
            PullPolicy::Refresh(Duration::from_secs(7 * 86400))
        );
        assert_eq!(
            PullPolicy::parse("every_1d12h").unwrap(),
            PullPolicy::Refresh(Duration::from_secs(36 * 3600))
        );
        assert!(PullPolicy::parse("every_x").is_err());
    }

    #[test]
    fn up_pulls_what_the_policy_requires() {
        let img = tagged(Some(1_000));
        assert!(must_pull("a", PullPolicy::Missing, None, 0));
        assert!(!must_pull("a", PullPolicy::Missing, Some(&img), 0));
        assert!(must_pull("a", PullPolicy::Always, Some(&img), 0));
        assert!(!must_pull("a", PullPolicy::Never, None, 0));
        assert!(!must_pull("a", PullPolicy::Build, None, 0));
        assert!(!must_pull("", PullPolicy::Always, None, 0));
        let hour = PullPolicy::Refresh(Duration::from_secs(3600));
        assert!(!must_pull("a", hour, Some(&img), 1_000 + 3600));
        assert!(must_pull("a", hour, Some(&img), 1_000 + 3601));
        assert!(must_pull("a", hour, Some(&tagged(None)), 0));
        assert!(must_pull("a", hour, None, 0));
    }

    #[test]
    fn pull_command_skips_as_compose_does() {
        let d = |image, policy, buildable, ignore, present, by| {
            pull_command_decision(image, policy, buildable, ignore, present, by)
        };
        let skip = |s: &str| PullDecision::Skip(s.into());
        assert_eq!(
            d("", "", true, false, false, None),
            skip("Skipped - No image to be pulled")
        );
        assert_eq!(d("a:1", "never", false, false, true, None), skip("Skipped"));
        assert_eq!(d("a:1", "build", true, false, false, None), skip("Skipped"));
        assert_eq!(
            d("a:1", "missing", false, false, true, None),
            skip("Skipped - Image is already present locally")
        );
        // A moving tag is refreshed; an unset policy always pulls.
        assert_eq!(
            d("a", "missing", false, false, true, None),
            PullDecision::Pull
        );
        assert_eq!(
            d("a:latest", "missing", false, false, true, None),
            PullDecision::Pull
        );
        assert_eq!(d("a:1", "", false, false, true, None), PullDecision::Pull);
        assert_eq!(
            d("a:1", "", true, true, false, None),
            skip("Skipped - Image can be built")
        );
        assert_eq!(
            d("a:1", "always", false, false, false, Some("b")),
            skip("Skipped - Image is already being pulled by b")
        );
    }

    #[test]
    fn latest_tags() {
        assert!(is_latest_tag("busybox"));
        assert!(is_latest_tag("127.0.0.1:5000/busybox"));
        assert!(is_latest_tag("127.0.0.1:5000/busybox:latest"));
        assert!(!is_latest_tag("127.0.0.1:5000/busybox:1"));
        assert!(!is_latest_tag("busybox@sha256:abc"));
    }
}
