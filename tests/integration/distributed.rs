//! Distributed backtests end to end: three `slo worker` processes on free
//! loopback ports, the report and the timeline byte-identical to the
//! embedded run's, and the documented failures (an unreachable worker, a
//! worker killed mid-run: `slo::distributed::*`, exit 2, never a hang).

use super::common::{catalogue_copies, heap_peak, repo, slo, Nginx};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `slo worker`, killed when dropped. Its stderr lines (task
/// starts and ends) arrive on `log`.
struct Worker {
    child: Child,
    url: String,
    log: mpsc::Receiver<String>,
}

impl Worker {
    fn start() -> Worker {
        Worker::start_in(&repo())
    }

    /// A worker whose relative paths are relative to `dir`.
    fn start_in(dir: &std::path::Path) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slo"))
            .args(["worker", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("slo worker starts");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let (log_tx, log) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if log_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("slo worker printed no address within 30 s");
            }
        };
        let url = line.trim().strip_prefix("slo worker listening on ").expect("the address line").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Worker { child, url, log }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped catalogue over a week of the shipped data: composites and
/// their components (one block), and independent SLOs (many blocks).
pub(super) const RANGE: [&str; 4] = ["--from", "2026-01-05T00:00:00Z", "--to", "2026-01-12T00:00:00Z"];

/// `slo backtest` of the shipped catalogue and data, a JSON report.
pub(super) const SHIPPED: [&str; 7] =
    ["backtest", "examples/platform", "--data", "examples/data/platform.parquet", "--format", "json", "--quiet"];

fn backtest(extra: &[&str]) -> (i32, String, String) {
    let mut args = SHIPPED.to_vec();
    args.extend_from_slice(&RANGE);
    args.extend_from_slice(extra);
    slo(&args)
}

#[test]
fn distributed_runs_give_the_embedded_report_and_timeline() {
    let workers: Vec<Worker> = (0..3).map(|_| Worker::start()).collect();
    let urls: Vec<&str> = workers.iter().map(|w| w.url.as_str()).collect();
    let d = tempfile::tempdir().unwrap();
    let tl_embedded = d.path().join("embedded.parquet");
    let tl_three = d.path().join("three.parquet");
    let tl_one = d.path().join("one.parquet");

    let (code, embedded, err) = backtest(&["--timeline", tl_embedded.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let all = urls.join(",");
    let (code, three, err) = backtest(&["--timeline", tl_three.to_str().unwrap(), "--workers", &all, "--timing"]);
    assert_eq!(code, 0, "{err}");
    // One worker: the stage still has two tasks, both on it.
    let (code, one, err1) = backtest(&["--timeline", tl_one.to_str().unwrap(), "--workers", urls[0]]);
    assert_eq!(code, 0, "{err1}");

    assert!(embedded.contains("\"slos\""), "{embedded}");
    assert_eq!(embedded, three, "the report of three workers differs from the embedded run's");
    assert_eq!(embedded, one, "the report of one worker differs from the embedded run's");
    let bytes = |p: &std::path::Path| std::fs::read(p).unwrap();
    assert!(bytes(&tl_embedded) == bytes(&tl_three), "the timeline of three workers differs");
    assert!(bytes(&tl_embedded) == bytes(&tl_one), "the timeline of one worker differs");

    // At the server's phases with downtimes (which the job carries to the
    // workers, and the blocks evaluate column by column): the same again.
    let schedule = [
        "--rule-dir",
        "/etc/prometheus/rules",
        "--from",
        "2026-01-05T00:00:17Z",
        "--downtime",
        "2026-01-06T10:00:00Z..2026-01-06T12:00:00Z",
        "--downtime",
        "2026-01-08T03:00:05Z..2026-01-08T03:02:45Z",
    ];
    let (tl_e, tl_d) = (d.path().join("se.parquet"), d.path().join("sd.parquet"));
    let run = |extra: &[&str]| slo(&[&SHIPPED[..], &RANGE[2..], &schedule, extra].concat());
    let (code, e, err_e) = run(&["--timeline", tl_e.to_str().unwrap(), "--timing"]);
    assert_eq!(code, 0, "{err_e}");
    assert!(err_e.contains("17 of 17 blocks column by column"), "{err_e}");
    let (code, dist, err_d) = run(&["--timeline", tl_d.to_str().unwrap(), "--workers", &all]);
    assert_eq!(code, 0, "{err_d}");
    assert!(e != embedded, "the schedule and downtimes changed nothing");
    assert_eq!(e, dist, "with a schedule and downtimes, the report of three workers differs");
    assert!(bytes(&tl_e) == bytes(&tl_d), "with a schedule and downtimes, the timeline of three workers differs");
    // Under a small limit the tasks compute their leaves in waves within
    // the coordinator's budget, as an embedded run does: the same again.
    let tl_small = d.path().join("small.parquet");
    let (code, small, err_s) =
        run(&["--timeline", tl_small.to_str().unwrap(), "--workers", &all, "--memory-limit", "40M"]);
    assert_eq!(code, 0, "{err_s}");
    assert_eq!(e, small, "with the leaves in waves on the workers, the report differs");
    assert!(bytes(&tl_e) == bytes(&tl_small), "with the leaves in waves on the workers, the timeline differs");
    let scans = regex::Regex::new(r"leaves in (\d+) scans").unwrap();
    // Each worker's log so far (the runs before at the default budget
    // took one scan per task).
    let mut logs: Vec<Vec<String>> = workers.iter().map(|w| w.log.try_iter().collect()).collect();
    let most = logs.iter().flatten().filter_map(|l| scans.captures(l).map(|c| c[1].parse::<usize>().unwrap())).max();
    assert!(most.is_some_and(|n| n > 1), "no task computed its leaves in waves at 40M: {logs:?}");

    // The HTML report (each SLO's section and charts built as its block
    // arrives) is the embedded run's too.
    let html = |name: &str, extra: &[&str]| {
        let path = d.path().join(name);
        let shipped = ["backtest", "examples/platform", "--data", "examples/data/platform.parquet", "--quiet"];
        let more = ["--format", "html", "--out", path.to_str().unwrap()];
        let (code, _, err) = slo(&[&shipped[..], &RANGE, &more, extra].concat());
        assert_eq!(code, 0, "{err}");
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(page.contains("<svg"), "{page}");
        page
    };
    assert!(html("e.html", &[]) == html("d.html", &["--workers", &all]), "the HTML report of three workers differs");

    // --timing names the distributed phases and every task's worker.
    assert!(err.contains("distributed plan") && err.contains("merge"), "{err}");
    for (i, _) in urls.iter().enumerate() {
        assert!(err.contains(&format!("task {i} on http://127.0.0.1:")), "{err}");
    }
    // Each worker ran a task (three tasks over three workers).
    for (w, lines) in workers.iter().zip(&mut logs) {
        lines.extend(w.log.try_iter());
        assert!(lines.iter().any(|l| l.contains(": done in ")), "worker {} ran nothing: {lines:?}", w.url);
    }
}

/// The coordinator builds each block's reports as the block's last row
/// arrives and drops its series, as an embedded run drops each block's:
/// what it holds does not grow with the number of SLOs. Over the week,
/// four copies of the catalogue peak at most 20 MiB above one copy (they
/// hold the larger program and its reports: 11 MiB more in a release
/// build). Merging every series first, as it did before, four copies
/// peaked 54 MiB above one (32.5 against 86.5 MiB). How many blocks are in
/// flight at once depends on how fast the report threads keep up: in a
/// full test run on two loaded cores, four copies once peaked 22 MiB above
/// one (53.8 against 31.7 MiB), alone 37–39 MiB. So each peak is the least
/// of two runs; holding every series is not a matter of timing, and would
/// show in both.
#[test]
fn the_coordinator_holds_the_blocks_in_flight_not_every_series() {
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start()).collect();
    let all = workers.iter().map(|w| w.url.as_str()).collect::<Vec<_>>().join(",");
    let d = tempfile::tempdir().unwrap();
    let four = d.path().join("platform");
    catalogue_copies(&four, 4);
    let data = repo().join("examples/data/platform.parquet");
    let peak = |catalogue: &std::path::Path| {
        let root = catalogue.parent().unwrap().to_str().unwrap();
        let args = ["backtest", catalogue.to_str().unwrap(), "--root", root, "--data", data.to_str().unwrap()];
        let more = ["--format", "json", "--quiet", "--timing", "--workers", &all];
        let (code, out, err) = slo(&[&args[..], &RANGE, &more].concat());
        assert_eq!(code, 0, "{err}");
        (out.matches("\"objective\"").count(), heap_peak(&err, "replaying on the workers"))
    };
    let least = |catalogue: &std::path::Path| {
        let (slos, a) = peak(catalogue);
        (slos, a.min(peak(catalogue).1))
    };
    let (slos_one, one) = least(&repo().join("examples/platform"));
    let (slos_four, four) = least(&four);
    eprintln!("the coordinator's peak: one copy {one} MiB, four {four} MiB");
    assert_eq!(slos_four, 4 * slos_one, "the copies are four catalogues");
    assert!(four - one <= 20.0, "one copy: {one} MiB; four: {four} MiB");
}

/// On a terminal the replay's progress bar counts the blocks as they come
/// back from the workers (`script`, of Debian's essential util-linux,
/// gives the run a terminal).
#[test]
fn the_progress_bar_counts_the_blocks_coming_back() {
    let worker = Worker::start();
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("report.json");
    let mut args: Vec<&str> = vec![env!("CARGO_BIN_EXE_slo"), "backtest", "examples/platform"];
    args.extend(["--data", "examples/data/platform.parquet", "--format", "json"]);
    args.extend(["--out", out.to_str().unwrap(), "--workers", &worker.url]);
    args.extend(RANGE);
    let run = Command::new("script").args(["-qec", &args.join(" "), "/dev/null"]).current_dir(repo()).output();
    let run = run.expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{screen}");
    assert!(screen.contains("replay ["), "no replay progress on the terminal: {screen}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"slos\""));
}

#[test]
fn unreachable_workers_and_bad_urls_are_coded_errors() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    let (code, out, err) = backtest(&["--workers", &url]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("slo::distributed::unreachable") && err.contains(&url), "{err}");
    assert!(t.elapsed() < Duration::from_secs(60), "refused connections fail fast");
    assert!(out.is_empty(), "no report: {out}");

    let (code, _, err) = backtest(&["--workers", "127.0.0.1:7501"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::distributed::url"), "{err}");
    let (code, _, err) = backtest(&["--workers", "ftp://127.0.0.1:7501"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::distributed::url"), "{err}");

    let (code, _, err) = slo(&["worker", "--listen", "not-an-address"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::distributed::listen"), "{err}");
}

#[test]
fn a_worker_killed_mid_run_fails_the_run_with_a_coded_error() {
    let mut workers: Vec<Worker> = (0..3).map(|_| Worker::start()).collect();
    let all = workers.iter().map(|w| w.url.as_str()).collect::<Vec<_>>().join(",");
    // The whole shipped data set: long enough that the kill lands mid-task.
    let mut run = Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(SHIPPED)
        .args(["--workers", &all])
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the second worker as soon as it has started its task.
    let victim = &mut workers[1];
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match victim.log.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(": replaying ") => break,
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(Instant::now() < deadline, "the worker never started its task");
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the worker exited before its task"),
        }
    }
    let _ = victim.child.kill();
    let _ = victim.child.wait();
    let killed_at = Instant::now();
    // The run ends (no hang) within the keep-alive bound plus the others' work.
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        if killed_at.elapsed() > Duration::from_secs(180) {
            let _ = run.kill();
            panic!("the backtest hung after a worker died");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = run.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("slo::distributed::worker"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "no report from a failed run");
}

/// Workers that share no file system with the coordinator read the data
/// from the URL it was given (nginx on loopback; the workers run in an
/// empty directory, where the shipped data's path names nothing), and the
/// report is the embedded run's over the local file.
#[test]
fn workers_read_the_data_from_its_url() {
    let served = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("examples/data/platform.parquet"), served.path().join("platform.parquet")).unwrap();
    let Some(server) = Nginx::start(served.path()) else { return };
    let elsewhere = tempfile::tempdir().unwrap();
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start_in(elsewhere.path())).collect();
    let urls = workers.iter().map(|w| w.url.as_str()).collect::<Vec<_>>().join(",");
    let (code, embedded, err) = backtest(&[]);
    assert_eq!(code, 0, "{err}");
    // The local path means nothing to these workers: a coded error.
    let (code, out, err) = backtest(&["--workers", &urls]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("slo::distributed::worker") && err.contains("No such file"), "{err}");
    let data = format!("{}/platform.parquet", server.base);
    let (code, remote, err) = super::remote::backtest(&data, &["--workers", &urls]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(embedded, remote, "the workers' report over HTTP differs from the embedded run's");
    for w in &workers {
        let lines: Vec<String> = w.log.try_iter().collect();
        assert!(lines.iter().any(|l| l.contains(": done in ")), "worker {} ran nothing: {lines:?}", w.url);
    }
}
