//! ZooKeeper versions and the behaviour that follows from them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZkVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ZkVersion {
    /// The newest behaviour zkpilot knows; used when nothing says otherwise.
    pub const NEWEST: ZkVersion = ZkVersion::new(3, 9, 0);

    pub const fn new(major: u32, minor: u32, patch: u32) -> ZkVersion {
        ZkVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses `3.4.6`, `3.8.0-5a02a05…` or the `srvr` line `Zookeeper version: 3.8.0-…, built on …`.
    pub fn parse(text: &str) -> Option<ZkVersion> {
        let text = text.trim();
        let text = text
            .strip_prefix("Zookeeper version:")
            .unwrap_or(text)
            .trim();
        let numeric_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let mut parts = text[..numeric_end].split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) if !p.is_empty() => p.parse().ok()?,
            _ => 0,
        };
        Some(ZkVersion::new(major, minor, patch))
    }

    /// Before 3.5 the larger sid, after winning the connection challenge, dials the smaller one
    /// back at the address in its *own* view (QuorumCnxManager; ZOOKEEPER-2938, LINE deck slide
    /// 16). From 3.5 on it uses the election address the smaller sid advertised.
    pub fn dials_back_from_own_view(self) -> bool {
        self < ZkVersion::new(3, 5, 0)
    }

    /// From 3.5.6 a server whose election listener cannot bind (its own line names an address
    /// it does not have, and `quorumListenOnAllIPs` is off) exits with code 14 after its bind
    /// retries: `QuorumCnxManager.Listener.run` → `socketBindErrorHandler` →
    /// `ExitCode.UNABLE_TO_BIND_QUORUM_PORT` (ZOOKEEPER-3320). Before, the listener thread
    /// gives up ("I won't be able to participate in leader election any longer") and the
    /// process keeps running, deaf to election connections.
    pub fn exits_when_it_cannot_bind(self) -> bool {
        self >= ZkVersion::new(3, 5, 6)
    }

    /// Dynamic reconfiguration (`reconfig -add/-remove`) exists from 3.5.0.
    pub fn has_dynamic_reconfig(self) -> bool {
        self >= ZkVersion::new(3, 5, 0)
    }

    /// From 3.5.3 only `srvr` is whitelisted by default.
    pub fn whitelists_only_srvr_by_default(self) -> bool {
        self >= ZkVersion::new(3, 5, 3)
    }
}

impl Default for ZkVersion {
    fn default() -> Self {
        ZkVersion::NEWEST
    }
}

impl fmt::Display for ZkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_seen() {
        assert_eq!(ZkVersion::parse("3.4.6"), Some(ZkVersion::new(3, 4, 6)));
        assert_eq!(ZkVersion::parse("3.5"), Some(ZkVersion::new(3, 5, 0)));
        assert_eq!(
            ZkVersion::parse("Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29"),
            Some(ZkVersion::new(3, 8, 0))
        );
        assert_eq!(ZkVersion::parse("garbage"), None);
        assert_eq!(ZkVersion::parse(""), None);
        assert_eq!(ZkVersion::parse("3"), None);
    }

    #[test]
    fn rules_follow_the_version() {
        assert!(ZkVersion::new(3, 4, 14).dials_back_from_own_view());
        assert!(!ZkVersion::new(3, 5, 0).dials_back_from_own_view());
        assert!(!ZkVersion::new(3, 4, 14).has_dynamic_reconfig());
        assert!(!ZkVersion::new(3, 5, 5).exits_when_it_cannot_bind());
        assert!(ZkVersion::new(3, 5, 6).exits_when_it_cannot_bind());
        assert!(ZkVersion::new(3, 8, 0).whitelists_only_srvr_by_default());
        assert!(!ZkVersion::new(3, 5, 2).whitelists_only_srvr_by_default());
    }
}
