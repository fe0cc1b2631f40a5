//! A fast hash for the synthesizer's maps, keyed by small numbers the program made itself.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: the maps are keyed by short vectors of small numbers that the program made itself,
/// so a fast hash with no defence against chosen collisions is enough (SipHash was a tenth of
/// the search's time).
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.word(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, word: u32) {
        self.word(u64::from(word));
    }

    fn write_u64(&mut self, word: u64) {
        self.word(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.word(word as u64);
    }

    fn write_isize(&mut self, word: isize) {
        self.word(word as u64);
    }
}

impl Fnv {
    /// One FNV-1a round per word rather than per byte: the keys are vectors of small numbers.
    fn word(&mut self, word: u64) {
        let hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        self.0 = (hash ^ word).wrapping_mul(0x0100_0000_01b3);
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
