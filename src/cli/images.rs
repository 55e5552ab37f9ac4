//! `rcompose images`: the images used by the project's containers, as Docker Compose v2.40
//! prints them: a table (CONTAINER, REPOSITORY, TAG, PLATFORM, IMAGE ID, SIZE, CREATED, sorted
//! by container name; CREATED is when the image was last tagged), `--format json` (a JSON
//! array with Compose's field names) or `-q` (distinct image ids).

use std::process::ExitCode;

use serde::Serialize;

use crate::engine::{ContainerInfo, Engine, ImageInfo};

use super::{human, targets, GlobalArgs};

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ImagesFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Format the output. Values: [table | json]
    #[arg(long, value_enum, default_value = "table")]
    pub format: ImagesFormat,
    /// Only display IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// One row: a container and its image (Compose's JSON field names).
#[derive(Debug, Serialize)]
struct Row {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "ContainerName")]
    container: String,
    #[serde(rename = "Repository")]
    repository: String,
    #[serde(rename = "Tag")]
    tag: String,
    #[serde(rename = "Platform")]
    platform: String,
    #[serde(rename = "Size")]
    size: i64,
    #[serde(rename = "LastTagTime", skip_serializing_if = "String::is_empty")]
    last_tag_time: String,
    /// Unix seconds of the last tag, else of the creation.
    #[serde(skip)]
    when: Option<i64>,
}

/// `docker/distribution`'s familiar name and tag of a reference: `docker.io/library/` is
/// dropped, a missing tag is `latest`; an image id has neither.
pub fn familiar(reference: &str) -> (String, String) {
    let is_id = reference.starts_with("sha256:")
        || (reference.len() == 64 && reference.bytes().all(|b| b.is_ascii_hexdigit()));
    if is_id {
        return (String::new(), String::new());
    }
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let repo = repo
        .strip_prefix("docker.io/")
        .or_else(|| repo.strip_prefix("index.docker.io/"))
        .unwrap_or(repo);
    let repo = repo
        .strip_prefix("library/")
        .filter(|r| !r.contains('/'))
        .unwrap_or(repo);
    let tag = match (tag, digest) {
        (Some(t), _) => t.to_string(),
        (None, Some(_)) => String::new(),
        (None, None) => "latest".to_string(),
    };
    (repo.to_string(), tag)
}

/// Go's zero time: the image was never tagged here.
fn is_zero_time(t: &str) -> bool {
    t.is_empty() || t.starts_with("0001-01-01")
}

fn row(c: &ContainerInfo, image: ImageInfo) -> Row {
    let (repository, tag) = familiar(&c.image);
    let mut platform = format!("{}/{}", image.os, image.architecture);
    if !image.variant.is_empty() {
        platform = format!("{platform}/{}", image.variant);
    }
    Row {
        id: image.id,
        container: c.name.clone(),
        repository,
        tag,
        platform,
        size: image.size,
        last_tag_time: if is_zero_time(&image.last_tag_time) {
            String::new()
        } else {
            image.last_tag_time
        },
        when: image.last_tag_unix.or(image.created_unix),
    }
}

fn table(rows: &[Row]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut table = vec![[
        "CONTAINER",
        "REPOSITORY",
        "TAG",
        "PLATFORM",
        "IMAGE ID",
        "SIZE",
        "CREATED",
    ]
    .map(String::from)
    .to_vec()];
    for r in rows {
        let id = r.id.strip_prefix("sha256:").unwrap_or(&r.id);
        let created = r.when.map_or_else(
            || "N/A".to_string(),
            |t| format!("{} ago", human::duration(now - t as f64)),
        );
        let or_none = |s: &str| {
            if s.is_empty() {
                "<none>".to_string()
            } else {
                s.to_string()
            }
        };
        table.push(vec![
            r.container.clone(),
            or_none(&r.repository),
            or_none(&r.tag),
            r.platform.clone(),
            id.chars().take(12).collect(),
            human::size(r.size as f64),
            created,
        ]);
    }
    super::top::tabwrite(&table, 20, 3)
}

pub fn run(global: &GlobalArgs, args: &ImagesArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.services,
        |_| true,
        async |_session, engine, list| {
            let mut rows = Vec::new();
            for c in &list {
                let found = match engine.inspect_image(&c.image).await {
                    Ok(None) => match &c.image_id {
                        Some(id) => engine.inspect_image(id).await,
                        None => Ok(None),
                    },
                    other => other,
                };
                match found {
                    Ok(Some(image)) => rows.push(row(c, image)),
                    Ok(None) => {
                        eprintln!("Error response from daemon: No such image: {}", c.image);
                        return ExitCode::from(1);
                    }
                    Err(e) => return targets::engine_error(e),
                }
            }
            rows.sort_by(|a, b| a.container.cmp(&b.container));
            if args.quiet {
                let mut seen: Vec<&str> = Vec::new();
                for r in &rows {
                    let id = r.id.strip_prefix("sha256:").unwrap_or(&r.id);
                    if !seen.contains(&id) {
                        seen.push(id);
                        println!("{id}");
                    }
                }
            } else if args.format == ImagesFormat::Json {
                let json = if rows.is_empty() {
                    "null".to_string()
                } else {
                    serde_json::to_string(&rows).unwrap_or_else(|_| "null".into())
                };
                // Compose's JSON encoder ends the text with a newline, then prints a line of it.
                println!("{json}\n");
            } else {
                print!("{}", table(&rows));
            }
            ExitCode::SUCCESS
        },
    )
}

#[cfg(test)]
mod tests {
    use super::familiar;

    #[test]
    fn familiar_names() {
        let f = |r: &str| {
            let (a, b) = familiar(r);
            format!("{a} {b}")
        };
        assert_eq!(f("rcompose-test/busybox:1"), "rcompose-test/busybox 1");
        assert_eq!(f("docker.io/library/nginx"), "nginx latest");
        assert_eq!(f("localhost:5000/a/b"), "localhost:5000/a/b latest");
        assert_eq!(f("localhost:5000/a/b:v2"), "localhost:5000/a/b v2");
        assert_eq!(f("a@sha256:00"), "a ");
        assert_eq!(f("sha256:abcd"), " ");
    }
}
