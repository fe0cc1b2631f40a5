//! ZooKeeper transaction ids.
//!
//! A zxid is 64 bits: the high 32 are the *epoch*, bumped by one at every leader election, and the
//! low 32 are a *counter* of transactions proposed by that epoch's leader, reset to 0 when the
//! epoch changes. Comparing epochs tells whether two nodes followed the same leader; comparing
//! counters within one epoch tells how many transactions one node still has to apply.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid(pub u64);

/// The counter value at which a leader gives up: `Leader.propose` shuts the leader down with
/// "zxid lower 32 bits have rolled over, forcing re-election" once the counter reaches
/// `0xffffffff` (ZOOKEEPER-1277), so every client sees an election.
const COUNTER_LIMIT: u32 = u32::MAX;

impl Zxid {
    pub const fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as u64) << 32) | counter as u64)
    }

    pub const fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub const fn counter(self) -> u32 {
        (self.0 & 0xffff_ffff) as u32
    }

    /// Parses the hexadecimal form ZooKeeper prints (`0x10000000b`), with or without `0x`.
    pub fn parse(text: &str) -> Result<Zxid, ZxidError> {
        let bad = || ZxidError(text.to_string());
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        // `from_str_radix` would also take a leading `+`, which ZooKeeper never prints.
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        u64::from_str_radix(digits, 16).map(Zxid).map_err(|_| bad())
    }

    /// Shows the zxid as `epoch:counter` in decimal (`0x10000000b` → `1:11`): operators compare
    /// epochs between nodes and read the counter as a number of transactions.
    pub fn epoch_counter(self) -> EpochCounter {
        EpochCounter(self)
    }

    /// How far this node's zxid trails `reference` (usually the leader's).
    pub fn lag_behind(self, reference: Zxid) -> ZxidLag {
        match self.epoch().cmp(&reference.epoch()) {
            std::cmp::Ordering::Less => ZxidLag::OlderEpoch {
                epochs: reference.epoch() - self.epoch(),
            },
            std::cmp::Ordering::Greater => ZxidLag::Ahead,
            std::cmp::Ordering::Equal => match reference.counter().checked_sub(self.counter()) {
                Some(transactions) => ZxidLag::Transactions(transactions),
                None => ZxidLag::Ahead,
            },
        }
    }

    /// The fraction of this epoch's 32-bit counter already used, from 0.0 to 1.0. When it is
    /// used up the leader forces an election (at 1,000 writes/s about every 49.7 days), so a
    /// high value is worth a warning before a maintenance window.
    pub fn counter_used(self) -> f64 {
        f64::from(self.counter()) / f64::from(COUNTER_LIMIT)
    }

    /// Transactions this epoch can still take before the forced election.
    pub fn counter_remaining(self) -> u32 {
        COUNTER_LIMIT - self.counter()
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl FromStr for Zxid {
    type Err = ZxidError;

    fn from_str(text: &str) -> Result<Zxid, ZxidError> {
        Zxid::parse(text)
    }
}

/// Serialised as the `0x…` text ZooKeeper prints in `srvr`, `cons` and its logs, so a recorded
/// zxid can be searched for as is.
impl serde::Serialize for Zxid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `epoch:counter` in decimal; see [`Zxid::epoch_counter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochCounter(Zxid);

impl fmt::Display for EpochCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0.epoch(), self.0.counter())
    }
}

/// How far one zxid trails another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZxidLag {
    /// Same epoch; this many transactions still to apply (0: caught up).
    Transactions(u32),
    /// An earlier epoch: the node has not synced with the current leader, so no transaction
    /// count is meaningful. A follower also reads `0x0` until the first write after it started
    /// reaches it, which shows up here too.
    OlderEpoch { epochs: u32 },
    /// Newer than the reference: the reference is stale, e.g. a leader cut off by a partition
    /// that still answers `Mode: leader` for its old epoch.
    Ahead,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad zxid `{0}`: expected hexadecimal like 0x10000000b")]
pub struct ZxidError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_epoch_and_counter() {
        let zxid = Zxid::parse("0x10000000b").unwrap();
        assert_eq!(zxid, Zxid(0x1_0000_000b));
        assert_eq!((zxid.epoch(), zxid.counter()), (1, 11));
        assert_eq!(zxid, Zxid::new(1, 11));
        assert_eq!(zxid.to_string(), "0x10000000b");
        assert_eq!(zxid.epoch_counter().to_string(), "1:11");
        assert_eq!(Zxid(0).to_string(), "0x0");
    }

    #[test]
    fn parses_with_or_without_prefix() {
        assert_eq!(Zxid::parse("10000000b"), Ok(Zxid::new(1, 11)));
        assert_eq!(" 0x200000000 ".parse::<Zxid>(), Ok(Zxid::new(2, 0)));
        assert_eq!(Zxid::parse("0xFFFFFFFFFFFFFFFF"), Ok(Zxid(u64::MAX)));
    }

    #[test]
    fn rejects_what_zookeeper_never_prints() {
        for bad in [
            "",
            "0x",
            "+1",
            "0x+1",
            "0x1g",
            "-1",
            "0x10000000000000000",
            "1 2",
        ] {
            assert!(Zxid::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            Zxid::parse("zz").unwrap_err().to_string(),
            "bad zxid `zz`: expected hexadecimal like 0x10000000b"
        );
    }

    #[test]
    fn lag_counts_transactions_only_within_an_epoch() {
        let leader = Zxid::new(2, 10);
        assert_eq!(
            Zxid::new(2, 10).lag_behind(leader),
            ZxidLag::Transactions(0)
        );
        assert_eq!(Zxid::new(2, 3).lag_behind(leader), ZxidLag::Transactions(7));
        assert_eq!(
            Zxid::new(1, 500).lag_behind(leader),
            ZxidLag::OlderEpoch { epochs: 1 }
        );
        assert_eq!(
            Zxid(0).lag_behind(leader),
            ZxidLag::OlderEpoch { epochs: 2 }
        );
        assert_eq!(Zxid::new(2, 11).lag_behind(leader), ZxidLag::Ahead);
        assert_eq!(Zxid::new(3, 0).lag_behind(leader), ZxidLag::Ahead);
    }

    #[test]
    fn counter_exhaustion() {
        assert_eq!(Zxid::new(7, 0).counter_used(), 0.0);
        assert_eq!(Zxid::new(7, u32::MAX).counter_used(), 1.0);
        assert!((Zxid::new(7, u32::MAX / 2).counter_used() - 0.5).abs() < 1e-9);
        assert_eq!(Zxid::new(7, u32::MAX - 5).counter_remaining(), 5);
        assert_eq!(Zxid::new(7, 0).counter_remaining(), u32::MAX);
    }

    #[test]
    fn serialises_as_hex_text() {
        assert_eq!(
            serde_json::to_string(&Zxid::new(0x20_0000, 1)).unwrap(),
            "\"0x20000000000001\""
        );
    }
}
