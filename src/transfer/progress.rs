//! A one-line progress display on standard error, drawn only when it is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::export::ExportObserver;
use super::import::{ImportObserver, Rejection};

/// Redraws at most this often.
const EVERY: Duration = Duration::from_millis(100);

/// Draws `\r<verb> done/total (pct%) rate/s` on standard error when it is a terminal, and
/// prints each rejected record on a line of its own (always).
pub struct Progress {
    verb: &'static str,
    on_terminal: bool,
    started: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// `verb`: what is being done (`importing`).
    pub fn new(verb: &'static str) -> Self {
        Self {
            verb,
            on_terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_draw: None,
            drawn: false,
        }
    }

    fn draw(&mut self, done: u64, total: u64) {
        if !self.on_terminal {
            return;
        }
        let now = Instant::now();
        let finished = done >= total;
        if !finished && self.last_draw.is_some_and(|t| now - t < EVERY) {
            return;
        }
        self.last_draw = Some(now);
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {done}/{total} ({pct}%) {rate:.0}/s",
            self.verb
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Ends the progress line (so what is printed next starts on a line of its own).
    pub fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl ImportObserver for Progress {
    fn rejected(&mut self, rejection: &Rejection) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
        eprintln!("rejected {rejection}");
    }

    fn progress(&mut self, done: u64, total: u64) {
        self.draw(done, total);
    }
}

impl ExportObserver for Progress {
    fn progress(&mut self, done: u64, total: u64) {
        self.draw(done, total);
    }
}
