//! The one place that changes terminal modes: raw mode, the alternate
//! screen and bracketed paste go on together and come off together — on a
//! normal exit, on an error, on a panic (the hook restores first, then
//! prints the report), and around `$EDITOR`.

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set by the panic hook. A panic that was caught (a task, or the HTML
/// converter's own guard) leaves the app running on a restored terminal:
/// the loop sees this and puts its modes back.
static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Enter the app's terminal modes and return a terminal drawing through a
/// buffered stdout.
pub fn enter() -> io::Result<Term> {
    install_panic_hook();
    set_modes()?;
    let backend = CrosstermBackend::new(BufWriter::new(io::stdout()));
    let mut term = Terminal::new(backend)?;
    term.clear()?;
    Ok(term)
}

fn set_modes() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    Ok(())
}

/// Put the terminal back as it was. Safe to call more than once.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout();
    let r1 = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let r2 = disable_raw_mode();
    let _ = out.flush();
    r1.and(r2)
}

/// Leave the screen to another program ($EDITOR).
pub fn suspend(term: &mut Term) -> io::Result<()> {
    term.backend_mut().flush()?;
    restore()
}

/// Come back after [`suspend`]: modes on, full redraw.
pub fn resume(term: &mut Term) -> io::Result<()> {
    set_modes()?;
    term.clear()
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.load(Ordering::SeqCst) {
                PANICKED.store(true, Ordering::SeqCst);
            }
            let _ = restore();
            previous(info);
        }));
    });
}

/// After a caught panic restored the terminal: take the screen back.
pub fn recover_after_caught_panic(term: &mut Term) -> io::Result<()> {
    if PANICKED.swap(false, Ordering::SeqCst) && !ACTIVE.load(Ordering::SeqCst) {
        resume(term)?;
    }
    Ok(())
}

/// Restores the terminal when dropped (an early return or `?` on the way).
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = restore();
    }
}
