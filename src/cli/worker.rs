//! `slo worker`: a worker of the distributed backtest (see
//! `slo::backtest::distributed`): serves `datafusion-distributed`'s worker
//! with slo's replay codec over gRPC until it is stopped.

use slo::error::Error;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, HOST:PORT (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7501")]
    pub listen: String,
}

pub fn run(Args { listen }: Args) -> Result<u8, Error> {
    let addr: std::net::SocketAddr = listen.parse().map_err(|e| {
        Error::coded(
            "slo::distributed::listen",
            format!("--listen: `{listen}` is not an address: {e}"),
            "give an IP address and a port, e.g. 127.0.0.1:7501 or 0.0.0.0:7501",
        )
    })?;
    slo::backtest::distributed::serve(addr, |local| {
        // The first line of stdout: what `--workers` takes.
        println!("slo worker listening on http://{local}");
    })
    .map_err(|e| {
        Error::coded(
            "slo::distributed::listen",
            e,
            "choose another port, or stop what listens on it; a worker binds one address",
        )
    })?;
    Ok(0)
}
