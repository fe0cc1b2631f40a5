//! A line of a step's command output as it arrives from a host: the run console's input, the
//! SSH adapter's product.

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a running command's output, as it arrives. The text is untrusted: the view
/// escapes control characters before drawing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub host: String,
    pub stream: Stream,
    pub text: String,
}
