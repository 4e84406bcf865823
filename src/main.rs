use foreman::cli::{self, Command, ServiceCommand, agent, console, crds, doctor, export, push};
use foreman::cli::{common::Exit, delete, get, submit, validate};
use foreman::cli::{dispatch, review, run, scheduler, service};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Started by foreman itself as a sandbox's supervisor (PID 1 inside bubblewrap).
    #[cfg(target_os = "linux")]
    if let Some(code) = foreman::sandbox::supervisor::serve_if_asked() {
        return code;
    }
    // Before anything else, while this is the only thread: GITHUB_TOKEN moves from the
    // environment (where every child and /proc/<pid>/environ would see it) into memory.
    foreman::workspace::auth::take_env_token();
    // This binary can supervise a sandbox: one bwrap per run instead of one per command.
    if let Ok(exe) = std::env::current_exe() {
        foreman::sandbox::use_supervisor(exe);
    }
    let cli = cli::parse();
    // The scheduler and the worker (`foreman agent`) are daemons: their placements and runs are
    // their output.
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
    // The one runtime of the process: no subcommand builds its own.
    let exit = rt.block_on(async move {
        match cli.command {
            Some(Command::Run(args)) => run::run(args).await,
            Some(Command::Push(args)) => push::push(args).await,
            Some(Command::Get {
                resource,
                name,
                output,
            }) => get::get(&cli.console, resource, name.as_deref(), output),
            Some(Command::Delete {
                resource,
                names,
                force,
            }) => delete::delete(&cli.console, resource, &names, force),
            Some(Command::Validate { files }) => validate::validate(&cli.console, &files),
            Some(Command::ExportTranscript { journal, out }) => {
                export::export_transcript(&journal, &out)
            }
            Some(Command::Agent(cmd)) => match cmd.service {
                None => agent::run_worker(cmd.args).await,
                Some(ServiceCommand::InstallService(a)) => service::install_service(a),
                Some(ServiceCommand::UninstallService) => service::uninstall_service(),
            },
            Some(Command::Crds) => crds::crds(),
            Some(Command::Completions { shell }) => cli::completions::completions(shell),
            Some(Command::Man { command, dir }) => {
                cli::completions::man(command.as_deref(), dir.as_deref())
            }
            Some(Command::Dispatch(d)) => dispatch::dispatch(&cli.console, &d).await,
            Some(Command::Doctor) => doctor::doctor(&cli.console).await,
            Some(Command::Submit { files, replace }) => {
                submit::submit(&cli.console, &files, replace).await
            }
            Some(Command::Scheduler(args)) => scheduler::scheduler(args).await,
            Some(Command::Review(r)) => review::review(&cli.console, &r).await,
            Some(Command::Note(n)) => review::note(&cli.console, &n),
            None => console::console(cli.console).await,
        }
    });
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
