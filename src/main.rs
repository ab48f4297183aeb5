//! The `emergence` binary, the edge of the program: command-line parsing (clap), the log
//! subscriber, anyhow, and the mapping of errors to exit codes. The work lives in the
//! library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
