//! The standard library: `.slo` modules embedded in the binary under
//! readable names, so a diagnostic inside one points at `std.alerting`.
//! `import std.<name>` loads them; a test type-checks all of them.

/// (module name after `std.`, source text)
pub const MODULES: &[(&str, &str)] = &[
    ("alerting", include_str!("../stdlib/alerting.slo")),
    ("budget", include_str!("../stdlib/budget.slo")),
    ("grpc", include_str!("../stdlib/grpc.slo")),
    ("http", include_str!("../stdlib/http.slo")),
    ("probe", include_str!("../stdlib/probe.slo")),
];

pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
