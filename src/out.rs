//! Standard output for what commands print (tables, JSON Lines).
//!
//! Output read by `head`, `less` or `grep -m1` may stop being read at any
//! moment: a write to a closed pipe ends the command quietly with exit 0,
//! like ripgrep, never with a panic (`println!` panics on a closed pipe, so
//! the crate denies it). Into a pipe or a file the output is block-buffered
//! and table cells are not cut to a width (a script wants every character
//! of an address); on a terminal each line is written at once.

use std::io::{self, IsTerminal, Write};

/// Why output stopped.
#[derive(Debug, thiserror::Error)]
pub enum OutError {
    /// The reader went away (`| head`): not an error for the user.
    #[error("standard output was closed")]
    Closed,
    #[error("cannot write to standard output: {0}")]
    Io(io::Error),
}

impl From<io::Error> for OutError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            OutError::Closed
        } else {
            OutError::Io(e)
        }
    }
}

/// A command's standard output.
pub struct Out {
    w: Box<dyn Write + Send>,
    terminal: bool,
}

impl Default for Out {
    fn default() -> Self {
        Out::stdout()
    }
}

impl Out {
    /// Standard output, line by line on a terminal, buffered otherwise.
    pub fn stdout() -> Out {
        let terminal = io::stdout().is_terminal();
        let w: Box<dyn Write + Send> = if terminal {
            Box::new(io::stdout())
        } else {
            Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout()))
        };
        Out { w, terminal }
    }

    /// Any writer (tests), treated as not a terminal.
    pub fn to_writer(w: impl Write + Send + 'static) -> Out {
        Out {
            w: Box::new(w),
            terminal: false,
        }
    }

    /// True when a person reads this on a terminal.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// One line.
    pub fn line(&mut self, line: impl std::fmt::Display) -> Result<(), OutError> {
        writeln!(self.w, "{line}")?;
        Ok(())
    }

    /// A table cell of outside text: made safe, and on a terminal cut to
    /// `width` columns (into a pipe it is kept whole).
    pub fn cell(&self, s: &str, width: usize) -> String {
        let clean = crate::text::sanitize_line(s);
        if self.terminal {
            crate::text::truncate_to_width(&clean, width)
        } else {
            clean
        }
    }

    /// Write out what is buffered; call before the command returns.
    pub fn finish(mut self) -> Result<(), OutError> {
        self.w.flush()?;
        Ok(())
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        // A command that returns early with an error still shows what it
        // printed before; a closed pipe here is nobody's concern.
        let _ = self.w.flush();
    }
}
