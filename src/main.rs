fn main() -> std::process::ExitCode {
    maildrift::cli::run()
}
