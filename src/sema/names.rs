//! Generated names: collisions and limits, found at `check` time.
//!
//! Every service and SLO is asked for the names the backends will give its
//! files and objects ([`crate::names::for_service`], [`crate::names::for_slo`]:
//! the functions the backends themselves call, so this pass holds no naming
//! rule of its own). Two declarations with one name on deploy are an error
//! on the later one (the earlier one related); so is a name a target cannot
//! take (too long for a file system, not a Kubernetes name). Exact
//! duplicates are `slo::name::duplicate`'s, reported by the catalogue.

use super::error;
use crate::diag::Diagnostics;
use crate::ir;
use crate::names::{self, Generated, Problem};
use crate::source::Span;
use std::collections::{HashMap, HashSet};

/// A declaration that generates names.
/// The names a declaration would generate under another base name.
type Regenerate<'a> = Box<dyn Fn(&str) -> Vec<Generated> + 'a>;
/// Two generated names that are the same.
type Clash<'g> = (&'g Generated, &'g Generated);

struct Owner<'a> {
    kind: &'static str,
    /// The service it is (or is of).
    service: &'a str,
    /// Its name as written (`api`, `api.availability`).
    name: String,
    span: Span,
    /// Its own part of the generated names (a service's name, an SLO's
    /// name), and the names it would generate under another one: how long
    /// it may be is found by asking.
    base: &'a str,
    regenerate: Regenerate<'a>,
    generated: Vec<Generated>,
}

/// Reports generated names that collide or break a target's limits.
pub fn check(program: &ir::Program, diags: &mut Diagnostics) {
    let mut owners: Vec<Owner> = Vec::new();
    for s in &program.services {
        if !s.name.is_empty() {
            owners.push(Owner {
                kind: "service",
                service: &s.name,
                name: s.name.clone(),
                span: s.span,
                base: &s.name,
                regenerate: Box::new(names::for_service),
                generated: names::for_service(&s.name),
            });
        }
    }
    for s in &program.slos {
        if !s.service.is_empty() && !s.name.is_empty() {
            owners.push(Owner {
                kind: "SLO",
                service: &s.service,
                name: format!("{}.{}", s.service, s.name),
                span: s.span,
                base: &s.name,
                regenerate: Box::new(|n| names::for_slo(&s.service, n)),
                generated: names::for_slo(&s.service, &s.name),
            });
        }
    }
    // In source order: the later declaration is the one reported.
    owners.sort_by_key(|o| (o.span.source, o.span.start, o.span.end));
    collisions(&owners, diags);
    for o in &owners {
        limits(o, diags);
    }
}

fn collisions(owners: &[Owner], diags: &mut Diagnostics) {
    // (what, key) → first owner; then per (later, first) pair, what collides.
    let mut first: HashMap<(&str, String), usize> = HashMap::new();
    let mut pairs: Vec<((usize, usize), Vec<Clash>)> = Vec::new();
    // Services that collide: their SLOs' collisions are the same problem.
    let mut services: HashSet<(&str, &str)> = HashSet::new();
    for (i, o) in owners.iter().enumerate() {
        for (gi, g) in o.generated.iter().enumerate() {
            match first.get(&(g.what, g.key())) {
                None => {
                    first.insert((g.what, g.key()), i);
                }
                // The same name twice is a duplicate, reported as such.
                Some(&j) if owners[j].name == o.name || owners[j].kind != o.kind => {}
                Some(&j) => {
                    let theirs = &owners[j].generated[gi];
                    match pairs.iter_mut().find(|(p, _)| *p == (i, j)) {
                        Some((_, v)) => v.push((g, theirs)),
                        None => pairs.push(((i, j), vec![(g, theirs)])),
                    }
                }
            }
        }
    }
    pairs.sort_by_key(|((i, j), _)| (owners[*i].kind != "service", *i, *j));
    for ((i, j), clashes) in pairs {
        let (later, earlier) = (&owners[i], &owners[j]);
        if later.kind == "service" {
            services.insert((later.service, earlier.service));
        } else if services.contains(&(later.service, earlier.service))
            || services.contains(&(earlier.service, later.service))
        {
            continue;
        }
        let list: Vec<String> = clashes
            .iter()
            .map(|(a, b)| {
                if a.name == b.name {
                    format!("{} `{}`", a.what, a.name)
                } else {
                    format!("{} `{}` and `{}` (equal ignoring case)", a.what, b.name, a.name)
                }
            })
            .collect();
        diags.push(error::name_collision(
            later.span,
            later.kind,
            &later.name,
            later.base,
            &earlier.name,
            earlier.span,
            &list,
        ));
    }
}

fn limits(o: &Owner, diags: &mut Diagnostics) {
    let (mut long, mut invalid) = (Vec::new(), Vec::new());
    for g in &o.generated {
        match g.problem() {
            None => {}
            Some(Problem::TooLong(why)) => long.push(format!("{} `{}` ({why})", g.what, short(&g.name))),
            Some(Problem::Invalid(why)) => invalid.push(format!("{} `{}`: {why}", g.what, g.name)),
        }
    }
    if !invalid.is_empty() {
        diags.push(error::name_invalid(o.span, o.kind, &o.name, &invalid));
    }
    if long.is_empty() {
        return;
    }
    // The longest prefix of the name whose generated names all fit.
    let fits =
        |n: usize| (o.regenerate)(&o.base[..n]).iter().all(|g| !matches!(g.problem(), Some(Problem::TooLong(_))));
    let (mut lo, mut hi) = (0, o.base.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if o.base.is_char_boundary(mid) && fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    diags.push(error::name_too_long(o.span, o.kind, &short(&o.name), o.base.len(), &long, lo));
}

/// A long name cut for a message.
fn short(s: &str) -> String {
    if s.chars().count() <= 60 {
        return s.to_string();
    }
    let head: String = s.chars().take(40).collect();
    format!("{head}…")
}
