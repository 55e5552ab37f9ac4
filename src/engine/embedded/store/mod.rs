//! The image store: content-addressed blobs, image records with their name index, and the
//! layer applier.

pub mod images;
pub mod unpack;
