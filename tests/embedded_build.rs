//! `build` on the embedded engine, as root, through the `rcompose` binary: what a Dockerfile
//! makes of an image (multi-stage `COPY --from`, `ADD` of a local tar.gz, `--chown`/`--chmod`,
//! a file of the base deleted by `RUN`, `ENV`/`ARG` substitution, the config fields), and
//! the errors of Dockerfiles it cannot build, each naming its line, with nothing of the
//! failed build left behind (no step container, no mount). Each test has its own state
//! directory; the base image comes from the local registry of scripts/docker-env.sh.

mod support;

use std::path::Path;

use support::embedded::{check_clean, down_volumes_and_check_clean, project, IMAGE};
use support::project::Project;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn sh(p: &Project, script: &str) -> String {
    p.ok(&["exec", "-T", "t", "sh", "-c", script])
}

#[test]
fn dockerfile_instructions_make_the_image() {
    let (p, root) = project(
        "bfeat",
        "services:\n  t:\n    build:\n      context: ./ctx\n      args:\n        WHO: arg\n    stop_signal: SIGKILL\n",
    );
    let ctx = p.dir.join("ctx");
    write(
        &ctx,
        &[
            ("a.txt", "a\n"),
            ("b.txt", "b\n"),
            ("sub/s.txt", "s\n"),
            (
                "Dockerfile",
                &format!(
                    "# syntax=docker/dockerfile:1\n\
                     ARG BASE={IMAGE}\n\
                     FROM ${{BASE}} AS base\n\
                     ARG WHO=nobody\n\
                     ENV A=1 B=\"two words\"\n\
                     ENV LEGACY some value\n\
                     LABEL x.y=\"${{B}}\" who=$WHO\n\
                     WORKDIR /made/by/workdir\n\
                     WORKDIR /app\n\
                     WORKDIR sub\n\
                     COPY *.txt ./\n\
                     COPY --chown=1000:1000 --chmod=600 sub/s.txt /owned/\n\
                     ADD arch.tar.gz /extracted/\n\
                     RUN rm /bin/vi && echo \"$A $WHO\" > /run.txt\n\
                     EXPOSE 80 53/udp\n\
                     STOPSIGNAL SIGINT\n\
                     CMD [\"sleep\", \"300\"]\n\
                     FROM scratch AS mini\n\
                     COPY --from=base /app/sub/a.txt /a\n\
                     FROM base\n\
                     COPY --from=mini /a /from-mini\n"
                ),
            ),
        ],
    );
    let tarsrc = p.dir.join("tarsrc");
    write(&tarsrc, &[("in/t.txt", "in a tar\n")]);
    let st = std::process::Command::new("tar")
        .args(["czf", ctx.join("arch.tar.gz").to_str().unwrap(), "-C"])
        .arg(&tarsrc)
        .arg("in")
        .status()
        .unwrap();
    assert!(st.success());

    let out = p.ok(&["build"]);
    assert!(
        out.contains("Step 20/20 : COPY --from=mini /a /from-mini"),
        "{out}"
    );
    assert!(out.contains("Successfully tagged"), "{out}");
    p.ok(&["up", "-d"]);
    assert_eq!(
        sh(&p, "cat /app/sub/a.txt /app/sub/b.txt /run.txt"),
        "a\nb\n1 arg\n"
    );
    assert_eq!(
        sh(&p, "stat -c '%u:%g %a' /owned /owned/s.txt"),
        "1000:1000 755\n1000:1000 600\n"
    );
    assert_eq!(
        sh(&p, "cat /extracted/in/t.txt /from-mini"),
        "in a tar\na\n"
    );
    assert_eq!(sh(&p, "test -e /bin/vi || echo gone"), "gone\n");
    // WORKDIR makes its directory (root's, 0755) even when nothing is put in it.
    assert_eq!(sh(&p, "stat -c '%u %a' /made/by/workdir"), "0 755\n");
    assert_eq!(sh(&p, "echo \"$B|$LEGACY\""), "two words|some value\n");

    let refs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("images/refs.json")).unwrap()).unwrap();
    let id = refs[format!("docker.io/library/{}-t:latest", p.name)]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("blobs/sha256").join(&id)).unwrap())
            .unwrap();
    let c = &config["config"];
    assert_eq!(c["WorkingDir"], "/app/sub");
    assert_eq!(c["Labels"]["x.y"], "two words");
    assert_eq!(c["Labels"]["who"], "arg");
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(c["Cmd"], serde_json::json!(["sleep", "300"]));
    assert!(c["ExposedPorts"]["53/udp"].is_object() && c["ExposedPorts"]["80/tcp"].is_object());
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        1 + 3 + 5,
        "the base's layer, the three WORKDIRs' directories, then COPY, COPY, ADD, RUN, COPY"
    );
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn dockerfiles_it_cannot_build_fail_naming_the_line() {
    let (p, root) = project("bbad", "services: {}\n");
    let cases = [
        (
            "FROM {I}\n\nFOO bar\n",
            "Dockerfile parse error line 3: unknown instruction: FOO",
        ),
        (
            "FROM {I}\nONBUILD RUN x\n",
            "Dockerfile line 2: ONBUILD is not supported",
        ),
        (
            "FROM {I}\nRUN --mount=type=cache,target=/x true\n",
            "Dockerfile line 2: RUN --mount",
        ),
        (
            "FROM {I}\nADD http://example.com/x /x\n",
            "Dockerfile line 2: ADD of a URL",
        ),
        (
            "FROM {I}\nCOPY nope /x\n",
            "Dockerfile line 2: COPY failed: file not found",
        ),
        (
            "FROM {I}\nENV A=\"open\n",
            "Dockerfile line 2: ENV: unterminated quote",
        ),
        (
            "RUN true\n",
            "Dockerfile parse error line 1: RUN before the first FROM",
        ),
        (
            "FROM {I}\nRUN echo out && exit 4\n",
            "The command '/bin/sh -c echo out && exit 4' returned a non-zero code: 4",
        ),
    ];
    for (i, (dockerfile, expected)) in cases.iter().enumerate() {
        let text = dockerfile.replace("{I}", IMAGE);
        let inline: String = text.lines().map(|l| format!("        {l}\n")).collect();
        std::fs::write(
            p.dir.join("compose.yaml"),
            format!("services:\n  t{i}:\n    build:\n      context: .\n      dockerfile_inline: |\n{inline}"),
        )
        .unwrap();
        let out = p.rcompose(&["build"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(
            err.contains(expected),
            "{text}: expected {expected:?} in {err}"
        );
    }
    // The failing RUN's container went with it.
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&p.dir);
}

/// The `RUN` cache: a rebuild of an unchanged Dockerfile reruns nothing and makes the same
/// image; a changed build argument, a changed file copied before the step, and
/// `--no-cache` each run it again.
#[test]
fn unchanged_run_steps_come_from_the_cache() {
    let (p, root) = project(
        "bcache",
        "services:\n  t:\n    build:\n      context: ./ctx\n      args:\n        V: one\n    \
         command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n",
    );
    let ctx = p.dir.join("ctx");
    write(
        &ctx,
        &[
            ("in.txt", "first\n"),
            (
                "Dockerfile",
                &format!(
                    "FROM {IMAGE}\n\
                     ARG V\n\
                     RUN cat /proc/sys/kernel/random/uuid > /stamp\n\
                     COPY in.txt /in.txt\n\
                     RUN cat /proc/sys/kernel/random/uuid > /stamp2 && echo $V > /v\n"
                ),
            ),
        ],
    );
    let built = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("Successfully built "))
            .unwrap_or_else(|| panic!("no image id in: {out}"))
            .to_string()
    };
    let hits = |out: &str| out.matches(" ---> Using cache").count();

    // The body's four steps: ARG, RUN, COPY, RUN.
    let first = p.ok(&["build"]);
    assert_eq!(hits(&first), 0, "{first}");
    let again = p.ok(&["build"]);
    assert_eq!(hits(&again), 4, "{again}");
    assert!(!again.contains("Running in"), "{again}");
    // The same image: `up --build` would recreate nothing.
    assert_eq!(built(&again), built(&first));

    // A changed argument (in the RUNs' environment, as Docker's): only the ARG step, which
    // does not change the image, is cached.
    let arg = p.ok(&["build", "--build-arg", "V=two"]);
    assert_eq!(hits(&arg), 1, "{arg}");
    assert_ne!(built(&arg), built(&first));
    // Back to the first argument: all from the cache again, the first image.
    let back = p.ok(&["build"]);
    assert_eq!(hits(&back), 4, "{back}");
    assert_eq!(built(&back), built(&first));
    // A changed file copied before the second RUN: ARG and the first RUN are cached.
    write(&ctx, &[("in.txt", "second\n")]);
    let copied = p.ok(&["build"]);
    assert_eq!(hits(&copied), 2, "{copied}");
    // --no-cache: every step runs.
    let fresh = p.ok(&["build", "--no-cache"]);
    assert_eq!(hits(&fresh), 0, "{fresh}");
    assert!(fresh.matches("Running in").count() >= 2, "{fresh}");
    assert_ne!(built(&fresh), built(&copied));
    p.ok(&["up", "-d"]);
    assert_eq!(sh(&p, "cat /in.txt /v"), "second\none\n");
    // A rebuild from the cache gives the image the container has: nothing is recreated.
    let rebuilt = p.rcompose(&["up", "-d", "--build"]);
    let err = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(rebuilt.status.success(), "{err}");
    assert!(err.contains("Built") && !err.contains("Recreate"), "{err}");
    // Once the images are pruned, their layers' cache entries go with them.
    let run_entries = || {
        std::fs::read_dir(root.join("build-cache/run"))
            .unwrap()
            .count()
    };
    assert!(run_entries() >= 4, "the runs of the builds above");
    p.ok(&["down", "-t", "0"]);
    p.ok(&["image", "prune", "-a", "-f"]);
    assert_eq!(run_entries(), 0);
    down_volumes_and_check_clean(&p, &root);
}
