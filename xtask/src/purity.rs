//! `cargo xtask purity`: the core's boundary (ARCHITECTURE.md, `hongbao-core`: no I/O, no clock,
//! no OS randomness), checked rather than hoped for.
//!
//! Two checks: hongbao-core's normal dependency tree, with features, as `cargo tree` resolves it
//! for the crate alone, holds no crate and no feature of the deny-list; and no line of its source
//! (comments aside) names a clock, the file system, the network or an OS-seeded generator. Then
//! the crate is built alone, so it cannot lean on a feature another crate of the workspace turns
//! on.

use std::path::Path;
use std::process::Command;

const CRATE: &str = "hongbao-core";

/// Crates that do I/O, run an async runtime or read OS randomness: never in the core.
const DENIED_CRATES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "sqlx",
    "sqlx-core",
    "libsqlite3-sys",
    "postgres",
    "reqwest",
    "hyper",
    "axum",
    "getrandom",
];

/// Features that give an otherwise pure crate a clock, OS randomness or the local time zone.
const DENIED_FEATURES: &[(&str, &[&str])] = &[
    ("rand", &["std", "std_rng", "sys_rng", "thread_rng", "os_rng"]),
    ("rand_core", &["os_rng", "getrandom", "std"]),
    ("uuid", &["v1", "v4", "v6", "v7", "rng", "fast-rng", "rng-getrandom", "rng-rand"]),
    ("time", &["local-offset"]),
    ("chrono", &["clock", "now", "std"]),
];

/// What the core's source must not name: clocks, the file system, the network, processes,
/// the environment and OS-seeded generators.
const DENIED_SOURCE: &[&str] = &[
    "SystemTime",
    "Instant::now",
    "now_utc",
    "now_local",
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "thread_rng",
    "rand::rng()",
    "OsRng",
    "SysRng",
];

/// Runs both checks and the build alone, naming the crate in any failure.
pub fn check() -> Result<(), String> {
    eprintln!("xtask: checking that {CRATE} stays pure");
    let tree = Command::new("cargo")
        .args(["tree", "-p", CRATE, "-e", "normal", "--locked", "--prefix", "none", "-f", "{p}|{f}"])
        .output()
        .map_err(|e| format!("cannot start cargo tree: {e}"))?;
    if !tree.status.success() {
        return Err(format!("`cargo tree -p {CRATE}` failed: {}", String::from_utf8_lossy(&tree.stderr)));
    }
    let mut found = impure_dependencies(&String::from_utf8_lossy(&tree.stdout));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/hongbao-core/src");
    for (path, text) in sources(&src)? {
        found.extend(impure_lines(&path, &text));
    }
    if !found.is_empty() {
        return Err(format!("{CRATE} must not do I/O, read a clock or OS randomness:\n  {}", found.join("\n  ")));
    }
    crate::run("cargo", &["build", "-p", CRATE, "--lib", "--locked"])
}

/// Every denied crate or feature in `tree`, lines of `cargo tree -f "{p}|{f}"`.
fn impure_dependencies(tree: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in tree.lines() {
        let (package, features) = line.split_once('|').unwrap_or((line, ""));
        let Some(name) = package.split_whitespace().next() else { continue };
        if DENIED_CRATES.contains(&name) || name.starts_with("sqlx-") || name.starts_with("tokio-") {
            found.push(format!("{CRATE} depends on {package}"));
        }
        for (krate, denied) in DENIED_FEATURES.iter().filter(|(krate, _)| *krate == name) {
            for feature in features.split(',').map(str::trim).filter(|f| denied.contains(f)) {
                found.push(format!("{CRATE} depends on {krate} with its feature `{feature}`"));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Every line of `text` (comments aside) that names something of [`DENIED_SOURCE`].
fn impure_lines(path: &Path, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter_map(|(i, line)| {
            let name = DENIED_SOURCE.iter().find(|denied| line.contains(*denied))?;
            Some(format!("{}:{}: names `{name}`: {}", path.display(), i + 1, line.trim()))
        })
        .collect()
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Result<Vec<(std::path::PathBuf, String)>, String> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        if path.is_dir() {
            files.extend(sources(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.push((path, text));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core's tree as it is today (`cargo tree -p hongbao-core -e normal -f "{p}|{f}"`).
    const TODAY: &str = "hongbao-core v0.1.0 (/work/crates/hongbao-core)|
rand v0.10.4|alloc,unbiased
rand_core v0.10.1|
serde v1.0.229|default,derive,rc,serde_derive,std
sha2 v0.11.1|alloc,default,oid
time v0.3.55|alloc,default,parsing,std
uuid v1.29.3|default,serde,std";

    #[test]
    fn todays_tree_is_pure() {
        assert_eq!(impure_dependencies(TODAY), Vec::<String>::new());
    }

    #[test]
    fn a_runtime_an_os_generator_or_a_clock_feature_is_named_with_the_crate() {
        let tree = format!(
            "{TODAY}\ntokio v1.48.0|default\nrand v0.10.4|alloc,std,sys_rng,thread_rng\nuuid v1.29.3|v4,rng\ngetrandom v0.3.4|std"
        );
        let found = impure_dependencies(&tree);
        for expected in [
            "hongbao-core depends on tokio v1.48.0",
            "hongbao-core depends on getrandom v0.3.4",
            "hongbao-core depends on rand with its feature `thread_rng`",
            "hongbao-core depends on rand with its feature `sys_rng`",
            "hongbao-core depends on uuid with its feature `v4`",
        ] {
            assert!(found.iter().any(|f| f == expected), "{expected} missing from {found:?}");
        }
    }

    #[test]
    fn source_that_reads_the_clock_is_named_by_line_and_comments_are_not() {
        let text = "//! No `SystemTime` here.\nfn f() {\n    let t = std::time::SystemTime::now();\n}\n";
        let found = impure_lines(Path::new("x.rs"), text);
        assert_eq!(found, ["x.rs:3: names `SystemTime`: let t = std::time::SystemTime::now();"]);
    }
}
