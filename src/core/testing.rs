//! Assertions shared by the tests of the core, of the adapters and of the real binary.

/// Fails naming the missing part and showing the whole text, which is what a reader of a failed
/// report, screen or help text needs to see first.
#[track_caller]
pub fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} not in:\n{text}");
}
