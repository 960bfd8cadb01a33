//! The native layout's columns: their names, the types slo writes them
//! with, the Parquet writer settings every producer shares, and the
//! constants readers and writers agree on (the staleness marker's bits,
//! the label-column cap).

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use datafusion::parquet::schema::types::ColumnPath;
use std::sync::Arc;

/// Sample time: Timestamp (ms, UTC) when slo writes it.
pub(crate) const TIMESTAMP: &str = "timestamp";
/// The metric name.
pub const NAME: &str = "__name__";
/// What readers also accept for [`NAME`].
pub(crate) const NAME_ALIAS: &str = "metric";
/// The sample value, Float64.
pub const VALUE: &str = "value";
/// Optional: true on a staleness marker.
pub(crate) const STALE: &str = "stale";
/// Native-histogram columns (optional, all or none; see
/// [`super::histogram`]): null on float rows.
pub const H_SCHEMA: &str = "h_schema";
pub const H_ZERO_THRESHOLD: &str = "h_zero_threshold";
pub const H_ZERO_COUNT: &str = "h_zero_count";
pub const H_COUNT: &str = "h_count";
pub const H_SUM: &str = "h_sum";
pub const H_POSITIVE: &str = "h_positive";
pub const H_NEGATIVE: &str = "h_negative";
/// Every `h_*` column, in the layout's order.
pub const H_COLUMNS: [&str; 7] = [H_SCHEMA, H_ZERO_THRESHOLD, H_ZERO_COUNT, H_COUNT, H_SUM, H_POSITIVE, H_NEGATIVE];
/// Readers' alternative to label columns: one Map<Utf8, Utf8> column.
pub(crate) const LABELS_MAP: &str = "labels";

/// Prometheus's staleness marker: a NaN with this exact bit pattern.
pub(crate) const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Label columns a dataset may have at most (the importer caps distinct
/// label names at the same number): every row is read, grouped and sorted
/// with every label column, so thousands of them cost gigabytes.
pub(crate) const MAX_LABEL_COLUMNS: usize = 1024;

/// The schema of a file slo writes: `timestamp`, `__name__`, one nullable
/// column per label name (`label_names` sorted, without `__name__`),
/// `value`, `stale` when `with_stale`, the `h_*` columns when
/// `with_histograms`. Names and labels are stored as `strings` (Utf8, or a
/// dictionary of Utf8).
pub(crate) fn schema(label_names: &[String], strings: DataType, with_stale: bool, with_histograms: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new(TIMESTAMP, DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        Field::new(NAME, strings.clone(), false),
    ];
    fields.extend(label_names.iter().map(|n| Field::new(n, strings.clone(), true)));
    fields.push(Field::new(VALUE, DataType::Float64, false));
    if with_stale {
        fields.push(Field::new(STALE, DataType::Boolean, false));
    }
    if with_histograms {
        fields.extend(super::histogram::fields());
    }
    Arc::new(Schema::new(fields))
}

/// Writer settings at zstd level `zstd`: regular scrape times
/// delta-encode to almost nothing; split float bytes compress far better
/// than plain ones.
pub(crate) fn properties(zstd: i32) -> Result<WriterPropertiesBuilder, crate::error::Error> {
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(zstd).map_err(|e| crate::error::Error::new(e.to_string()))?,
        ))
        .set_column_encoding(ColumnPath::from(TIMESTAMP), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(ColumnPath::from(TIMESTAMP), false)
        .set_column_encoding(ColumnPath::from(VALUE), Encoding::BYTE_STREAM_SPLIT)
        .set_column_dictionary_enabled(ColumnPath::from(VALUE), false))
}
