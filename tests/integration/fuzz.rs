//! No byte string makes the front end panic (or overflow its stack).
//!
//! Property tests throw random bytes, random token soup and mutated
//! examples at parse + check. `SLO_FUZZ_SECONDS=600 cargo test --release
//! fuzz_for_a_while -- --nocapture` runs the mutation fuzzer for as long
//! as asked and prints how many inputs it tried.

use proptest::prelude::*;

fn front_end(text: &str) {
    let loaded = slo::driver::load_strs(&[("fuzz.slo", text)]);
    let (_, diags) = slo::driver::check(&loaded);
    // Rendering must not panic either (spans must be inside the text).
    let _ = slo::diag::render_human(&diags, &loaded.sources, false, 80);
    let _ = slo::diag::render_json(&diags, &loaded.sources);
    if let Ok(out) = slo::fmt::format_source(text) {
        let again = slo::fmt::format_source(&out).expect("formatted output parses");
        assert_eq!(again, out, "fmt is not idempotent on {text:?}");
    }
}

const TOKENS: &[&str] = &[
    "service",
    "slo",
    "for",
    "import",
    "std.alerting",
    "template",
    "alerts",
    "policy",
    "sli",
    "events",
    "latency",
    "gauge",
    "timeslices",
    "composite",
    "tier",
    "threshold",
    "when",
    "good",
    "=>",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "=~",
    "!~",
    "!=",
    "<",
    ">=",
    "between",
    "and",
    "over",
    "calendar",
    "month",
    "of",
    "budget",
    "/",
    "99.9%",
    "100%",
    "0%",
    "28d",
    "1h",
    "5m",
    "0s",
    "500ms",
    "14.4x",
    "100/s",
    "1e308",
    "-1",
    "\"x\"",
    "'y'",
    "`z`",
    "\"\\q\"",
    "api",
    "a.b",
    "objective",
    "total",
    "bad",
    "histogram",
    "below",
    "combine",
    "serial",
    "k_of_n",
    "windows",
    "burn",
    "severity",
    "as",
    "freeze",
    "//c\n",
    "\n",
    " ",
    "budget_remaining",
    "sli(5m)",
    "x{a=\"b\"}",
    "group_by",
    "labels",
    "google_28d()",
    "\"./x.slo\"",
    "\"../../etc/passwd\"",
    "std.nope",
    "in",
    "\"Mars/Olympus\"",
    "é",
    "\u{0}",
];

/// The example files, read once (every proptest case mutates one).
fn examples() -> &'static [String] {
    static EXAMPLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut files = slo::driver::expand(&[dir]).unwrap();
        files.truncate(64);
        files.into_iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    })
}
proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        front_end(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup(toks in proptest::collection::vec(0..TOKENS.len(), 0..80)) {
        let text: String = toks.iter().map(|&i| TOKENS[i]).collect::<Vec<_>>().join(" ");
        front_end(&text);
    }

    #[test]
    fn mutated_examples(which in 0usize..64, cuts in proptest::collection::vec((any::<u16>(), any::<u16>(), 0..TOKENS.len()), 1..6)) {
        let ex = examples();
        let mut text = ex[which % ex.len()].clone().into_bytes();
        for (at, len, tok) in cuts {
            let at = at as usize % (text.len() + 1);
            let end = (at + len as usize % 12).min(text.len());
            text.splice(at..end, TOKENS[tok].bytes());
        }
        front_end(&String::from_utf8_lossy(&text));
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    for open in ["[", "{", "(", "x{a=\"", "f("] {
        let text = format!("slo a for b {{ objective = {} }}", open.repeat(100_000));
        front_end(&text);
    }
}

/// The long run: a deterministic mutation fuzzer (xorshift), time-boxed.
#[test]
fn fuzz_for_a_while() {
    let secs: u64 = std::env::var("SLO_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let ex = examples();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs() < secs {
        let mut text = ex[(next() as usize) % ex.len()].clone().into_bytes();
        for _ in 0..1 + next() % 8 {
            let at = (next() as usize) % (text.len() + 1);
            match next() % 4 {
                0 => {
                    let end = (at + (next() % 16) as usize).min(text.len());
                    text.drain(at..end);
                }
                1 => {
                    let t = TOKENS[(next() as usize) % TOKENS.len()];
                    text.splice(at..at, t.bytes());
                }
                2 => {
                    if at < text.len() {
                        text[at] = next() as u8;
                    }
                }
                _ => {
                    // duplicate a slice elsewhere
                    let a = (next() as usize) % (text.len() + 1);
                    let b = (a + (next() % 64) as usize).min(text.len());
                    let chunk: Vec<u8> = text[a..b].to_vec();
                    text.splice(at..at, chunk);
                }
            }
        }
        front_end(&String::from_utf8_lossy(&text));
        n += 1;
    }
    eprintln!("fuzz: {n} inputs in {secs}s without a panic");
}
