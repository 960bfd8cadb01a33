//! Native-histogram samples in the native layout: the sample type, where an
//! observation falls in Prometheus's exponential buckets, and the Arrow
//! columns that carry a histogram beside `value` ([`HistColumns`] builds
//! them for a batch of rows).
//!
//! A histogram row has `h_schema` set, and `value` NaN (it is not a float
//! sample); a float row or a staleness marker has every `h_*` column null.
//! Buckets are stored with absolute indices (`index` in Prometheus's
//! numbering: at schema `s`, positive bucket `i` holds observations in
//! `(2^((i-1)/2^s), 2^(i/2^s)]`, negative bucket `i` the same range
//! negated), only the populated ones, in ascending index order — simpler
//! to read than Prometheus's spans and deltas, and the same information.
//! Custom-bucket histograms (schema −53) are not part of the layout.

use super::schema::{H_COUNT, H_NEGATIVE, H_POSITIVE, H_SCHEMA, H_SUM, H_ZERO_COUNT, H_ZERO_THRESHOLD};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, ListArray, RecordBatch, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::arrow::datatypes::{Float64Type, Int32Type};
use std::sync::Arc;

/// Lowest and highest exponential schema Prometheus accepts.
pub const MIN_SCHEMA: i32 = -4;
pub const MAX_SCHEMA: i32 = 8;

/// One native-histogram sample (the counts of a counter histogram since
/// its start, as scraped).
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogram {
    /// −4 ..= 8: each power of two is split into `2^schema` buckets.
    pub schema: i32,
    /// Observations with `|x| <= zero_threshold` are in the zero bucket.
    pub zero_threshold: f64,
    pub zero_count: f64,
    /// Observations in all (also NaN ones).
    pub count: f64,
    pub sum: f64,
    /// (absolute index, count), ascending by index, populated buckets only.
    pub positive: Vec<(i32, f64)>,
    pub negative: Vec<(i32, f64)>,
}

impl NativeHistogram {
    /// An empty histogram at `schema` with Prometheus's default zero
    /// threshold (2^−128, as client_golang sets it).
    pub fn empty(schema: i32) -> NativeHistogram {
        NativeHistogram {
            schema,
            zero_threshold: 2f64.powi(-128),
            zero_count: 0.0,
            count: 0.0,
            sum: 0.0,
            positive: Vec::new(),
            negative: Vec::new(),
        }
    }

    /// Adds `weight` observations of value `v`.
    pub fn observe(&mut self, v: f64, weight: f64) {
        self.count += weight;
        self.sum += v * weight;
        if v.abs() <= self.zero_threshold {
            self.zero_count += weight;
            return;
        }
        let side = if v > 0.0 { &mut self.positive } else { &mut self.negative };
        let i = bucket_index(v.abs(), self.schema);
        match side.binary_search_by_key(&i, |b| b.0) {
            Ok(at) => side[at].1 += weight,
            Err(at) => side.insert(at, (i, weight)),
        }
    }
}

/// The index of the bucket holding `v > 0` at `schema`: the `i` with
/// `2^((i-1)/2^schema) < v <= 2^(i/2^schema)`.
pub fn bucket_index(v: f64, schema: i32) -> i32 {
    let scaled = v.log2() * 2f64.powi(schema);
    let mut i = scaled.ceil() as i32;
    // log2 may round across a boundary: settle on the exact bucket.
    if bucket_upper(i - 1, schema) >= v {
        i -= 1;
    } else if bucket_upper(i, schema) < v {
        i += 1;
    }
    i
}

/// The upper bound of positive bucket `i` at `schema`, `2^(i/2^schema)`.
pub fn bucket_upper(i: i32, schema: i32) -> f64 {
    if schema <= 0 {
        // Exact: a power of two.
        2f64.powi(i << (-schema))
    } else {
        2f64.powf(f64::from(i) / f64::from(1 << schema))
    }
}

/// The Arrow type of `h_positive` / `h_negative`.
pub(crate) fn buckets_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(bucket_fields()), false)))
}

fn bucket_fields() -> Fields {
    Fields::from(vec![Field::new("index", DataType::Int32, false), Field::new("count", DataType::Float64, false)])
}

/// The `h_*` fields, in the layout's order (all nullable).
pub fn fields() -> Vec<Field> {
    vec![
        Field::new(H_SCHEMA, DataType::Int32, true),
        Field::new(H_ZERO_THRESHOLD, DataType::Float64, true),
        Field::new(H_ZERO_COUNT, DataType::Float64, true),
        Field::new(H_COUNT, DataType::Float64, true),
        Field::new(H_SUM, DataType::Float64, true),
        Field::new(H_POSITIVE, buckets_type(), true),
        Field::new(H_NEGATIVE, buckets_type(), true),
    ]
}

/// The `h_*` columns of a batch, one row at a time.
#[derive(Default)]
pub struct HistColumns {
    rows: Vec<Option<NativeHistogram>>,
}

impl HistColumns {
    pub fn push(&mut self, h: Option<&NativeHistogram>) {
        self.rows.push(h.cloned());
    }

    /// The columns of the rows pushed since the last call, in [`fields`]' order.
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        let rows = std::mem::take(&mut self.rows);
        let f = |g: fn(&NativeHistogram) -> f64| -> ArrayRef {
            Arc::new(rows.iter().map(|r| r.as_ref().map(g)).collect::<Float64Array>())
        };
        vec![
            Arc::new(rows.iter().map(|r| r.as_ref().map(|h| h.schema)).collect::<Int32Array>()),
            f(|h| h.zero_threshold),
            f(|h| h.zero_count),
            f(|h| h.count),
            f(|h| h.sum),
            buckets(&rows, |h| &h.positive),
            buckets(&rows, |h| &h.negative),
        ]
    }
}

/// The `h_*` columns of a batch being read, decoded one row at a time.
pub(crate) struct HistRows {
    schema: Int32Array,
    floats: [Float64Array; 4],
    positive: Side,
    negative: Side,
}

/// One of `h_positive` / `h_negative`: the list's offsets and validity, and
/// its entries' `index` and `count` as flat arrays (read by offset, so no
/// row costs an array slice).
struct Side {
    name: &'static str,
    list: ListArray,
    index: Int32Array,
    count: Float64Array,
    entry_nulls: Option<NullBuffer>,
}

impl Side {
    fn new(b: &RecordBatch, name: &'static str) -> Result<Side, String> {
        let list = b
            .column_by_name(name)
            .and_then(|c| c.as_list_opt::<i32>())
            .cloned()
            .ok_or_else(|| format!("column `{name}` is not a list"))?;
        let entries = list.values().as_struct_opt().ok_or_else(|| format!("`{name}` does not hold structs"))?;
        let (Some(index), Some(count)) = (
            entries.column_by_name("index").and_then(|c| c.as_primitive_opt::<Int32Type>()).cloned(),
            entries.column_by_name("count").and_then(|c| c.as_primitive_opt::<Float64Type>()).cloned(),
        ) else {
            return Err(format!("`{name}` entries are not {{index: Int32, count: Float64}}"));
        };
        let entry_nulls = entries.nulls().cloned();
        Ok(Side { name, list, index, count, entry_nulls })
    }

    /// Row `i`'s buckets: ascending indices, counts ≥ 0.
    fn get(&self, i: usize) -> Result<Vec<(i32, f64)>, String> {
        let name = self.name;
        if self.list.is_null(i) {
            return Err(format!("`{name}` is null"));
        }
        let offsets = self.list.value_offsets();
        let (from, to) = (offsets[i] as usize, offsets[i + 1] as usize);
        let mut out: Vec<(i32, f64)> = Vec::with_capacity(to - from);
        for j in from..to {
            if self.entry_nulls.as_ref().is_some_and(|n| n.is_null(j)) || self.index.is_null(j) || self.count.is_null(j)
            {
                return Err(format!("`{name}` has a null bucket"));
            }
            let (k, c) = (self.index.value(j), self.count.value(j));
            if let Some(&(p, _)) = out.last() {
                if p >= k {
                    return Err(format!("`{name}` bucket indices are not strictly ascending ({k} after {p})"));
                }
            }
            if c.is_nan() || c < 0.0 {
                return Err(format!("`{name}` bucket {k} has count {c}"));
            }
            out.push((k, c));
        }
        Ok(out)
    }
}

impl HistRows {
    /// The columns of `b` (already checked to have the layout's types by
    /// the reader's schema check), with `schema` its `h_schema` as Int32.
    pub(crate) fn new(b: &RecordBatch, schema: &ArrayRef) -> Result<HistRows, String> {
        let float = |n: &str| -> Result<Float64Array, String> {
            b.column_by_name(n)
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .cloned()
                .ok_or_else(|| format!("column `{n}` is not Float64"))
        };
        Ok(HistRows {
            schema: schema.as_primitive_opt::<Int32Type>().cloned().ok_or("column `h_schema` is not Int32")?,
            floats: [float(H_ZERO_THRESHOLD)?, float(H_ZERO_COUNT)?, float(H_COUNT)?, float(H_SUM)?],
            positive: Side::new(b, H_POSITIVE)?,
            negative: Side::new(b, H_NEGATIVE)?,
        })
    }

    /// Row `i` (whose `h_schema` is set) as a histogram, or why it is not one.
    pub(crate) fn get(&self, i: usize) -> Result<NativeHistogram, String> {
        let schema = self.schema.value(i);
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&schema) {
            return Err(format!("`h_schema` is {schema}, outside {MIN_SCHEMA}..={MAX_SCHEMA}"));
        }
        let mut f = [0.0; 4];
        for (k, (a, name)) in self.floats.iter().zip([H_ZERO_THRESHOLD, H_ZERO_COUNT, H_COUNT, H_SUM]).enumerate() {
            if a.is_null(i) {
                return Err(format!("`{name}` is null"));
            }
            f[k] = a.value(i);
        }
        let [zero_threshold, zero_count, count, sum] = f;
        if !zero_threshold.is_finite() || zero_threshold < 0.0 {
            return Err(format!("`h_zero_threshold` is {zero_threshold}, not a finite number ≥ 0"));
        }
        if zero_count.is_nan() || count.is_nan() || zero_count < 0.0 || count < 0.0 {
            return Err("a count is negative or NaN".into());
        }
        Ok(NativeHistogram {
            schema,
            zero_threshold,
            zero_count,
            count,
            sum,
            positive: self.positive.get(i)?,
            negative: self.negative.get(i)?,
        })
    }
}

fn buckets(rows: &[Option<NativeHistogram>], side: fn(&NativeHistogram) -> &Vec<(i32, f64)>) -> ArrayRef {
    let mut offsets = vec![0i32];
    let (mut index, mut count) = (Vec::new(), Vec::new());
    for r in rows {
        if let Some(h) = r {
            for &(i, c) in side(h) {
                index.push(i);
                count.push(c);
            }
        }
        offsets.push(index.len() as i32);
    }
    let values = StructArray::new(
        bucket_fields(),
        vec![Arc::new(Int32Array::from(index)), Arc::new(Float64Array::from(count))],
        None,
    );
    let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<bool>>());
    let field = Arc::new(Field::new("item", DataType::Struct(bucket_fields()), false));
    Arc::new(ListArray::new(field, OffsetBuffer::new(offsets.into()), Arc::new(values), Some(nulls)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_boundaries_are_inclusive_above() {
        // Schema 0: (0.25, 0.5] is bucket −1, (0.5, 1] bucket 0, (1, 2] bucket 1.
        assert_eq!(bucket_index(0.5, 0), -1);
        assert_eq!(bucket_index(0.3, 0), -1);
        assert_eq!(bucket_index(1.0, 0), 0);
        assert_eq!(bucket_index(1.0000001, 0), 1);
        // Schema 3: eight buckets per power of two.
        assert_eq!(bucket_index(1.0, 3), 0);
        assert_eq!(bucket_index(2.0, 3), 8);
        assert_eq!(bucket_index(2f64.powf(1.0 / 8.0), 3), 1);
        assert_eq!(bucket_index(1.05, 3), 1);
        // Schema −2: a bucket spans four powers of two.
        assert_eq!(bucket_index(16.0, -2), 1);
        assert_eq!(bucket_index(17.0, -2), 2);
        for s in MIN_SCHEMA..=MAX_SCHEMA {
            for i in -40..40 {
                assert_eq!(bucket_index(bucket_upper(i, s), s), i, "schema {s} bucket {i}");
            }
        }
    }

    #[test]
    fn observations_land_in_their_buckets() {
        let mut h = NativeHistogram::empty(0);
        h.observe(0.3, 2.0);
        h.observe(0.7, 1.0);
        h.observe(0.4, 1.0);
        h.observe(0.0, 1.0);
        h.observe(-3.0, 1.0);
        assert_eq!(h.positive, vec![(-1, 3.0), (0, 1.0)]);
        assert_eq!(h.negative, vec![(2, 1.0)]);
        assert_eq!((h.zero_count, h.count), (1.0, 6.0));
    }
}
