//! Adapter: lines for the operator on standard output and standard error that never panic.
//! `println!` panics when the write fails, and it fails exactly when nobody reads any more:
//! the operator's SSH connection dropped (the terminal answers EIO) or the reader of a pipe
//! went away (`… | head`: EPIPE). A console that panics there skips what follows: the audit
//! log's `session_stop`, the ensemble lock's release, the client sessions' close. Such a line
//! is dropped instead; everything that must survive it is in the audit log already.

use std::fmt::Arguments;
use std::io::{self, Write};

/// `print!` that drops what nobody can read.
pub fn out(text: Arguments) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_fmt(text).and_then(|()| stdout.flush());
}

/// `eprint!` that drops what nobody can read.
pub fn err(text: Arguments) {
    let _ = io::stderr().lock().write_fmt(text);
}

/// `println!`, except that a line nobody can read is dropped instead of panicking.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say_line!(out; $($arg)*)
    };
}

/// `eprintln!`, except that a line nobody can read is dropped instead of panicking.
#[macro_export]
macro_rules! say_err {
    ($($arg:tt)*) => {
        $crate::say_line!(err; $($arg)*)
    };
}

/// One line, empty or formatted, written by `out` or `err`: what `say!` and `say_err!` share.
#[doc(hidden)]
#[macro_export]
macro_rules! say_line {
    ($to:ident;) => {
        $crate::io::output::$to(format_args!("\n"))
    };
    ($to:ident; $($arg:tt)+) => {
        $crate::io::output::$to(format_args!("{}\n", format_args!($($arg)+)))
    };
}
