#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    maildrift::cli::run()
}
