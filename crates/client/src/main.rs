//! `banter`, the terminal client: settings, the terminal (raw mode, the
//! alternate screen, bracketed paste, the mouse) set up and always restored
//! (a panic hook restores it before the panic message is printed; SIGTERM
//! and SIGHUP end the loop like `:quit`, so the same restoring runs), and
//! the loop that feeds keys, server frames and the app's timer to the app
//! and draws after each.

mod app;
mod commands;
mod config;
mod connection;
mod input;
mod protocol;
mod secret;
mod state;
mod trust;
mod ui;

use std::io::{Stdout, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    EventStream,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use time::UtcOffset;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::error::TrySendError;

use app::{App, Effect};
use config::Settings;
use connection::Outgoing;

/// Frames handled before the screen is drawn again, so a burst (a history
/// page, a busy room) costs one drawing, not hundreds.
const FRAMES_PER_DRAW: usize = 256;
/// How long quitting waits for the server's goodbye.
const QUIT_WAIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("banter: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    // Read before any thread exists: the local offset cannot be read
    // soundly once the process is multi-threaded.
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("banter: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(settings, offset));
    // Do not wait for a connection attempt still resolving a name.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(fatal)) => {
            eprintln!("banter: {fatal}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("banter: {err:#}");
            ExitCode::FAILURE
        }
    }
}

type Term = Terminal<CrosstermBackend<Stdout>>;

fn setup(mouse: bool) -> anyhow::Result<Term> {
    // Nothing to undo if this fails (not a terminal, say).
    enable_raw_mode().context("cannot put the terminal in raw mode")?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore(mouse);
        default_hook(info);
    }));
    let entered = (|| {
        let mut stdout = std::io::stdout();
        execute!(stdout, EnterAlternateScreen, EnableBracketedPaste)?;
        if mouse {
            execute!(stdout, EnableMouseCapture)?;
        }
        Ok(Terminal::new(CrosstermBackend::new(stdout))?)
    })();
    if entered.is_err() {
        restore(mouse);
    }
    entered
}

/// Puts the terminal back as it was; safe to call more than once.
fn restore(mouse: bool) {
    let mut stdout = std::io::stdout();
    if mouse {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    let _ = execute!(
        stdout,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Runs the client until it quits; `Some` is why it had to give up.
async fn run(settings: Settings, offset: UtcOffset) -> anyhow::Result<Option<String>> {
    let tls = if settings.server.starts_with("wss://") {
        Some(std::sync::Arc::new(trust::Trust::new(
            settings.ca.as_deref(),
        )?))
    } else {
        None
    };
    let mut terminal = setup(settings.mouse)?;
    let result = event_loop(&mut terminal, &settings, tls, offset).await;
    restore(settings.mouse);
    result
}

async fn event_loop(
    terminal: &mut Term,
    settings: &Settings,
    tls: Option<std::sync::Arc<trust::Trust>>,
    offset: UtcOffset,
) -> anyhow::Result<Option<String>> {
    let look = ui::Look {
        theme: settings.theme.clone(),
        offset,
        color: settings.color,
    };
    let mut app = App::new(
        &settings.name,
        &settings.server,
        settings.rooms.clone(),
        settings.bell,
        settings.member_list,
    );
    let mut connection = connection::spawn(settings.server.clone(), tls, settings.name.clone());
    let mut keys = EventStream::new();
    let mut terminate = signal(SignalKind::terminate()).context("watching for SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("watching for SIGHUP")?;
    loop {
        app.now = now_ms();
        if std::mem::take(&mut app.repaint) {
            terminal.clear()?;
        }
        terminal.draw(|frame| app.viewport = ui::draw(frame, &app, &look))?;
        if std::mem::take(&mut app.ring) {
            let mut stdout = std::io::stdout();
            stdout.write_all(b"\x07")?;
            stdout.flush()?;
        }
        // The app's next timed step (a paced line), if it has one.
        let wake = app.next_wake().map(|at| {
            tokio::time::Instant::now()
                + Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64)
        });
        tokio::select! {
            _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {
                app.now = now_ms();
                app.tick();
            }
            // Killed or the terminal gone: leave as `:quit` does, so the
            // terminal is restored (on SIGHUP there may be none to write
            // to, which `restore` ignores).
            _ = terminate.recv() => app.execute_quit(),
            _ = hangup.recv() => app.execute_quit(),
            key = keys.next() => match key {
                Some(Ok(event)) => {
                    app.now = now_ms();
                    app.on_terminal(event);
                }
                Some(Err(err)) => return Err(err).context("reading the terminal"),
                None => app.quit = true,
            },
            incoming = connection.incoming.recv() => match incoming {
                Some(incoming) => {
                    app.now = now_ms();
                    app.on_incoming(incoming);
                    for _ in 1..FRAMES_PER_DRAW {
                        match connection.incoming.try_recv() {
                            Ok(incoming) => app.on_incoming(incoming),
                            Err(_) => break,
                        }
                    }
                }
                None => app.quit = true,
            },
        }
        for effect in app.take_effects() {
            match effect {
                Effect::Send(text) => {
                    if let Err(TrySendError::Full(_)) =
                        connection.outgoing.try_send(Outgoing::Frame(text))
                    {
                        app.refuse_busy();
                    }
                }
                Effect::Rename(name) => {
                    connection.name.send_replace(name);
                }
                Effect::Quit => {
                    let _ = connection.outgoing.send(Outgoing::Quit).await;
                }
            }
        }
        if app.quit {
            break;
        }
    }
    let _ = tokio::time::timeout(QUIT_WAIT, &mut connection.task).await;
    Ok(app.fatal.take())
}
