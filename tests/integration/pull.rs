//! `slo data pull` and `slo backtest --url` against real Prometheus servers
//! (2.42 from Debian's `prometheus` package, 3.5 from sid's, unpacked under
//! `.tools/` by .ci/install-promtool.sh) on loopback ports, never a mock:
//! synthetic data goes into a TSDB through `slo data export` and
//! `promtool tsdb create-blocks-from openmetrics`, the server serves it,
//! and the pulled file must give the same backtest report as the original
//! Parquet, byte for byte. Without the binaries the tests are skipped with
//! the reason printed; with `SLO_REQUIRE_PROMTOOL=1` (CI) they fail.

use super::common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(super) fn required() -> bool {
    std::env::var("SLO_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1")
}

pub(super) fn runs(p: &Path) -> bool {
    Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The Prometheus server of `version` ("2" or "3"), or None (skip) when it
/// is absent and not required.
pub(super) fn server_bin(version: &str) -> Option<PathBuf> {
    let bin = match version {
        "2" => PathBuf::from("/usr/bin/prometheus"),
        _ => repo().join(".tools/prometheus3/usr/bin/prometheus"),
    };
    if runs(&bin) {
        return Some(bin);
    }
    if required() {
        panic!(
            "the Prometheus {version}.x server is required (SLO_REQUIRE_PROMTOOL=1) but {} does not run: run .ci/install-promtool.sh",
            bin.display()
        );
    }
    eprintln!(
        "skipped: Prometheus {version}.x not found at {} (set SLO_REQUIRE_PROMTOOL=1 to make this fail)",
        bin.display()
    );
    None
}

/// promtool 3.5 from `.tools/`, else one on PATH.
pub(super) fn promtool() -> Option<PathBuf> {
    let pinned = repo().join(".tools/promtool3/usr/bin/promtool");
    if runs(&pinned) {
        return Some(pinned);
    }
    if runs(Path::new("promtool")) {
        return Some(PathBuf::from("promtool"));
    }
    if required() {
        panic!("promtool is required (SLO_REQUIRE_PROMTOOL=1) but neither {} nor `promtool` runs", pinned.display());
    }
    eprintln!("skipped: promtool not found (set SLO_REQUIRE_PROMTOOL=1 to make this fail)");
    None
}

/// A running server, killed when dropped (also when a test panics).
pub(super) struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the server is started beyond the defaults.
#[derive(Default)]
pub(super) struct Start<'a> {
    /// Extra flags.
    pub flags: Vec<String>,
    /// `--web.config.file` contents (TLS, basic auth), and how to probe
    /// readiness then: an agent and an Authorization header.
    pub web_config: Option<&'a str>,
    /// The configuration file (`{self}`: the server's own address);
    /// default: no scrape targets.
    pub config: Option<&'a str>,
}

pub(super) fn probe_agent(insecure: bool) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .tls_config(ureq::tls::TlsConfig::builder().disable_verification(insecure).build())
        .build()
        .into()
}

/// Starts `bin` on a free loopback port over the TSDB at `tsdb` and waits
/// (at most 60 s) until `/-/ready` answers 200.
pub(super) fn start(bin: &Path, tsdb: &Path, dir: &Path, how: &Start) -> Server {
    let config = dir.join("prometheus.yml");
    // By default no scrape targets: the server only serves what was backfilled.
    let text = how.config.unwrap_or("global:\n  scrape_interval: 1m\n");
    let scheme = if how.web_config.is_some() { "https" } else { "http" };
    let auth = how.web_config.map(|_| "Basic c2xvOnMzY3JldA=="); // slo:s3cret
    for attempt in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join(format!("prometheus-{port}.log"));
        std::fs::write(&config, text.replace("{self}", &format!("127.0.0.1:{port}"))).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            // The synthetic samples are from 2026-01: far older than the
            // default 15d retention of whenever the test runs.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(&how.flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(web) = how.web_config {
            let path = dir.join("web.yml");
            std::fs::write(&path, web).unwrap();
            cmd.arg(format!("--web.config.file={}", path.display()));
        }
        let mut server = Server { child: cmd.spawn().unwrap(), url: format!("{scheme}://127.0.0.1:{port}") };
        let agent = probe_agent(true);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if attempt < 2 && text.contains("address already in use") {
                    break;
                }
                panic!("{} exited ({status}) before it was ready:\n{text}", bin.display());
            }
            let mut req = agent.get(format!("{}/-/ready", server.url));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            if req.call().is_ok_and(|r| r.status() == 200) {
                return server;
            }
            if Instant::now() > deadline {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("{} was not ready within 60 s:\n{text}", bin.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(server);
    }
    panic!("no free port for {}", bin.display());
}

/// The synthetic data, its OpenMetrics text and a TSDB made of it.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

fn fixture(promtool: &Path) -> Fixture {
    let f = Fixture { dir: tempfile::tempdir().unwrap() };
    let p = |n: &str| f.path(n);
    synth_openmetrics(f.dir.path());
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", &p("orig.om"), &p("tsdb")])
        .output()
        .unwrap();
    assert!(out.status.success(), "create-blocks: {}", String::from_utf8_lossy(&out.stderr));
    f
}

/// bench/bench.slo reads `http_requests_total` through rates of up to 6h:
/// with the 5m lookback, a pull for evaluations from 06:05 starts at
/// 00:00, the first synthetic sample, so the pulled file holds all of it.
const FROM: &str = "2026-01-01T06:05:00Z";
const TO: &str = "2026-01-04T00:00:00Z";

fn report(data: &str) -> String {
    let (code, out, err) = slo(&[
        "backtest",
        "bench/bench.slo",
        "--data",
        data,
        "--format",
        "json",
        "--quiet",
        "--from",
        FROM,
        "--to",
        TO,
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

fn pull(url: &str, out: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["data", "pull", "bench/bench.slo", "--url", url, "--from", FROM, "--to", TO, "--out", out];
    args.extend(extra);
    let (code, _, err) = slo(&args);
    (code, err)
}

/// The number before `label` in the pull's summary line.
pub(super) fn figure(summary: &str, label: &str) -> u64 {
    let at = summary.find(label).unwrap_or_else(|| panic!("no `{label}` in {summary}"));
    summary[..at].trim_end().rsplit([' ', '(']).next().unwrap().parse().unwrap()
}

fn pull_and_compare(version: &str) {
    let Some(bin) = server_bin(version) else { return };
    let Some(promtool) = promtool() else { return };
    let f = fixture(&promtool);
    let p = |n: &str| f.path(n);
    let original = report(&p("orig.parquet"));
    assert!(original.contains("\"firing\": [\n"), "the incident fires an alert: {original}");

    let server = start(&bin, Path::new(&p("tsdb")), f.dir.path(), &Start::default());
    // promtool's backfill turned the staleness markers into NaN values.
    let (code, err) = pull(&server.url, &p("pulled.parquet"), &["--nan-as-stale", "--chunk", "3h"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("from 2026-01-01T00:00:00Z to 2026-01-03T23:59:30Z"), "{err}");
    assert!(err.contains("through the remote read (streamed chunks)"), "remote read is preferred: {err}");
    assert!(err.contains("(14 staleness markers)"), "{err}");
    let t0 = Instant::now();
    let samples = figure(&err, "samples (");
    assert_eq!(samples, 51750, "{err}");
    eprintln!("Prometheus {version}: {err}");
    // Pull → backtest equals the backtest of the original, byte for byte.
    assert!(report(&p("pulled.parquet")) == original, "the pulled data's report differs from the original's");
    // Every sample, marker and label came back: the same text.
    let (code, _, err) = slo(&["data", "export", &p("pulled.parquet"), "--out", &p("pulled.om")]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(p("orig.om")).unwrap() == std::fs::read(p("pulled.om")).unwrap(), "the text differs");
    // A rerun gives the same file.
    let (code, err) = pull(&server.url, &p("again.parquet"), &["--nan-as-stale", "--chunk", "3h", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "--quiet prints nothing: {err}");
    assert!(std::fs::read(p("pulled.parquet")).unwrap() == std::fs::read(p("again.parquet")).unwrap());
    // The query API and remote read of samples (not chunks) give the same file.
    for api in ["query", "remote-read-samples"] {
        let (code, err) =
            pull(&server.url, &p(&format!("{api}.parquet")), &["--nan-as-stale", "--chunk", "3h", "--api", api]);
        assert_eq!(code, 0, "{err}");
        let through = if api == "query" { "through the query API" } else { "through the remote read (samples)" };
        assert!(err.contains(through), "{err}");
        assert!(
            std::fs::read(p("pulled.parquet")).unwrap() == std::fs::read(p(&format!("{api}.parquet"))).unwrap(),
            "--api {api} gives another file"
        );
    }
    // `backtest --url` pulls on the fly, and leaves no file behind.
    let (code, out, err) = slo(&[
        "backtest",
        "bench/bench.slo",
        "--url",
        &server.url,
        "--nan-as-stale",
        "--from",
        FROM,
        "--to",
        TO,
        "--format",
        "json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out == original, "backtest --url differs from the original's report");
    eprintln!("(pull + report checks took {:.1}s)", t0.elapsed().as_secs_f64());
    drop(server);

    // A server that refuses large queries: pieces are split until they pass.
    let strict = Start {
        flags: vec!["--query.max-samples=1000".into(), "--storage.remote.read-sample-limit=1000".into()],
        ..Default::default()
    };
    let server = start(&bin, Path::new(&p("tsdb")), f.dir.path(), &strict);
    for api in ["query", "remote-read-samples"] {
        let (code, err) = pull(&server.url, &p("split.parquet"), &["--nan-as-stale", "--chunk", "1d", "--api", api]);
        assert_eq!(code, 0, "{err}");
        assert!(figure(&err, "split,") > 0, "no piece was split: {err}");
        assert!(std::fs::read(p("pulled.parquet")).unwrap() == std::fs::read(p("split.parquet")).unwrap());
    }
    drop(server);

    // HTTPS with basic auth (Prometheus's --web.config.file).
    let certs = repo().join("tests/pull");
    let web = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  slo: $2b$12$wZ/wyaDUXy4CSrdKsGhDz.NormuUVt9BymbGtpxirQyreWWLyHiW6\n",
        certs.join("server.crt").display(),
        certs.join("server.key").display()
    );
    let tls = Start { web_config: Some(&web), ..Default::default() };
    let server = start(&bin, Path::new(&p("tsdb")), f.dir.path(), &tls);
    std::fs::write(p("password"), "s3cret\n").unwrap();
    std::fs::write(p("wrong"), "guess\n").unwrap();
    let ca = certs.join("ca.crt").to_str().unwrap().to_string();
    let auth = format!("slo:{}", p("password"));
    let (code, err) = pull(
        &server.url,
        &p("tls.parquet"),
        &["--nan-as-stale", "--chunk", "1d", "--ca-file", &ca, "--basic-auth", &auth, "--header", "X-Scope-OrgID: t1"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(p("pulled.parquet")).unwrap() == std::fs::read(p("tls.parquet")).unwrap());
    let wrong = format!("slo:{}", p("wrong"));
    let (code, err) = pull(&server.url, &p("x.parquet"), &["--ca-file", &ca, "--basic-auth", &wrong]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::pull::auth") && err.contains("401"), "{err}");
    assert!(!err.contains("guess"), "the password is never printed: {err}");
    let (code, err) = pull(&server.url, &p("x.parquet"), &["--basic-auth", &auth]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::pull::tls"), "an unknown CA is a TLS error: {err}");
    let (code, err) = pull(
        &server.url,
        &p("x.parquet"),
        &["--nan-as-stale", "--chunk", "1d", "--insecure-skip-verify", "--basic-auth", &auth, "--quiet"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(p("pulled.parquet")).unwrap() == std::fs::read(p("x.parquet")).unwrap());
    drop(server);
    // Nothing but the outputs in the directory: no temporary files left.
    let stray: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".slo-tmp-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn pull_from_prometheus_2_backtests_like_the_original() {
    pull_and_compare("2");
}

#[test]
fn pull_from_prometheus_3_backtests_like_the_original() {
    pull_and_compare("3");
}

/// Failures without a server: coded errors, exit 2, within bounded time,
/// and no output file.
#[test]
fn pull_failures_are_coded_errors() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out.parquet");
    let out = out.to_str().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    for (url, extra, code) in [
        (refused.as_str(), vec!["--retries", "1"], "slo::pull::unavailable"),
        ("ftp://example.com", vec![], "slo::pull::flag"),
        ("http://user:pw@127.0.0.1:1", vec![], "slo::pull::flag"),
        (refused.as_str(), vec!["--header", "no colon"], "slo::pull::flag"),
        (refused.as_str(), vec!["--basic-auth", "user"], "slo::pull::flag"),
    ] {
        let (exit, err) = pull(url, out, &extra);
        assert_eq!(exit, 2, "{url} {extra:?}: {err}");
        assert!(err.contains(code), "{url} {extra:?}: {err}");
        assert!(!err.contains("pw@"), "credentials are not echoed: {err}");
    }
    assert!(t0.elapsed() < Duration::from_secs(30), "failures took {:?}", t0.elapsed());
    assert!(!Path::new(out).exists());
    let (exit, _, err) = slo(&["backtest", "bench/bench.slo", "--url", &refused]);
    assert_eq!(exit, 2, "--url needs --from and --to: {err}");
}

/// The query API drops staleness markers; remote read returns them as
/// stored. A server scrapes itself every second, then its target is
/// replaced by a dead one (a reload), which ends the series with a
/// marker: the remote-read pull has it, the query-API pull has the same
/// samples without it.
fn markers_survive_remote_read(version: &str) {
    let Some(bin) = server_bin(version) else { return };
    let d = tempfile::tempdir().unwrap();
    let scrape = |target: &str| {
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: [\"{target}\"]\n")
    };
    let config = scrape("{self}");
    let how = Start { flags: vec!["--web.enable-lifecycle".into()], config: Some(&config), ..Default::default() };
    let tsdb = d.path().join("tsdb");
    let server = start(&bin, &tsdb, d.path(), &how);
    let slo_file = d.path().join("self.slo");
    std::fs::write(&slo_file, "service self {\n  owner = \"sre\"\n}\n\nslo up for self {\n  objective = 99% over 1h\n  sli gauge {\n    series = up{job=\"self\"}\n  }\n}\n").unwrap();
    let agent = probe_agent(false);
    let until = |what: &str, mut ok: Box<dyn FnMut() -> bool + '_>| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ok() {
            assert!(Instant::now() < deadline, "Prometheus {version}: no {what} within 60 s");
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    until(
        "three scrapes",
        Box::new(|| {
            agent
                .get(format!("{}/api/v1/query", server.url))
                .query("query", "count_over_time(up{job=\"self\"}[1m]) >= 3")
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .is_some_and(|b| b.contains("\"value\""))
        }),
    );
    std::fs::write(d.path().join("prometheus.yml"), scrape("127.0.0.1:1")).unwrap();
    let reloaded = agent.post(format!("{}/-/reload", server.url)).send_empty().unwrap();
    assert_eq!(reloaded.status(), 200);
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let from = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 60).to_string();
    let pull_self = |api: &str, to: &str| {
        let out = d.path().join(format!("{api}.parquet"));
        let (code, _, err) = slo(&[
            "data",
            "pull",
            slo_file.to_str().unwrap(),
            "--url",
            &server.url,
            "--from",
            &from,
            "--to",
            to,
            "--out",
            out.to_str().unwrap(),
            "--api",
            api,
        ]);
        assert_eq!(code, 0, "{err}");
        (figure(&err, "samples ("), figure(&err, "staleness markers)"), err)
    };
    let mut to = now();
    until(
        "staleness marker through remote read",
        Box::new(|| {
            to = now();
            pull_self("remote-read", &to).1 > 0
        }),
    );
    let (samples, markers, err) = pull_self("remote-read", &to);
    assert!(err.contains("through the remote read"), "{err}");
    let (q_samples, q_markers, err) = pull_self("query", &to);
    assert!(err.contains("through the query API"), "{err}");
    assert_eq!((q_samples, q_markers), (samples, 0), "the query API has the samples, not the marker ({markers})");
    drop(server);
}

#[test]
fn remote_read_keeps_staleness_markers_on_prometheus_2() {
    markers_survive_remote_read("2");
}

#[test]
fn remote_read_keeps_staleness_markers_on_prometheus_3() {
    markers_survive_remote_read("3");
}
