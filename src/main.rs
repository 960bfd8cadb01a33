use slo::source::{Origin, Source, SourceMap};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[3];
    let text = std::fs::read_to_string(path).unwrap();
    let mut sm = SourceMap::new();
    let id = sm.add(Source::new(path.clone(), text.clone(), Origin::User));
    match slo::syntax::parse(id, &text) {
        Ok(f) => println!("{}", serde_json::to_string_pretty(&f).unwrap()),
        Err(d) => {
            let ds = slo::diag::Diagnostics(d);
            eprint!("{}", slo::diag::render_human(&ds, &sm, false, 100));
            std::process::exit(1)
        }
    }
}
