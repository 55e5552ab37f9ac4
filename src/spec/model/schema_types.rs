//! Schema-only types: the short forms the compose file accepts besides the canonical long
//! form the model holds. Used through `#[schemars(with = ...)]` on model fields, so the JSON
//! Schema describes what users may write while the model stays canonical.

#![allow(dead_code)]

use std::collections::BTreeMap;

use schemars::JsonSchema;

use super::build::BuildConfig;
use super::depends_on::DependsOn;
use super::service::{DeviceMapping, EnvFile, FileReference, Port, ServiceNetwork, ServiceVolume};

/// A scalar as it may appear in a mapping value.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    S(String),
    N(f64),
    B(bool),
}

/// `KEY=VALUE` list or `KEY: value` mapping.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ListOrDict {
    List(Vec<String>),
    Dict(BTreeMap<String, Option<Scalar>>),
}

/// A string or a list of strings.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum StringOrList {
    S(String),
    L(Vec<String>),
}

/// A shell command: a string (split like a shell would) or an argument list.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Command {
    S(String),
    L(Vec<String>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum BuildSchema {
    Context(String),
    Long(BuildConfig),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PortItem {
    Number(u32),
    Short(String),
    Long(Port),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum VolumeItem {
    Short(String),
    Long(ServiceVolume),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum FileRefItem {
    Short(String),
    Long(FileReference),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum EnvFileItem {
    Path(String),
    Long(EnvFile),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum EnvFiles {
    One(String),
    Many(Vec<EnvFileItem>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum DependsOnSchema {
    List(Vec<String>),
    Map(BTreeMap<String, DependsOn>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum NetworksSchema {
    List(Vec<String>),
    Map(BTreeMap<String, Option<ServiceNetwork>>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ExtraHosts {
    List(Vec<String>),
    Map(BTreeMap<String, StringOrList>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum DeviceItem {
    Short(String),
    Long(DeviceMapping),
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ModelsSchema {
    List(Vec<String>),
    Map(BTreeMap<String, Option<super::service::ServiceModel>>),
}

/// `external: true` or the legacy `external: {name: x}`.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum External {
    B(bool),
    Legacy { name: String },
}

/// `count: 2` or `count: all`.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Count {
    N(i64),
    All(String),
}

/// `extends: base` or `extends: {service, file}`.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Extends {
    Service(String),
    Long {
        service: String,
        file: Option<String>,
    },
}

/// One `include:` entry.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Include {
    Path(String),
    Long {
        path: StringOrList,
        project_directory: Option<String>,
        env_file: Option<StringOrList>,
    },
}
