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

/// The stdlib module that declares `name`, if any (for "add this import"
/// hints on unknown names).
pub(crate) fn module_declaring(name: &str) -> Option<&'static str> {
    static INDEX: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut out = Vec::new();
        for (module, text) in MODULES {
            if let Ok(file) = crate::syntax::parse(crate::source::SourceId(0), text) {
                for item in &file.items {
                    if let Some((n, _)) = crate::sema::scope::decl_of(item) {
                        out.push((*module, n.name.clone()));
                    }
                }
            }
        }
        out
    });
    index.iter().find(|(_, n)| n == name).map(|(m, _)| *m)
}
