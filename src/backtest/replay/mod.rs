//! The replay engine: the compiled rules' PromQL planned into leaves over
//! raw data ([`plan`]), the Parquet scan feeding them ([`data`]), the
//! per-series range functions ([`range`], [`leaves`]), aggregation
//! ([`agg`]), the evaluation of the rest, column by column where that is
//! provably the same ([`columnar`]) and step by step otherwise ([`eval`]),
//! with the alert state machine ([`alert`]), and the timeline writer
//! ([`timeline`]). What it guarantees: the values and alert transitions
//! Prometheus 3 computes for the same rules and samples (docs/semantics.md
//! §2–§5). It depends on nothing that reads its results.

pub(crate) mod agg;
pub mod alert;
pub(crate) mod columnar;
pub mod data;
pub mod eval;
pub mod leaves;
pub(crate) mod native;
pub mod plan;
pub mod range;
pub mod timeline;
pub mod times;
