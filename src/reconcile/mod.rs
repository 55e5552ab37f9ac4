//! The reconciler: observe what the engine has, plan the difference with the project (pure),
//! execute the plan. This layer imports no engine backend.

pub mod hash;
