//! `--data http://…`: Parquet files read from a real HTTP server (nginx, on
//! a loopback port) by range requests give the report of the same files
//! read locally; what a server can do wrong (no such file, no range
//! requests, not Parquet, a truncated file, nobody listening) is a coded
//! I/O error, exit 2, never a hang or a panic.

use super::common::{repo, retyped_strings, slo, Nginx};
use super::distributed::{RANGE, SHIPPED};
use std::time::{Duration, Instant};

/// A week of the shipped data (read from `data`) under the shipped
/// catalogue, as JSON (the distributed tests' run).
pub(super) fn backtest(data: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = SHIPPED.to_vec();
    args[3] = data;
    args.extend_from_slice(&RANGE);
    args.extend_from_slice(extra);
    slo(&args)
}

/// A directory with the shipped data (and the broken files the failures
/// need), served by nginx.
fn served() -> Option<(tempfile::TempDir, Nginx)> {
    let d = tempfile::tempdir().unwrap();
    let shipped = repo().join("examples/data/platform.parquet");
    std::fs::copy(&shipped, d.path().join("platform.parquet")).unwrap();
    // Its labels as plain strings (stored dictionary-encoded), which the
    // scan reads as dictionaries by handing each file its own schema.
    retyped_strings(&shipped, &d.path().join("strings.parquet"), &datafusion::arrow::datatypes::DataType::Utf8);
    let bytes = std::fs::read(&shipped).unwrap();
    std::fs::write(d.path().join("truncated.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(d.path().join("text.parquet"), "this is not a Parquet file, only text of some length\n").unwrap();
    let server = Nginx::start(d.path())?;
    Some((d, server))
}

#[test]
fn data_over_http_gives_the_report_of_the_local_file() {
    let Some((d, server)) = served() else { return };
    let tl_local = d.path().join("local-timeline.parquet");
    let tl_remote = d.path().join("remote-timeline.parquet");
    let (code, local, err) = backtest("examples/data/platform.parquet", &["--timeline", tl_local.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let url = format!("{}/platform.parquet", server.base);
    let (code, remote, err) = backtest(&url, &["--timeline", tl_remote.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // slo read the footer once for the whole run (the probe, the scan and
    // their checks share it): one request for its last 8 bytes (the
    // engine's own reads take a larger suffix). Each read it three times.
    let size = std::fs::metadata(d.path().join("platform.parquet")).unwrap().len();
    let tail = format!("GET /platform.parquet bytes={}-{}", size - 8, size - 1);
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| **r == tail).count(), 1, "{requests:#?}");
    assert!(local.contains("\"slos\""), "{local}");
    assert_eq!(local, remote, "the report read over HTTP differs from the local one");
    assert!(std::fs::read(&tl_local).unwrap() == std::fs::read(&tl_remote).unwrap(), "the timelines differ");
    let (code, strings, err) = backtest(&format!("{}/strings.parquet", server.base), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(local, strings, "the labels as plain strings over HTTP changed the report");
    // The other readers of the layout take URLs too.
    let (code, inspect_local, err) = slo(&["data", "inspect", "examples/data/platform.parquet", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let (code, inspect_remote, err) = slo(&["data", "inspect", &url, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    // The same but for the file's name.
    assert!(inspect_remote.contains(&format!("\"{url}\"")), "{inspect_remote}");
    assert_eq!(inspect_local, inspect_remote.replace(&url, "examples/data/platform.parquet"));
}

#[test]
fn what_a_server_does_wrong_is_a_coded_io_error() {
    let Some((_d, server)) = served() else { return };
    let base = &server.base;
    let cases = [
        (format!("{base}/missing.parquet"), "no such file"),
        (format!("{base}/norange/platform.parquet"), "does not answer range requests"),
        (format!("{base}/text.parquet"), "Corrupt footer"),
        (format!("{base}/truncated.parquet"), "Corrupt footer"),
        (format!("{base}/"), "directory"),
        (format!("{base}/platform.parquet?version=2"), "query"),
    ];
    for (url, why) in &cases {
        let t = Instant::now();
        let (code, out, err) = backtest(url, &[]);
        assert_eq!(code, 2, "{url}: {out}{err}");
        assert!(err.contains("slo::data::io") && err.contains(url.as_str()), "{url}: {err}");
        assert!(err.contains(why), "{url}: no `{why}` in {err}");
        assert!(!err.contains("panicked"), "{url}: {err}");
        assert!(t.elapsed() < Duration::from_secs(60), "{url}: {:?}", t.elapsed());
    }
    // Nobody listening: refused at once, after a few quick retries.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/platform.parquet");
    let t = Instant::now();
    let (code, out, err) = backtest(&url, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("slo::data::io") && err.contains(&url), "{err}");
    assert!(t.elapsed() < Duration::from_secs(30), "a refused connection took {:?}", t.elapsed());
}
