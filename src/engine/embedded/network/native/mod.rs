//! The native network driver (placeholder header, replaced below).
pub mod netlink;
