//! `devhost`: build, serve and mint tokens for the app in `spin.toml`; see
//! [`devhost::cli`].

fn main() -> std::process::ExitCode {
    devhost::cli::main()
}
