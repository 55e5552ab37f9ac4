//! `spec::interpolate::{substitute, extract_variables}`: no panic, and `$`-escaping round-trips:
//! every `$` doubled as `$$` substitutes back to the original text (what `config` relies on when
//! it re-escapes its output).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A few short names so that the fuzzer hits set, set-but-empty and unset variables.
fn lookup(name: &str) -> Option<String> {
    match name {
        "A" => Some("a".into()),
        "B" => Some(String::new()),
        "C" => Some("${A}$$x".into()),
        "HOME" => Some("/home/fuzz".into()),
        "PATH" => Some("/usr/bin:/bin".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rcompose::spec::interpolate::substitute(&text, &lookup);
    let _ = rcompose::spec::interpolate::extract_variables(&text);
    let _ = rcompose::spec::interpolate::go_quote(&text);

    let escaped = text.replace('$', "$$");
    let back = rcompose::spec::interpolate::substitute(&escaped, &lookup)
        .unwrap_or_else(|e| panic!("escaped template {escaped:?} failed: {e}"));
    assert_eq!(back.value, *text, "escaped template {escaped:?}");
    assert!(
        back.unset.is_empty(),
        "escaped template {escaped:?} used variables"
    );
});
