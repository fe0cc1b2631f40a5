//! Pure: the lab's private network (`zkpilot lab elections --netns`): each host in a network
//! namespace of its own, joined to a router namespace by a veth pair, and the services as
//! nftables DNAT rules. On loopback every 127.x address is local, so a server can bind any own
//! line; here a host has one address, as on a real machine, and a server whose own line is not
//! it exits at start (issue 26).
//!
//! Addresses of 10.77.0.0/16 stand for hosts *inside* these namespaces only: host `i` is
//! 10.77.(i+1).2 behind router leg 10.77.(i+1).1, the service of sid `k` is 10.77.100.k. The
//! router has no leg outside, so nothing addressed to them can leave the lab; the runner
//! reaches the hosts from a thread that entered the router's namespace.

use super::draw::ServiceRoute;

/// The services' /24, which the router refuses (ICMP) where no DNAT rule forwards.
pub const SERVICE_NET: &str = "10.77.100.0/24";
/// The one nftables table the lab writes in each namespace it made.
pub const NFT_TABLE: &str = "zkpilot_lab";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Every namespace's name starts with it (`zkl<pid>`), so what a run made can be found.
    pub prefix: String,
    pub hosts: usize,
}

impl Network {
    pub fn new(pid: u32, hosts: usize) -> Network {
        Network {
            prefix: format!("zkl{pid}"),
            hosts,
        }
    }

    pub fn router(&self) -> String {
        format!("{}r", self.prefix)
    }

    pub fn host_ns(&self, host: usize) -> String {
        format!("{}h{}", self.prefix, host + 1)
    }

    /// Every namespace of the network, the router first.
    pub fn namespaces(&self) -> Vec<String> {
        std::iter::once(self.router())
            .chain((0..self.hosts).map(|h| self.host_ns(h)))
            .collect()
    }

    pub fn host_addr(host: usize) -> String {
        format!("10.77.{}.2", host + 1)
    }

    pub fn service_addr(sid: u64) -> String {
        format!("10.77.100.{sid}")
    }

    /// The `ip` commands that build the network, in order. Each veth pair is created inside
    /// the router's namespace with its peer moved straight into the host's, so no interface of
    /// the lab ever exists in the machine's own namespace.
    pub fn setup(&self) -> Vec<Vec<String>> {
        let router = self.router();
        let mut commands: Vec<Vec<String>> = self
            .namespaces()
            .iter()
            .map(|ns| words(&format!("netns add {ns}")))
            .collect();
        commands.push(words(&format!("-n {router} link set lo up")));
        for h in 0..self.hosts {
            let ns = self.host_ns(h);
            let leg = format!("h{}", h + 1);
            let net = h + 1;
            for line in [
                format!("-n {router} link add {leg} type veth peer name eth0 netns {ns}"),
                format!("-n {router} addr add 10.77.{net}.1/24 dev {leg}"),
                format!("-n {router} link set {leg} up"),
                format!("-n {ns} link set lo up"),
                format!("-n {ns} addr add 10.77.{net}.2/24 dev eth0"),
                format!("-n {ns} link set eth0 up"),
                format!("-n {ns} route add default via 10.77.{net}.1"),
            ] {
                commands.push(words(&line));
            }
        }
        // A service address no rule forwards is refused by the router (ICMP, at once), as a
        // ClusterIP without endpoints is.
        commands.push(words(&format!(
            "-n {router} route add prohibit {SERVICE_NET}"
        )));
        commands
    }

    /// The services as DNAT rules of the address alone (the port is kept, as kube-proxy does
    /// for a Service whose targetPort is its port). In a host's `output` hook, as kube-proxy
    /// writes them on every node (a connection to its own service then reaches itself); in the
    /// router's `prerouting` as well. Replaces the table whole, in one transaction.
    pub fn services_ruleset(routes: &[ServiceRoute], router: bool) -> String {
        let mut rules = String::new();
        for route in routes {
            rules.push_str(&format!(
                "    ip daddr {} dnat to {}\n",
                Network::service_addr(route.sid),
                Network::host_addr(route.to)
            ));
        }
        let hook = if router { "prerouting" } else { "output" };
        format!(
            "table ip {NFT_TABLE}\n\
             delete table ip {NFT_TABLE}\n\
             table ip {NFT_TABLE} {{\n  chain services {{\n    \
             type nat hook {hook} priority -100; policy accept;\n{rules}  }}\n}}\n"
        )
    }
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_is_made_inside_the_lab_namespaces() {
        let net = Network::new(42, 2);
        assert_eq!(net.namespaces(), ["zkl42r", "zkl42h1", "zkl42h2"]);
        for command in net.setup() {
            let line = command.join(" ");
            assert!(
                line.starts_with("netns add zkl42") || line.starts_with("-n zkl42"),
                "{line}"
            );
        }
        let setup: Vec<String> = net.setup().iter().map(|c| c.join(" ")).collect();
        assert!(setup.contains(&"-n zkl42h2 addr add 10.77.2.2/24 dev eth0".to_string()));
        assert!(setup.contains(&"-n zkl42r route add prohibit 10.77.100.0/24".to_string()));
    }

    #[test]
    fn services_forward_the_address_and_keep_the_port() {
        let routes = [ServiceRoute { sid: 2, to: 3 }];
        let host = Network::services_ruleset(&routes, false);
        assert!(
            host.contains("type nat hook output priority -100;"),
            "{host}"
        );
        assert!(
            host.contains("ip daddr 10.77.100.2 dnat to 10.77.4.2\n"),
            "{host}"
        );
        let router = Network::services_ruleset(&[], true);
        assert!(router.contains("hook prerouting"));
        assert!(!router.contains("dnat"));
    }
}
