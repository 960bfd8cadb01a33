//! Data read from an HTTP(S) server: a `--data` entry that is a URL
//! (`https://host/path/file.parquet`) names one Parquet file that the
//! engine reads through the object-store client DataFusion itself uses, by
//! range requests (the footer, then the column chunks the scan needs), so
//! `slo worker`s read the same URL without a shared file system. Any server
//! that answers range requests serves: nginx, S3's or GCS's public or
//! presigned-free endpoints, a CDN.
//!
//! What is refused, with the reason: a URL that ends in `/` (a server has
//! no standard listing, so a directory cannot be read), one with a query,
//! a fragment or credentials (they would be dropped from the requests), and
//! a server that answers a range request with the whole file.

use super::reader::DataError;
use datafusion::parquet::file::metadata::{FooterTail, ParquetMetaData, ParquetMetaDataReader};
use object_store::http::HttpBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take, its body included (a column chunk of a
/// million-row group is a few MB).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Retries of a request that failed for a reason that may pass (a refused
/// or reset connection, a 5xx answer), and the time after the first try
/// past which none is made.
const RETRIES: usize = 3;
const RETRY_WINDOW: Duration = Duration::from_secs(30);

/// The entry as a URL when it is one (`http://` or `https://`, in any
/// case); `None` for a local path. A local file whose path starts so is
/// named `./http://…`.
pub fn url_of(p: &std::path::Path) -> Option<&str> {
    let s = p.to_str()?;
    let starts = |scheme: &str| s.get(..scheme.len()).is_some_and(|h| h.eq_ignore_ascii_case(scheme));
    (starts("http://") || starts("https://")).then_some(s)
}

fn refused(s: &str, why: impl std::fmt::Display) -> DataError {
    DataError::Io { path: s.to_string(), message: format!("not a URL slo can read data from: {why}") }
}

/// The entry checked: one file, nothing the requests would drop.
pub(crate) fn parse(s: &str) -> Result<Url, DataError> {
    let u = Url::parse(s).map_err(|e| refused(s, e))?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err(refused(s, "it names no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(refused(s, "it carries credentials, which are not sent (serve the file without them)"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(refused(s, "it has a query or a fragment, which are not sent (name the file by its path alone)"));
    }
    if u.path().ends_with('/') {
        return Err(refused(s, "it names a directory (a URL must name one Parquet file: give each file's URL)"));
    }
    Ok(u)
}

/// `scheme://host:port`, what the engine's registry keys stores by.
pub(crate) fn origin(u: &Url) -> Url {
    let mut o = u.clone();
    o.set_path("/");
    o
}

/// The object-store client for the URL's server: one per server for the
/// whole process, so the footer reads, the probe and the scans share its
/// connections (and its TLS roots are loaded once).
pub(crate) fn store(u: &Url) -> Result<Arc<dyn ObjectStore>, DataError> {
    static STORES: Mutex<BTreeMap<String, Arc<dyn ObjectStore>>> = Mutex::new(BTreeMap::new());
    let origin = origin(u);
    let mut stores = STORES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = stores.get(origin.as_str()) {
        return Ok(s.clone());
    }
    let options =
        ClientOptions::new().with_allow_http(true).with_connect_timeout(CONNECT_TIMEOUT).with_timeout(REQUEST_TIMEOUT);
    let retry = RetryConfig { backoff: BackoffConfig::default(), max_retries: RETRIES, retry_timeout: RETRY_WINDOW };
    let store: Arc<dyn ObjectStore> = Arc::new(
        HttpBuilder::new()
            .with_url(origin.as_str())
            .with_client_options(options)
            .with_retry(retry)
            .build()
            .map_err(|e| io(u, &e))?,
    );
    stores.insert(origin.to_string(), store.clone());
    Ok(store)
}

/// The file's path on its server, as the store names it.
fn object_path(u: &Url) -> Result<ObjectPath, DataError> {
    ObjectPath::from_url_path(u.path()).map_err(|e| refused(u.as_str(), e))
}

/// An object-store failure, said plainly where its kind is known.
pub(crate) fn io(u: &Url, e: &object_store::Error) -> DataError {
    let message = match e {
        object_store::Error::NotFound { .. } => "the server has no such file (HTTP 404)".to_string(),
        object_store::Error::NotSupported { .. } => {
            "the server does not answer range requests (it sent the whole file instead of a part): \
             serve the file from one that does (nginx, an object store)"
                .to_string()
        }
        e => e.to_string(),
    };
    DataError::Io { path: u.to_string(), message }
}

/// The file's footer: its size, then its last 8 bytes, then the metadata
/// they announce (three requests). Parsed as a local file's footer is (a
/// decoder panic on a corrupt footer is an error, not a crash).
pub(crate) async fn footer(u: &Url) -> Result<ParquetMetaData, DataError> {
    let store = store(u)?;
    let path = object_path(u)?;
    let size = store.head(&path).await.map_err(|e| io(u, &e))?.size;
    let bad = |why: String| DataError::Io { path: u.to_string(), message: why };
    if size < 12 {
        return Err(bad(format!("the file has {size} bytes, too few for Parquet")));
    }
    let tail = store.get_range(&path, size - 8..size).await.map_err(|e| io(u, &e))?;
    let tail: [u8; 8] = tail.as_ref().try_into().map_err(|_| bad("the server sent a short range".into()))?;
    let footer = FooterTail::try_new(&tail).map_err(|e| bad(e.to_string()))?;
    let len = footer.metadata_length() as u64;
    if len + 8 > size {
        return Err(bad(format!("the footer claims {len} bytes of metadata in a file of {size}")));
    }
    let meta = store.get_range(&path, size - 8 - len..size - 8).await.map_err(|e| io(u, &e))?;
    let whole = [u.as_str().into()];
    super::reader::guarded(&whole, || {
        ParquetMetaDataReader::decode_metadata(&meta).map_err(|e| vec![bad(format!("the footer is broken: {e}"))])
    })
    .map_err(|mut es| es.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn urls_are_told_from_paths() {
        assert_eq!(url_of(Path::new("https://h/x.parquet")), Some("https://h/x.parquet"));
        assert_eq!(url_of(Path::new("HTTP://h/x.parquet")), Some("HTTP://h/x.parquet"));
        assert_eq!(url_of(Path::new("./http://h/x.parquet")), None);
        assert_eq!(url_of(Path::new("data/x.parquet")), None);
        assert_eq!(url_of(Path::new("http")), None);
    }

    #[test]
    fn what_cannot_be_read_is_refused_with_its_reason() {
        let why = |s: &str| parse(s).unwrap_err().to_string();
        assert!(why("http://h/dir/").contains("directory"), "{}", why("http://h/dir/"));
        assert!(why("http://u:p@h/x.parquet").contains("credentials"));
        assert!(why("http://h/x.parquet?sig=1").contains("query"));
        assert!(why("http://h/x.parquet#a").contains("fragment"));
        // An empty authority is skipped: the host is `x.parquet`, the path `/`.
        assert!(why("http:///x.parquet").contains("directory"), "{}", why("http:///x.parquet"));
        assert!(why("http://h:99999/x.parquet").contains("invalid port"), "{}", why("http://h:99999/x.parquet"));
        let u = parse("http://127.0.0.1:8080/a/b%20c.parquet").unwrap();
        assert_eq!(origin(&u).as_str(), "http://127.0.0.1:8080/");
        assert_eq!(object_path(&u).unwrap().as_ref(), "a/b c.parquet");
        // One client per server.
        let other = parse("http://127.0.0.1:8080/elsewhere.parquet").unwrap();
        assert!(Arc::ptr_eq(&store(&u).unwrap(), &store(&other).unwrap()));
        assert!(!Arc::ptr_eq(&store(&u).unwrap(), &store(&parse("http://127.0.0.1:8081/x.parquet").unwrap()).unwrap()));
    }
}
