//! The HTTP client of `slo data pull`: the only code that talks to the
//! network. A blocking `ureq` agent (rustls) with the server's auth (a
//! bearer token read from a file, basic auth with the password read from a
//! file, extra headers such as Mimir's `X-Scope-OrgID`), a CA file or no
//! verification at all, a timeout per request, and retries with
//! exponential backoff on what may pass (429, 5xx, a refused or reset
//! connection, a timeout). Every failure is an [`Error`] with a
//! `slo::pull::*` code; no server response can panic it: bodies are read
//! up to a limit, and what is in them is the caller's to check.
//!
//! Secrets (the token, the password, header values) are never printed.

use crate::error::Error;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach and authenticate to the server.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Base URL: `http(s)://host:port[/prefix]` (Mimir: `…/prometheus`).
    pub url: String,
    /// `Name: value` headers (repeatable `--header`).
    pub headers: Vec<String>,
    pub bearer_token_file: Option<PathBuf>,
    /// `user:PASSWORD_FILE`.
    pub basic_auth: Option<String>,
    /// PEM file of the CA certificates to trust instead of the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Do not verify the server's certificate.
    pub insecure_skip_verify: bool,
    /// Per request, the whole exchange.
    pub timeout: Duration,
    /// Retries of a request that failed in a way that may pass.
    pub retries: u32,
}

/// What one request came to.
pub(super) enum Reply {
    /// 2xx: the body.
    Ok(Vec<u8>),
    /// The server says the request was too much for it (422 with too many
    /// samples, a query timeout, a body past the limit): the caller asks
    /// for less.
    TooMuch(String),
}

/// Requests made, retried and bytes received.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Traffic {
    pub requests: u64,
    pub retries: u64,
    pub bytes: u64,
}

pub(super) struct Client {
    agent: ureq::Agent,
    base: String,
    headers: Vec<(String, String)>,
    retries: u32,
    /// Body bytes read at most per response.
    limit: u64,
    pub traffic: Traffic,
}

/// Response bodies are read up to this size; larger ones are asked for in
/// smaller pieces.
pub(super) const BODY_LIMIT: u64 = 256 << 20;

fn flag(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::coded("slo::pull::flag", message, help)
}

fn secret_file(flag_name: &str, path: &std::path::Path) -> Result<String, Error> {
    let bytes = crate::input::read_named(flag_name, path)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        flag(format!("{flag_name}: {} is not UTF-8", path.display()), "the file holds the secret as text")
    })?;
    // A trailing newline (`echo x > file`) is not part of the secret.
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    if text.is_empty() {
        return Err(flag(format!("{flag_name}: {} is empty", path.display()), "the file holds the secret as text"));
    }
    Ok(text)
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(T[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A header name as RFC 9110 allows (a token).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Client {
    pub fn new(s: &Settings) -> Result<Client, Error> {
        let url = s.url.trim();
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).ok_or_else(|| {
            flag(format!("--url: `{url}` is not an http:// or https:// URL"), "e.g. --url http://prometheus:9090")
        })?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(flag(format!("--url: `{url}` has no host"), "e.g. --url http://prometheus:9090"));
        }
        if authority.contains('@') {
            return Err(flag(
                "--url: credentials in the URL are not accepted (they would show in messages and process lists)",
                "use --basic-auth USER:PASSWORD_FILE or --bearer-token-file FILE",
            ));
        }
        if rest.contains(['?', '#']) {
            return Err(flag(
                format!("--url: `{url}` has a query or fragment"),
                "give the server's base URL; slo appends /api/v1/…",
            ));
        }
        let base = url.trim_end_matches('/').to_string();
        let mut headers = Vec::new();
        for h in &s.headers {
            let Some((k, v)) = h.split_once(':') else {
                return Err(flag(
                    format!("--header: `{h}` is not `Name: value`"),
                    "e.g. --header 'X-Scope-OrgID: tenant-1'",
                ));
            };
            let (k, v) = (k.trim(), v.trim());
            if !is_token(k) || v.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(flag(
                    format!("--header: `{k}` is not a valid header name, or its value holds control characters"),
                    "e.g. --header 'X-Scope-OrgID: tenant-1'",
                ));
            }
            headers.push((k.to_string(), v.to_string()));
        }
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if s.bearer_token_file.is_some() && s.basic_auth.is_some() {
            return Err(flag("--bearer-token-file and --basic-auth both set", "a server takes one Authorization"));
        }
        if (s.bearer_token_file.is_some() || s.basic_auth.is_some()) && has("authorization") {
            return Err(flag("--header Authorization and an auth flag both set", "keep one of them"));
        }
        if let Some(path) = &s.bearer_token_file {
            let token = secret_file("--bearer-token-file", path)?;
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        if let Some(b) = &s.basic_auth {
            let Some((user, file)) = b.split_once(':').filter(|(u, f)| !u.is_empty() && !f.is_empty()) else {
                return Err(flag(
                    "--basic-auth: expected USER:PASSWORD_FILE",
                    "the password is read from the file (never from the command line): --basic-auth slo:/run/secrets/prom-password",
                ));
            };
            let password = secret_file("--basic-auth", std::path::Path::new(file))?;
            headers
                .push(("Authorization".into(), format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))));
        }
        let mut tls = ureq::tls::TlsConfig::builder().disable_verification(s.insecure_skip_verify);
        if let Some(path) = &s.ca_file {
            let pem = crate::input::read_named("--ca-file", path)?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => return Err(flag(format!("--ca-file: {}: {e}", path.display()), "give PEM certificates")),
                }
            }
            if certs.is_empty() {
                return Err(flag(
                    format!("--ca-file: {} holds no PEM certificate", path.display()),
                    "give the CA certificate(s) that signed the server's certificate, in PEM",
                ));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(s.timeout))
            .timeout_connect(Some(s.timeout.min(Duration::from_secs(30))))
            .max_redirects(0)
            .user_agent(concat!("slo/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Client { agent, base, headers, retries: s.retries, limit: BODY_LIMIT, traffic: Traffic::default() })
    }

    /// The base URL, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One exchange, retried with backoff on 429, 5xx (but a query
    /// timeout) and connection failures: a 2xx response with its body
    /// unread, or the final status with the API's error type and message.
    fn exchange(
        &mut self,
        path: &str,
        params: &[(&str, &str)],
        post: Option<Post>,
    ) -> Result<Result<ureq::http::Response<ureq::Body>, Refusal>, Error> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0u32;
        loop {
            self.traffic.requests += 1;
            let sent = match post {
                None => {
                    let mut req = self.agent.get(&url);
                    for (k, v) in params {
                        req = req.query(k, v);
                    }
                    for (k, v) in &self.headers {
                        req = req.header(k, v);
                    }
                    req.call()
                }
                Some((body, extra)) => {
                    let mut req = self.agent.post(&url);
                    for (k, v) in
                        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(extra.iter().copied())
                    {
                        req = req.header(k, v);
                    }
                    req.send(body)
                }
            };
            // Why this attempt failed, if it may be retried.
            let transient: String = match sent {
                Ok(resp) if resp.status().is_success() => return Ok(Ok(resp)),
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    // An error body is short; a long one is cut.
                    let body = resp.body_mut().with_config().limit(1 << 20).read_to_vec().unwrap_or_default();
                    self.traffic.bytes += body.len() as u64;
                    let (kind, message) = api_error(&body);
                    if (status == 429 || status >= 500) && kind != "timeout" && attempt < self.retries {
                        self.backoff(&mut attempt, retry_after);
                        continue;
                    }
                    return Ok(Err(Refusal { url, status, kind, message, attempts: attempt + 1 }));
                }
                Err(e) if is_transient(&e) => format!("{e}"),
                Err(e) => return Err(transport(&url, e)),
            };
            if attempt < self.retries {
                self.backoff(&mut attempt, None);
                continue;
            }
            return Err(unavailable(&url, &transient, attempt + 1));
        }
    }

    /// `GET <base><path>?<params>` (see [`Client::exchange`]), the body
    /// read whole up to [`BODY_LIMIT`].
    pub fn get(&mut self, path: &str, params: &[(&str, &str)]) -> Result<Reply, Error> {
        let mut attempt = 0u32;
        loop {
            let resp = match self.exchange(path, params, None)? {
                Ok(r) => r,
                Err(r) if r.kind == "timeout" || (r.status == 422 && r.message.contains("too many samples")) => {
                    return Ok(Reply::TooMuch(r.message))
                }
                Err(r) => return Err(r.error()),
            };
            match resp.into_body().into_with_config().limit(self.limit).read_to_vec() {
                Ok(b) => {
                    self.traffic.bytes += b.len() as u64;
                    return Ok(Reply::Ok(b));
                }
                Err(ureq::Error::BodyExceedsLimit(_)) => {
                    return Ok(Reply::TooMuch(format!("a response larger than {} MiB", self.limit >> 20)))
                }
                Err(e) if is_transient(&e) && attempt < self.retries => self.backoff(&mut attempt, None),
                Err(e) => return Err(transport(&format!("{}{path}", self.base), e)),
            }
        }
    }

    /// `POST <base><path>` with `body` and `headers` (see
    /// [`Client::exchange`]): a 2xx response's content type and its body
    /// as a reader (at most [`BODY_LIMIT`] bytes), or the refusal.
    pub fn post(
        &mut self,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<Result<(String, impl std::io::Read + use<>), Refusal>, Error> {
        Ok(match self.exchange(path, &[], Some((body, headers)))? {
            Ok(resp) => {
                let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                Ok((ct, resp.into_body().into_with_config().limit(self.limit).reader()))
            }
            Err(r) => Err(r),
        })
    }

    /// Waits before the next attempt: 0.5 s, 1 s, 2 s … at most 30 s, or
    /// the server's `Retry-After` (at most 60 s).
    fn backoff(&mut self, attempt: &mut u32, retry_after: Option<u64>) {
        let ms = retry_after.map_or_else(|| (500u64 << (*attempt).min(6)).min(30_000), |s| s.min(60) * 1000);
        *attempt += 1;
        self.traffic.retries += 1;
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// A certificate the TLS library refused reaches us as an I/O error of
/// kind `InvalidData` (rustls's error inside): no retry changes it.
fn is_tls(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Tls(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

/// A POST's body and extra headers.
type Post<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

/// A final non-2xx answer.
#[derive(Debug)]
pub(super) struct Refusal {
    pub url: String,
    pub status: u16,
    /// The API's `errorType` (empty when the body is not the API's JSON).
    pub kind: String,
    pub message: String,
    attempts: u32,
}

impl Refusal {
    pub fn error(&self) -> Error {
        if self.status == 429 || self.status >= 500 {
            unavailable(&self.url, &format!("HTTP {}: {}", self.status, super::short(&self.message)), self.attempts)
        } else {
            status_error(&self.url, self.status, &self.message)
        }
    }
}

fn unavailable(url: &str, why: &str, attempts: u32) -> Error {
    Error::coded(
        "slo::pull::unavailable",
        format!("{url}: {why} (after {attempts} attempts)"),
        "the server is unreachable or overloaded: check --url, or raise --retries / --timeout",
    )
}

fn is_transient(e: &ureq::Error) -> bool {
    !is_tls(e)
        && matches!(
            e,
            ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_)
        )
}

fn transport(url: &str, e: ureq::Error) -> Error {
    match e {
        e if is_tls(&e) => Error::coded(
            "slo::pull::tls",
            format!("{url}: TLS: {e}"),
            "give the server's CA with --ca-file, or (for a test server only) --insecure-skip-verify",
        ),
        ureq::Error::HostNotFound => {
            Error::coded("slo::pull::unavailable", format!("{url}: host not found"), "check the host in --url")
        }
        other => Error::coded("slo::pull::unavailable", format!("{url}: {other}"), "check --url and the network"),
    }
}

/// `errorType` and `error` of a Prometheus API error body (or the start of
/// the body when it is not one).
pub(super) fn api_error(body: &[u8]) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct E {
        #[serde(rename = "errorType", default)]
        kind: String,
        #[serde(default)]
        error: String,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(e) if !e.error.is_empty() || !e.kind.is_empty() => (e.kind, e.error),
        _ => {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string();
            (String::new(), if text.is_empty() { "(empty body)".into() } else { text })
        }
    }
}

fn status_error(url: &str, status: u16, msg: &str) -> Error {
    let msg = super::short(msg);
    let (code, help) = match status {
        401 | 403 => (
            "slo::pull::auth",
            "the server refused the credentials: check --bearer-token-file / --basic-auth, and for Mimir or Cortex the tenant (--header 'X-Scope-OrgID: <tenant>')",
        ),
        404 => (
            "slo::pull::not_found",
            "the URL has no Prometheus API under it: give the base URL (for Mimir, …/prometheus; for Thanos, the Query component)",
        ),
        422 => ("slo::pull::http", "the server could not run the query: a smaller --chunk asks for fewer samples at a time"),
        _ => ("slo::pull::http", "check --url and the server's logs"),
    };
    Error::coded(code, format!("{url}: HTTP {status}: {msg}"), help)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_pads() {
        assert_eq!(super::base64(b"slo:secret"), "c2xvOnNlY3JldA==");
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"abc"), "YWJj");
        assert_eq!(super::base64(b""), "");
    }

    #[test]
    fn api_errors_are_read_whatever_the_body() {
        let (k, m) = super::api_error(br#"{"status":"error","errorType":"execution","error":"too many samples"}"#);
        assert_eq!((k.as_str(), m.as_str()), ("execution", "too many samples"));
        assert_eq!(super::api_error(b"").1, "(empty body)");
        assert_eq!(super::api_error(b"<html>bad gateway</html>").1, "<html>bad gateway</html>");
        assert_eq!(super::api_error(&[0xff, 0xfe]).0, "");
    }
}
