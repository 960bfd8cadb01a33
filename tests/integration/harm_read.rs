//! Hostile inputs for everything slo reads (issue 13): symlinks out of the
//! tree, symlink loops, devices, FIFOs, huge files, YAML alias bombs and
//! deep nesting, non-UTF-8 specs, objectives a hair below 100%. Every run
//! is capped in memory and time ([`slo_capped`]) and must end in a coded
//! error; the old code hung, ran out of memory, or printed what it read.

use crate::common::{slo_capped, Capped};
use std::path::Path;

const MEM: u64 = 1024;
const SECS: u64 = 30;

const SERVICE: &str = r#"service web {
  owner = "web-team"
}

slo up for web {
  objective = 99.9% over 28d
  sli gauge {
    series = up{job="web"}
  }
}
"#;

fn run(dir: &Path, args: &[&str]) -> Capped {
    slo_capped(dir, args, MEM, SECS)
}

/// Exit code `code` and `error[CODE]` (or the code in a diagnostic) in stderr.
fn assert_coded(r: &Capped, code: i32, slo_code: &str) {
    assert_eq!(r.code, Some(code), "exit code (None: killed after {:?})\nstderr: {}", r.elapsed, r.stderr);
    assert!(r.stderr.contains(slo_code), "expected {slo_code} in stderr:\n{}", r.stderr);
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn walk_does_not_follow_a_link_out_of_the_tree() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("web.slo"), SERVICE).unwrap();
    symlink("/etc/passwd", d.path().join("evil.slo"));
    let r = run(d.path(), &["check", "."]);
    assert_coded(&r, 2, "slo::input::symlink_escapes");
    // The file's contents are never read, so never printed.
    assert!(!r.stderr.contains("root:"), "{}", r.stderr);
    assert!(r.stderr.contains("evil.slo") && r.stderr.contains("/etc/passwd"), "{}", r.stderr);
}

#[test]
fn walk_survives_symlink_loops_and_lists_each_file_once() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::write(d.path().join("sub/web.slo"), SERVICE).unwrap();
    symlink(".", d.path().join("a"));
    symlink(".", d.path().join("b"));
    symlink("..", d.path().join("sub/up"));
    // A second name for the same file, inside the tree: read once, not twice
    // (twice would be duplicate declarations).
    symlink("sub/web.slo", d.path().join("alias.slo"));
    // A directory link out of the tree is skipped.
    symlink("/usr", d.path().join("usr"));
    let r = run(d.path(), &["check", "."]);
    assert_eq!(r.code, Some(0), "killed after {:?}?\n{}", r.elapsed, r.stderr);
    assert!(r.stderr.contains("in 1 files"), "{}", r.stderr);
}

#[test]
fn a_link_to_dev_zero_is_not_read() {
    let d = tempfile::tempdir().unwrap();
    symlink("/dev/zero", d.path().join("zero.slo"));
    // Found by the walk: it leads out of the tree.
    assert_coded(&run(d.path(), &["check", "."]), 2, "slo::input::symlink_escapes");
    // Named on the command line: followed, and refused as a device.
    let r = run(d.path(), &["check", "zero.slo"]);
    assert_coded(&r, 2, "slo::input::not_a_file");
    assert!(r.stderr.contains("character device"), "{}", r.stderr);
    assert_coded(&run(d.path(), &["fmt", "zero.slo"]), 2, "slo::input::not_a_file");
}

#[test]
fn a_fifo_is_never_opened() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("web.slo"), SERVICE).unwrap();
    mkfifo(&d.path().join("x.slo"));
    for args in [&["check", "."][..], &["check", "x.slo"], &["fmt", "."], &["compile", "x.slo", "--out", "out"]] {
        let r = run(d.path(), args);
        assert_coded(&r, 2, "slo::input::not_a_file");
        assert!(r.stderr.contains("a FIFO"), "{}", r.stderr);
    }
    // An import of a FIFO is a diagnostic at the import.
    std::fs::write(d.path().join("main.slo"), format!("import \"./x.slo\" as x\n{SERVICE}")).unwrap();
    std::fs::remove_file(d.path().join("web.slo")).unwrap();
    let r = run(d.path(), &["check", "main.slo"]);
    assert_coded(&r, 1, "slo::input::not_a_file");
    assert!(r.stderr.contains("import \"./x.slo\""), "{}", r.stderr);
    // Spec and incidents inputs too.
    assert_coded(&run(d.path(), &["import", "sloth", "x.slo"]), 2, "slo::input::not_a_file");
}

#[test]
fn an_import_through_a_symlink_cannot_leave_the_root() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("lib.slo"), "// outside\n").unwrap();
    let d = tempfile::tempdir().unwrap();
    symlink(outside.path().join("lib.slo"), d.path().join("lib.slo"));
    std::fs::write(d.path().join("main.slo"), format!("import \"./lib.slo\" as lib\n{SERVICE}")).unwrap();
    let r = run(d.path(), &["check", "main.slo"]);
    assert_coded(&r, 1, "slo::import::escapes_root");
    // A link inside the root is followed, and the file is one module under
    // both names (two would declare `api` twice).
    std::fs::write(d.path().join("real.slo"), "service api {\n  owner = \"api-team\"\n}\n").unwrap();
    std::fs::remove_file(d.path().join("lib.slo")).unwrap();
    symlink("real.slo", d.path().join("lib.slo"));
    let r = run(d.path(), &["check", "main.slo", "real.slo"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn a_source_file_has_a_size_cap() {
    let d = tempfile::tempdir().unwrap();
    let line = "// padding padding padding padding padding padding padding padding\n";
    let big = line.repeat((9 << 20) / line.len());
    std::fs::write(d.path().join("big.slo"), format!("{SERVICE}{big}")).unwrap();
    let r = run(d.path(), &["check", "big.slo"]);
    assert_coded(&r, 2, "slo::input::too_large");
    assert!(r.stderr.contains("8 MiB"), "{}", r.stderr);
    // As an import: a diagnostic at the import.
    std::fs::write(d.path().join("main.slo"), "import \"./big.slo\" as big\n").unwrap();
    assert_coded(&run(d.path(), &["check", "main.slo"]), 1, "slo::input::too_large");
    // A YAML spec too.
    std::fs::write(d.path().join("big.yml"), format!("version: prometheus/v1\n{}", big.replace("//", "#"))).unwrap();
    assert_coded(&run(d.path(), &["import", "sloth", "big.yml"]), 2, "slo::input::too_large");
}

#[test]
fn fmt_writes_through_a_symlink_inside_the_root() {
    let d = tempfile::tempdir().unwrap();
    let messy = SERVICE.replace("  owner", "      owner");
    std::fs::write(d.path().join("real.slo"), &messy).unwrap();
    symlink("real.slo", d.path().join("link.slo"));
    let r = run(d.path(), &["fmt", "link.slo"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let meta = std::fs::symlink_metadata(d.path().join("link.slo")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link must stay a link");
    assert_eq!(std::fs::read_to_string(d.path().join("real.slo")).unwrap(), SERVICE, "the target is formatted");
    // The walk sees the file under two names and formats it once.
    std::fs::write(d.path().join("real.slo"), &messy).unwrap();
    let r = run(d.path(), &["fmt", "."]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout.matches("formatted").count(), 1, "{}", r.stdout);
    assert!(std::fs::symlink_metadata(d.path().join("link.slo")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(d.path().join("real.slo")).unwrap(), SERVICE);
}

#[test]
fn fmt_refuses_to_write_through_a_symlink_out_of_the_root() {
    let outside = tempfile::tempdir().unwrap();
    let messy = SERVICE.replace("  owner", "      owner");
    std::fs::write(outside.path().join("x.slo"), &messy).unwrap();
    let d = tempfile::tempdir().unwrap();
    symlink(outside.path().join("x.slo"), d.path().join("link.slo"));
    let r = run(d.path(), &["fmt", "link.slo"]);
    assert_coded(&r, 2, "slo::input::symlink_outside_root");
    assert_eq!(std::fs::read_to_string(outside.path().join("x.slo")).unwrap(), messy, "untouched");
    assert!(std::fs::symlink_metadata(d.path().join("link.slo")).unwrap().file_type().is_symlink());
    // A directory link on the way counts the same.
    symlink(outside.path(), d.path().join("sub"));
    assert_coded(&run(d.path(), &["fmt", "sub/x.slo"]), 2, "slo::input::symlink_outside_root");
    assert_eq!(std::fs::read_to_string(outside.path().join("x.slo")).unwrap(), messy, "untouched");
    // --check only reads: allowed.
    let r = run(d.path(), &["fmt", "--check", "link.slo"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
}

/// Nine levels of nine aliases: 9⁹ nodes from under 1 KB.
fn laughs(indent: &str, levels: usize) -> String {
    let mut s =
        format!("{indent}l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..=levels {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        s.push_str(&format!("{indent}l{i}: &l{i} [{refs}]\n"));
    }
    s
}

#[test]
fn yaml_alias_bombs_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let sloth = format!("version: prometheus/v1\nservice: web\nlabels:\n{}slos: []\n", laughs("  ", 9));
    std::fs::write(d.path().join("bomb.yml"), &sloth).unwrap();
    let r = run(d.path(), &["import", "sloth", "bomb.yml"]);
    assert_coded(&r, 1, "slo::input::yaml_aliases");
    let openslo = format!(
        "apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n{}spec: {{}}\n",
        laughs("    ", 9)
    );
    std::fs::write(d.path().join("bomb-openslo.yml"), &openslo).unwrap();
    assert_coded(&run(d.path(), &["import", "openslo", "bomb-openslo.yml"]), 1, "slo::input::yaml_aliases");
    // --incidents: 3,000 aliases of a large list.
    std::fs::write(d.path().join("web.slo"), SERVICE).unwrap();
    let item = "  - {start: 2026-01-01T00:00:00Z, end: 2026-01-01T01:00:00Z, title: x}\n";
    let mut inc = format!("big: &big\n{}", item.repeat(1000));
    inc.push_str("incidents: [");
    inc.push_str(&vec!["*big"; 3000].join(", "));
    inc.push_str("]\n");
    std::fs::write(d.path().join("inc.yaml"), inc).unwrap();
    let r = run(d.path(), &["backtest", "web.slo", "--data", "missing.parquet", "--incidents", "inc.yaml"]);
    assert_coded(&r, 2, "slo::input::yaml_aliases");
    assert!(r.stderr.contains("--incidents"), "{}", r.stderr);
}

#[test]
fn deep_yaml_nesting_is_refused_before_parsing() {
    let d = tempfile::tempdir().unwrap();
    let deep = format!("version: prometheus/v1\nservice: web\nslos: {}\n", "[".repeat(200_000));
    std::fs::write(d.path().join("deep.yml"), deep).unwrap();
    let r = run(d.path(), &["import", "sloth", "deep.yml"]);
    assert_coded(&r, 1, "slo::input::yaml_too_deep");
    assert!(r.elapsed.as_secs() < 10, "{:?}", r.elapsed);
    assert!(r.stderr.contains("deep.yml:3:"), "points at the nesting: {}", r.stderr);
    std::fs::write(d.path().join("web.slo"), SERVICE).unwrap();
    std::fs::write(d.path().join("inc.yaml"), format!("incidents: {}", "{a: ".repeat(100_000))).unwrap();
    let r = run(d.path(), &["backtest", "web.slo", "--data", "missing.parquet", "--incidents", "inc.yaml"]);
    assert_coded(&r, 2, "slo::input::yaml_too_deep");
}

#[test]
fn a_non_utf8_spec_is_a_diagnostic_at_the_first_bad_byte() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes = b"version: prometheus/v1\nservice: caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\nslos: []\n");
    std::fs::write(d.path().join("latin1.yml"), bytes).unwrap();
    let r = run(d.path(), &["import", "sloth", "latin1.yml"]);
    assert_coded(&r, 1, "slo::interop::not_utf8");
    assert!(r.stderr.contains("offset 35"), "{}", r.stderr);
    assert!(r.stderr.contains("latin1.yml:2:13"), "{}", r.stderr);
}

#[test]
fn objectives_a_hair_below_100_percent_keep_their_budget() {
    let d = tempfile::tempdir().unwrap();
    let eleven_nines = SERVICE.replace("99.9%", "99.99999999999%");
    std::fs::write(d.path().join("web.slo"), &eleven_nines).unwrap();
    let r = run(d.path(), &["compile", "web.slo", "--out", "out"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rules = std::fs::read_to_string(d.path().join("out/web.rules.yml")).unwrap();
    // The objective is not printed as 1, and the budget is 1e-13 (to within
    // the 0.03% a double near 1 allows), not 0.
    assert!(rules.contains("expr: vector(0.9999999999999)\n"), "{rules}");
    assert!(rules.contains("objective: '0.9999999999999'"), "{rules}");
    let budget = rules.split("record: slo:error_budget:ratio\n    expr: vector(").nth(1).unwrap();
    let budget: f64 = budget[..budget.find(')').unwrap()].parse().unwrap();
    assert!((budget - 1e-13).abs() < 1e-16, "{budget}");
    // Truly 100% and beyond are range errors; below 100% by less than a
    // double can hold is a precision error, not "100%".
    for (objective, code) in [
        ("100.0%", "slo::objective::range"),
        ("100.0000000000000000001%", "slo::value::percent_range"),
        ("99.99999999999999999%", "slo::value::percent_precision"),
    ] {
        std::fs::write(d.path().join("web.slo"), SERVICE.replace("99.9%", objective)).unwrap();
        assert_coded(&run(d.path(), &["check", "web.slo"]), 1, code);
    }
    // The backtest's --objective parses the same way.
    std::fs::write(d.path().join("web.slo"), SERVICE).unwrap();
    let bt = |o: &str| run(d.path(), &["backtest", "web.slo", "--data", "missing.parquet", "--objective", o]);
    let r = bt("99.99999999999%");
    assert!(!r.stderr.contains("--objective"), "accepted: {}", r.stderr);
    assert_coded(&bt("100%"), 2, "slo::objective::range");
    assert_coded(&bt("99.99999999999999999%"), 2, "slo::value::percent_precision");
}

#[test]
fn parquet_inputs_refuse_fifos_and_symlink_loops() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("data")).unwrap();
    mkfifo(&d.path().join("data/f.parquet"));
    let r = run(d.path(), &["data", "inspect", "data"]);
    assert_coded(&r, 2, "slo::data::io");
    assert!(r.stderr.contains("FIFO"), "{}", r.stderr);
    std::fs::remove_file(d.path().join("data/f.parquet")).unwrap();
    // Two links to `.`: the footer walk branched through them until ELOOP.
    symlink(".", d.path().join("data/a"));
    symlink(".", d.path().join("data/b"));
    let r = run(d.path(), &["data", "inspect", "data"]);
    assert_coded(&r, 2, "slo::data::io");
    assert!(r.stderr.contains("reached twice"), "{}", r.stderr);
}
