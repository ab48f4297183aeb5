//! The `emergence` binary: all the work lives in the library; this only hands over.
fn main() -> std::process::ExitCode {
    emergence::cli::main()
}
