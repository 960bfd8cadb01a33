//! The native Parquet layout of metric samples (README, "Data layout"; docs/semantics.md §8): one row per
//! sample with `timestamp`, `__name__`, one string column per label,
//! `value` and an optional `stale` flag, and optionally the `h_*` columns
//! of native-histogram samples ([`histogram`]). [`schema`] owns its column names,
//! types and writer settings; [`writer`] writes files in it atomically;
//! [`reader`] checks and scans them into whole series. Every producer
//! (`slo data import`, `slo synth`, `--timeline`) writes through here, and
//! every consumer (`slo data inspect` / `export`, the backtester's
//! `backtest::data`) reads through here.

pub mod histogram;
pub mod reader;
pub mod remote;
pub mod schema;
pub(crate) mod strings;
pub mod writer;
