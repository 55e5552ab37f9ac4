//! The image store: content-addressed blobs, the image index and the layer applier.

pub mod unpack;
