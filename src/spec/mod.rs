//! The `spec` layer: compose files + environment → typed, spanned [`model::Project`].
//!
//! Pure once the files are read. Phases, each in its own file: `yaml` (parse with positions)
//! → `interpolation` → `canonical` (short → long syntax) → `paths` → `extends`/`include`
//! (in `loader`) → `merge` → `de` (typed binding, schema errors) → `normalize` (defaults and
//! semantic validation). `loader::load` runs them in order.

pub mod canonical;
pub mod de;
pub mod dotenv;
pub mod environment;
pub mod error;
pub mod interpolate;
pub mod interpolation;
pub mod loader;
pub mod merge;
pub mod model;
pub mod node;
pub mod normalize;
pub mod options;
pub mod paths;
pub mod ports;
pub mod project_name;
pub mod schema;
pub mod shellwords;
pub mod source;
pub mod tree_json;
pub mod units;
pub mod volume_spec;
pub mod yaml;

pub use error::{LoadError, LoadErrors, Problem};
pub use loader::{load, Loaded};
pub use options::LoadOptions;
