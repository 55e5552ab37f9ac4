//! `spec::yaml::parse` (positions, anchors/aliases, merge keys, limits): must never panic,
//! whatever the bytes. Also run with tight limits, so the depth / alias-expansion / scalar-size
//! guards are exercised by small inputs. The fast reader of the common subset is compared
//! event by event with `yaml-rust2` on every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcompose::spec::source::FileId;
use rcompose::spec::yaml::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = yaml::parse(&text, FileId(0), &Limits::default());
    let tight = Limits {
        max_depth: 8,
        max_alias_nodes: 64,
        max_scalar_bytes: 32,
    };
    let _ = yaml::parse(&text, FileId(0), &tight);
    let _ = yaml::is_timestamp(&text);
    // The fast reader of plain block YAML must give exactly yaml-rust2's events and marks.
    let _ = yaml::fast_agrees(&text, "fuzz input");
});
