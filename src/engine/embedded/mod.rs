//! The embedded engine: daemonless Linux containers run by rcompose itself.
//!
//! Pieces, one concept per file:
//! - [`store`]: the content-addressed blob store, the image index and the layer applier;
//! - [`pull`]: registry pulls (oci-client) streamed into the store, digest-verified;
//! - [`rootfs`]: overlayfs over the image layers with a per-container upper dir;
//! - [`runtime_spec`] and [`seccomp_profile`]: the OCI runtime spec with Docker's defaults;
//! - [`shim`]: the per-container supervisor process (rcompose re-executing itself) that owns
//!   the container's init, its logs, restarts and healthchecks, and answers on a unix socket;
//! - [`state`]: the state directory (atomic records, locks).

pub mod runtime_spec;
pub mod seccomp_profile;
pub mod store;
