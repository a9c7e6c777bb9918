//! The server: hyper 1 connections (HTTP/1.1 with pipelined responses flushed per
//! batch, HTTP/2 with prior knowledge or ALPN), keep-alive, header read timeout,
//! optional TLS (rustls), and graceful shutdown.
//!
//! ```no_run
//! # async fn demo(app: keel_core::App) -> keel_core::Result<()> {
//! use keel_http::serve::{Server, shutdown_signal};
//! use keel_http::settings::ServerSettings;
//!
//! let http = keel_http::start(app).await?;
//! let server = Server::bind(&http, &ServerSettings::default())?;
//! println!("listening on {}", server.local_addr());
//! server.run(shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use pin_project_lite::pin_project;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;
use tower_service::Service as _;

use crate::middleware::KeelService;

use crate::settings::{RuntimeMode, ServerSettings};

/// A bound server, ready to run.
pub struct Server {
    listeners: Vec<StdListener>,
    local_addr: SocketAddr,
    make_service: ServiceFactory,
    settings: ServerSettings,
    tls: Option<TlsAcceptor>,
    worker_init: Option<WorkerInit>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("runtime", &self.settings.runtime)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Makes the service a worker calls. Each `per-core` worker gets its own copy of the
/// stack, so that per-request reference counting never crosses cores.
pub type ServiceFactory = Arc<dyn Fn() -> KeelService + Send + Sync>;

/// Runs in each `per-core` worker, on the worker's runtime, before it accepts (the
/// app's [`on_worker_start`](keel_core::App::on_worker_start) hooks).
pub type WorkerInit = Arc<
    dyn Fn(
            keel_core::worker::WorkerInfo,
        ) -> futures_util::future::BoxFuture<'static, keel_core::Result<()>>
        + Send
        + Sync,
>;

#[cfg(feature = "tls")]
type TlsAcceptor = tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "tls"))]
type TlsAcceptor = Infallible;

fn bind_one(addr: SocketAddr, reuse_port: bool, backlog: u32) -> io::Result<StdListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// How many worker threads `per-core` mode uses.
pub fn worker_count(settings: &ServerSettings) -> usize {
    if settings.workers > 0 {
        settings.workers
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

impl Server {
    /// Binds the listening socket(s) described by `settings` (one per worker in
    /// `per-core` mode, sharing the port with `SO_REUSEPORT`) for `app`.
    pub fn bind(app: &crate::HttpApp, settings: &ServerSettings) -> io::Result<Self> {
        let mut server = Self::bind_with(app.service_factory(), settings)?;
        if let Some(hooks) = app.state().get::<keel_core::worker::WorkerHooks>().cloned()
            && !hooks.is_empty()
        {
            let state = app.state().clone();
            server.worker_init = Some(Arc::new(move |info| {
                let (hooks, state) = (hooks.clone(), state.clone());
                Box::pin(async move { hooks.run(&state, info).await })
            }));
        }
        Ok(server)
    }

    /// Runs `init` in each `per-core` worker before it accepts (replacing the app's
    /// worker hooks that [`Server::bind`] installed).
    #[must_use]
    pub fn with_worker_init(mut self, init: WorkerInit) -> Self {
        self.worker_init = Some(init);
        self
    }

    /// Like [`Server::bind`], with any way of making the service.
    pub fn bind_with(make_service: ServiceFactory, settings: &ServerSettings) -> io::Result<Self> {
        let ip: std::net::IpAddr = settings.host.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("server.host `{}` is not an IP address", settings.host),
            )
        })?;
        let per_core = settings.runtime == RuntimeMode::PerCore;
        let first = bind_one(
            SocketAddr::new(ip, settings.port),
            per_core,
            settings.backlog,
        )?;
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        if per_core {
            for _ in 1..worker_count(settings) {
                listeners.push(bind_one(local_addr, true, settings.backlog)?);
            }
        }
        let tls = tls_acceptor(settings)?;
        Ok(Self {
            listeners,
            local_addr,
            make_service,
            settings: settings.clone(),
            tls,
            worker_init: None,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients use (`http://` or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests
    /// finish within `server.shutdown_timeout`, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> io::Result<()> {
        // Poll the shutdown future once before anything is served: signal handlers
        // (SIGTERM, Ctrl-C) are installed on a first poll, so an early SIGTERM then
        // stops the server gracefully instead of killing it by default.
        let mut shutdown = std::pin::pin!(shutdown);
        let requested =
            std::future::poll_fn(|cx| Poll::Ready(shutdown.as_mut().poll(cx).is_ready())).await;
        let stop = Arc::new(ShutdownSignal::default());
        let conn = Arc::new(ConnConfig::new(&self.settings, self.tls));
        let deadline = self.settings.shutdown_timeout;
        let mut workers = Vec::new();
        let mut readies = Vec::new();
        let mut main_listener = None;
        match self.settings.runtime {
            RuntimeMode::MultiThread => {
                main_listener = self.listeners.into_iter().next();
            }
            RuntimeMode::PerCore => {
                let count = self.listeners.len();
                for (index, listener) in self.listeners.into_iter().enumerate() {
                    let service =
                        (self.make_service)().with_server_header(&self.settings.server_header);
                    let conn = Arc::clone(&conn);
                    let stop = Arc::clone(&stop);
                    let init = self.worker_init.clone();
                    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<io::Result<()>>();
                    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<io::Result<()>>();
                    std::thread::Builder::new()
                        .name(format!("keel-worker-{index}"))
                        .spawn(move || {
                            let result = tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .and_then(|rt| {
                                    rt.block_on(async move {
                                        if let Some(init) = init {
                                            let info =
                                                keel_core::worker::WorkerInfo { index, count };
                                            if let Err(e) = init(info).await {
                                                keel_core::worker::clear();
                                                let cause = e.chain_string();
                                                let why = if cause.is_empty() {
                                                    e.to_string()
                                                } else {
                                                    format!("{e}: {cause}")
                                                };
                                                let _ = ready_tx.send(Err(io::Error::other(format!(
                                                    "server worker {index} could not start: {why}"
                                                ))));
                                                return Ok(());
                                            }
                                        }
                                        let _ = ready_tx.send(Ok(()));
                                        let listener = TcpListener::from_std(listener)?;
                                        accept_loop(listener, service, conn, stop, deadline).await;
                                        // Close what the worker owns on its own runtime.
                                        keel_core::worker::clear();
                                        Ok(())
                                    })
                                });
                            let _ = done_tx.send(result);
                        })?;
                    readies.push(ready_rx);
                    workers.push(done_rx);
                }
                for ready in readies {
                    let started = match ready.await {
                        Ok(result) => result,
                        Err(_) => Err(io::Error::other(
                            "a server worker thread died while starting",
                        )),
                    };
                    if let Err(e) = started {
                        stop.trigger();
                        for w in workers {
                            let _ = w.await;
                        }
                        return Err(e);
                    }
                }
            }
        }
        let main = async {
            if let Some(listener) = main_listener {
                let listener = TcpListener::from_std(listener)?;
                accept_loop(
                    listener,
                    (self.make_service)().with_server_header(&self.settings.server_header),
                    Arc::clone(&conn),
                    Arc::clone(&stop),
                    deadline,
                )
                .await;
            }
            Ok::<(), io::Error>(())
        };
        let signal = async {
            if !requested {
                shutdown.await;
            }
            tracing::info!(target: "keel::server", "shutdown requested; finishing in-flight requests");
            stop.trigger();
        };
        let (main_result, ()) = tokio::join!(main, signal);
        main_result?;
        for w in workers {
            match w.await {
                Ok(result) => result?,
                Err(_) => return Err(io::Error::other("a server worker thread died")),
            }
        }
        tracing::info!(target: "keel::server", "server stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Per-connection settings shared by all workers.
struct ConnConfig {
    builder: auto::Builder<TokioExecutor>,
    http2: bool,
    keep_alive: bool,
    handshake_timeout: Duration,
    tls: Option<TlsAcceptor>,
}

impl ConnConfig {
    fn new(settings: &ServerSettings, tls: Option<TlsAcceptor>) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .keep_alive(settings.keep_alive)
            .header_read_timeout(settings.header_read_timeout)
            // Write the responses of one pipelined batch together (axum::serve does not).
            .pipeline_flush(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .enable_connect_protocol();
        Self {
            builder,
            http2: settings.http2,
            keep_alive: settings.keep_alive,
            handshake_timeout: settings.header_read_timeout,
            tls,
        }
    }
}

/// Counts open connections so that shutdown can wait for them.
#[derive(Default)]
struct Tracker {
    open: AtomicUsize,
    idle: Notify,
}

struct Tracked(Arc<Tracker>);

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Tracker {
    fn track(self: &Arc<Self>) -> Tracked {
        self.open.fetch_add(1, Ordering::AcqRel);
        Tracked(Arc::clone(self))
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    service: KeelService,
    conn: Arc<ConnConfig>,
    stop: Arc<ShutdownSignal>,
    deadline: Duration,
) {
    let tracker = Arc::new(Tracker::default());
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.wait() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(target: "keel::server", error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = ConnService {
            service: std::cell::RefCell::new(service.clone()),
            peer,
        };
        let guard = tracker.track();
        let conn = Arc::clone(&conn);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let result = match &conn.tls {
                None => serve_io(&conn, TokioIo::new(stream), svc, stop).await,
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    match tokio::time::timeout(conn.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => serve_io(&conn, TokioIo::new(tls), svc, stop).await,
                        Ok(Err(e)) => Err(e.into()),
                        Err(_) => Err("TLS handshake timed out".into()),
                    }
                }
                #[cfg(not(feature = "tls"))]
                Some(never) => match *never {},
            };
            if let Err(e) = result {
                tracing::debug!(target: "keel::server", error = %e, %peer, "connection ended with an error");
            }
            drop(guard);
        });
    }
    drop(listener);
    let open = tracker.open.load(Ordering::Acquire);
    if open > 0 {
        tracing::info!(target: "keel::server", connections = open, "waiting for open connections");
    }
    if tokio::time::timeout(deadline, tracker.wait_idle())
        .await
        .is_err()
    {
        tracing::warn!(
            target: "keel::server",
            deadline_s = deadline.as_secs_f64(),
            "connections still open after the shutdown deadline; closing them"
        );
    }
}

/// Tells connections to finish. Checking it is one atomic load, so a connection can
/// look at it on every wake-up at no cost; the `Notify` wakes idle connections once.
#[derive(Default)]
struct ShutdownSignal {
    requested: std::sync::atomic::AtomicBool,
    notify: Arc<Notify>,
}

impl ShutdownSignal {
    fn trigger(&self) {
        self.requested.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    async fn wait(&self) {
        let notified = Arc::clone(&self.notify).notified_owned();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.is_requested() {
            notified.await;
        }
    }
}

pin_project! {
    /// Drives one hyper connection; once shutdown is requested, asks it to finish the
    /// request in flight and close (idle keep-alive connections close at once).
    struct Drive<C> {
        #[pin]
        conn: C,
        #[pin]
        notified: OwnedNotified,
        stop: Arc<ShutdownSignal>,
        graceful: fn(Pin<&mut C>),
        registered: bool,
        finishing: bool,
    }
}

impl<C> Drive<C> {
    fn new(conn: C, stop: Arc<ShutdownSignal>, graceful: fn(Pin<&mut C>)) -> Self {
        Self {
            conn,
            notified: Arc::clone(&stop.notify).notified_owned(),
            stop,
            graceful,
            registered: false,
            finishing: false,
        }
    }
}

impl<C: Future> Future for Drive<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let mut this = self.project();
        if !*this.finishing {
            // The notification is registered once (the task's waker stays valid);
            // after that, the flag says whether it fired.
            let fired = if *this.registered {
                false
            } else {
                *this.registered = true;
                this.notified.as_mut().poll(cx).is_ready()
            };
            if fired || this.stop.is_requested() {
                *this.finishing = true;
                (this.graceful)(this.conn.as_mut());
            }
        }
        this.conn.poll(cx)
    }
}

async fn serve_io<I>(
    conn: &ConnConfig,
    io: TokioIo<I>,
    svc: ConnService,
    stop: Arc<ShutdownSignal>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if conn.http2 {
        let c = conn.builder.serve_connection_with_upgrades(io, svc);
        Drive::new(c, stop, |c| c.graceful_shutdown()).await
    } else {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .keep_alive(conn.keep_alive)
            .pipeline_flush(true)
            .header_read_timeout(conn.handshake_timeout);
        let c = http1.serve_connection(io, svc).with_upgrades();
        Drive::new(c, stop, |c| c.graceful_shutdown())
            .await
            .map_err(Into::into)
    }
}

/// The per-connection hyper service: adds `ConnectInfo` (the stack adds the `Server`
/// header, with the other response headers).
///
/// hyper calls a connection's service one request at a time through `&self`; the
/// `RefCell` lets it call the stack directly instead of cloning the whole stack (and
/// touching every shared reference count) for each request.
struct ConnService {
    service: std::cell::RefCell<KeelService>,
    peer: SocketAddr,
}

impl hyper::service::Service<http::Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = <KeelService as tower_service::Service<axum::extract::Request>>::Future;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.service.borrow_mut().call(req.map(Body::new))
    }
}

#[cfg(feature = "tls")]
fn tls_acceptor(settings: &ServerSettings) -> io::Result<Option<TlsAcceptor>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let Some(tls) = &settings.tls else {
        return Ok(None);
    };
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("server.tls: {what}: {e}"),
        )
    };
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| bad(&format!("cannot read {}", tls.cert.display()), &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&format!("bad certificate in {}", tls.cert.display()), &e))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| {
        bad(
            &format!("cannot read a private key from {}", tls.key.display()),
            &e,
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("protocol versions", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("certificate and key do not fit", &e))?;
    config.alpn_protocols = if settings.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

#[cfg(not(feature = "tls"))]
fn tls_acceptor(settings: &ServerSettings) -> io::Result<Option<TlsAcceptor>> {
    match settings.tls {
        None => Ok(None),
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "server.tls is set but Keel was built without the `tls` feature",
        )),
    }
}
