//! Helpers shared by the test modules.

use slo::diag::{self, Diagnostics};
use slo::driver::{self, Loaded};
use slo::ir::Program;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.slo` file under `dir` (relative to the repo), sorted.
pub fn slo_files(dir: &str) -> Vec<PathBuf> {
    driver::expand(&[repo().join(dir)]).expect("listing test files")
}

/// Loads and checks one file with the repo as project root.
pub fn check_file(path: &Path) -> (Loaded, Program, Diagnostics) {
    let loaded = driver::load(&[path.to_path_buf()], &repo()).expect("reading test file");
    let (program, diags) = driver::check(&loaded);
    (loaded, program, diags)
}

/// Diagnostics rendered without colour at a fixed width, for snapshots.
pub fn render(loaded: &Loaded, diags: &Diagnostics) -> String {
    diag::render_human(diags, &loaded.sources, false, 100)
}

/// A name for snapshots: the path relative to the repo, `/` → `__`.
pub fn snap_name(path: &Path) -> String {
    path.strip_prefix(repo()).unwrap_or(path).display().to_string().replace(['/', '.'], "_")
}

/// Runs the binary from the repository root: (exit code, stdout, stderr).
pub fn slo(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary like [`slo`] and measures its peak resident set size in
/// KiB (python3's `getrusage` of the one child it waited for).
pub fn slo_peak_rss(args: &[&str]) -> (i32, String, String, u64) {
    const WRAP: &str = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[1:])\n\
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
        sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(WRAP)
        .arg(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("python3 runs (CI installs it)");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let (err, rss) = err.trim_end().rsplit_once('\n').unwrap_or(("", err.trim_end()));
    let rss = rss.trim().parse().unwrap_or_else(|_| panic!("no RSS figure in {err}{rss}"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), err.to_string(), rss)
}

/// Writes named columns as one Parquet file (a dataset for the backtester).
pub fn write_parquet(path: &Path, cols: Vec<(&str, datafusion::arrow::array::ArrayRef)>) {
    use datafusion::arrow::array::RecordBatch;
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(
        cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), cols.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// `from` rewritten to `to` with every string column (plain or a
/// dictionary of strings) typed `ty`, row groups and encodings the
/// writer's defaults (dictionary-encoded pages).
pub fn retyped_strings(from: &Path, to: &Path, ty: &datafusion::arrow::datatypes::DataType) {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;
    let is_string = |t: &DataType| match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
        _ => false,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(from).unwrap()).unwrap().build().unwrap();
    let mut writer = None;
    for batch in reader {
        let batch = batch.unwrap();
        let cols: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| match is_string(c.data_type()) {
                true => datafusion::arrow::compute::cast(c, ty).unwrap(),
                false => c.clone(),
            })
            .collect();
        let old = batch.schema();
        let fields = old.fields().iter().zip(&cols);
        let fields = fields.map(|(f, c)| Field::new(f.name(), c.data_type().clone(), f.is_nullable()));
        let schema = Arc::new(Schema::new(fields.collect::<Vec<_>>()));
        let w = writer.get_or_insert_with(|| {
            datafusion::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(to).unwrap(), schema.clone(), None)
                .unwrap()
        });
        w.write(&datafusion::arrow::array::RecordBatch::try_new(schema, cols).unwrap()).unwrap();
    }
    writer.unwrap().close().unwrap();
}

/// What a run under [`slo_capped`] did.
pub struct Capped {
    /// The exit code, or `None` when the run was killed (time limit or signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: std::time::Duration,
}

/// Runs the binary from `dir` under an address-space cap (`ulimit -v`, in
/// MiB) and a wall-clock limit: a hostile input must end in a coded error
/// within both. A run past the time limit is killed and reported with
/// `code: None`.
pub fn slo_capped(dir: &Path, args: &[&str], mem_mib: u64, secs: u64) -> Capped {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", mem_mib * 1024))
        .arg(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        // Bounded: a run that floods stderr is a failure of its own.
        let _ = (&mut err).take(16 << 20).read_to_end(&mut b);
        b
    });
    let deadline = start + std::time::Duration::from_secs(secs);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    Capped {
        code,
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
        elapsed,
    }
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// `slo synth` data (6 series, 3 days at 30s, an incident on day 2) at
/// `dir/orig.parquet`, exported as OpenMetrics to `dir/orig.om`; the
/// export's stderr.
pub fn synth_openmetrics(dir: &std::path::Path) -> String {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (code, _, err) = slo(&[
        "synth",
        "--out",
        &p("orig.parquet"),
        "--series",
        "6",
        "--days",
        "3",
        "--resolution",
        "30s",
        "--seed",
        "7",
        "--incident",
        "2d/1h/0.2@api",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = slo(&["data", "export", &p("orig.parquet"), "--out", &p("orig.om")]);
    assert_eq!(code, 0, "{err}");
    err
}

/// A binary of a server package unpacked under `.tools/<dir>/usr/bin/`
/// (or `usr/<name>` when `name` has a directory, as `sbin/nginx`) by
/// `.ci/install-servers.sh` (`$env` overrides), when it runs with
/// `version_flag`; None (the test skips with a note) when it is absent,
/// and a failure instead when `SLO_REQUIRE_SERVERS=1` (CI).
pub fn server_tool(dir: &str, name: &str, env: &str, version_flag: &str) -> Option<PathBuf> {
    let under = if name.contains('/') { "usr" } else { "usr/bin" };
    let bin = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools").join(dir).join(under).join(name));
    if std::process::Command::new(&bin).arg(version_flag).output().is_ok_and(|o| o.status.success()) {
        return Some(bin);
    }
    if std::env::var("SLO_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
        panic!("{name} is required (SLO_REQUIRE_SERVERS=1) but {} does not run (or set ${env})", bin.display());
    }
    eprintln!("skipped: {name} not found at {} (set SLO_REQUIRE_SERVERS=1 to make this fail)", bin.display());
    None
}

/// Deterministic noise in [0, 1) for scripted test data (splitmix64 of
/// the step and a salt).
pub fn noise(i: u64, salt: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// nginx (Debian's package, unpacked by `.ci/install-servers.sh`) serving
/// `root` on a free loopback port, stopped when dropped: `/f` is `root/f`
/// with range requests, `/norange/f` the same file with ranges ignored (the
/// whole file for a range request, as some servers do). Every request is
/// logged ([`Nginx::requests`]).
pub struct Nginx {
    child: std::process::Child,
    pub base: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start(root: &Path) -> Option<Nginx> {
        let bin = server_tool("nginx", "sbin/nginx", "NGINX", "-v")?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let run = dir.path().display().to_string();
        let root = root.canonicalize().unwrap().display().to_string();
        // One process (no master: killing it stops the server, and it reads
        // the files as the user who runs the tests), each request's method,
        // path and range logged, temporary files here.
        let conf = format!(
            r#"master_process off;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log;
events {{ worker_connections 64; }}
http {{
  log_format requests '$request_method $uri $http_range';
  access_log {run}/access.log requests;
  default_type application/octet-stream;
  client_body_temp_path {run}/body;
  proxy_temp_path {run}/proxy;
  fastcgi_temp_path {run}/fcgi;
  uwsgi_temp_path {run}/uwsgi;
  scgi_temp_path {run}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location /norange/ {{ alias {root}/; max_ranges 0; }}
  }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = std::process::Command::new(bin)
            .args(["-p", &run, "-e", &format!("{run}/error.log"), "-c"])
            .arg(&conf_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut server = Nginx { child, base: format!("http://127.0.0.1:{port}"), dir };
        let t0 = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(format!("{run}/error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            assert!(t0.elapsed() < std::time::Duration::from_secs(30), "nginx did not listen within 30 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Nginx {
    /// Every request served so far: `METHOD /path RANGE` (`-` for none).
    pub fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.lines().map(str::to_string).collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// From `--timing`'s `timing: heap peak …` line in `err`, the peak of
/// `phase` (`heap peak` for the whole run) in MiB.
pub fn heap_peak(err: &str, phase: &str) -> f64 {
    let line = err.lines().find(|l| l.starts_with("timing: heap peak ")).expect("the heap line");
    let at = line.find(&format!("{phase} ")).unwrap_or_else(|| panic!("no {phase} in {line}"));
    let rest = &line[at + phase.len() + 1..];
    rest.split(" MiB").next().unwrap().parse().unwrap_or_else(|_| panic!("{line}"))
}

/// `n` copies of the shipped catalogue in `dir/c0`, `dir/c1`, …: the first
/// as shipped, each other with its services renamed (`checkout_c1`), so
/// `n` times the SLOs over the same metrics.
pub fn catalogue_copies(dir: &Path, n: usize) {
    let rename = regex::Regex::new(r"\b(service|for)\s+([A-Za-z_]\w*)").unwrap();
    for c in 0..n {
        let to = dir.join(format!("c{c}"));
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(repo().join("examples/platform")).unwrap() {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match c {
                0 => text,
                _ => rename.replace_all(&text, format!("$1 ${{2}}_c{c}").as_str()).into_owned(),
            };
            std::fs::write(to.join(path.file_name().unwrap()), text).unwrap();
        }
    }
}
