//! The service model: every Compose Specification service attribute, in canonical long form.
//!
//! Field order and names follow compose-go's `ServiceConfig` so that `config` prints the same
//! document; `skip_serializing_if` mirrors Go's `omitempty`. Closed sets that the engine acts
//! on are enums elsewhere (see `depends_on.rs`); attributes that are only passed through are
//! kept as strings.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::build::BuildConfig;
use super::depends_on::DependsOn;
use super::deploy::{DeployConfig, DeviceRequest};
use super::scalars::*;
use super::schema_types::*;

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub annotations: Mapping,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BuildSchema>")]
    pub build: Option<BuildConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub develop: Option<DevelopConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<BlkioConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub cgroup_parent: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub cgroup: String,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub cpu_count: i64,
    #[serde(default, skip_serializing_if = "is_zero_f32")]
    pub cpu_percent: F32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub cpu_period: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub cpu_quota: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub cpu_rt_period: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub cpu_rt_runtime: i64,
    #[serde(default, skip_serializing_if = "is_zero_f32")]
    pub cpus: F32,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub cpuset: String,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub cpu_shares: i64,
    /// `null` when unset (printed, never omitted, like compose-go).
    #[serde(default)]
    #[schemars(with = "Option<Command>")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<FileRefItem>")]
    pub configs: Vec<FileReference>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub container_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_spec: Option<CredentialSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<DependsOnSchema>")]
    pub depends_on: BTreeMap<String, DependsOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<DeviceItem>")]
    pub devices: Vec<DeviceMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<StringOrList>")]
    pub dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<StringOrList>")]
    pub dns_search: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub dockerfile: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub domainname: String,
    #[serde(default)]
    #[schemars(with = "Option<Command>")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict_with_equals")]
    pub environment: MappingWithEquals,
    /// Files of `KEY=value` lines added to `environment` (values in `environment` win).
    // Read into `environment` during normalization; printed only in the hash view.
    #[serde(
        default,
        skip_serializing_if = "super::hash_view::skip_env_files",
        serialize_with = "super::hash_view::env_files"
    )]
    #[schemars(with = "Option<EnvFiles>")]
    pub env_file: Vec<EnvFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<Scalar>")]
    pub expose: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<ExtraHosts>")]
    pub extra_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<DeviceRequest>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub ipc: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub isolation: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub labels: Mapping,
    /// Read into `labels` during normalization; never printed.
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<StringOrList>")]
    pub label_file: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub log_driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_opt: Mapping,
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub mem_limit: Bytes,
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub mem_reservation: Bytes,
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub memswap_limit: Bytes,
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub mem_swappiness: Bytes,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub mac_address: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ModelsSchema>")]
    pub models: BTreeMap<String, Option<ServiceModel>>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub net: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub network_mode: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<NetworksSchema>")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub oom_kill_disable: bool,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub oom_score_adj: i64,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub pid: String,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub pids_limit: i64,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub platform: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<PortItem>")]
    pub ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub pull_policy: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub restart: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub runtime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<FileRefItem>")]
    pub secrets: Vec<FileReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub shm_size: Bytes,
    #[serde(default, skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: Mapping,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "Option<ListOrDict>")]
    #[serde(deserialize_with = "crate::spec::model::scalars::list_or_dict")]
    pub sysctls: Mapping,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<StringOrList>")]
    pub tmpfs: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_api_socket: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub user: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub userns_mode: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub uts: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub volume_driver: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<VolumeItem>")]
    pub volumes: Vec<ServiceVolume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
    /// Service-level `x-*` keys: printed by `config` in YAML only (as Docker Compose does).
    #[serde(skip)]
    #[schemars(skip)]
    pub extensions: indexmap::IndexMap<String, serde_json::Value>,
    /// `environment` before `env_file`s were read (set by normalization; the config hash
    /// is computed on it).
    #[serde(skip)]
    #[schemars(skip)]
    pub unresolved: Option<Box<super::hash_view::Unresolved>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    pub path: String,
    #[serde(default = "default_true")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

fn default_true() -> bool {
    true
}

/// A service's `secrets:` / `configs:` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReference {
    pub source: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub target: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub gid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub config: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub file: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub registry: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceMapping {
    pub source: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub target: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub permissions: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<Command>")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: Mapping,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceModel {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub endpoint_var: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub model_var: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: Mapping,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub ipv4_address: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub ipv6_address: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub mac_address: String,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub priority: i64,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub gw_priority: i64,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub interface_name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Port {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub host_ip: String,
    #[serde(default)]
    pub target: u32,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub published: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub app_protocol: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceVolume {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub source: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub target: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub consistency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageOptions>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindOptions {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub propagation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_host_path: Option<bool>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub selinux: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub recursive: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Mapping,
    #[serde(default, skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub subpath: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TmpfsOptions {
    #[serde(default, skip_serializing_if = "is_zero_bytes")]
    pub size: Bytes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageOptions {
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub subpath: String,
}

/// `ulimits.<name>`: a single number or `{soft, hard}` (numbers may be written as strings).
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Ulimit {
    Single(i64),
    Range { soft: i64, hard: i64 },
}

// Written by hand (not serde's untagged) so that errors name the problem and its path.
impl<'de> Deserialize<'de> for Ulimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UlimitVisitor)
    }
}

struct UlimitVisitor;

impl<'de> serde::de::Visitor<'de> for UlimitVisitor {
    type Value = Ulimit;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an integer or a mapping of soft and hard")
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Ulimit, E> {
        Ok(Ulimit::Single(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Ulimit, E> {
        i64::try_from(v)
            .map(Ulimit::Single)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &"an integer"))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Ulimit, E> {
        parse_limit(v).map(Ulimit::Single)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ulimit, A::Error> {
        use serde::de::Error;
        let (mut soft, mut hard) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "soft" => &mut soft,
                "hard" => &mut hard,
                other => return Err(A::Error::unknown_field(other, &["soft", "hard"])),
            };
            *slot = Some(map.next_value::<LimitValue>()?.0);
        }
        Ok(Ulimit::Range {
            soft: soft.ok_or_else(|| A::Error::missing_field("soft"))?,
            hard: hard.ok_or_else(|| A::Error::missing_field("hard"))?,
        })
    }
}

/// A ulimit number, as an integer or a string holding one.
struct LimitValue(i64);

impl<'de> Deserialize<'de> for LimitValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = LimitValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LimitValue, E> {
                Ok(LimitValue(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LimitValue, E> {
                i64::try_from(v).map(LimitValue).map_err(|_| {
                    E::invalid_value(serde::de::Unexpected::Unsigned(v), &"an integer")
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LimitValue, E> {
                parse_limit(v).map(LimitValue)
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_limit<E: serde::de::Error>(v: &str) -> Result<i64, E> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &"an integer"))
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlkioConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<ThrottleDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<ThrottleDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<ThrottleDevice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<ThrottleDevice>,
}

/// compose-go prints these with Go field names (`Path`, `Weight`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WeightDevice {
    #[serde(rename(serialize = "Path", deserialize = "path"))]
    pub path: String,
    #[serde(rename(serialize = "Weight", deserialize = "weight"))]
    pub weight: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThrottleDevice {
    #[serde(rename(serialize = "Path", deserialize = "path"))]
    pub path: String,
    #[serde(rename(serialize = "Rate", deserialize = "rate"))]
    pub rate: Bytes,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    #[schemars(with = "Command")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub user: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: MappingWithEquals,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevelopConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<Watch>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    pub path: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub target: String,
    #[serde(default)]
    pub exec: WatchExec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub initial_sync: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchExec {
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub user: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: MappingWithEquals,
}
