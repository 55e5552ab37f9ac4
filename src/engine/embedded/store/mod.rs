//! The image store: content-addressed blobs, image records with their name index, the
//! layer applier, and removal with garbage collection.

pub mod gc;
pub mod images;
pub mod unpack;
