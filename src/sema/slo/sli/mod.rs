//! The `sli <kind> { … }` block: the kind named, the slice argument only on
//! `timeslices`, the block's fields collected against the kind's
//! [`FIELDS`](events::FIELDS), then the kind's own file lowers it to an
//! [`ir::Sli`]. Every kind is a [`Kind`] variant and every dispatch on it a
//! `match` without a catch-all, so a new kind is a compile error at each
//! place that must learn it. It may assume the SLO's window has been checked
//! (`window_ms` is the nominal length of a valid window).

mod composite;
mod events;
mod gauge;
mod latency;
mod timeslices;

use super::{Cx, Fields};
use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{Env, Ty, Val};
use crate::syntax::ast;

/// The SLI kinds, in the order diagnostics list them.
#[derive(Clone, Copy)]
enum Kind {
    Events,
    Latency,
    Gauge,
    Timeslices,
    Composite,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Events, Kind::Latency, Kind::Gauge, Kind::Timeslices, Kind::Composite];

    /// The kind as written after `sli`.
    fn name(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Latency => "latency",
            Kind::Gauge => "gauge",
            Kind::Timeslices => "timeslices",
            Kind::Composite => "composite",
        }
    }

    /// The fields the kind's block takes.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Events => events::FIELDS,
            Kind::Latency => latency::FIELDS,
            Kind::Gauge => gauge::FIELDS,
            Kind::Timeslices => timeslices::FIELDS,
            Kind::Composite => composite::FIELDS,
        }
    }
}

/// Every SLI kind with the fields its block takes.
pub(crate) fn kinds() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    Kind::ALL.into_iter().map(|k| (k.name(), k.fields()))
}

impl Cx<'_> {
    pub(super) fn sli(&mut self, s: &ast::SliBlock, env: &Env, window_ms: u64) -> Option<ir::Sli> {
        let kind = s.kind.name.as_str();
        let Some(k) = Kind::ALL.into_iter().find(|k| k.name() == kind) else {
            let mut d = Diagnostic::error(
                "slo::sli::unknown_kind",
                s.kind.span,
                format!("unknown SLI kind `{kind}`"),
                "not an SLI kind",
            );
            if !error::did_you_mean(&mut d, kind, Kind::ALL.map(Kind::name)) {
                d = d.with_help("SLI kinds: `events`, `latency`, `gauge`, `timeslices`, `composite`");
            }
            self.diags.push(d);
            return None;
        };
        if let Some(arg) = &s.arg {
            if kind != "timeslices" {
                self.diags.push(
                    Diagnostic::error(
                        "slo::sli::argument",
                        arg.span,
                        format!("`sli {kind}` takes no slice length"),
                        "unexpected duration",
                    )
                    .with_help("only `sli timeslices 1m { … }` has a slice length"),
                );
                return None;
            }
        }
        let fields: &[&str] = k.fields();
        let context = format!("`sli {kind}`");
        let mut f = Fields::default();
        self.collect(&s.body, env, fields, &context, &mut f);
        match k {
            Kind::Events => self.events(s, &f, &context),
            Kind::Latency => self.latency(s, &f, &context),
            Kind::Gauge => self.gauge(s, &f, &context),
            Kind::Timeslices => self.timeslices(s, env, window_ms, &f, &context),
            Kind::Composite => self.composite(s, &f),
        }
    }

    /// The selector in field `key`: `Some(None)` when the field is absent,
    /// `None` when it fails to check.
    fn sel(&mut self, f: &Fields, key: &str) -> Option<Option<ir::Selector>> {
        match f.get(key) {
            None => Some(None),
            Some(g) => match self.value(g.value()?, Ty::Selector, g.env) {
                Some(Val::Selector(s)) => Some(Some(s)),
                _ => None,
            },
        }
    }
}
