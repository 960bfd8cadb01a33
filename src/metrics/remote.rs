//! Prometheus's remote-read API (`POST /api/v1/read`): the request and
//! response messages (protobuf, the `prompb` package's field numbers),
//! snappy block compression of the request and of a `SAMPLES` response,
//! and the `STREAMED_XOR_CHUNKS` response: frames of
//! `uvarint length | CRC-32C (big-endian) | ChunkedReadResponse`, whose
//! chunks hold samples in the TSDB's XOR encoding (Gorilla: delta-of-delta
//! timestamps, XOR-ed values), decoded here.
//!
//! Remote read gives the samples as stored — staleness markers included,
//! which the query API drops (a native histogram's marker is a histogram
//! whose sum is the staleness NaN: it becomes the layout's marker row). Everything read from the server is checked:
//! a bad frame, CRC, protobuf or chunk is an error, never a panic.

use super::native::Bad;
use crate::layout::histogram::NativeHistogram;
use crate::layout::schema::STALE_NAN_BITS;
use prost::Message;

#[derive(Clone, PartialEq, Message)]
pub(super) struct ReadRequest {
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// 0: SAMPLES, 1: STREAMED_XOR_CHUNKS.
    #[prost(int32, repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub(super) struct Query {
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
}

#[derive(Clone, PartialEq, Message)]
pub(super) struct LabelMatcher {
    /// 0 `=`, 1 `!=`, 2 `=~`, 3 `!~`.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
struct ReadResponse {
    #[prost(message, repeated, tag = "1")]
    results: Vec<QueryResult>,
}

#[derive(Clone, PartialEq, Message)]
struct QueryResult {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    histograms: Vec<Histogram>,
}

/// `prompb.Histogram`: a native-histogram sample. The `oneof`s of
/// integer and float counts are two optional fields each here (the same
/// bytes on the wire).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    pub count_int: Option<u64>,
    #[prost(double, optional, tag = "2")]
    pub count_float: Option<f64>,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(uint64, optional, tag = "6")]
    pub zero_count_int: Option<u64>,
    #[prost(double, optional, tag = "7")]
    pub zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    /// Integer histograms: each bucket's count minus the previous one's.
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    /// Float histograms: each bucket's count.
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    /// 0 unknown, 1 yes, 2 no, 3 gauge.
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

impl Histogram {
    /// The layout's histogram: absolute indices, counts per bucket.
    pub(crate) fn decode(&self) -> Result<NativeHistogram, Bad> {
        super::native::check_schema(self.schema)?;
        let bad = |m: String| ("slo::import::histogram_layout", m);
        let float = self.count_float.is_some();
        let side = |spans: &[BucketSpan], deltas: &[i64], counts: &[f64]| -> Result<Vec<(i32, f64)>, Bad> {
            let spans: Vec<(i32, u32)> = spans.iter().map(|s| (s.offset, s.length)).collect();
            let counts = if float { counts.to_vec() } else { super::native::undelta(deltas).map_err(bad)? };
            super::native::from_spans(&spans, &counts).map_err(bad)
        };
        Ok(NativeHistogram {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count_float.or(self.zero_count_int.map(|c| c as f64)).unwrap_or(0.0),
            count: self.count_float.or(self.count_int.map(|c| c as f64)).unwrap_or(0.0),
            sum: self.sum,
            positive: side(&self.positive_spans, &self.positive_deltas, &self.positive_counts)?,
            negative: side(&self.negative_spans, &self.negative_deltas, &self.negative_counts)?,
        })
    }
}

#[derive(Clone, PartialEq, Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ChunkedReadResponse {
    #[prost(message, repeated, tag = "1")]
    chunked_series: Vec<ChunkedSeries>,
    #[prost(int64, tag = "2")]
    query_index: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ChunkedSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    chunks: Vec<Chunk>,
}

#[derive(Clone, PartialEq, Message)]
struct Chunk {
    #[prost(int64, tag = "1")]
    min_time_ms: i64,
    #[prost(int64, tag = "2")]
    max_time_ms: i64,
    /// 1: XOR (floats); 2, 3: native histograms.
    #[prost(int32, tag = "3")]
    r#type: i32,
    #[prost(bytes = "vec", tag = "4")]
    data: Vec<u8>,
}

/// One series of a response: labels, float samples `(ms, value)` and
/// native-histogram samples in time order (each decoded, or why not), and
/// how many native-histogram chunks of a streamed answer it had (they are
/// not decoded: their encoding is not XOR).
pub(super) struct Series {
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
    pub histograms: Vec<(i64, Result<NativeHistogram, Bad>)>,
    pub histogram_chunks: u64,
}

/// The snappy-compressed request for `[start, end]` of one selector,
/// accepting streamed chunks (preferred) and samples, or only samples.
pub(super) fn request(start: i64, end: i64, matchers: Vec<LabelMatcher>, samples_only: bool) -> Vec<u8> {
    let req = ReadRequest {
        queries: vec![Query { start_timestamp_ms: start, end_timestamp_ms: end, matchers }],
        accepted_response_types: if samples_only { vec![0] } else { vec![1, 0] },
    };
    snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).unwrap_or_default()
}

/// A reader that counts the bytes read through it.
pub(super) struct Counted<R> {
    pub inner: R,
    pub bytes: u64,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Frames read at most this long (Prometheus's default is 1 MiB).
const MAX_FRAME: u64 = 64 << 20;

/// Reads a whole response: `streamed` for `application/x-streamed-protobuf`,
/// else a snappy-compressed `ReadResponse`. Calls `each` per series.
pub(super) fn read(
    mut body: &mut impl std::io::Read,
    streamed: bool,
    each: &mut dyn FnMut(Series) -> Result<(), String>,
) -> Result<(), String> {
    if !streamed {
        let mut bytes = Vec::new();
        body.read_to_end(&mut bytes).map_err(|e| format!("reading the response: {e}"))?;
        let raw = snap::raw::Decoder::new().decompress_vec(&bytes).map_err(|e| format!("snappy: {e}"))?;
        drop(bytes);
        let resp = ReadResponse::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))?;
        for r in resp.results {
            for ts in r.timeseries {
                let mut samples: Vec<(i64, f64)> = ts.samples.iter().map(|s| (s.timestamp, s.value)).collect();
                let mut histograms = Vec::new();
                for h in &ts.histograms {
                    if h.sum.to_bits() == STALE_NAN_BITS {
                        // A histogram series' staleness marker: the layout's marker row.
                        samples.push((h.timestamp, f64::from_bits(STALE_NAN_BITS)));
                    } else {
                        histograms.push((h.timestamp, h.decode()));
                    }
                }
                each(Series { labels: labels(ts.labels), samples, histograms, histogram_chunks: 0 })?;
            }
        }
        return Ok(());
    }
    let mut frame = Vec::new();
    while let Some(len) = uvarint(&mut body)? {
        if len > MAX_FRAME {
            return Err(format!("a frame of {len} bytes, more than {MAX_FRAME}"));
        }
        let mut crc = [0u8; 4];
        body.read_exact(&mut crc).map_err(|e| format!("a frame's checksum: {e}"))?;
        frame.clear();
        frame.resize(len as usize, 0);
        body.read_exact(&mut frame).map_err(|e| format!("a frame of {len} bytes: {e}"))?;
        if crc32c(&frame) != u32::from_be_bytes(crc) {
            return Err("a frame's CRC-32C does not match".into());
        }
        let msg = ChunkedReadResponse::decode(frame.as_slice()).map_err(|e| format!("protobuf: {e}"))?;
        for cs in msg.chunked_series {
            let mut samples = Vec::new();
            let mut histograms = 0;
            for c in &cs.chunks {
                match c.r#type {
                    1 => xor_decode(&c.data, &mut samples)?,
                    2 | 3 => histograms += 1,
                    t => return Err(format!("a chunk of unknown encoding {t}")),
                }
            }
            each(Series { labels: labels(cs.labels), samples, histograms: Vec::new(), histogram_chunks: histograms })?;
        }
    }
    Ok(())
}

fn labels(ls: Vec<Label>) -> Vec<(String, String)> {
    ls.into_iter().map(|l| (l.name, l.value)).collect()
}

/// A uvarint at a frame boundary; `None` at the end of the body.
fn uvarint(r: &mut impl std::io::Read) -> Result<Option<u64>, String> {
    let mut x = 0u64;
    for i in 0..10 {
        let mut b = [0u8; 1];
        match r.read(&mut b) {
            Ok(0) if i == 0 => return Ok(None),
            Ok(0) => return Err("the body ends inside a frame length".into()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading the response: {e}")),
        }
        x |= ((b[0] & 0x7f) as u64) << (7 * i);
        if b[0] < 0x80 {
            return Ok(Some(x));
        }
    }
    Err("a frame length longer than 10 bytes".into())
}

/// CRC-32C (Castagnoli), the frames' checksum.
fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0x82f6_3b78 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| t[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// Reads bits most significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<bool, String> {
        let byte = self.data.get(self.pos / 8).ok_or("a chunk ends early")?;
        let b = byte >> (7 - self.pos % 8) & 1 == 1;
        self.pos += 1;
        Ok(b)
    }
    fn bits(&mut self, n: u32) -> Result<u64, String> {
        let mut x = 0u64;
        for _ in 0..n {
            x = x << 1 | self.bit()? as u64;
        }
        Ok(x)
    }
    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.bits(8)? as u8)
    }
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut x = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            x |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err("a varint longer than 10 bytes in a chunk".into())
    }
    fn varint(&mut self) -> Result<i64, String> {
        let u = self.uvarint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }
}

/// Appends the samples of one XOR chunk: a 2-byte big-endian count, then
/// the first time (varint) and value (64 bits), the second time as a
/// uvarint delta, later times as delta-of-deltas in buckets of 0, 14, 17,
/// 20 or 64 bits (prefixes 0, 10, 110, 1110, 1111), and every value after
/// the first XOR-ed with the previous one (0: the same; 10: within the
/// previous leading/trailing zeros; 11: 5 bits of leading zeros, 6 of
/// significant bits, then those bits).
fn xor_decode(data: &[u8], out: &mut Vec<(i64, f64)>) -> Result<(), String> {
    let [hi, lo, ..] = *data else { return Err("a chunk shorter than its header".into()) };
    let n = u16::from_be_bytes([hi, lo]) as usize;
    let mut r = Bits { data: &data[2..], pos: 0 };
    let (mut t, mut delta, mut v) = (0i64, 0i64, 0u64);
    let (mut leading, mut trailing) = (0u32, 0u32);
    out.reserve(n);
    for i in 0..n {
        match i {
            0 => {
                t = r.varint()?;
                v = r.bits(64)?;
            }
            1 => {
                delta = r.uvarint()? as i64;
                t = t.wrapping_add(delta);
            }
            _ => {
                let mut prefix = 0;
                while prefix < 4 && r.bit()? {
                    prefix += 1;
                }
                let size = [0, 14, 17, 20, 64][prefix];
                let dod = if size == 0 {
                    0
                } else {
                    let raw = r.bits(size)?;
                    if size == 64 {
                        raw as i64
                    } else if raw > 1 << (size - 1) {
                        raw as i64 - (1i64 << size)
                    } else {
                        raw as i64
                    }
                };
                delta = delta.wrapping_add(dod);
                t = t.wrapping_add(delta);
            }
        }
        if i > 0 && r.bit()? {
            if r.bit()? {
                leading = r.bits(5)? as u32;
                let mut sig = r.bits(6)? as u32;
                if sig == 0 {
                    sig = 64;
                }
                if leading + sig > 64 {
                    return Err("a chunk's value header is out of range".into());
                }
                trailing = 64 - leading - sig;
            }
            let sig = 64 - leading - trailing;
            let bits = r.bits(sig)?;
            v ^= if trailing >= 64 { 0 } else { bits << trailing };
        }
        out.push((t, f64::from_bits(v)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    /// Writes bits most significant first (the encoder side, for the test).
    struct W(Vec<u8>, usize);
    impl W {
        fn bits(&mut self, x: u64, n: u32) {
            for i in (0..n).rev() {
                if self.1.is_multiple_of(8) {
                    self.0.push(0);
                }
                if x >> i & 1 == 1 {
                    let last = self.0.len() - 1;
                    self.0[last] |= 1 << (7 - self.1 % 8);
                }
                self.1 += 1;
            }
        }
        fn uvarint(&mut self, mut x: u64) {
            loop {
                let b = (x & 0x7f) as u8;
                x >>= 7;
                if x == 0 {
                    self.bits(b as u64, 8);
                    return;
                }
                self.bits((b | 0x80) as u64, 8);
            }
        }
    }

    #[test]
    fn xor_chunks_decode() {
        // 1000 → 1.5, 16000 → 1.5, 31000 → 2.0, 46001 → 2.0: a zero
        // dod, then one in the 14-bit bucket (+1 ms).
        let mut w = W(vec![0, 4], 16);
        w.uvarint(2000); // zig-zag of 1000
        w.bits(1.5f64.to_bits(), 64);
        w.uvarint(15000);
        w.bits(0, 1); // same value
        w.bits(0, 1); // dod 0
        let x = 1.5f64.to_bits() ^ 2.0f64.to_bits();
        let (lead, trail) = (x.leading_zeros(), x.trailing_zeros());
        w.bits(0b11, 2);
        w.bits(lead as u64, 5);
        w.bits((64 - lead - trail) as u64 & 63, 6);
        w.bits(x >> trail, 64 - lead - trail);
        w.bits(0b10, 2); // 14-bit bucket
        w.bits(1, 14);
        w.bits(0, 1);
        let mut out = Vec::new();
        xor_decode(&w.0, &mut out).unwrap();
        assert_eq!(out, vec![(1000, 1.5), (16000, 1.5), (31000, 2.0), (46001, 2.0)]);
        // Truncated or garbage chunks are errors, not panics.
        for cut in 0..w.0.len() {
            let mut o = Vec::new();
            assert!(xor_decode(&w.0[..cut], &mut o).is_err(), "{cut}");
        }
        let mut x: u64 = 7;
        for _ in 0..2000 {
            let mut d = w.0.clone();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x % d.len() as u64) as usize;
            d[at] ^= (x >> 40) as u8 | 1;
            let _ = xor_decode(&d, &mut Vec::new());
            let _ = read(&mut d.as_slice(), true, &mut |_| Ok(()));
            let _ = read(&mut d.as_slice(), false, &mut |_| Ok(()));
        }
    }

    fn span(offset: i32, length: u32) -> BucketSpan {
        BucketSpan { offset, length }
    }

    /// A `SAMPLES` answer of one series with these histograms.
    fn answer(histograms: Vec<Histogram>) -> Vec<u8> {
        let ts = TimeSeries {
            labels: vec![Label { name: "__name__".into(), value: "h".into() }],
            samples: vec![],
            histograms,
        };
        let resp = ReadResponse { results: vec![QueryResult { timeseries: vec![ts] }] };
        snap::raw::Encoder::new().compress_vec(&resp.encode_to_vec()).unwrap()
    }

    #[test]
    fn histogram_samples_decode_to_absolute_indices() {
        let int = Histogram {
            count_int: Some(7),
            sum: 2.5,
            schema: 3,
            zero_threshold: 0.001,
            zero_count_int: Some(1),
            // Buckets −2, −1 (counts 1, 0), then 3 (count 4): deltas 1, −1, 4.
            positive_spans: vec![span(-2, 2), span(3, 1)],
            positive_deltas: vec![1, -1, 4],
            negative_spans: vec![span(5, 1)],
            negative_deltas: vec![1],
            timestamp: 1000,
            ..Default::default()
        };
        let float = Histogram {
            count_float: Some(1.5),
            sum: 0.5,
            schema: -1,
            positive_spans: vec![span(0, 1)],
            positive_counts: vec![1.5],
            timestamp: 2000,
            ..Default::default()
        };
        let marker = Histogram { sum: f64::from_bits(STALE_NAN_BITS), timestamp: 3000, ..Default::default() };
        let custom = Histogram { schema: -53, custom_values: vec![0.1, 0.5], timestamp: 4000, ..Default::default() };
        let body = answer(vec![int, float, marker, custom]);
        let mut got = Vec::new();
        read(&mut body.as_slice(), false, &mut |s| {
            got.push(s);
            Ok(())
        })
        .unwrap();
        let s = &got[0];
        assert_eq!(s.samples.len(), 1);
        assert_eq!((s.samples[0].0, s.samples[0].1.to_bits()), (3000, STALE_NAN_BITS));
        let h: Vec<_> = s.histograms.iter().map(|(t, h)| (*t, h.clone())).collect();
        assert_eq!(
            h[0],
            (
                1000,
                Ok(NativeHistogram {
                    schema: 3,
                    zero_threshold: 0.001,
                    zero_count: 1.0,
                    count: 7.0,
                    sum: 2.5,
                    positive: vec![(-2, 1.0), (3, 4.0)],
                    negative: vec![(5, 1.0)],
                })
            )
        );
        assert_eq!(h[1].1.as_ref().map(|h| (h.schema, h.count, h.positive.clone())), Ok((-1, 1.5, vec![(0, 1.5)])));
        assert!(matches!(&h[2], (4000, Err(("slo::import::histogram_layout", _)))));
        // Deltas that do not match their spans, or go below zero: refused.
        let bad = Histogram { positive_spans: vec![span(0, 2)], positive_deltas: vec![1], ..Default::default() };
        assert!(bad.decode().is_err());
        let neg = Histogram { positive_spans: vec![span(0, 2)], positive_deltas: vec![1, -2], ..Default::default() };
        assert!(neg.decode().is_err());
        // Garbage never panics.
        let mut x: u64 = 11;
        for _ in 0..2000 {
            let mut raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x % raw.len() as u64) as usize;
            raw[at] ^= (x >> 40) as u8 | 1;
            let d = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
            let _ = read(&mut d.as_slice(), false, &mut |_| Ok(()));
        }
    }
}
