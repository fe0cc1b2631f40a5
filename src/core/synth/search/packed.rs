//! States as the search stores them: each distinct set of slots once, one code a slot (two
//! bytes while every code fits, four after), in one array, named by its index. A search that
//! proves seven hosts replaced on 3.4 rules keeps a million or two of them (its map of best
//! costs, its entries and the verdict memo name the same states); kept as vectors of 24-byte
//! `Slot`s, each key in each map with its own allocation, they took 1.2 GiB, and allocating
//! and freeing the small vectors took half the search's time.

use hashbrown::HashTable;

use super::super::fast_hash::{FastMap, Fnv};
use super::super::model::{Slot, ViewKey};
use std::hash::Hasher;

/// A set of slots stored in `States`.
pub type StateId = u32;

/// Every set of slots met, each stored once (for one problem: every set has its width).
#[derive(Debug)]
pub struct States {
    width: usize,
    words: Words,
    table: HashTable<StateId>,
    codes: Codes,
    scratch: Vec<u32>,
}

impl States {
    pub fn new(width: usize) -> States {
        States {
            width,
            words: Words::Narrow(Vec::new()),
            table: HashTable::new(),
            codes: Codes::default(),
            scratch: Vec::with_capacity(width),
        }
    }

    /// The id of `slots`, stored now if it was not yet.
    pub fn id(&mut self, slots: &[Slot]) -> StateId {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend(slots.iter().map(|&slot| self.codes.code(slot)));
        let hash = hash_of(scratch.iter().copied());
        let width = self.width;
        let words = &self.words;
        let found = self
            .table
            .find(hash, |&id| words.row_is(width, id, &scratch))
            .copied();
        let id = match found {
            Some(id) => id,
            None => {
                // States number millions at most: the search's bound keeps them far below
                // `u32::MAX`.
                let id = (self.words.len() / width.max(1)) as StateId;
                self.words.push(&scratch);
                let words = &self.words;
                self.table
                    .insert_unique(hash, id, |&id| hash_of(words.row(width, id)));
                id
            }
        };
        self.scratch = scratch;
        id
    }

    pub fn slots(&self, id: StateId) -> Vec<Slot> {
        self.words
            .row(self.width, id)
            .map(|code| self.codes.slot(code))
            .collect()
    }
}

/// The stored codes, row after row: two bytes each until a code needs more (a search meets a
/// few hundred views; a problem whose views number tens of thousands widens them all once).
#[derive(Debug)]
enum Words {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Words {
    fn len(&self) -> usize {
        match self {
            Words::Narrow(words) => words.len(),
            Words::Wide(words) => words.len(),
        }
    }

    fn push(&mut self, codes: &[u32]) {
        if let Words::Narrow(words) = self {
            if codes.iter().all(|&code| u16::try_from(code).is_ok()) {
                words.extend(codes.iter().map(|&code| code as u16));
                return;
            }
            *self = Words::Wide(words.iter().map(|&code| u32::from(code)).collect());
        }
        if let Words::Wide(words) = self {
            words.extend_from_slice(codes);
        }
    }

    fn row(&self, width: usize, id: StateId) -> impl Iterator<Item = u32> + '_ {
        let start = id as usize * width;
        let (narrow, wide) = match self {
            Words::Narrow(words) => (&words[start..start + width], &[][..]),
            Words::Wide(words) => (&[][..], &words[start..start + width]),
        };
        narrow
            .iter()
            .map(|&code| u32::from(code))
            .chain(wide.iter().copied())
    }

    fn row_is(&self, width: usize, id: StateId, codes: &[u32]) -> bool {
        let start = id as usize * width;
        match self {
            Words::Narrow(words) => words[start..start + width]
                .iter()
                .zip(codes)
                .all(|(&stored, &code)| u32::from(stored) == code),
            Words::Wide(words) => &words[start..start + width] == codes,
        }
    }
}

fn hash_of(codes: impl IntoIterator<Item = u32>) -> u64 {
    let mut hasher = Fnv::default();
    for code in codes {
        hasher.write_u32(code);
    }
    hasher.finish()
}

/// The codes of one problem's slots: `Off` 0, `Gone` 1, `To(h)` 2 + 2h, `Up(view)` 3 + 2i for
/// the i-th view met.
#[derive(Debug, Default)]
struct Codes {
    views: Numbered<ViewKey>,
}

impl Codes {
    fn code(&mut self, slot: Slot) -> u32 {
        match slot {
            Slot::Off => 0,
            Slot::Gone => 1,
            // Hosts number tens and views a few per state judged: both fit in 31 bits.
            Slot::To(host) => 2 + 2 * host as u32,
            Slot::Up(view) => 3 + 2 * self.views.number(view),
        }
    }

    fn slot(&self, code: u32) -> Slot {
        match code {
            0 => Slot::Off,
            1 => Slot::Gone,
            code if code % 2 == 0 => Slot::To(((code - 2) / 2) as usize),
            code => Slot::Up(*self.views.get((code - 3) / 2)),
        }
    }
}

/// Values met during a search, each stored once and named by its number: the views in the
/// states' codes, and the moves and renamings the search's entries record (tens or hundreds
/// of distinct ones against millions of states).
#[derive(Debug)]
pub struct Numbered<T> {
    values: Vec<T>,
    numbers: FastMap<T, u32>,
}

impl<T> Default for Numbered<T> {
    fn default() -> Numbered<T> {
        Numbered {
            values: Vec::new(),
            numbers: FastMap::default(),
        }
    }
}

impl<T: Clone + Eq + std::hash::Hash> Numbered<T> {
    pub fn number(&mut self, value: T) -> u32 {
        let next = self.values.len() as u32;
        let number = *self.numbers.entry(value.clone()).or_insert(next);
        if number == next {
            self.values.push(value);
        }
        number
    }

    pub fn get(&self, number: u32) -> &T {
        &self.values[number as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(membership: usize, moved: u32, via: u32) -> Slot {
        Slot::Up(ViewKey {
            membership,
            moved,
            via,
        })
    }

    #[test]
    fn every_state_comes_back_as_it_went_in_under_one_id() {
        let one = vec![
            Slot::Off,
            Slot::Gone,
            view(0, 0, 0),
            Slot::To(0),
            view(2, 0b1011, 0b100),
            Slot::To(17),
            view(0, 0, 0),
            view(1, u32::MAX, u32::MAX),
        ];
        let mut other = one.clone();
        other.swap(0, 2);
        let mut states = States::new(one.len());
        let (a, b) = (states.id(&one), states.id(&other));
        assert_ne!(a, b);
        assert_eq!(states.slots(a), one);
        assert_eq!(states.slots(b), other);
        assert_eq!((states.id(&one), states.id(&other)), (a, b));
        // One number per view, however often it is met.
        assert_eq!(states.codes.views.values.len(), 3);
    }

    /// Stores every state of `all`, then asks for each again: the same id, the same slots.
    fn stored_and_found_again(width: usize, all: &[Vec<Slot>]) -> States {
        let mut states = States::new(width);
        let ids: Vec<StateId> = all.iter().map(|slots| states.id(slots)).collect();
        for (slots, id) in all.iter().zip(&ids) {
            assert_eq!(states.id(slots), *id);
            assert_eq!(&states.slots(*id), slots);
        }
        states
    }

    /// Past 65 535 a code no longer fits two bytes: every row is widened once, and every id
    /// still names its state.
    #[test]
    fn states_keep_their_ids_when_the_codes_outgrow_two_bytes() {
        let all: Vec<Vec<Slot>> = (0..40_000u32)
            .map(|n| vec![view(0, n, 0), Slot::Gone])
            .collect();
        let states = stored_and_found_again(2, &all);
        assert!(matches!(states.words, Words::Wide(_)));
    }

    #[test]
    fn many_states_keep_their_ids() {
        let all: Vec<Vec<Slot>> = (0..5000u32)
            .map(|n| vec![view(0, n, 0), Slot::To(n as usize % 7), Slot::Off])
            .collect();
        let states = stored_and_found_again(3, &all);
        assert!(matches!(states.words, Words::Narrow(_)));
    }
}
