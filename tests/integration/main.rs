//! The one integration test binary. Modules by concern; the slow ones
//! (the long fuzz run) are opt-in through environment variables.

mod alert_labels;
mod alertmanager;
mod analysis;
mod backtest;
mod backtest_cli;
mod cli;
mod common;
mod compile;
mod data_import;
mod distributed;
mod docs;
mod editors;
mod errors;
mod examples;
mod fmt;
mod fuzz;
mod grafana;
mod harm_names;
mod harm_out;
mod harm_read;
mod harm_res;
mod interop;
mod layering;
mod live;
mod lsp;
mod native;
mod native_import;
mod pull;
mod regex;
mod remote;
mod split;
mod stdlib;
mod victoriametrics;
