//! Project-name rules: `-p` and `COMPOSE_PROJECT_NAME` are validated; `name:` and the
//! directory name are normalized (lowercased, invalid characters dropped).

use super::error::{LoadError, Problem};

pub fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

pub fn validate(name: &str) -> Result<String, LoadError> {
    if is_valid(name) {
        Ok(name.to_string())
    } else {
        Err(LoadError::new(
            Problem::Usage,
            format!(
                "invalid project name {name:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
            ),
        ))
    }
}

/// Lowercases and drops characters outside `[a-z0-9_-]`, then leading `_`/`-`.
pub fn normalize(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_directory_names() {
        assert_eq!(normalize("My_Project.Name"), "my_projectname");
        assert_eq!(normalize("UNNORMALIZED PATH"), "unnormalizedpath");
        assert_eq!(normalize("-x"), "x");
    }

    #[test]
    fn validates_flags() {
        assert!(validate("explicit_name").is_ok());
        assert!(validate("My_App").is_err());
        assert!(validate("-x").is_err());
    }
}
