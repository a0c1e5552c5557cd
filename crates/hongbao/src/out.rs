//! Standard output of the commands. A reader that goes away early (`hongbao history | head`)
//! is not an error of ours: the write fails with a broken pipe, the command ends quietly, and
//! nothing panics. [`outln!`] and [`out!`] are `println!` and `print!` that return that error.

use std::io::{self, Write as _};

/// Writes `text` to standard output and flushes it.
///
/// # Errors
/// The write's error, a broken pipe included (see [`is_broken_pipe`]).
pub(crate) fn write(text: std::fmt::Arguments<'_>) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_fmt(text).and_then(|()| stdout.flush())
}

/// Whether a command failed only because its reader closed standard output.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// `println!` that returns a failed write with `?` instead of panicking.
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n"))? };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))? };
}

/// `print!` that returns a failed write with `?` instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*))? };
}

pub(crate) use {out, outln};
