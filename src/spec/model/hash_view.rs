//! The view of a service that Docker Compose's config hash is computed on.
//!
//! Docker Compose hashes a service before the contents of its `env_file`s are read into
//! `environment`: the hash holds the file paths and the variables written in the compose
//! files, so that editing an env file alone does not change it (`label_file` contents, on
//! the other hand, are merged into `labels` before hashing). `config` output shows the opposite (resolved values, no file lists). Serde
//! attributes cannot take arguments, so a thread-local switch selects the hash view while
//! [`with_hash_view`] runs; the fields keep their declaration order, which is Docker
//! Compose's, and that order is part of the hash.

use std::cell::Cell;

use serde::ser::{SerializeStruct, Serializer};

use super::{EnvFile, MappingWithEquals};

thread_local! {
    static HASH_VIEW: Cell<bool> = const { Cell::new(false) };
}

/// `environment` as the compose files set it (without `env_file` values), kept by
/// normalization for the hash.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unresolved {
    pub environment: MappingWithEquals,
}

/// Runs `f` with the hash view of services selected (on this thread).
pub fn with_hash_view<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            HASH_VIEW.with(|h| h.set(false));
        }
    }
    HASH_VIEW.with(|h| h.set(true));
    let _reset = Reset;
    f()
}

fn in_hash_view() -> bool {
    HASH_VIEW.with(Cell::get)
}

/// `skip_serializing_if` of `env_file`: shown only in the hash view.
pub fn skip_env_files(v: &[EnvFile]) -> bool {
    v.is_empty() || !in_hash_view()
}

/// compose-go's JSON form of `env_file` entries: the path alone for a required file (its
/// `format` is then left out), `{path, required, format}` for an optional one.
pub fn env_files<S: Serializer>(v: &[EnvFile], s: S) -> Result<S::Ok, S::Error> {
    struct Entry<'a>(&'a EnvFile);
    impl serde::Serialize for Entry<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let e = self.0;
            if e.required {
                return s.serialize_str(&e.path);
            }
            let mut st = s.serialize_struct("EnvFile", 3)?;
            st.serialize_field("path", &e.path)?;
            st.serialize_field("required", &e.required)?;
            if let Some(f) = &e.format {
                st.serialize_field("format", f)?;
            }
            st.end()
        }
    }
    s.collect_seq(v.iter().map(Entry))
}
