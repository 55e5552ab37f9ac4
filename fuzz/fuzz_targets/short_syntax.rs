//! Short-syntax parsers, chosen by the first byte of the input (the rest is the text, lossily
//! decoded): `0` ports, `1` volumes, `2` Go durations, `3` compose durations, `4` byte sizes,
//! `5` shell words, `6` `clean_path` (selector taken modulo 7).
//!
//! Invariants: no panic, plus cheap properties that tie each parser to its output:
//! * ports (`spec::ports::parse`): every long-syntax entry, written back in short syntax
//!   (`[ip]:published:target/proto`), parses to exactly that one entry;
//! * volumes (`spec::volume_spec::parse`): the result, written back as `source:target:options`,
//!   parses to the same `VolumeSpec` (skipped when the parts hold characters the short syntax
//!   cannot carry unambiguously: `:`, `$`, `,`, NUL, or a 1-character part that would read as a
//!   Windows drive); a non-empty target is already clean (`clean_path` is a no-op on it);
//! * Go's `Duration.String()` output parses back to the same value (`units::parse_duration`
//!   and `units::parse_compose_duration`);
//! * `clean_path` is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcompose::spec::ports::{self, PortSpec};
use rcompose::spec::volume_spec::{self, VolumeSpec};
use rcompose::spec::{shellwords, units};

/// One long-syntax port entry in short syntax.
fn port_short(p: &PortSpec) -> String {
    let mut s = String::new();
    if let Some(ip) = &p.host_ip {
        if ip.contains(':') {
            s.push_str(&format!("[{ip}]:"));
        } else {
            s.push_str(&format!("{ip}:"));
        }
    }
    if let Some(published) = &p.published {
        s.push_str(published);
        s.push(':');
    } else if p.host_ip.is_some() {
        s.push(':');
    }
    s.push_str(&format!("{}/{}", p.target, p.protocol));
    s
}

fn check_ports(text: &str) {
    let Ok(list) = ports::parse(text) else {
        return;
    };
    for p in &list {
        let short = port_short(p);
        match ports::parse(&short) {
            Ok(again) => assert_eq!(again, vec![p.clone()], "{text:?} -> {p:?} -> {short:?}"),
            Err(e) => panic!("{text:?} -> {p:?} -> {short:?} does not parse: {e}"),
        }
    }
}

/// A part that can be written between colons and read back unchanged.
fn plain_part(s: &str) -> bool {
    s.chars().count() > 1 && !s.contains([':', '$', ',', '\0'])
}

/// A parsed volume back in short syntax, when that is unambiguous.
fn volume_short(v: &VolumeSpec) -> Option<String> {
    if v.verbatim || !plain_part(&v.target) {
        return None;
    }
    let Some(source) = &v.source else {
        // An anonymous volume has no options in the short syntax.
        let plain = !v.read_only && !v.nocopy && v.propagation.is_none() && v.selinux.is_none();
        return (plain && v.target.len() > 2).then(|| v.target.clone());
    };
    if !plain_part(source) {
        return None;
    }
    let mut opts = vec![if v.read_only { "ro" } else { "rw" }];
    if v.nocopy {
        opts.push("nocopy");
    }
    if let Some(p) = &v.propagation {
        opts.push(p);
    }
    if let Some(z) = &v.selinux {
        opts.push(z);
    }
    Some(format!("{source}:{}:{}", v.target, opts.join(",")))
}

fn check_volumes(text: &str) {
    let _ = volume_spec::parse_volume(text);
    let Ok(v) = volume_spec::parse(text) else {
        return;
    };
    if !v.target.is_empty() {
        assert_eq!(
            volume_spec::clean_path(&v.target),
            v.target,
            "{text:?}: target not clean"
        );
    }
    if let Some(short) = volume_short(&v) {
        match volume_spec::parse(&short) {
            Ok(again) => assert_eq!(again, v, "{text:?} -> {short:?}"),
            Err(e) => panic!("{text:?} -> {v:?} -> {short:?} does not parse: {e}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match sel % 7 {
        0 => check_ports(&text),
        1 => check_volumes(&text),
        2 => {
            if let Ok(d) = units::parse_duration(&text) {
                let s = units::format_duration(d);
                assert_eq!(
                    units::parse_duration(&s).ok(),
                    Some(d),
                    "{text:?} -> {d} -> {s:?}"
                );
            }
        }
        3 => {
            if let Ok(d) = units::parse_compose_duration(&text) {
                let s = units::format_duration(d);
                assert_eq!(
                    units::parse_compose_duration(&s).ok(),
                    Some(d),
                    "{text:?} -> {d} -> {s:?}"
                );
            }
        }
        4 => {
            let _ = units::parse_bytes(&text);
        }
        5 => {
            let _ = shellwords::split(&text);
        }
        _ => {
            let once = volume_spec::clean_path(&text);
            assert_eq!(volume_spec::clean_path(&once), once, "{text:?}");
        }
    }
});
