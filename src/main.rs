use foreman::cli::{self, Command, agent, console, crds, doctor, export, push, run, scheduler};
use foreman::cli::{common::Exit, submit, validate};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    // The scheduler and the agent are daemons: their placements and runs are their output.
    let default_filter = match cli.command {
        Some(Command::Scheduler(_)) => "warn,foreman::k8s::scheduler=info",
        _ => "warn",
    };
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter))
    };
    // The console owns the screen: its log goes to a file (mode 0600), never to stderr.
    let log_file = cli.command.is_none().then(console_log_file).flatten();
    match log_file {
        Some(file) => tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter(filter())
            .init(),
        None => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter())
            .init(),
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    let exit = match cli.command {
        Some(Command::Run(args)) => rt.block_on(run::run(args)),
        Some(Command::Push(args)) => rt.block_on(push::push(args)),
        Some(Command::Validate { files }) => validate::validate(&files),
        Some(Command::ExportTranscript { journal, out }) => {
            export::export_transcript(&journal, &out)
        }
        Some(Command::Agent(args)) => rt.block_on(agent::agent(*args)),
        Some(Command::Crds) => crds::crds(),
        Some(Command::Doctor) => rt.block_on(doctor::doctor(&cli.console)),
        Some(Command::Submit { files }) => submit::submit(&cli.console, &files),
        Some(Command::Scheduler(args)) => rt.block_on(scheduler::scheduler(args)),
        None => rt.block_on(console::console(cli.console)),
    };
    exit.into()
}

/// `<data dir>/foreman.log`, created owner-only.
fn console_log_file() -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = foreman::config::project_dirs()?.data_dir().to_path_buf();
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join("foreman.log"))
        .ok()
}
