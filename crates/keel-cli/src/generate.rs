//! `keel generate`: code the app owns afterwards. Registration points are marked
//! comments in the generated project (`// keel:models`, `// keel:model-modules`); the
//! generators insert above them and touch nothing else.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::ArgMatches;

use crate::out;

/// A column type the model generator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    String,
    Text,
    Int,
    BigInt,
    Bool,
    Float,
}

impl FieldType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" | "str" => Self::String,
            "text" => Self::Text,
            "int" | "i32" | "integer" => Self::Int,
            "bigint" | "i64" => Self::BigInt,
            "bool" | "boolean" => Self::Bool,
            "float" | "f64" | "double" => Self::Float,
            _ => return None,
        })
    }

    pub(crate) fn rust(self) -> &'static str {
        match self {
            Self::String | Self::Text => "String",
            Self::Int => "i32",
            Self::BigInt => "i64",
            Self::Bool => "bool",
            Self::Float => "f64",
        }
    }

    /// A value for factory row `n`.
    fn sample(self, field: &str) -> String {
        match self {
            Self::String | Self::Text => format!("format!(\"{field} {{n}}\")"),
            Self::Int => "i32::try_from(n).unwrap_or(i32::MAX)".to_owned(),
            Self::BigInt => "i64::from(n)".to_owned(),
            Self::Bool => "n % 2 == 0".to_owned(),
            Self::Float => "f64::from(n) / 4.0".to_owned(),
        }
    }
}

/// One `name:type[:option…]` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) ty: FieldType,
    pub(crate) optional: bool,
    pub(crate) unique: bool,
    pub(crate) indexed: bool,
}

fn is_snake_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !matches!(
            s,
            "type"
                | "struct"
                | "fn"
                | "mod"
                | "impl"
                | "self"
                | "super"
                | "crate"
                | "match"
                | "use"
                | "ref"
                | "move"
                | "loop"
                | "where"
                | "async"
                | "await"
                | "dyn"
        )
}

pub(crate) fn parse_field(arg: &str) -> Result<Field, String> {
    let mut parts = arg.split(':');
    let name = parts.next().unwrap_or_default();
    if !is_snake_identifier(name) || name == "id" {
        return Err(format!(
            "`{arg}`: `{name}` is not a usable field name (snake_case; `id` is added by itself)"
        ));
    }
    let ty_text = parts.next().unwrap_or("string");
    let ty = FieldType::parse(ty_text).ok_or_else(|| {
        format!("`{arg}`: unknown type `{ty_text}` (string, text, int, bigint, bool, float)")
    })?;
    let mut field = Field {
        name: name.to_owned(),
        ty,
        optional: false,
        unique: false,
        indexed: false,
    };
    for option in parts {
        match option {
            "optional" | "null" => field.optional = true,
            "unique" => field.unique = true,
            "indexed" | "index" => field.indexed = true,
            other => {
                return Err(format!(
                    "`{arg}`: unknown option `{other}` (optional, unique, indexed)"
                ));
            }
        }
    }
    Ok(field)
}

/// `blog_post` → `BlogPost`-free prose: "blog post".
fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// The entity module for model `name` (with a `utoipa::ToSchema` derive for projects
/// that document their API).
pub(crate) fn model_source(name: &str, fields: &[Field], schema: bool) -> String {
    let eq = if fields.iter().any(|f| f.ty == FieldType::Float) {
        ""
    } else {
        ", Eq"
    };
    let mut s = format!(
        "//! The {w} model. Written by `keel generate model`; the app owns it now.\n\n\
         use keel::db::sea_orm;\nuse sea_orm::entity::prelude::*;\nuse serde::{{Deserialize, Serialize}};\n\n\
         /// A {w}.\n\
         #[derive(Clone, Debug, PartialEq{eq}, DeriveEntityModel, Serialize, Deserialize{schema})]\n\
         #[sea_orm(table_name = \"{name}\")]\npub struct Model {{\n    /// Its id.\n    #[sea_orm(primary_key)]\n    pub id: i32,\n",
        w = words(name),
        schema = if schema { ", utoipa::ToSchema" } else { "" }
    );
    for f in fields {
        let _ = writeln!(s, "    /// The {}.", words(&f.name));
        let mut attrs = Vec::new();
        if f.ty == FieldType::Text {
            attrs.push("column_type = \"Text\"");
        }
        if f.unique {
            attrs.push("unique");
        }
        if f.indexed {
            attrs.push("indexed");
        }
        if !attrs.is_empty() {
            let _ = writeln!(s, "    #[sea_orm({})]", attrs.join(", "));
        }
        let ty = if f.optional {
            format!("Option<{}>", f.ty.rust())
        } else {
            f.ty.rust().to_owned()
        };
        let _ = writeln!(s, "    pub {}: {ty},", f.name);
    }
    s.push_str(
        "}\n\n/// Its relations (none yet).\n#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\npub enum Relation {}\n\nimpl ActiveModelBehavior for ActiveModel {}\n",
    );
    s
}

/// The test of model `name`: rows made by a factory, stored and read back.
pub(crate) fn model_test_source(krate: &str, name: &str, fields: &[Field]) -> String {
    let mut sets = String::new();
    for f in fields {
        let value = f.ty.sample(&f.name);
        let value = if f.optional {
            format!("Some({value})")
        } else {
            value
        };
        let _ = writeln!(sets, "        {}: Set({value}),", f.name);
    }
    let n = if fields.is_empty() { "_n" } else { "n" };
    format!(
        "//! The {w} model against a real database: rows from a factory, stored and read back.\n\n\
         use keel::db::sea_orm::{{EntityTrait, PaginatorTrait, Set}};\n\
         use keel_test::db::{{Factory, TestDb}};\n\
         use {krate}::models::{name};\n\n\
         /// {w} rows that differ where they must.\n\
         fn factory() -> Factory<{name}::ActiveModel> {{\n    Factory::new(|{n}| {name}::ActiveModel {{\n{sets}        ..Default::default()\n    }})\n}}\n\n\
         #[tokio::test]\n\
         async fn {name}_rows_are_stored_and_read_back() {{\n\
         \x20   let db = TestDb::migrated(keel::db::all_migrations(\n\
         \x20       &{krate}::models::registry(),\n\
         \x20       {krate}::migrations::all(),\n\
         \x20   ))\n\
         \x20   .await;\n\
         \x20   let made = factory().create_many(db.conn(), 3).await;\n\
         \x20   assert_eq!({name}::Entity::find().count(db.conn()).await.unwrap(), 3);\n\
         \x20   let first = {name}::Entity::find_by_id(made[0].id)\n\
         \x20       .one(db.conn())\n\
         \x20       .await\n\
         \x20       .unwrap();\n\
         \x20   assert_eq!(first.as_ref(), Some(&made[0]));\n\
         }}\n",
        w = words(name)
    )
}

/// Inserts `line` just above the line holding `marker`, with that line's indentation.
/// Errors when the marker is missing: the generators never guess where code goes.
pub(crate) fn insert_above(text: &str, marker: &str, line: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + line.len() + 8);
    let mut done = false;
    for l in text.split_inclusive('\n') {
        if !done && l.contains(marker) {
            let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
            out.push_str(&indent);
            out.push_str(line);
            out.push('\n');
            done = true;
        }
        out.push_str(l);
    }
    if done {
        Ok(out)
    } else {
        Err(format!("the marker `{marker}` is missing"))
    }
}

/// The project around the current directory: the folder with `Cargo.toml`.
fn project_root() -> Result<PathBuf, String> {
    let mut dir = std::env::current_dir().map_err(|e| e.to_string())?;
    loop {
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            return Ok(dir);
        }
        if !dir.pop() {
            return Err("not inside a Keel project (no Cargo.toml with src/ above here)".into());
        }
    }
}

/// The crate name of the project's package.
fn crate_of(root: &Path) -> Result<String, String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| e.to_string())?;
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(v) = line.strip_prefix("name")
            && let Some(v) = v.trim_start().strip_prefix('=')
        {
            return Ok(v.trim().trim_matches('"').replace('-', "_"));
        }
    }
    Err("Cargo.toml has no [package] name".into())
}

/// Formats Rust files with rustfmt (edition and style edition 2024), as `cargo fmt`
/// does for an edition-2024 package. Without
/// rustfmt the files stay as written, and the user is told.
pub(crate) fn rustfmt(files: &[PathBuf]) {
    let rust: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs") && f.is_file())
        .collect();
    if rust.is_empty() {
        return;
    }
    let ok = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--style-edition", "2024"])
        .args(&rust)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        out::note("rustfmt did not run; `cargo fmt` formats the new code");
    }
}

/// What a generator writes, relative to the project: new files are never
/// overwritten, edits and creations are reported, `--dry-run` only reports, and
/// everything touched is formatted at the end.
struct Files {
    root: PathBuf,
    dry: bool,
    touched: Vec<PathBuf>,
}

impl Files {
    fn new(root: &Path, dry: bool) -> Self {
        Self {
            root: root.to_path_buf(),
            dry,
            touched: Vec::new(),
        }
    }

    /// Writes a new file; an existing one is the user's and is refused.
    fn create(&mut self, rel: &str, content: &str) -> Result<(), String> {
        let path = self.root.join(rel);
        if path.exists() {
            return Err(format!(
                "{rel} already exists; it is yours, so it is left alone"
            ));
        }
        if self.dry {
            out::status("would create", rel);
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, content).map_err(|e| format!("writing {rel}: {e}"))?;
        out::status("created", rel);
        self.touched.push(path);
        Ok(())
    }

    /// Replaces a file the generator edited (`what` says how).
    fn edit(&mut self, rel: &str, content: &str, what: &str) -> Result<(), String> {
        if self.dry {
            out::status("would edit", &format!("{rel} ({what})"));
            return Ok(());
        }
        let path = self.root.join(rel);
        std::fs::write(&path, content).map_err(|e| format!("writing {rel}: {e}"))?;
        out::status("edited", &format!("{rel} ({what})"));
        self.touched.push(path);
        Ok(())
    }

    /// Formats the Rust files written or edited.
    fn format(&self) {
        rustfmt(&self.touched);
    }
}

fn parse_name_and_fields(m: &ArgMatches) -> Result<(String, Vec<Field>), String> {
    let name = m.get_one::<String>("name").cloned().unwrap_or_default();
    if !is_snake_identifier(&name) {
        return Err(format!(
            "`{name}` is not a usable model name (singular snake_case: `post`)"
        ));
    }
    let fields = m
        .get_many::<String>("fields")
        .into_iter()
        .flatten()
        .map(|f| parse_field(f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name, fields))
}

/// The project a generator works in.
struct Project {
    root: PathBuf,
    krate: String,
    /// It documents its API (depends on utoipa).
    openapi: bool,
}

fn project() -> Result<Project, String> {
    let root = project_root()?;
    let krate = crate_of(&root)?;
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let openapi = manifest
        .lines()
        .any(|l| l.trim_start().starts_with("utoipa"));
    Ok(Project {
        root,
        krate,
        openapi,
    })
}

/// `src/models/mod.rs` with model `name` registered (checked before anything is written).
fn registered(p: &Project, name: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(p.root.join("src/models/mod.rs")).map_err(|_| {
        "src/models/mod.rs is missing: models need the web or api template (keel new --template web)"
            .to_owned()
    })?;
    insert_above(&text, "keel:model-modules", &format!("pub mod {name};"))
        .and_then(|t| insert_above(&t, "keel:models", &format!(".register::<{name}::Entity>()")))
        .map_err(|e| format!("src/models/mod.rs: {e}; add the model by hand there"))
}

/// Writes the model, its test and its registration.
fn write_model(
    files: &mut Files,
    p: &Project,
    name: &str,
    fields: &[Field],
    registry: &str,
) -> Result<(), String> {
    files.create(
        &format!("src/models/{name}.rs"),
        &model_source(name, fields, p.openapi),
    )?;
    files.create(
        &format!("tests/model_{name}.rs"),
        &model_test_source(&p.krate, name, fields),
    )?;
    files.edit(
        "src/models/mod.rs",
        registry,
        &format!("registered `{name}`"),
    )
}

/// Runs `db makemigrations` for the new table (unless asked not to).
fn make_migration(p: &Project, name: &str, m: &ArgMatches) -> Result<(), String> {
    if m.get_flag("dry-run") || m.get_flag("no-migration") {
        out::note("cargo run -- db makemigrations   (writes the migration for the new table)");
        return Ok(());
    }
    out::status("running", "cargo run -q -- db makemigrations");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "run",
            "-q",
            "--",
            "db",
            "makemigrations",
            &format!("create {name}"),
        ])
        .current_dir(&p.root)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(
            "db makemigrations failed (see above); the files are written, fix and rerun it".into(),
        );
    }
    out::note("cargo test   (runs the new tests)");
    Ok(())
}

fn model(m: &ArgMatches) -> Result<(), String> {
    let (name, fields) = parse_name_and_fields(m)?;
    let p = project()?;
    let registry = registered(&p, &name)?;
    let mut files = Files::new(&p.root, m.get_flag("dry-run"));
    write_model(&mut files, &p, &name, &fields, &registry)?;
    files.format();
    make_migration(&p, &name, m)
}

fn scaffold(m: &ArgMatches) -> Result<(), String> {
    let (name, fields) = parse_name_and_fields(m)?;
    let api = m.get_flag("api");
    let p = project()?;
    let plural = crate::scaffold::plural(&name);
    // Every registration point first: nothing is written unless all are there.
    let registry = registered(&p, &name)?;
    let lib = std::fs::read_to_string(p.root.join("src/lib.rs")).map_err(|e| e.to_string())?;
    let lib = insert_above(&lib, "keel:modules", &format!("pub mod {plural};"))
        .and_then(|t| insert_above(&t, "keel:routes", &format!(".merge({plural}::routes())")))
        .map_err(|e| format!("src/lib.rs: {e}; add the module and its routes by hand"))?;
    if !api && !p.root.join("templates").is_dir() {
        return Err("this project has no templates/ folder: use --api for JSON handlers".into());
    }
    let mut files = Files::new(&p.root, m.get_flag("dry-run"));
    write_model(&mut files, &p, &name, &fields, &registry)?;
    if api {
        files.create(
            &format!("src/{plural}.rs"),
            &crate::scaffold::api_source(&name, &fields, p.openapi),
        )?;
        files.create(
            &format!("tests/api_{plural}.rs"),
            &crate::scaffold::api_test_source(&p.krate, &name, &fields),
        )?;
    } else {
        files.create(
            &format!("src/{plural}.rs"),
            &crate::scaffold::pages_source(&name, &fields),
        )?;
        for (path, content) in crate::scaffold::page_templates(&name, &fields) {
            files.create(&path, &content)?;
        }
        files.create(
            &format!("tests/pages_{plural}.rs"),
            &crate::scaffold::pages_test_source(&p.krate, &name, &fields),
        )?;
    }
    files.edit(
        "src/lib.rs",
        &lib,
        &format!("module `{plural}`, its routes"),
    )?;
    files.format();
    make_migration(&p, &name, m)
}

fn mailer(m: &ArgMatches) -> Result<(), String> {
    let name = m.get_one::<String>("name").cloned().unwrap_or_default();
    if !is_snake_identifier(&name) {
        return Err(format!(
            "`{name}` is not a usable mailer name (snake_case: `welcome`)"
        ));
    }
    let p = project()?;
    if !p.root.join("templates").is_dir() {
        return Err("mail is rendered from templates/: mailers need the web template".into());
    }
    let module = format!("{name}_mail");
    let lib = std::fs::read_to_string(p.root.join("src/lib.rs")).map_err(|e| e.to_string())?;
    let lib = insert_above(&lib, "keel:modules", &format!("pub mod {module};"))
        .map_err(|e| format!("src/lib.rs: {e}; add `pub mod {module};` by hand"))?;
    let mut files = Files::new(&p.root, m.get_flag("dry-run"));
    files.create(
        &format!("src/{module}.rs"),
        &crate::scaffold::mailer_source(&name),
    )?;
    for (path, content) in crate::scaffold::mailer_templates(&name) {
        files.create(&path, &content)?;
    }
    files.create(
        &format!("tests/mail_{name}.rs"),
        &crate::scaffold::mailer_test_source(&p.krate, &name),
    )?;
    files.edit("src/lib.rs", &lib, &format!("module `{module}`"))?;
    files.format();
    out::note(&format!(
        "send it from a handler: `{module}::email(&mail, to, &data)?` then `mail.send_later(email)`"
    ));
    Ok(())
}

/// The migration names in `migrations/mod.rs` (its `mod m…;` lines), in order.
fn names_in_mod(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("mod m")?
                .strip_suffix(';')
                .map(str::to_owned)
        })
        .collect()
}

/// `migrations/mod.rs` listing `names`, in the shape `db makemigrations` writes.
fn migrations_mod(names: &[String]) -> String {
    let mut s = String::from(
        "//! The app's migrations, oldest first. `db makemigrations` keeps this file up to date.\n\n",
    );
    for n in names {
        let _ = writeln!(s, "mod m{n};");
    }
    s.push_str("\n/// Every migration, in order.\npub fn all() -> Vec<keel::db::migrate::Migration> {\n    vec![\n");
    for n in names {
        let _ = writeln!(s, "        m{n}::migration(),");
    }
    s.push_str("    ]\n}\n");
    s
}

pub(crate) fn empty_migration_source(name: &str) -> String {
    format!(
        "//! Migration `{name}`, written by `keel generate migration`.\n//!\n\
         //! Fill in `up`, and `down` to undo it. Schema changes are better made by changing a\n\
         //! model and running `db makemigrations`; this is for data and raw SQL, e.g.\n\
         //! `Op::sql(\"UPDATE post SET slug = lower(title)\", None)`.\n\n\
         use keel::db::migrate::*;\n\n\
         /// The migration.\n\
         pub(super) fn migration() -> Migration {{\n    Migration::new(\"{name}\").up([]).down([])\n}}\n"
    )
}

fn migration(m: &ArgMatches) -> Result<(), String> {
    let description = m.get_one::<String>("name").cloned().unwrap_or_default();
    let slug: String = description
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if slug.is_empty() {
        return Err(format!(
            "`{description}` has no letters or digits to name a migration"
        ));
    }
    let root = project_root()?;
    let text = std::fs::read_to_string(root.join("src/migrations/mod.rs"))
        .map_err(|_| "src/migrations/mod.rs is missing: is this a Keel project with a database?")?;
    let mut names = names_in_mod(&text);
    let name = format!("{:04}_{slug}", names.len() + 1);
    let mut files = Files::new(&root, m.get_flag("dry-run"));
    files.create(
        &format!("src/migrations/m{name}.rs"),
        &empty_migration_source(&name),
    )?;
    names.push(name.clone());
    files.edit(
        "src/migrations/mod.rs",
        &migrations_mod(&names),
        &format!("listed `{name}`"),
    )?;
    files.format();
    Ok(())
}

pub(crate) fn run(m: &ArgMatches) -> Result<(), String> {
    match m.subcommand() {
        Some(("model", m)) => model(m),
        Some(("migration", m)) => migration(m),
        Some(("scaffold", m)) => scaffold(m),
        Some(("mailer", m)) => mailer(m),
        _ => Err("unknown generator; see `keel generate --help`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_with_options() {
        let f = parse_field("title:string:unique").expect("a field");
        assert_eq!(
            (f.name.as_str(), f.ty, f.unique),
            ("title", FieldType::String, true)
        );
        let f = parse_field("weight:int:optional:indexed").expect("a field");
        assert!(f.optional && f.indexed);
        assert_eq!(parse_field("name").expect("a field").ty, FieldType::String);
        for bad in [
            "id:int",
            "Title:string",
            "x:money",
            "x:int:sorted",
            "type:string",
        ] {
            assert!(parse_field(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_goes_above_the_marker_and_nowhere_else() {
        let text = "a\n    // keel:models (generators add models above this line)\n}\n";
        let out = insert_above(text, "keel:models", ".register::<post::Entity>()").expect("edited");
        assert_eq!(
            out,
            "a\n    .register::<post::Entity>()\n    // keel:models (generators add models above this line)\n}\n"
        );
        assert!(insert_above("no marker\n", "keel:models", "x").is_err());
    }

    #[test]
    fn generated_sources_are_pinned() {
        let fields: Vec<Field> = [
            "title:string:unique",
            "body:text",
            "rating:float:optional",
            "published:bool:indexed",
        ]
        .iter()
        .map(|f| parse_field(f).expect("a field"))
        .collect();
        insta::assert_snapshot!("model_post", model_source("post", &fields, false));
        insta::assert_snapshot!(
            "model_post_test",
            model_test_source("blog", "post", &fields)
        );
        insta::assert_snapshot!(
            "migration_empty",
            empty_migration_source("0002_backfill_slugs")
        );
        let names = names_in_mod(&migrations_mod(&["0001_initial".into(), "0002_x".into()]));
        assert_eq!(names, ["0001_initial", "0002_x"]);
    }
}
