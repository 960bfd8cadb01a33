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
