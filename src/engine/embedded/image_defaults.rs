//! What an image's config adds to a container when it is created, as dockerd does: its
//! `HEALTHCHECK` (merged with the service's `healthcheck:` field by field) and its `VOLUME`s
//! (an anonymous volume, filled from the image, at every declared path the container does
//! not mount otherwise).
//!
//! Why here and not in the reconciler: the Docker backend gets this from dockerd, so the
//! reconciler sends the service's own settings only; the embedded engine must add the image's
//! part itself, or a `depends_on: service_healthy` on an image with a `HEALTHCHECK` waits
//! forever and a database image's data goes to the container's writable layer. The full
//! config is read from the config blob the store keeps (pulled and built images alike).

use std::time::Duration;

use crate::engine::{Healthcheck, Mount, MountKind};

/// An image config's `Healthcheck` object (durations in nanoseconds), as the engine's
/// [`Healthcheck`]; `None` when it has no `Test`.
pub fn image_healthcheck(v: &serde_json::Value) -> Option<Healthcheck> {
    let test: Vec<String> = v
        .get("Test")?
        .as_array()?
        .iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    if test.is_empty() {
        return None;
    }
    let duration = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .filter(|n| *n > 0)
            .map(Duration::from_nanos)
    };
    Some(Healthcheck {
        test,
        interval: duration("Interval"),
        timeout: duration("Timeout"),
        start_period: duration("StartPeriod"),
        start_interval: duration("StartInterval"),
        retries: v
            .get("Retries")
            .and_then(serde_json::Value::as_u64)
            .filter(|n| *n > 0),
    })
}

/// dockerd's merge of the container's healthcheck with the image's: none given takes the
/// image's whole; an empty test takes the image's test; each unset (or zero) setting takes
/// the image's. `["NONE"]` (`disable: true`) stays disabled.
pub fn merge_healthcheck(
    own: Option<Healthcheck>,
    image: Option<Healthcheck>,
) -> Option<Healthcheck> {
    let Some(image) = image else {
        return own;
    };
    let Some(mut h) = own else {
        return Some(image);
    };
    if h.test.is_empty() {
        h.test = image.test;
    }
    let nonzero = |d: Option<Duration>| d.filter(|d| !d.is_zero());
    h.interval = nonzero(h.interval).or(image.interval);
    h.timeout = nonzero(h.timeout).or(image.timeout);
    h.start_period = nonzero(h.start_period).or(image.start_period);
    h.start_interval = nonzero(h.start_interval).or(image.start_interval);
    h.retries = h.retries.filter(|r| *r > 0).or(image.retries);
    Some(h)
}

/// The anonymous volume mounts to add for the image's `VOLUME` paths that no mount of the
/// container (its own or taken with `volumes_from`) covers, in path order.
pub fn image_volume_mounts<'a>(
    declared: impl IntoIterator<Item = &'a String>,
    mounted: &[Mount],
) -> Vec<Mount> {
    use super::objects::clean;
    let mut out: Vec<Mount> = Vec::new();
    for path in declared {
        let target = clean(path);
        if mounted
            .iter()
            .chain(&out)
            .any(|m| clean(&m.target) == target)
        {
            continue;
        }
        out.push(Mount {
            kind: MountKind::Volume,
            source: String::new(),
            target: target.display().to_string(),
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(test: &[&str], interval: Option<u64>, retries: Option<u64>) -> Healthcheck {
        Healthcheck {
            test: test.iter().map(|s| s.to_string()).collect(),
            interval: interval.map(Duration::from_secs),
            timeout: None,
            start_period: None,
            start_interval: None,
            retries,
        }
    }

    #[test]
    fn the_image_config_object_is_read_in_nanoseconds() {
        let v = serde_json::json!({
            "Test": ["CMD-SHELL", "pg_isready"],
            "Interval": 2_000_000_000u64,
            "Timeout": 0,
            "Retries": 7
        });
        let h = image_healthcheck(&v).unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "pg_isready"]);
        assert_eq!(h.interval, Some(Duration::from_secs(2)));
        assert_eq!(h.timeout, None);
        assert_eq!(h.retries, Some(7));
        assert_eq!(image_healthcheck(&serde_json::json!({"Test": []})), None);
        assert_eq!(image_healthcheck(&serde_json::json!({})), None);
    }

    #[test]
    fn the_service_overrides_the_image_field_by_field() {
        let image = hc(&["CMD", "probe"], Some(30), Some(5));
        // Nothing of the service's: the image's.
        assert_eq!(
            merge_healthcheck(None, Some(image.clone())),
            Some(image.clone())
        );
        // Only an interval: the image's test and retries, the service's interval.
        let merged = merge_healthcheck(Some(hc(&[], Some(1), None)), Some(image.clone())).unwrap();
        assert_eq!(merged, hc(&["CMD", "probe"], Some(1), Some(5)));
        // Disabled stays disabled.
        let off = hc(&["NONE"], None, None);
        assert_eq!(
            merge_healthcheck(Some(off.clone()), Some(image))
                .unwrap()
                .test,
            off.test
        );
        // No image healthcheck: the service's as it is.
        assert_eq!(merge_healthcheck(Some(off.clone()), None), Some(off));
    }

    #[test]
    fn declared_volumes_not_mounted_otherwise_become_anonymous_volumes() {
        let declared = [
            "/data".to_string(),
            "/logs/".to_string(),
            "/cache".to_string(),
        ];
        let mounted = [Mount {
            kind: MountKind::Bind,
            source: "/srv/cache".into(),
            target: "/cache/".into(),
            ..Default::default()
        }];
        let added = image_volume_mounts(&declared, &mounted);
        let targets: Vec<&str> = added.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(targets, ["/data", "/logs"]);
        assert!(added
            .iter()
            .all(|m| m.kind == MountKind::Volume && m.source.is_empty() && !m.read_only));
    }
}
