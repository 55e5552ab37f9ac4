//! Short syntax of `services.*.volumes` (`[source:]target[:options]`), parsed exactly like
//! compose-go v2.9.1 `format.ParseVolume` followed by the `path.Clean` of the target that its
//! `transform` step applies — as shipped in Docker Compose v2.40.3.
//!
//! Why hand-rolled: the Go parser has quirks that users hit and that a naive `split(':')` misses:
//!
//! * A spec of 1 or 2 *bytes* is taken verbatim as the target of an anonymous volume (`x`, `::`,
//!   `C:`), without the empty `volume: {}` section other volumes get ([`VolumeSpec::verbatim`]).
//! * A `:` right after a single letter is part of a Windows drive and does not split: `C:\x:/y` is
//!   `C:\x` → `/y`, but also `a:/data` is an anonymous volume with target `a:/data`, and
//!   `a:b:c:d` is the bind mount `a:b` → `c:d`.
//! * `${...}` (left over after interpolation, e.g. from `$${X:-a}`) is kept whole, colons
//!   included. An unterminated `${` swallows the rest, leaving the target empty (compose then
//!   reports `service volume services.<svc>.volumes.[<i>] is missing a mount target`).
//! * The source is a bind mount path when it starts with `.`, `/`, `~`, `\\` or `<letter>:`;
//!   otherwise it names a volume. Path resolution (relative to the project, `~` expansion) is the
//!   caller's job; the source is returned as written (`/etc/pihole/` keeps its trailing slash).
//! * Options are comma separated: `ro`/`rw` (last wins), `nocopy`, `z`/`Z` (SELinux), `rprivate`,
//!   `private`, `rshared`, `shared`, `rslave`, `slave` (propagation). Anything else (including
//!   `consistent`, `cached`, `delegated`, `RO`, ` ro`) is silently ignored. Bind options given to a
//!   named volume and `nocopy` given to a bind mount are kept: compose prints both sections.
//! * Errors: `invalid empty volume spec`, `invalid spec: <spec>: empty section between colons`,
//!   `invalid spec: <spec>: too many colons`. A NUL character acts like the end of the spec.
//!
//! Nothing here panics, whatever the input.

/// Whether the mount is a host path or a (named or anonymous) volume.
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeKind {
    Bind,
    Volume,
}

/// The long syntax produced from one short-syntax volume.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumeSpec {
    /// Always `Some` after [`parse`].
    pub kind: Option<VolumeKind>,
    /// Host path or volume name as written; `None` for an anonymous volume.
    pub source: Option<String>,
    /// Container path, cleaned like Go's `path.Clean` (empty only when an unterminated `${`
    /// swallowed it).
    pub target: String,
    pub read_only: bool,
    /// `bind.propagation`.
    pub propagation: Option<String>,
    /// `bind.selinux` (`z` or `Z`).
    pub selinux: Option<String>,
    /// `volume.nocopy`.
    pub nocopy: bool,
    /// The spec was 1 or 2 bytes long and was used verbatim as the target: compose-go then sets
    /// no type-specific section, so unlike other volumes there is no `volume: {}` in the output.
    pub verbatim: bool,
}

impl VolumeSpec {
    /// Whether compose emits a `bind:` section (with `create_host_path: true` for binds).
    pub fn has_bind_section(&self) -> bool {
        self.kind == Some(VolumeKind::Bind) || self.propagation.is_some() || self.selinux.is_some()
    }

    /// Whether compose emits a `volume:` section (possibly empty).
    pub fn has_volume_section(&self) -> bool {
        self.nocopy || (self.kind == Some(VolumeKind::Volume) && !self.verbatim)
    }
}

/// Parses a short-syntax volume, or returns compose's exact error message.
pub fn parse(spec: &str) -> Result<VolumeSpec, String> {
    let mut v = parse_volume(spec)?;
    if !v.target.is_empty() {
        v.target = clean_path(&v.target);
    }
    Ok(v)
}

/// compose-go `format.ParseVolume` (no cleaning of the target).
pub fn parse_volume(spec: &str) -> Result<VolumeSpec, String> {
    let mut v = VolumeSpec::default();
    match spec.len() {
        0 => return Err("invalid empty volume spec".to_string()),
        1 | 2 => {
            v.target = spec.to_string();
            v.kind = Some(VolumeKind::Volume);
            v.verbatim = true;
            return Ok(v);
        }
        _ => {}
    }
    let bytes = spec.as_bytes();
    let mut source = String::new();
    let mut buffer: Vec<char> = Vec::new();
    let mut in_var: usize = 0;
    let chars = spec
        .char_indices()
        .chain(std::iter::once((spec.len(), '\0')));
    for (i, c) in chars {
        if c == '$' && bytes.get(i + 1) == Some(&b'{') {
            in_var += 1;
            buffer.push(c);
            continue;
        }
        if c == '}' && in_var > 0 {
            in_var -= 1;
            buffer.push(c);
            continue;
        }
        if is_windows_drive(&buffer, c) {
            buffer.push(c);
        } else if (c == ':' || c == '\0') && in_var == 0 {
            if let Err(e) = populate_field(c == '\0', &buffer, &mut source, &mut v) {
                return Err(format!("invalid spec: {spec}: {e}"));
            }
            buffer.clear();
        } else {
            buffer.push(c);
        }
    }
    v.kind = Some(if is_file_path(&source) {
        VolumeKind::Bind
    } else {
        VolumeKind::Volume
    });
    v.source = (!source.is_empty()).then_some(source);
    Ok(v)
}

fn is_windows_drive(buffer: &[char], c: char) -> bool {
    c == ':' && buffer.len() == 1 && go_is_letter(buffer[0])
}

/// Approximates Go's `unicode.IsLetter` (general category L).
fn go_is_letter(c: char) -> bool {
    c.is_alphabetic() && !c.is_numeric()
}

fn populate_field(
    end: bool,
    buffer: &[char],
    source: &mut String,
    v: &mut VolumeSpec,
) -> Result<(), &'static str> {
    if buffer.is_empty() {
        return Err("empty section between colons");
    }
    let text: String = buffer.iter().collect();
    if source.is_empty() && end {
        v.target = text;
        return Ok(());
    }
    if source.is_empty() {
        *source = text;
        return Ok(());
    }
    if v.target.is_empty() {
        v.target = text;
        return Ok(());
    }
    if !end {
        return Err("too many colons");
    }
    for option in text.split(',') {
        match option {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "nocopy" => v.nocopy = true,
            "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave" => {
                v.propagation = Some(option.to_string());
            }
            "z" | "Z" => v.selinux = Some(option.to_string()),
            _ => {}
        }
    }
    Ok(())
}

/// compose-go `isFilePath`: `.`, `/`, `~`, `\\` or a Windows drive (`<letter>:`) prefix.
fn is_file_path(source: &str) -> bool {
    let b = source.as_bytes();
    match b.first() {
        None => return false,
        Some(b'.' | b'/' | b'~') => return true,
        _ => {}
    }
    if source.starts_with("\\\\") {
        return true;
    }
    let mut chars = source.chars();
    let first = chars.next().unwrap_or('\0');
    b.get(first.len_utf8()) == Some(&b':') && go_is_letter(first)
}

/// Go's `path.Clean`: lexically removes `.`, `..` and duplicate/trailing slashes.
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let p = path.as_bytes();
    let n = p.len();
    let rooted = p[0] == b'/';
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            r += 1;
        } else if p[r] == b'.' && p.get(r + 1) == Some(&b'.') && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                // Back up to the previous separator (or `dotdot`) and cut there.
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".to_string();
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> VolumeSpec {
        parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) -> String {
        parse(s).expect_err(s)
    }

    fn bind(source: &str, target: &str) -> VolumeSpec {
        VolumeSpec {
            kind: Some(VolumeKind::Bind),
            source: Some(source.to_string()),
            target: target.to_string(),
            ..Default::default()
        }
    }

    fn named(source: &str, target: &str) -> VolumeSpec {
        VolumeSpec {
            kind: Some(VolumeKind::Volume),
            source: Some(source.to_string()),
            target: target.to_string(),
            ..Default::default()
        }
    }

    fn anon(target: &str) -> VolumeSpec {
        VolumeSpec {
            kind: Some(VolumeKind::Volume),
            target: target.to_string(),
            ..Default::default()
        }
    }

    fn verbatim(target: &str) -> VolumeSpec {
        VolumeSpec {
            verbatim: true,
            ..anon(target)
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(ok("./angular:/project"), bind("./angular", "/project"));
        assert_eq!(ok("/project/node_modules"), anon("/project/node_modules"));
        assert_eq!(
            ok("db_data:/var/lib/mysql"),
            named("db_data", "/var/lib/mysql")
        );
        assert_eq!(
            ok("./backend/src:/code/src:ro"),
            VolumeSpec {
                read_only: true,
                ..bind("./backend/src", "/code/src")
            }
        );
        assert_eq!(
            ok("/etc/pihole/:/etc/pihole/"),
            bind("/etc/pihole/", "/etc/pihole")
        );
        assert_eq!(ok("~/data:/data"), bind("~/data", "/data"));
        assert_eq!(ok(r"C:\x:/y"), bind(r"C:\x", "/y"));
        assert_eq!(ok(r"C:\a:D:\b"), bind(r"C:\a", r"D:\b"));
        assert_eq!(
            ok(r"C:\a:D:\b:ro"),
            VolumeSpec {
                read_only: true,
                ..bind(r"C:\a", r"D:\b")
            }
        );
        assert_eq!(ok(r"\\pipe\x:/y"), bind(r"\\pipe\x", "/y"));
        assert_eq!(ok(r"\\x:/b"), bind(r"\\x", "/b"));
        assert_eq!(ok(r"\x:/b"), named(r"\x", "/b"));
        assert_eq!(ok("1:/b"), named("1", "/b"));
        assert_eq!(ok("vol:rel/target"), named("vol", "rel/target"));
    }

    #[test]
    fn windows_drive_quirks() {
        assert_eq!(ok("a:b:c:d"), bind("a:b", "c:d"));
        assert_eq!(ok("c:/y"), anon("c:/y"));
        assert_eq!(ok("a:/data"), anon("a:/data"));
        assert_eq!(ok("é:/y"), anon("é:/y"));
        assert_eq!(ok(r"C:\"), anon(r"C:\"));
        assert_eq!(ok("v:/b:nocopy"), bind("v:/b", "nocopy"));
        assert_eq!(ok("v:/b:rslave"), bind("v:/b", "rslave"));
        assert_eq!(ok("v:/b:ro,z,nocopy"), bind("v:/b", "ro,z,nocopy"));
    }

    #[test]
    fn short_specs_are_verbatim() {
        assert_eq!(ok("x"), verbatim("x"));
        assert_eq!(ok("ab"), verbatim("ab"));
        assert_eq!(ok("::"), verbatim("::"));
        assert_eq!(ok(":"), verbatim(":"));
        assert_eq!(ok("a:"), verbatim("a:"));
        assert_eq!(ok("C:"), verbatim("C:"));
        assert_eq!(ok("é"), verbatim("é"));
        assert!(!ok("x").has_volume_section());
        assert!(!ok("/x").has_volume_section());
        assert!(ok("/xy").has_volume_section());
        assert!(ok("éa").has_volume_section());
    }

    #[test]
    fn target_is_cleaned() {
        assert_eq!(ok("./x:rel/../t/./"), bind("./x", "t"));
        assert_eq!(ok("/a:/b/.."), bind("/a", "/"));
        assert_eq!(ok("/a://b//c/"), bind("/a", "/b/c"));
        assert_eq!(ok("/a:."), bind("/a", "."));
        assert_eq!(ok("/a:../x"), bind("/a", "../x"));
        assert_eq!(ok("/a:ro"), bind("/a", "ro"));
        // parse_volume alone does not clean.
        assert_eq!(
            parse_volume("/a:/b/").map(|v| v.target),
            Ok("/b/".to_string())
        );
    }

    #[test]
    fn options() {
        let with = |s: &str| ok(&format!("/a:/b:{s}"));
        assert!(!with("rw").read_only);
        assert!(with("ro").read_only);
        assert!(!with("ro,rw").read_only);
        assert!(with("rw,ro").read_only);
        assert!(!with("RO").read_only);
        assert!(!with(" ro").read_only);
        assert_eq!(with("z").selinux.as_deref(), Some("z"));
        assert_eq!(with("Z").selinux.as_deref(), Some("Z"));
        assert!(with("nocopy").nocopy);
        for prop in [
            "rprivate", "private", "rshared", "shared", "rslave", "slave",
        ] {
            assert_eq!(with(prop).propagation.as_deref(), Some(prop));
        }
        for ignored in ["consistent", "cached", "delegated", "foo", ""] {
            let v = ok(&format!("/a:/b:{ignored}x"));
            assert_eq!(v, bind("/a", "/b"), "{ignored}");
        }
        assert_eq!(
            with("ro,z"),
            VolumeSpec {
                read_only: true,
                selinux: Some("z".into()),
                ..bind("/a", "/b")
            }
        );
        assert_eq!(
            with("ro,,z"),
            VolumeSpec {
                read_only: true,
                selinux: Some("z".into()),
                ..bind("/a", "/b")
            }
        );
        let all = with("ro,nocopy,Z,slave");
        assert_eq!(
            all,
            VolumeSpec {
                read_only: true,
                selinux: Some("Z".into()),
                propagation: Some("slave".into()),
                nocopy: true,
                ..bind("/a", "/b")
            }
        );
        assert!(all.has_bind_section() && all.has_volume_section());
    }

    #[test]
    fn options_on_named_volumes() {
        let v = ok("vol:/b:z");
        assert_eq!(
            v,
            VolumeSpec {
                selinux: Some("z".into()),
                ..named("vol", "/b")
            }
        );
        assert!(v.has_bind_section() && v.has_volume_section());
        let v = ok("vol:/b:nocopy");
        assert!(v.nocopy && !v.has_bind_section() && v.has_volume_section());
        let v = ok("vol:/b:ro,rshared,nocopy");
        assert_eq!(
            v,
            VolumeSpec {
                read_only: true,
                propagation: Some("rshared".into()),
                nocopy: true,
                ..named("vol", "/b")
            }
        );
        assert_eq!(
            ok("vol:/b:rprivate").propagation.as_deref(),
            Some("rprivate")
        );
        let b = ok("/a:/b:nocopy");
        assert!(b.has_bind_section() && b.has_volume_section());
        assert!(!ok("/a:/b").has_volume_section());
        assert!(!ok("vol:/b").has_bind_section());
    }

    #[test]
    fn variable_syntax_is_kept_whole() {
        assert_eq!(ok("${X:-a}:/b"), named("${X:-a}", "/b"));
        assert_eq!(
            ok("${X:-a:b}:/c:ro"),
            VolumeSpec {
                read_only: true,
                ..named("${X:-a:b}", "/c")
            }
        );
        assert_eq!(ok("${X:-${Y}}:/c"), named("${X:-${Y}}", "/c"));
        // Unterminated `${`: nothing is assigned at all.
        assert_eq!(ok("/a${:/b"), anon(""));
        assert_eq!(ok("$x}:/b"), named("$x}", "/b"));
    }

    #[test]
    fn nul_acts_as_end() {
        assert_eq!(ok("/a\0/b:/c"), bind("/b", "/a"));
        assert_eq!(
            err("/a:/b\0"),
            "invalid spec: /a:/b\0: empty section between colons"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(err(""), "invalid empty volume spec");
        assert_eq!(
            err(":/text_file.txt"),
            "invalid spec: :/text_file.txt: empty section between colons"
        );
        assert_eq!(
            err("/a:/b:"),
            "invalid spec: /a:/b:: empty section between colons"
        );
        assert_eq!(
            err("/a::/b"),
            "invalid spec: /a::/b: empty section between colons"
        );
        assert_eq!(
            err("/a:/b::"),
            "invalid spec: /a:/b::: empty section between colons"
        );
        assert_eq!(
            err(":::"),
            "invalid spec: :::: empty section between colons"
        );
        assert_eq!(err("/a:/b:ro:"), "invalid spec: /a:/b:ro:: too many colons");
        assert_eq!(
            err("/a:/b:ro:x"),
            "invalid spec: /a:/b:ro:x: too many colons"
        );
        assert_eq!(
            err("ab:cd:ef:gh"),
            "invalid spec: ab:cd:ef:gh: too many colons"
        );
    }

    #[test]
    fn go_path_clean() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("//", "/"),
            (".", "."),
            ("./", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/..", "/"),
            ("/../abc", "/abc"),
            ("abc/..", "."),
            ("abc/../..", ".."),
            ("abc/def/..", "abc"),
            ("a/b/../../c", "c"),
            ("/a/b/c/../../d", "/a/d"),
            ("abc/./def", "abc/def"),
            ("/abc/def/", "/abc/def"),
            ("a//b", "a/b"),
            ("/ab/../cd", "/cd"),
            ("x/../../y", "../y"),
            ("é/./ü/", "é/ü"),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }

    /// Pseudo-random inputs over an alphabet of significant characters must never panic.
    #[test]
    fn never_panics() {
        let alphabet: Vec<char> = "ab:/\\.~${},roz\0éC".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 59) as usize;
            let mut s = String::new();
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let _ = parse(&s);
        }
    }
}
