//! The example binary as a real process: TCP, signals, exit codes, config errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn hello() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hello"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KEEL_ENV")
        .env_remove("PORT")
        .env_remove("RUST_LOG")
        .env("KEEL_ENV", "test")
        .env("KEEL__LOG__FORMAT", "compact")
        .env("KEEL__LOG__LEVEL", "info");
    cmd
}

/// Starts the server and returns it with its port, read from the "listening on" line.
// The caller owns the child and waits for it.
#[allow(clippy::zombie_processes)]
fn start(mut cmd: Command) -> (Child, u16, mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example binary starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server logs where it listens");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap();
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            return (child, port, rx);
        }
    }
}

fn get(port: u16, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    s
}

fn read_all(mut s: TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM");
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serves_over_tcp_and_port_comes_from_the_environment() {
    let mut cmd = hello();
    // PORT (the convention) beats config/default.toml's 8000; 0 asks for a free port.
    cmd.env("PORT", "0");
    let (mut child, port, _logs) = start(cmd);
    assert_ne!(port, 8000);
    let res = read_all(get(port, "/hello/tcp"));
    assert!(res.starts_with("HTTP/1.1 200 OK"), "{res}");
    assert!(res.contains("{\"message\":\"Hello, tcp!\"}"), "{res}");
    let res = read_all(get(port, "/_health"));
    assert!(res.contains("{\"status\":\"ok\"}"), "{res}");
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_exits_zero() {
    let mut cmd = hello();
    cmd.env("KEEL__SERVER__PORT", "0");
    let (mut child, port, logs) = start(cmd);
    let slow = get(port, "/work?ms=1500");
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&child);
    // Once shutdown starts, new connections are refused...
    let refused = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(refused, "the listener closes on SIGTERM");
    // ...while the request in flight is answered in full.
    let res = read_all(slow);
    assert!(res.starts_with("HTTP/1.1 200 OK"), "{res}");
    assert!(res.contains("{\"worked_ms\":1500}"), "{res}");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit 0 after a graceful shutdown");
    let log: Vec<String> = logs.try_iter().collect();
    assert!(
        log.iter().any(|l| l.contains("shutdown requested")),
        "{log:?}"
    );
}

fn run_to_end(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_mistyped_environment_variable_is_reported_with_its_name() {
    let (code, _, err) = run_to_end(hello().env("KEEL__SERVER__PORT", "eighty").arg("check"));
    assert_ne!(code, 0);
    assert!(
        err.contains("environment variable KEEL__SERVER__PORT"),
        "{err}"
    );
    assert!(err.contains("`server.port`"), "{err}");
    assert!(err.contains("expected u16"), "{err}");
}

#[test]
fn a_bad_config_file_is_reported_with_file_key_and_type() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("default.toml"),
        "[server]\nprot = 8000\n\n[hello]\ngreeting = 3\n\n[sever]\nport = 1\n",
    )
    .unwrap();
    let (code, _, err) = run_to_end(hello().env("KEEL_CONFIG_DIR", dir.path()).arg("check"));
    assert_ne!(code, 0);
    assert!(
        err.contains("default.toml: `server.prot`: unknown key"),
        "{err}"
    );
    assert!(
        err.contains("`hello.greeting`: expected a string, found signed int `3`"),
        "{err}"
    );
    assert!(err.contains("`sever`: unknown section"), "{err}");
}

#[test]
fn production_refuses_an_insecure_secret_key_and_debug() {
    let (code, _, err) = run_to_end(hello().env("KEEL_ENV", "production").arg("serve"));
    assert_ne!(code, 0);
    assert!(err.contains("keel.D001"), "{err}");
    assert!(err.contains("refusing to start"), "{err}");

    let (code, _, err) = run_to_end(
        hello()
            .env("KEEL_ENV", "production")
            .env("KEEL__APP__SECRET_KEY", "x".repeat(48))
            .env("KEEL__APP__DEBUG", "true")
            .arg("serve"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("keel.D002"), "{err}");
    assert!(!err.contains("keel.D001"), "{err}");

    // With a real key and debug off, production starts.
    let mut cmd = hello();
    cmd.env("KEEL_ENV", "production")
        .env("KEEL__APP__SECRET_KEY", "x".repeat(48))
        .env("KEEL__SERVER__PORT", "0");
    let (mut child, port, _logs) = start(cmd);
    let res = read_all(get(port, "/hello/prod"));
    assert!(
        res.contains("strict-transport-security"),
        "HSTS in production: {res}"
    );
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn an_unknown_environment_name_is_an_error() {
    let (code, _, err) = run_to_end(hello().env("KEEL_ENV", "staging").arg("check"));
    assert_ne!(code, 0);
    assert!(err.contains("unknown environment `staging`"), "{err}");
}

#[test]
fn routes_command_lists_names_and_handlers() {
    let (code, out, _) = run_to_end(hello().arg("routes"));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("METHOD"), "{out}");
    assert!(
        lines.iter().any(|l| l.contains("/hello/{name}")
            && l.contains("greet")
            && l.contains("hello::greet")),
        "{out}"
    );
}

#[test]
fn check_passes_in_test_and_deploy_finds_problems() {
    let (code, out, _) = run_to_end(hello().arg("check"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("System check identified no issues."), "{out}");
    let (code, out, _) = run_to_end(hello().args(["check", "--deploy"]));
    assert_ne!(code, 0);
    assert!(out.contains("keel.D001"), "{out}");
}
