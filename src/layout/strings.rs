//! How the scan decodes string columns: as the dictionaries they are
//! stored as, or as string views for a read the engine sorts.
//!
//! Label columns are a handful of values repeated over millions of rows,
//! and writers store them dictionary-encoded. But a file written from plain
//! strings (pyarrow's default `string` type) says `Utf8` in its Arrow
//! schema, and the engine then decodes every row into a 16-byte string view:
//! on the counters benchmark (four such columns, 104M rows) that was 6.6 GB
//! of views written into fresh pages, a tenth of the scan's CPU in the
//! kernel zeroing them. Read as `Dictionary(Int32, Utf8)`
//! ([`Strings::Dictionaries`]), a row costs a 4-byte key and the values are
//! decoded once per row group.
//!
//! A sort is the other way round: it accounts each batch's dictionary
//! whole, and files whose Arrow schema says dictionary (slo's own, pyarrow's
//! categoricals) did not sort within `--memory-limit 32M` when they were
//! out of order. A sorted read decodes every string column as views
//! ([`Strings::Views`]), as it does files of plain strings.
//!
//! DataFusion decides a file's Arrow types from its footer unless the file
//! comes with a physical schema of its own ([`PartitionedFile::arrow_schema`]),
//! which the Parquet reader then honours. So the table ([`Typed`]) is the
//! engine's listing table with the columns declared in the chosen type,
//! and its scan hands every file its own schema, with the same columns in
//! that type.
//!
//! [`PartitionedFile::arrow_schema`]: datafusion::datasource::listing::PartitionedFile

use super::reader::{arrow_schema, is_string, Footer};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, Statistics};
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::options::ReadOptions;
use datafusion::logical_expr::{TableProviderFilterPushDown, TableType};
use datafusion::parquet::basic::{Encoding, Type as PhysicalType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// How a scan decodes the string columns it can.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Strings {
    /// Columns stored dictionary-encoded in every row group of every file
    /// as `Dictionary(Int32, Utf8)`: the streaming pass reads their keys.
    Dictionaries,
    /// Every string column as `Utf8View`: what the engine's sort holds in
    /// the least memory.
    Views,
}

impl Strings {
    fn data_type(self) -> DataType {
        match self {
            Strings::Dictionaries => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Strings::Views => DataType::Utf8View,
        }
    }

    /// The top-level string columns this way applies to (see the variants).
    /// For dictionaries, a column plain-encoded anywhere (a writer falls back
    /// to plain pages once a row group's dictionary grows past its limit) is
    /// left as the engine reads it.
    pub(crate) fn columns(self, footers: &[Footer]) -> BTreeSet<String> {
        let mut yes = BTreeSet::new();
        let mut no = BTreeSet::new();
        for (_, meta) in footers {
            let Ok(schema) = arrow_schema(meta) else { return BTreeSet::new() };
            let descr = meta.file_metadata().schema_descr();
            for field in schema.fields() {
                let name = field.name();
                // The leaf column of this top-level field, if it is one.
                let leaf = (0..descr.num_columns()).find(|&i| {
                    let c = descr.column(i);
                    c.path().parts() == std::slice::from_ref(name)
                        && c.physical_type() == PhysicalType::BYTE_ARRAY
                        && c.max_rep_level() == 0
                });
                // Every data page dictionary-encoded, by the chunk's page
                // encoding statistics: its list of encodings cannot tell,
                // since the dictionary page itself is listed as PLAIN.
                // Without statistics, the column is taken as not encoded.
                let encoded = |i: usize| {
                    meta.row_groups().iter().all(|rg| {
                        let c = rg.column(i);
                        c.dictionary_page_offset().is_some()
                            && c.page_encoding_stats_mask().is_some_and(|m| {
                                m.is_only(Encoding::RLE_DICTIONARY) || m.is_only(Encoding::PLAIN_DICTIONARY)
                            })
                    })
                };
                let applies =
                    is_string(field.data_type()) && leaf.is_some_and(|i| self == Strings::Views || encoded(i));
                match applies {
                    true => yes.insert(name.clone()),
                    false => no.insert(name.clone()),
                };
            }
        }
        yes.retain(|c| !no.contains(c));
        yes
    }

    /// `schema` with `cols` in this way's type.
    fn apply(self, schema: &Schema, cols: &BTreeSet<String>) -> Schema {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match cols.contains(f.name()) {
                true => f.as_ref().clone().with_data_type(self.data_type()),
                false => f.as_ref().clone(),
            })
            .collect();
        Schema::new_with_metadata(fields, schema.metadata().clone())
    }
}

/// Where the engine finds a file (a footer's path): the path of its
/// object-store location, as the listing names it.
fn location(path: &std::path::Path) -> Option<String> {
    let url = super::reader::engine_url(path).ok()?;
    ListingTableUrl::try_new(url, None).ok().map(|u| u.prefix().to_string())
}

/// The listing table `df` was read from, with the string columns
/// `strings` applies to ([`Strings::columns`]) decoded its way (`paths` as
/// the engine takes them, `footers` every file's). `df` itself when that
/// changes no type.
pub(crate) fn read(
    ctx: &SessionContext,
    df: DataFrame,
    paths: &[String],
    options: &ParquetReadOptions<'_>,
    footers: &[Footer],
    strings: Strings,
) -> Result<DataFrame> {
    let cols = strings.columns(footers);
    if cols.is_empty() {
        return Ok(df);
    }
    let table = Arc::new(strings.apply(df.schema().as_arrow(), &cols));
    let mut changed = table.as_ref() != df.schema().as_arrow();
    let mut files = HashMap::new();
    for (path, meta) in footers {
        let (Some(key), Ok(schema)) = (location(path), arrow_schema(meta)) else {
            continue;
        };
        let typed = strings.apply(&schema, &cols);
        changed |= typed != schema;
        files.insert(key, Arc::new(typed));
    }
    // Files already in these types (dictionaries in slo's own files) are
    // read as they are.
    if !changed {
        return Ok(df);
    }
    let urls = paths.iter().map(ListingTableUrl::parse).collect::<Result<Vec<_>>>()?;
    let listing = options.to_listing_options(&ctx.copied_config(), ctx.copied_table_options());
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(listing).with_schema(table);
    // The file statistics cache, as the engine's own `read_parquet` has it.
    let cache = ctx.runtime_env().cache_manager.get_file_statistic_cache();
    let inner = Arc::new(ListingTable::try_new(config)?.with_cache(cache));
    ctx.read_table(Arc::new(Typed { inner, files }))
}

/// The engine's listing table whose scan gives each file its Arrow schema
/// in the chosen types (see the module's documentation).
#[derive(Debug)]
struct Typed {
    inner: Arc<ListingTable>,
    /// Each file's location ([`location`]) and schema as read.
    files: HashMap<String, SchemaRef>,
}

#[async_trait::async_trait]
impl TableProvider for Typed {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        Ok(self.typed(plan))
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }
}

impl Typed {
    /// The listing's scan with every file it knows given its schema. A file
    /// it does not know (the listing and the footers walk the same paths,
    /// and [`location`] names them as the listing does) would be read as the
    /// engine types it and cast to the table's types: slower, the same
    /// values.
    fn typed(&self, plan: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        let Some(exec) = plan.downcast_ref::<DataSourceExec>() else { return plan };
        let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() else { return plan };
        let mut config = config.clone();
        config.file_groups = config
            .file_groups
            .iter()
            .map(|g| {
                FileGroup::new(
                    g.iter()
                        .map(|f| match self.files.get(f.object_meta.location.as_ref()) {
                            Some(s) => f.clone().with_arrow_schema(s.clone()),
                            None => f.clone(),
                        })
                        .collect(),
                )
            })
            .collect();
        DataSourceExec::from_data_source(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::reader::{footers, frame, session, Source};
    use datafusion::arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Float64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{Float64Type, Int32Type};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;

    /// A file of `n` rows in three row groups: `job` strings of two values
    /// (typed as a dictionary in its Arrow schema with `dict_type`), `code`
    /// strings all different (dictionary-encoded with `dict_code`), and
    /// `value` 0, 1, 2….
    fn write(path: &std::path::Path, n: usize, dict_type: bool, dict_code: bool) {
        write_with(
            path,
            n,
            dict_type,
            WriterProperties::builder().set_column_dictionary_enabled("code".into(), dict_code),
        );
    }

    fn write_with(
        path: &std::path::Path,
        n: usize,
        dict_type: bool,
        props: datafusion::parquet::file::properties::WriterPropertiesBuilder,
    ) {
        let jobs = StringArray::from_iter((0..n).map(|i| Some(["api", "web"][i / (n / 2).max(1) % 2])));
        let job: ArrayRef = match dict_type {
            true => Arc::new(jobs.iter().collect::<DictionaryArray<Int32Type>>()),
            false => Arc::new(jobs),
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("job", job.data_type().clone(), true),
            Field::new("code", DataType::Utf8, true),
            Field::new("value", DataType::Float64, false),
        ]));
        let code: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("c{i}"))));
        let value: ArrayRef = Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64)));
        let batch = RecordBatch::try_new(schema.clone(), vec![job, code, value]).unwrap();
        let props = props.set_max_row_group_row_count(Some(n / 3 + 1)).build();
        let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn footers_of(paths: &[std::path::PathBuf]) -> Vec<Footer> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(footers(paths)).unwrap()
    }

    fn set(cols: &[&str]) -> BTreeSet<String> {
        cols.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn dictionaries_only_where_every_file_stores_one_views_for_every_string() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write(&a, 600, false, false);
        write(&b, 600, true, true);
        // `code` is plain-encoded in a, so it stays as it is; `job` is a
        // dictionary everywhere; `value` is no string.
        let both = footers_of(&[a, b.clone()]);
        assert_eq!(Strings::Dictionaries.columns(&both), set(&["job"]));
        assert_eq!(Strings::Dictionaries.columns(&footers_of(&[b])), set(&["code", "job"]));
        assert_eq!(Strings::Views.columns(&both), set(&["code", "job"]));
        // A writer falls back to plain pages once the dictionary outgrows
        // its limit: `code` then lists RLE_DICTIONARY among its encodings
        // (and PLAIN, as every dictionary page does), but only the page
        // statistics tell that some data pages are plain.
        let c = dir.path().join("fallback.parquet");
        let small = WriterProperties::builder()
            .set_dictionary_page_size_limit(64)
            .set_write_batch_size(16)
            .set_data_page_row_count_limit(16);
        write_with(&c, 600, false, small);
        let foot = footers_of(&[c]);
        let chunk = foot[0].1.row_group(0).column(1);
        assert!(
            chunk.encodings().any(|e| e == Encoding::RLE_DICTIONARY),
            "{:?}",
            chunk.encodings().collect::<Vec<_>>()
        );
        assert!(chunk.page_encoding_stats_mask().unwrap().is_set(Encoding::PLAIN));
        assert_eq!(Strings::Dictionaries.columns(&foot), set(&["job"]));
    }

    /// The scan of a directory (with a space in its name; a file's name with
    /// a space, a percent sign and the glob characters `[`, `?`, `*`) and of
    /// that single file: every file the engine lists comes with its schema,
    /// the columns come in the chosen types, and the values are the ones
    /// written.
    #[test]
    fn every_listed_file_is_read_in_the_chosen_types() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("da ta");
        std::fs::create_dir(&sub).unwrap();
        write(&sub.join("one [50%]?*.parquet"), 600, true, true);
        write(&sub.join("two.parquet"), 90, false, false);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        for strings in [Strings::Dictionaries, Strings::Views] {
            for path in [sub.clone(), sub.join("one [50%]?*.parquet")] {
                let src = Source::new(vec![path], 256 << 20);
                let (single, batches) = rt.block_on(async {
                    let ctx = session(&src, 1).unwrap();
                    let (df, foot) = frame(&ctx, &src, strings).await.unwrap();
                    let single = foot.len() == 1;
                    let ty = |c: &str| df.schema().field_with_name(None, c).unwrap().data_type().clone();
                    assert_eq!(ty("job"), strings.data_type(), "{strings:?}");
                    // `code` is plain-encoded in two.parquet.
                    let code_dict = strings == Strings::Dictionaries && single;
                    assert_eq!(ty("code") == Strings::Dictionaries.data_type(), code_dict, "{strings:?}");
                    let plan = df.clone().create_physical_plan().await.unwrap();
                    let (mut files, mut stack) = (0, vec![plan]);
                    while let Some(p) = stack.pop() {
                        if let Some(e) = p.downcast_ref::<DataSourceExec>() {
                            let c = e.data_source().downcast_ref::<FileScanConfig>().unwrap();
                            for f in c.file_groups.iter().flat_map(|g| g.iter()) {
                                assert!(f.arrow_schema.is_some(), "{} has no schema", f.object_meta.location);
                                files += 1;
                            }
                        }
                        stack.extend(p.children().into_iter().cloned());
                    }
                    assert!(files >= foot.len(), "{files} files scanned of {}", foot.len());
                    (single, df.collect().await.unwrap())
                });
                let (mut rows, mut api, mut sum) = (0, 0, 0.0);
                for b in &batches {
                    let job = b.column_by_name("job").unwrap();
                    assert_eq!(job.data_type(), &strings.data_type());
                    let job = datafusion::arrow::compute::cast(job, &DataType::Utf8).unwrap();
                    api += job.as_string::<i32>().iter().filter(|j| *j == Some("api")).count();
                    sum +=
                        b.column_by_name("value").unwrap().as_primitive::<Float64Type>().iter().flatten().sum::<f64>();
                    rows += b.num_rows();
                }
                let values = |n: usize| (0..n).map(|i| i as f64).sum::<f64>();
                assert_eq!(rows, if single { 600 } else { 690 });
                assert_eq!(api, if single { 300 } else { 345 });
                assert_eq!(sum, values(600) + if single { 0.0 } else { values(90) });
            }
        }
    }
}
