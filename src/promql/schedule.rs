//! When a Prometheus server evaluates a rule group.
//!
//! A server does not evaluate its groups on the `:00`/`:15` grid: each
//! group runs at a fixed offset within its interval, `hash(group) %
//! interval` nanoseconds after every multiple of the interval since the
//! Unix epoch, where the hash is the label-set hash of `{file="<path the
//! server loaded the rule file from>", name="<group name>"}`
//! (`rules.Group.EvalTimestamp`). A group's `query_offset` (or the global
//! `rule_query_offset`) then moves every evaluation that far into the past.
//! The backtester evaluates each group at these times to agree with the
//! server sample for sample.
//!
//! The label-set hash depends on how the server was built: Prometheus 3
//! (and official 2.x release binaries) hash the `stringlabels` encoding
//! (each name and value prefixed by its length as a varint), builds with
//! the `slicelabels` tag (Debian's 2.x packages) hash `name\xffvalue\xff`
//! pairs. Both are xxHash64 of the sorted labels `file`, `name`.

use crate::units::Duration;
use std::hash::Hasher;

/// How the server hashes a label set (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelsHash {
    /// `stringlabels`: Prometheus 3 and official release binaries.
    #[default]
    String,
    /// `slicelabels`: Prometheus 2.x built without the `stringlabels` tag.
    Slice,
}

fn xxh64(bytes: &[u8]) -> u64 {
    let mut h = twox_hash::XxHash64::with_seed(0);
    h.write(bytes);
    h.finish()
}

fn push_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The server's hash of the group `{file, name}`.
pub fn group_hash(file: &str, name: &str, how: LabelsHash) -> u64 {
    // Labels sorted by name: `file` before `name`.
    let pairs = [("file", file), ("name", name)];
    let mut b = Vec::with_capacity(file.len() + name.len() + 16);
    for (k, v) in pairs {
        match how {
            LabelsHash::String => {
                push_varint(&mut b, k.len());
                b.extend_from_slice(k.as_bytes());
                push_varint(&mut b, v.len());
                b.extend_from_slice(v.as_bytes());
            }
            LabelsHash::Slice => {
                b.extend_from_slice(k.as_bytes());
                b.push(0xff);
                b.extend_from_slice(v.as_bytes());
                b.push(0xff);
            }
        }
    }
    xxh64(&b)
}

/// Where in each interval the server evaluates the group, in whole
/// milliseconds (the timestamps samples get): `hash % interval`
/// nanoseconds, truncated.
pub fn group_offset(file: &str, name: &str, interval: Duration, how: LabelsHash) -> Duration {
    let ns = interval.ms().max(1) as u128 * 1_000_000;
    Duration::from_ms(((group_hash(file, name, how) as u128 % ns) / 1_000_000) as u64)
}

/// The phase of a group's evaluation timestamps within `interval`
/// (`t ≡ phase (mod interval)` for every evaluation): its offset moved back
/// by its query offset.
pub fn phase_ms(offset: Duration, query_offset: Duration, interval: Duration) -> i64 {
    let step = interval.ms().max(1) as i64;
    (offset.ms() as i64 - query_offset.ms() as i64).rem_euclid(step)
}

/// Per rule group of `program` (`groups[i]` ↔ `program.slos[i]`), the
/// phase its evaluations have on a server that loads the compiled
/// Prometheus rule files from `rule_dir` (as its `rule_files` names them).
pub fn phases(
    program: &crate::ir::Program,
    rule_dir: &str,
    how: LabelsHash,
    query_offset: Duration,
    interval: Duration,
) -> Vec<i64> {
    let dir = rule_dir.trim_end_matches('/');
    program
        .slos
        .iter()
        .map(|slo| {
            let file = format!("{dir}/{}", crate::names::rule_file(super::Target::Prometheus, &slo.service));
            let name = crate::names::rule_group(&slo.service, &slo.name);
            phase_ms(group_offset(&file, &name, interval, how), query_offset, interval)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxhash64_known_values() {
        // Reference values of xxHash64 with seed 0.
        assert_eq!(xxh64(b""), 0xef46db3751d8e999);
        assert_eq!(xxh64(b"a"), 0xd24ec4f1a98c6e5b);
    }

    #[test]
    fn encodings_differ_and_offsets_stay_in_the_interval() {
        let (s, l) = (
            group_hash("/etc/prometheus/rules/shop.rules.yml", "slo/shop/checkout", LabelsHash::String),
            group_hash("/etc/prometheus/rules/shop.rules.yml", "slo/shop/checkout", LabelsHash::Slice),
        );
        assert_ne!(s, l);
        let iv = Duration::from_ms(60_000);
        for name in ["a", "b", "slo/x/y"] {
            let o = group_offset("f", name, iv, LabelsHash::String);
            assert!(o.ms() < 60_000);
        }
        assert_eq!(phase_ms(Duration::from_ms(10_000), Duration::from_ms(30_000), iv), 40_000);
        assert_eq!(phase_ms(Duration::from_ms(10_000), Duration::from_ms(0), iv), 10_000);
    }

    #[test]
    fn long_lengths_are_varints() {
        let mut b = Vec::new();
        push_varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
    }
}
