//! The fortunes page rendered by minijinja (what `keel::view` runs) against the same
//! page written by hand, in-process: the template engine's share of `/fortunes`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::fmt::Write as _;

use keel_view::minijinja::{self, Environment, Value};
use serde::Serialize;

fn main() {
    divan::main();
}

#[derive(Serialize, Clone)]
struct Fortune {
    id: i32,
    message: String,
}

#[derive(Serialize)]
struct Page {
    fortunes: Vec<Fortune>,
}

const TEMPLATE: &str = include_str!("../../examples/tfb/templates/fortunes.html");

fn rows() -> Vec<Fortune> {
    let messages = [
        "fortune: No such file or directory",
        "A computer scientist is someone who fixes things that aren't broken.",
        "After enough decimal places, nobody gives a damn.",
        "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
        "A computer program does what you tell it to do, not what you want it to do.",
        "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
        "Any program that runs right is obsolete.",
        "A list is only as strong as its weakest link. — Donald Knuth",
        "Feature: A bug with seniority.",
        "Computers make very fast, very accurate mistakes.",
        "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
        "フレームワークのベンチマーク",
        "Additional fortune added at request time.",
    ];
    let mut all: Vec<Fortune> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| Fortune {
            id: i32::try_from(i).unwrap(),
            message: (*m).to_owned(),
        })
        .collect();
    all.sort_by(|a, b| a.message.cmp(&b.message));
    all
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("fortunes.html", TEMPLATE).unwrap();
    env
}

/// What a `view("fortunes.html", page)` costs: the context made a template value, then
/// the render.
#[divan::bench]
fn minijinja_serde_context(bencher: divan::Bencher<'_, '_>) {
    let env = env();
    let rows = rows();
    bencher.bench_local(|| {
        let page = Page {
            fortunes: rows.clone(),
        };
        let ctx = Value::from(minijinja::value::Serde(&page));
        env.get_template("fortunes.html")
            .unwrap()
            .render(ctx)
            .unwrap()
    });
}

/// The same page written with `write!` and Keel's HTML escaping (what the axum peer
/// does).
#[divan::bench]
fn handwritten(bencher: divan::Bencher<'_, '_>) {
    let rows = rows();
    bencher.bench_local(|| {
        let page = Page {
            fortunes: rows.clone(),
        };
        let mut out = String::with_capacity(2048);
        out.push_str("<!DOCTYPE html>\n<html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>\n");
        for f in &page.fortunes {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                f.id,
                keel_core::html::escape(&f.message)
            )
            .unwrap();
        }
        out.push_str("</table></body></html>");
        out
    });
}

/// The render alone, the context made once (what is left without the conversion).
#[divan::bench]
fn minijinja_render_only(bencher: divan::Bencher<'_, '_>) {
    let env = env();
    let page = Page { fortunes: rows() };
    let ctx = Value::from(minijinja::value::Serde(&page));
    bencher.bench_local(|| {
        env.get_template("fortunes.html")
            .unwrap()
            .render(ctx.clone())
            .unwrap()
    });
}

/// The context conversion alone.
#[divan::bench]
fn minijinja_context_only(bencher: divan::Bencher<'_, '_>) {
    let rows = rows();
    bencher.bench_local(|| {
        let page = Page {
            fortunes: rows.clone(),
        };
        Value::from(minijinja::value::Serde(&page))
    });
}
