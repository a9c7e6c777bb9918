//! `keel new`: a project that serves and tests at once.

use std::path::{Path, PathBuf};

use clap::ArgMatches;

use crate::out;

/// Where the project gets Keel from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The published crates.
    Version(String),
    /// A checkout of the Keel workspace.
    Path(PathBuf),
}

/// What `keel new` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) template: String,
    pub(crate) db: String,
    pub(crate) keel: Source,
}

const RESERVED: &[&str] = &[
    "keel",
    "test",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "self",
    "super",
    "crate",
    "build",
];

/// Checks a project name: a valid package name that is also a usable crate name.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !first_ok || !rest_ok || name.len() > 64 {
        return Err(format!(
            "`{name}` is not a usable project name: start with a lower-case letter, then \
             lower-case letters, digits, `-` or `_` (at most 64)"
        ));
    }
    if RESERVED.contains(&name.replace('-', "_").as_str()) {
        return Err(format!(
            "`{name}` is reserved (it would clash with a crate or keyword)"
        ));
    }
    Ok(())
}

fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cargo_toml(spec: &Spec) -> String {
    let has_db = spec.template != "minimal";
    let mut features: Vec<&str> = Vec::new();
    if spec.template == "api" {
        features.push("openapi");
    }
    match spec.db.as_str() {
        "postgres" if has_db => features.push("postgres"),
        "mysql" if has_db => features.push("mysql"),
        _ => {}
    }
    let features = features
        .iter()
        .map(|f| toml_str(f))
        .collect::<Vec<_>>()
        .join(", ");
    let source = |krate: &str| match &spec.keel {
        Source::Version(v) => format!("version = {}", toml_str(v)),
        Source::Path(dir) => format!(
            "path = {}",
            toml_str(&dir.join("crates").join(krate).display().to_string())
        ),
    };
    let default_features = if has_db {
        ""
    } else {
        ", default-features = false"
    };
    let mut s = format!(
        "[package]\nname = {}\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n",
        toml_str(&spec.name)
    );
    s.push_str("[dependencies]\n");
    s.push_str(&format!(
        "keel = {{ {}{default_features}, features = [{features}] }}\n",
        source("keel")
    ));
    if has_db {
        s.push_str("garde = \"0.23\"\n");
    }
    if spec.template == "api" {
        s.push_str("utoipa = \"6\"\n");
    }
    s.push_str("serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n");
    s.push_str("tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }\n\n");
    s.push_str("[dev-dependencies]\n");
    let test_features = if has_db { ", features = [\"db\"]" } else { "" };
    s.push_str(&format!(
        "keel-test = {{ {}{test_features} }}\n",
        source("keel-test")
    ));
    s.push_str(
        "tokio = { version = \"1\", features = [\"full\"] }\n\n\
         # Quick debug builds: dependencies optimised a little (tests run fast) and built\n\
         # without debug info, this crate with line tables only (backtraces keep lines).\n\
         [profile.dev]\ndebug = \"line-tables-only\"\n\n\
         [profile.dev.package.\"*\"]\nopt-level = 1\ndebug = false\n",
    );
    s
}

fn database_sections(spec: &Spec) -> (String, String) {
    if spec.template == "minimal" {
        return (String::new(), String::new());
    }
    let default = "[database]\nmigrations_dir = \"src/migrations\"\n".to_owned();
    let url = match spec.db.as_str() {
        "postgres" => format!(
            "url = \"postgres://postgres@127.0.0.1:5432/{}_dev\"  # create it first\n",
            crate_name(&spec.name)
        ),
        "mysql" => format!(
            "url = \"mysql://root@127.0.0.1:3306/{}_dev\"  # create it first\n",
            crate_name(&spec.name)
        ),
        _ => String::new(),
    };
    (default, format!("[database]\nauto_migrate = true\n{url}"))
}

/// The files of the project, relative paths and contents.
pub(crate) fn files(spec: &Spec) -> Vec<(String, String)> {
    let db_name = match (spec.template.as_str(), spec.db.as_str()) {
        ("minimal", _) => "no database",
        (_, "postgres") => "PostgreSQL",
        (_, "mysql") => "MySQL / MariaDB",
        _ => "SQLite, the embedded default",
    };
    let (database, development) = database_sections(spec);
    let fill = |template: &str| {
        template
            .replace("@@name@@", &spec.name)
            .replace("@@crate@@", &crate_name(&spec.name))
            .replace("@@db_name@@", db_name)
            .replace("@@database_section@@", &database)
            .replace("@@development_section@@", &development)
    };
    let mut files = vec![
        ("Cargo.toml".to_owned(), cargo_toml(spec)),
        (
            ".gitignore".to_owned(),
            fill(include_str!("../templates/common/gitignore.tmpl")),
        ),
        (
            "README.md".to_owned(),
            fill(include_str!("../templates/common/README.md.tmpl")),
        ),
        (
            "config/default.toml".to_owned(),
            fill(include_str!("../templates/common/default.toml.tmpl")),
        ),
        (
            "config/development.toml".to_owned(),
            fill(include_str!("../templates/common/development.toml.tmpl")),
        ),
        (
            "config/test.toml".to_owned(),
            fill(include_str!("../templates/common/test.toml.tmpl")),
        ),
        (
            "config/production.toml".to_owned(),
            fill(include_str!("../templates/common/production.toml.tmpl")),
        ),
        (
            "src/main.rs".to_owned(),
            fill(include_str!("../templates/common/main.rs.tmpl")),
        ),
    ];
    let with_db = |files: &mut Vec<(String, String)>| {
        files.push((
            "src/models/mod.rs".to_owned(),
            fill(include_str!("../templates/common/models.rs.tmpl")),
        ));
        files.push((
            "src/migrations/mod.rs".to_owned(),
            fill(include_str!("../templates/common/migrations.rs.tmpl")),
        ));
    };
    match spec.template.as_str() {
        "minimal" => {
            files.push((
                "src/lib.rs".to_owned(),
                fill(include_str!("../templates/minimal/lib.rs.tmpl")),
            ));
            files.push((
                "tests/app.rs".to_owned(),
                fill(include_str!("../templates/minimal/test.rs.tmpl")),
            ));
        }
        "api" => {
            files.push((
                "src/lib.rs".to_owned(),
                fill(include_str!("../templates/api/lib.rs.tmpl")),
            ));
            with_db(&mut files);
            files.push((
                "tests/app.rs".to_owned(),
                fill(include_str!("../templates/api/test.rs.tmpl")),
            ));
        }
        _ => {
            files.push((
                "src/lib.rs".to_owned(),
                fill(include_str!("../templates/web/lib.rs.tmpl")),
            ));
            with_db(&mut files);
            files.push((
                "templates/base.html".to_owned(),
                fill(include_str!("../templates/web/templates/base.html.tmpl")),
            ));
            files.push((
                "templates/home.html".to_owned(),
                fill(include_str!("../templates/web/templates/home.html.tmpl")),
            ));
            files.push((
                "static/style.css".to_owned(),
                fill(include_str!("../templates/web/style.css.tmpl")),
            ));
            files.push((
                "tests/app.rs".to_owned(),
                fill(include_str!("../templates/web/test.rs.tmpl")),
            ));
        }
    }
    files
}

pub(crate) fn run(m: &ArgMatches) -> Result<(), String> {
    let name = m.get_one::<String>("name").cloned().unwrap_or_default();
    validate_name(&name)?;
    let keel = match m.get_one::<String>("keel-path") {
        Some(dir) => {
            let dir = std::fs::canonicalize(dir).map_err(|e| format!("--keel-path {dir}: {e}"))?;
            if !dir.join("crates/keel/Cargo.toml").is_file() {
                return Err(format!(
                    "--keel-path {}: not a Keel checkout (no crates/keel/Cargo.toml)",
                    dir.display()
                ));
            }
            Source::Path(dir)
        }
        None => Source::Version(env!("CARGO_PKG_VERSION").to_owned()),
    };
    let spec = Spec {
        template: m.get_one::<String>("template").cloned().unwrap_or_default(),
        db: m.get_one::<String>("db").cloned().unwrap_or_default(),
        name,
        keel,
    };
    let root = PathBuf::from(&spec.name);
    if root.exists() {
        return Err(format!(
            "`{}` already exists; keel new writes into a new folder only",
            root.display()
        ));
    }
    let files = files(&spec);
    if m.get_flag("dry-run") {
        for (path, _) in &files {
            out::status("would create", &format!("{}/{path}", spec.name));
        }
        return Ok(());
    }
    write_project(&root, &files)?;
    crate::generate::rustfmt(
        &files
            .iter()
            .map(|(path, _)| root.join(path))
            .collect::<Vec<_>>(),
    );
    // With a checkout, start from its lock file: the same dependency versions it is
    // tested with (cargo drops what the project does not use).
    if let Source::Path(dir) = &spec.keel {
        let lock = dir.join("Cargo.lock");
        if lock.is_file() {
            std::fs::copy(&lock, root.join("Cargo.lock"))
                .map_err(|e| format!("copying {}: {e}", lock.display()))?;
            out::status(
                "created",
                &format!("{}/Cargo.lock (from the checkout)", spec.name),
            );
        }
    }
    out::note(&format!(
        "cd {} && cargo run    (then open http://127.0.0.1:8000; `cargo test` runs the tests)",
        spec.name
    ));
    Ok(())
}

fn write_project(root: &Path, files: &[(String, String)]) -> Result<(), String> {
    std::fs::create_dir(root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    for (path, content) in files {
        let full = root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&full, content).map_err(|e| format!("writing {}: {e}", full.display()))?;
        out::status("created", &full.display().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["blog", "my-app", "shop_2"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Blog", "2fast", "my app", "keel", "test", "a/b", "-x"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    fn spec(template: &str) -> Spec {
        Spec {
            name: "my-app".into(),
            template: template.into(),
            db: "sqlite".into(),
            keel: Source::Version("0.1.0".into()),
        }
    }

    /// The generated files, pinned: a change to a template shows up in review.
    #[test]
    fn templates_are_pinned() {
        for template in ["web", "api", "minimal"] {
            let files = files(&spec(template));
            let listing: String = files
                .iter()
                .map(|(path, content)| format!("==> {path}\n{content}\n"))
                .collect();
            insta::assert_snapshot!(format!("new_{template}"), listing);
        }
    }

    #[test]
    fn databases_and_sources_change_the_manifest_and_config() {
        let mut s = spec("api");
        s.db = "postgres".into();
        s.keel = Source::Path(PathBuf::from("/src/keel"));
        let files = files(&s);
        let get = |p: &str| &files.iter().find(|(path, _)| path == p).expect(p).1;
        let manifest = get("Cargo.toml");
        assert!(
            manifest.contains(
                "keel = { path = \"/src/keel/crates/keel\", features = [\"openapi\", \"postgres\"] }"
            ),
            "{manifest}"
        );
        assert!(
            get("config/development.toml")
                .contains("postgres://postgres@127.0.0.1:5432/my_app_dev")
        );
        let minimal = files_of("minimal");
        assert!(minimal.contains("default-features = false"));
    }

    fn files_of(template: &str) -> String {
        files(&spec(template))
            .into_iter()
            .find(|(p, _)| p == "Cargo.toml")
            .map(|(_, c)| c)
            .unwrap_or_default()
    }
}
