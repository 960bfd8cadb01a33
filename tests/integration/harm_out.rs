//! Never harmful with files (issue 13, items 1–4): a compile replaces or
//! removes only files its manifest says it wrote, changes its output
//! directory all at once under a lock, no output overwrites an input, and
//! an interrupted run leaves no temporary file behind for long.

use super::common::{repo, slo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn svc(name: &str, objective: &str) -> String {
    format!(
        "import std.alerting.{{google_28d}}\n\nservice {name} {{\n  owner = \"{name}-sre\"\n}}\n\n\
         slo availability for {name} {{\n  objective = {objective} over 28d\n  sli events {{\n    \
         bad = http_requests_total{{job=\"{name}\", code=~\"5..\"}}\n    total = http_requests_total{{job=\"{name}\"}}\n  }}\n  \
         alerts = google_28d()\n}}\n"
    )
}

/// A project in a temporary directory: `src/<service>.slo` per service.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(services: &[(&str, &str)]) -> Project {
        let p = Project { dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir(p.path("src")).unwrap();
        for (s, o) in services {
            p.set(s, o);
        }
        p
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn set(&self, service: &str, objective: &str) {
        std::fs::write(self.path(&format!("src/{service}.slo")), svc(service, objective)).unwrap();
    }
    fn compile(&self, extra: &[&str]) -> (i32, String, String) {
        self.compile_env(extra, &[])
    }
    fn compile_env(&self, extra: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut args = vec!["compile", "src", "--out", "out"];
        args.extend(extra);
        run(self.dir.path(), &args, env)
    }
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// Names in `dir` of slo's temporary files and backups.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".slo-tmp-") || n.starts_with(".slo-bak-") || n.starts_with(".slo-journal"))
        .collect()
}

#[test]
fn compile_leaves_files_it_did_not_write() {
    let p = Project::new(&[("shop", "99%")]);
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    let out = p.path("out");
    let generated = std::fs::read(out.join("shop.rules.yml")).unwrap();
    // slo's own files match no glob a consumer reads (`rule_files: [out/*.yml]`).
    for name in snapshot(&out).keys().filter(|n| n.starts_with('.')) {
        assert!(![".yml", ".yaml", ".json"].iter().any(|e| name.ends_with(e)), "{name}");
    }
    // A backup copy, notes and a hand-written rules file that all start
    // like generated files, but slo did not write them.
    std::fs::write(out.join("shop.rules.yml.bak"), &generated).unwrap();
    std::fs::write(out.join("NOTES.md"), [&generated[..200], b"\nmy notes\n"].concat()).unwrap();
    std::fs::write(out.join("extra.rules.yml"), [&generated[..], b"# hand-made\n"].concat()).unwrap();
    p.set("shop", "98%");
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 stale removed"), "{err}");
    assert_ne!(std::fs::read(out.join("shop.rules.yml")).unwrap(), generated, "our own file is replaced");
    for f in ["shop.rules.yml.bak", "NOTES.md", "extra.rules.yml"] {
        assert!(out.join(f).exists(), "{f} was deleted");
    }
    // Another target into the same directory leaves the prometheus files alone.
    let before = snapshot(&out);
    let (code, _, err) = p.compile(&["--target", "mimir"]);
    assert_eq!(code, 0, "{err}");
    let after = snapshot(&out);
    for (name, bytes) in &before {
        if !name.starts_with(".slo") {
            assert_eq!(after.get(name), Some(bytes), "{name} changed by the mimir compile");
        }
    }
    assert!(after.contains_key("shop.yaml"));
    // The two targets' manifests tell their files apart: prometheus-operator
    // writes the same names as mimir, and is refused.
    let (code, _, err) = p.compile(&["--target", "prometheus-operator"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[slo::out::collision]") && err.contains("shop.yaml belongs to the mimir"), "{err}");
    assert_eq!(snapshot(&out), after);
}

#[test]
fn a_file_at_an_output_name_that_is_not_ours_is_an_error_and_nothing_is_written() {
    let p = Project::new(&[("cart", "99%"), ("shop", "99%")]);
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    let out = p.path("out");
    // A hand edit of a generated file.
    let edited = String::from_utf8(std::fs::read(out.join("shop.rules.yml")).unwrap()).unwrap() + "# tuned by hand\n";
    std::fs::write(out.join("shop.rules.yml"), &edited).unwrap();
    p.set("cart", "98%");
    p.set("shop", "98%");
    p.set("web", "99%");
    let before = snapshot(&out);
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error[slo::out::collision]") && err.contains("shop.rules.yml was changed since slo wrote it"),
        "{err}"
    );
    assert_eq!(snapshot(&out), before, "nothing written: cart not updated, web not created");
    // --check says the same.
    let (code, _, err) = p.compile(&["--check"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::out::collision"), "{err}");
    // A user's file (not in the manifest) at a new output's name, and a
    // directory at another.
    std::fs::remove_file(out.join("shop.rules.yml")).unwrap();
    std::fs::write(out.join("web.rules.yml"), "groups: []\n").unwrap();
    std::fs::create_dir(out.join("cart.rules.yml.d")).unwrap();
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web.rules.yml is not a file slo wrote"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("web.rules.yml")).unwrap(), "groups: []\n");
    assert!(!out.join("shop.rules.yml").exists());
    std::fs::remove_file(out.join("web.rules.yml")).unwrap();
    std::fs::remove_file(out.join("cart.rules.yml")).unwrap();
    std::fs::create_dir(out.join("cart.rules.yml")).unwrap();
    std::fs::write(out.join("cart.rules.yml/keep"), "x").unwrap();
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cart.rules.yml is a directory"), "{err}");
    assert!(!out.join("shop.rules.yml").exists() && !out.join("web.rules.yml").exists());
    // Moved away, the compile goes through.
    std::fs::remove_dir_all(out.join("cart.rules.yml")).unwrap();
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = p.compile(&["--check"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn stale_files_are_removed_only_when_ours_and_unchanged() {
    let p = Project::new(&[("cart", "99%"), ("shop", "99%"), ("web", "99%")]);
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    let out = p.path("out");
    std::fs::remove_file(p.path("src/cart.slo")).unwrap();
    std::fs::remove_file(p.path("src/web.slo")).unwrap();
    let web = std::fs::read_to_string(out.join("web.rules.yml")).unwrap() + "# mine now\n";
    std::fs::write(out.join("web.rules.yml"), &web).unwrap();
    let (code, diff, _) = p.compile(&["--check"]);
    assert_eq!(code, 1);
    assert!(diff.contains("--- a/cart.rules.yml") && !diff.contains("web.rules.yml"), "{diff}");
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 stale removed") && err.contains("note: web.rules.yml"), "{err}");
    assert!(!out.join("cart.rules.yml").exists());
    assert_eq!(std::fs::read_to_string(out.join("web.rules.yml")).unwrap(), web, "a changed file is left alone");
    let (code, _, err) = p.compile(&["--check"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_directory_from_before_manifests_is_adopted_without_deleting_anything() {
    let p = Project::new(&[("shop", "99%")]);
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    let out = p.path("out");
    // What the previous version left: no manifest, no lock, and a file of
    // a service since deleted.
    for f in [".slo-manifest.prometheus", ".slo.lock"] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    let gone = std::fs::read_to_string(out.join("shop.rules.yml")).unwrap().replace("shop", "gone");
    std::fs::write(out.join("gone.rules.yml"), &gone).unwrap();
    p.set("shop", "98%");
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(out.join("shop.rules.yml")).unwrap().contains("vector(0.98)"), "adopted");
    assert_eq!(std::fs::read_to_string(out.join("gone.rules.yml")).unwrap(), gone, "not deleted without a manifest");
    assert!(err.contains("note: gone.rules.yml: looks generated by an earlier slo"), "{err}");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(".slo-manifest.prometheus")).unwrap()).unwrap();
    assert!(m["files"]["shop.rules.yml"].as_str().unwrap().starts_with("sha256:"), "{m}");
    assert!(m["files"].get("gone.rules.yml").is_none(), "{m}");
    // An old prometheus-operator file is not adopted by mimir (another shape).
    let q = Project::new(&[("shop", "99%")]);
    let (code, _, err) = q.compile(&["--target", "prometheus-operator"]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(q.path("out/.slo-manifest.prometheus-operator")).unwrap();
    let (code, _, err) = q.compile(&["--target", "mimir"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shop.yaml is not a file slo wrote"), "{err}");
}

#[test]
fn concurrent_compiles_into_one_directory_all_succeed_and_agree() {
    let p = Project::new(&[("cart", "99%"), ("shop", "99%"), ("web", "99%")]);
    // Half the runs compile a program without `web`: whichever ran last,
    // the directory must be exactly its output.
    let q = Project::new(&[("cart", "99.5%"), ("shop", "99.5%")]);
    let out = p.path("out");
    let (qo, po) = (q.path("src"), p.path("src"));
    let children: Vec<_> = (0..10)
        .map(|i| {
            let src = if i % 2 == 0 { &po } else { &qo };
            Command::new(env!("CARGO_BIN_EXE_slo"))
                .args(["compile", src.to_str().unwrap(), "--out", out.to_str().unwrap()])
                .current_dir(repo())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    let files: Vec<String> = snapshot(&out).into_keys().filter(|n| !n.starts_with('.')).collect();
    let src = if files.len() == 3 { po } else { qo };
    let (code, _, err) = slo(&["compile", src.to_str().unwrap(), "--out", out.to_str().unwrap(), "--check"]);
    assert_eq!(code, 0, "the directory is one run's whole output: {files:?} {err}");
}

#[test]
fn a_second_run_waits_for_the_lock_then_fails_with_a_code() {
    let p = Project::new(&[("shop", "99%")]);
    std::fs::create_dir(p.path("out")).unwrap();
    let lock = std::fs::File::create(p.path("out/.slo.lock")).unwrap();
    lock.lock().unwrap();
    let start = std::time::Instant::now();
    let (code, _, err) = p.compile_env(&[], &[("SLO_LOCK_TIMEOUT", "1")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[slo::out::locked]"), "{err}");
    assert!(start.elapsed() >= std::time::Duration::from_millis(900));
    assert!(!p.path("out/shop.rules.yml").exists());
    drop(lock);
    let (code, _, err) = p.compile_env(&[], &[("SLO_LOCK_TIMEOUT", "1")]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_failed_rename_rolls_the_directory_back() {
    let p = Project::new(&[("cart", "99%"), ("shop", "99%"), ("web", "99%")]);
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    let out = p.path("out");
    std::fs::remove_file(p.path("src/cart.slo")).unwrap();
    p.set("shop", "98%");
    p.set("web", "98%");
    p.set("zoo", "98%");
    let before = snapshot(&out);
    // web.rules.yml is replaced after shop.rules.yml (sorted): shop's new
    // version is in place when web's rename fails, and must go back.
    let (code, _, err) = p.compile_env(&[], &[("SLO_TEST_FAIL_RENAME", "web.rules.yml")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web.rules.yml") && err.contains("injected"), "{err}");
    assert_eq!(snapshot(&out), before, "every file as it was");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    let (code, _, err) = p.compile(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.join("cart.rules.yml").exists() && out.join("zoo.rules.yml").exists());
}

#[test]
fn outputs_never_overwrite_inputs() {
    let d = tempfile::tempdir().unwrap();
    let dp = d.path();
    std::fs::create_dir(dp.join("data")).unwrap();
    let data = dp.join("data/d.parquet");
    let (code, _, err) =
        slo(&["synth", "--out", data.to_str().unwrap(), "--series", "2", "--days", "1", "--resolution", "5m"]);
    assert_eq!(code, 0, "{err}");
    let slo_file = dp.join("api.slo");
    std::fs::copy(repo().join("bench/bench.slo"), &slo_file).unwrap();
    std::fs::hard_link(&data, dp.join("link.parquet")).unwrap();
    std::os::unix::fs::symlink(&slo_file, dp.join("sym.slo")).unwrap();
    let (data_bytes, slo_bytes) = (std::fs::read(&data).unwrap(), std::fs::read(&slo_file).unwrap());
    let s = |p: &str| dp.join(p).to_str().unwrap().to_string();
    let cases: Vec<Vec<String>> = vec![
        // backtest: the timeline or the report over the data or a source.
        vec![
            "backtest".into(),
            s("api.slo"),
            "--data".into(),
            s("data/d.parquet"),
            "--timeline".into(),
            s("data/d.parquet"),
        ],
        vec![
            "backtest".into(),
            s("api.slo"),
            "--data".into(),
            s("data/d.parquet"),
            "--timeline".into(),
            s("link.parquet"),
        ],
        vec!["backtest".into(), s("api.slo"), "--data".into(), s("data"), "--timeline".into(), s("data/t.parquet")],
        vec!["backtest".into(), s("api.slo"), "--data".into(), s("data/d.parquet"), "--out".into(), s("sym.slo")],
        vec![
            "backtest".into(),
            s("api.slo"),
            "--data".into(),
            s("data/d.parquet"),
            "--out".into(),
            s("r.txt"),
            "--timeline".into(),
            s("r.txt"),
        ],
        // synth, export, data import/export over a source or the data.
        vec!["synth".into(), s("api.slo"), "--out".into(), s("api.slo")],
        vec!["export".into(), "openslo".into(), s("api.slo"), "--out".into(), s("api.slo")],
        vec!["data".into(), "export".into(), s("data/d.parquet"), "--out".into(), s("link.parquet")],
        vec!["data".into(), "import".into(), s("api.slo"), "--out".into(), s("sym.slo")],
        // compile: the out directory is a source.
        vec!["compile".into(), s("api.slo"), "--out".into(), s("api.slo")],
    ];
    for args in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = slo(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("error[slo::out::input]"), "{args:?}: {err}");
        assert_eq!(std::fs::read(&data).unwrap(), data_bytes, "{args:?}");
        assert_eq!(std::fs::read(&slo_file).unwrap(), slo_bytes, "{args:?}");
    }
    assert!(!dp.join("data/t.parquet").exists());
    // compile: sources in the output directory are fine, unless one has the
    // name of an output (service api → api.rules.yml).
    std::fs::create_dir(dp.join("mixed")).unwrap();
    std::fs::copy(&slo_file, dp.join("mixed/api.slo")).unwrap();
    let (code, _, err) = slo(&["compile", &s("mixed"), "--out", &s("mixed")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(dp.join("mixed/api.slo")).unwrap(), slo_bytes);
    std::fs::create_dir(dp.join("named")).unwrap();
    std::fs::copy(&slo_file, dp.join("named/api.rules.yml")).unwrap();
    let (code, _, err) = slo(&["compile", &s("named/api.rules.yml"), "--out", &s("named")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[slo::out::input]") && err.contains("api.rules.yml"), "{err}");
    assert_eq!(std::fs::read(dp.join("named/api.rules.yml")).unwrap(), slo_bytes);
    // import: a translated service file over its own input.
    let imp = dp.join("imp");
    std::fs::create_dir(&imp).unwrap();
    let spec = repo().join("examples/interop/sloth/checkout.yml");
    let (code, _, err) = slo(&["import", "sloth", spec.to_str().unwrap(), "--out", imp.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_dir(&imp).unwrap().flatten().map(|e| e.path()).next().expect("an imported file");
    let spec_bytes = std::fs::read(&spec).unwrap();
    std::fs::write(&written, &spec_bytes).unwrap();
    let (code, _, err) = slo(&["import", "sloth", written.to_str().unwrap(), "--out", imp.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[slo::out::input]"), "{err}");
    assert_eq!(std::fs::read(&written).unwrap(), spec_bytes);
}

/// Data big enough that writing its timeline takes a while.
fn timeline_run(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("d.parquet");
    let (code, _, err) = slo(&[
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--series",
        "8",
        "--days",
        "10",
        "--resolution",
        "1m",
        "--no-incidents",
    ]);
    assert_eq!(code, 0, "{err}");
    let tl = dir.join("tl");
    std::fs::create_dir(&tl).unwrap();
    (data, tl)
}

fn spawn_backtest(data: &Path, timeline: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(["backtest", "bench/bench.slo", "--quiet", "--format", "json", "--step", "15s", "--data"])
        .arg(data)
        .arg("--timeline")
        .arg(timeline)
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the run has a temporary file in `dir` (true), or ended.
fn wait_for_temp(dir: &Path, child: &mut std::process::Child) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        if std::fs::read_dir(dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with(".slo-tmp-")) {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    false
}

/// Runs a backtest writing `tl/t.parquet` and sends it `sig` while its
/// temporary file exists. A run that finished before the signal landed (its
/// write was quicker than our poll) is tried again.
fn interrupted(data: &Path, tl: &Path, sig: libc::c_int) -> std::process::ExitStatus {
    for _ in 0..5 {
        let mut child = spawn_backtest(data, &tl.join("t.parquet"));
        assert!(wait_for_temp(tl, &mut child), "the run wrote no .slo-tmp- file beside its timeline");
        // SAFETY: a signal to our own child, not yet waited for.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
        let status = child.wait().unwrap();
        if !status.success() {
            return status;
        }
        std::fs::remove_file(tl.join("t.parquet")).unwrap();
    }
    panic!("every run finished before the signal");
}

#[test]
fn sigterm_during_a_timeline_write_removes_the_temporary_file() {
    let d = tempfile::tempdir().unwrap();
    let (data, tl) = timeline_run(d.path());
    let status = interrupted(&data, &tl, libc::SIGTERM);
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert!(leftovers(&tl).is_empty(), "{:?}", leftovers(&tl));
    assert!(!tl.join("t.parquet").exists());
}

#[test]
fn a_temporary_file_left_by_sigkill_is_removed_by_the_next_run() {
    let d = tempfile::tempdir().unwrap();
    let (data, tl) = timeline_run(d.path());
    interrupted(&data, &tl, libc::SIGKILL);
    assert_eq!(leftovers(&tl).len(), 1, "a killed run cannot clean up");
    // Someone else's file of a similar name is not ours.
    std::fs::write(tl.join(".tmp-notes"), "x").unwrap();
    let mut second = spawn_backtest(&data, &tl.join("t2.parquet"));
    assert!(second.wait().unwrap().success());
    assert!(leftovers(&tl).is_empty(), "{:?}", leftovers(&tl));
    assert!(tl.join("t2.parquet").exists() && tl.join(".tmp-notes").exists());
}
