//! The embedded engine: daemonless Linux containers run by rcompose itself.
//!
//! Pieces, one concept per file:
//! - [`store`]: image records with their name index, and the layer applier;
//! - [`pull`]: registry pulls (oci-client) streamed into the store, digest-verified;
//! - [`rootfs`]: overlayfs over the image layers with a per-container upper dir;
//! - [`objects`] and [`copy_up`]: volumes (filled from the image on first use) and networks;
//! - [`runtime_spec`] and [`seccomp_profile`]: the OCI runtime spec with Docker's defaults;
//! - [`network`]: bridge networks, addresses, published ports and DNS (netavark);
//! - [`runtime`]: the only caller of libcontainer (used by the shim alone);
//! - [`cgroup_warm`]: the first cgroup migration's grace period paid off the start path;
//! - [`shim`]: the per-container supervisor process (rcompose re-executing itself) that owns
//!   the container's init, its logs, restarts and healthchecks, and answers on a unix socket;
//! - [`record`], [`events`], [`state`]: what the state directory holds and how it is written;
//! - [`files`]: secrets and configs, written beside the record and bind-mounted read-only;
//! - [`build`]: the classic Dockerfile builder (`RUN` in a container of this engine, layers
//!   packed from overlay upper directories into the store).

pub mod build;
pub mod cgroup_warm;
pub mod containers;
pub mod copy;
pub mod copy_up;
pub mod engine;
pub mod events;
pub mod files;
pub mod follow;
pub mod image_defaults;
pub mod logs_reader;
pub mod netns;
pub mod network;
pub mod objects;
pub mod prepare;
pub mod pty;
pub mod pull;
pub mod record;
pub mod rootfs;
pub mod runtime;
pub mod runtime_spec;
pub mod seccomp_bpf;
pub mod seccomp_profile;
pub mod shim;
pub mod state;
pub mod stats;
pub mod store;
pub mod terminal_relay;
pub mod top;
