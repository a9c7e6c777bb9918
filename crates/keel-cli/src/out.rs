//! Concise, coloured output in cargo's style: a right-aligned green verb, then what.
//! Colour only on a terminal, and never with `NO_COLOR` set.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};

fn painted(style: Style, text: &str, on: bool) -> String {
    if on {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_owned()
    }
}

fn colour(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none()
}

/// `   created  src/models/post.rs`.
pub(crate) fn status(verb: &str, what: &str) {
    let on = colour(std::io::stdout().is_terminal());
    let style = Style::new().bold().fg_color(Some(AnsiColor::Green.into()));
    let _ = writeln!(
        std::io::stdout().lock(),
        "{} {what}",
        painted(style, &format!("{verb:>10}"), on)
    );
}

/// A line of guidance (`next: cd blog && cargo run`).
pub(crate) fn note(text: &str) {
    let on = colour(std::io::stdout().is_terminal());
    let style = Style::new().bold().fg_color(Some(AnsiColor::Cyan.into()));
    let _ = writeln!(
        std::io::stdout().lock(),
        "{} {text}",
        painted(style, &format!("{:>10}", "next"), on)
    );
}

/// `error: …` on standard error.
pub(crate) fn error(message: &str) {
    let on = colour(std::io::stderr().is_terminal());
    let style = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {message}",
        painted(style, "error:", on)
    );
}
