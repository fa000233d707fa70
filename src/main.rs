//! The `gazette` binary: everything lives in the library; this only turns the
//! outcome of [`gazette::cli::run`] into the process exit code.

fn main() -> std::process::ExitCode {
    gazette::cli::run(std::env::args_os())
}
