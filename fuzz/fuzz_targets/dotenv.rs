//! `.env` / `env_file` parsers (`spec::dotenv::{parse, parse_layered, parse_raw,
//! parse_raw_with_lookup}`): must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcompose::spec::dotenv;

fn lookup(name: &str) -> Option<String> {
    match name {
        "A" => Some("a".into()),
        "B" => Some(String::new()),
        "HOME" => Some("/home/fuzz".into()),
        "PATH" => Some("/usr/bin:/bin".into()),
        _ => None,
    }
}

fn base(name: &str) -> Option<String> {
    match name {
        "C" => Some("c".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = dotenv::parse(&text, &lookup);
    let _ = dotenv::parse_layered(&text, &lookup, &base);
    let _ = dotenv::parse_raw(&text);
    let _ = dotenv::parse_raw_with_lookup(&text, &lookup);
});
