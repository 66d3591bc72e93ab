//! `lockwell-sim`: runs seeds of a workload in the simulated world and
//! says what broke. Built for real only with `--cfg madsim`; use it
//! through `cargo xtask sim run|campaign|determinism|shrink`, which builds
//! it that way (release, `target/sim`), or `cargo xtask sim catalog`
//! (the planted build, `target/sim-planted`).

#[cfg(all(madsim, feature = "planted-bugs"))]
mod catalog;
#[cfg(madsim)]
mod cli;
#[cfg(madsim)]
mod shrink;
#[cfg(madsim)]
mod workers;

#[cfg(madsim)]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "lockwell-sim runs only in the simulation build (RUSTFLAGS=\"--cfg madsim\"): \
         use `cargo xtask sim run|campaign|determinism`"
    );
    std::process::ExitCode::from(2)
}
