//! Starting, stopping and talking to a real `omnigate serve`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_omnigate");
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A `Command` for the binary with a clean OMNIGATE_* environment pointing
/// at `data_dir`.
pub fn omnigate(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OMNIGATE_") {
            command.env_remove(key);
        }
    }
    command
        .env("OMNIGATE_STORAGE__DATA_DIR", data_dir)
        .env("OMNIGATE_PLUGINS__DIR", data_dir.join("dropins"))
        .env("OMNIGATE_SERVER__LISTEN", "127.0.0.1:0")
        .env("OMNIGATE_LOGGING__FORMAT", "json");
    command
}

/// Runs a CLI command to completion, feeding `stdin`.
pub fn run_cli(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = omnigate(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits without reading its input;
    // the broken pipe that causes is not the test's concern.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// Creates the first admin through the CLI, as an operator would.
pub fn create_admin(data_dir: &Path) {
    let out = run_cli(
        data_dir,
        &[
            "admin",
            "create-user",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "First Admin",
            "--role",
            "admin",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running server.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// A fresh data dir with a first admin, and a server on it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub server: Server,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        create_admin(dir.path());
        let server = Server::start(dir.path(), &[]).await;
        Fixture { dir, server }
    }
}

/// A clock the server reads from a file (`testing.clock_file`): tests move
/// time by rewriting it, never by sleeping.
pub struct TestClock {
    path: PathBuf,
    now_ms: Mutex<i64>,
}

impl TestClock {
    /// 2026-11-25T09:00:00Z, a fixed start.
    pub const START_MS: i64 = 1_795_597_200_000;

    pub fn new(dir: &Path) -> TestClock {
        let path = dir.join("clock");
        std::fs::write(&path, Self::START_MS.to_string()).unwrap();
        TestClock {
            path,
            now_ms: Mutex::new(Self::START_MS),
        }
    }

    pub fn advance_secs(&self, secs: i64) {
        let mut now = self.now_ms.lock().unwrap();
        *now += secs * 1000;
        // Write then rename, so the server never reads a half-written file.
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, now.to_string()).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }

    pub fn env(&self) -> (&'static str, String) {
        (
            "OMNIGATE_TESTING__CLOCK_FILE",
            self.path.display().to_string(),
        )
    }
}

/// A server on a controllable clock with a first admin.
pub struct Desk {
    pub dir: tempfile::TempDir,
    pub clock: TestClock,
    pub server: Server,
    pub admin: Auth,
}

impl Desk {
    pub async fn start() -> Desk {
        Desk::start_with(&[]).await
    }

    pub async fn start_with(extra_env: &[(&str, &str)]) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        create_admin(dir.path());
        let clock = TestClock::new(dir.path());
        let (key, value) = clock.env();
        let mut env: Vec<(&str, &str)> = vec![(key, value.as_str())];
        env.extend_from_slice(extra_env);
        let server = Server::start(dir.path(), &env).await;
        let admin = server.admin().await;
        Desk {
            dir,
            clock,
            server,
            admin,
        }
    }

    /// Stops the server (SIGKILL with `kill9`, else SIGTERM) and starts a
    /// new one on the same data dir and clock.
    pub async fn restart(self, kill9: bool) -> Desk {
        let Desk {
            dir, clock, server, ..
        } = self;
        if kill9 {
            server.kill9();
        } else {
            server.stop().await;
        }
        let (key, value) = clock.env();
        let server = Server::start(dir.path(), &[(key, value.as_str())]).await;
        let admin = server.admin().await;
        Desk {
            dir,
            clock,
            server,
            admin,
        }
    }
}

impl Server {
    /// Starts `omnigate serve` and waits for its "listening" log line.
    pub async fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut command = omnigate(data_dir);
        command.arg("serve").envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = mpsc::channel();
        let lines = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let event = serde_json::from_str::<Value>(&line).unwrap_or_default();
                lines.lock().unwrap().push(line);
                if event["message"] == "listening" {
                    let _ = found.send(event["addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        });
        let addr = match listening.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        let client = client_for(data_dir, false);
        Server {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
            client,
            log,
            reader: Some(reader),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGTERM, then wait for exit.
    pub async fn stop(self) -> ExitStatus {
        self.stop_with_log().await.0
    }

    /// SIGTERM, wait for exit, and return the whole log, shutdown included.
    /// Waits without blocking the test's runtime, so the client's open
    /// connections can answer the server's graceful close.
    pub async fn stop_with_log(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // The reader thread ends at end-of-file, once the process is gone.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.log())
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends a request with optional session, CSRF token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        match auth {
            Auth::None => {}
            Auth::Session { cookie, csrf } => {
                request = request
                    .header("cookie", format!("__Host-omnigate_session={cookie}"))
                    .header("x-csrf-token", csrf);
            }
            Auth::SessionWithoutCsrf { cookie } => {
                request = request.header("cookie", format!("__Host-omnigate_session={cookie}"));
            }
            Auth::Bearer(token) => request = request.bearer_auth(token),
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Logs in and returns the session, failing the test otherwise.
    pub async fn session(&self, email: &str, password: &str) -> Auth {
        let reply = self.login(email, password).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        Auth::Session {
            cookie: reply.session_cookie().unwrap(),
            csrf: reply.body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn admin(&self) -> Auth {
        self.session(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user through the API and returns (id, session).
    pub async fn user_with_role(&self, admin: &Auth, email: &str, role: &str) -> (u64, Auth) {
        let password = "a long enough password";
        let reply = self
            .call(
                Method::POST,
                "/api/v1/users",
                admin,
                Some(json!({ "email": email, "display_name": email, "role": role, "password": password })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let id = reply.body["user"]["id"].as_u64().unwrap();
        (id, self.session(email, password).await)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTPS client trusting only the server's self-signed certificate.
pub fn client_for(data_dir: &Path, http1_only: bool) -> reqwest::Client {
    let pem = std::fs::read(data_dir.join("tls/self-signed.crt")).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(30));
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Session { cookie: String, csrf: String },
    SessionWithoutCsrf { cookie: String },
    Bearer(String),
}

impl Auth {
    pub fn without_csrf(&self) -> Auth {
        match self {
            Auth::Session { cookie, .. } => Auth::SessionWithoutCsrf {
                cookie: cookie.clone(),
            },
            other => other.clone(),
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub version: reqwest::Version,
    pub body: Value,
    pub text: String,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let version = response.version();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            version,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    /// The session token from `Set-Cookie`, if one was set.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("__Host-omnigate_session="))
            .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
            .filter(|token| !token.is_empty())
    }

    /// Asserts the API error shape, status and code.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.header("content-type").starts_with("application/json"),
            "content type {:?} for {}",
            self.header("content-type"),
            self.text
        );
        assert_eq!(self.body["error"]["code"], code, "{}", self.text);
        let message = self.body["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "no message in {}", self.text);
        let keys: Vec<_> = self.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["error"], "{}", self.text);
    }
}
