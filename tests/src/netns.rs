//! Private networks of network namespaces for cluster tests: one "switch" namespace holding a
//! bridge, one namespace per node joined to it by a veth pair. Nothing is created in, or
//! touches, the root namespace's interfaces: the bridge and every veth end live inside
//! namespaces this guard made, and dropping the guard kills whatever still runs in them and
//! deletes them (which destroys their interfaces). Names carry a per-run prefix
//! (`grs-<pid>-<tag>-`) so parallel tests never collide, and namespaces left by a dead run
//! (its pid gone) are removed when the next one starts.
//!
//! Needs root and `ip` from iproute2.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;

/// Prefix of every namespace this module creates.
pub const PREFIX: &str = "grs-";

/// The subnet of every private network (each network is its own L2 segment inside its own
/// namespaces, so networks of parallel tests never see each other).
pub const SUBNET: [u8; 3] = [10, 213, 0];

/// Run `ip` with `args`, panicking with its stderr if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("`ip` from iproute2 is installed (make test installs it)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run a command inside namespace `ns` (`ip netns exec ns prog args..`), returning whether it
/// succeeded and its combined output.
pub fn exec_in(ns: &str, prog: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, prog])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip netns exec {ns} {prog}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A `Command` that runs `prog` inside namespace `ns`. `ip netns exec` execs the program, so
/// the child's pid is the program's own (kill -9 by pid hits the daemon, not a wrapper).
pub fn command_in(ns: &str, prog: &std::path::Path) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).arg(prog);
    c
}

/// Run `f` on a thread that has entered namespace `ns`; sockets it creates belong to that
/// namespace for their whole life, whichever thread uses them later.
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let fd = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: fd is an open namespace file; setns affects only this thread.
            let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        });
        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn namespaces() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// Kill every process still running in `ns` (only namespaces this module made are passed) and
/// delete it.
fn remove_ns(ns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse::<libc::pid_t>().ok())
        {
            // SAFETY: signalling a process by pid; it runs in a namespace this harness made.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let _ = Command::new("ip").args(["netns", "del", ns]).output();
}

/// Remove namespaces left by runs whose process is gone.
pub fn remove_stale() {
    for ns in namespaces() {
        let Some(rest) = ns.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove_ns(&ns);
        }
    }
}

/// One node of a network: its namespace and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Namespace name.
    pub ns: String,
    /// Address on the network (interface `eth0` in the namespace).
    pub ip: Ipv4Addr,
}

/// A private L2 network: a switch namespace with bridge `br0` and nodes on veth pairs.
/// Dropping it removes everything it created.
pub struct Net {
    prefix: String,
    /// The switch namespace (bridge `br0`, ports `p<octet>`).
    pub switch: String,
    made: Vec<String>,
}

impl Net {
    /// A new network for the test `tag` (short, unique per test in one binary).
    pub fn new(tag: &str) -> Net {
        assert!(
            // SAFETY: geteuid has no preconditions.
            unsafe { libc::geteuid() } == 0,
            "cluster tests create network namespaces and need root (CI runs as root)"
        );
        remove_stale();
        let prefix = format!("{PREFIX}{}-{tag}-", std::process::id());
        // A leftover from an earlier test of this very process with the same tag.
        for ns in namespaces().into_iter().filter(|n| n.starts_with(&prefix)) {
            remove_ns(&ns);
        }
        let switch = format!("{prefix}sw");
        let mut net = Net {
            prefix,
            switch: switch.clone(),
            made: Vec::new(),
        };
        ip(&["netns", "add", &switch]);
        net.made.push(switch.clone());
        ip(&["-n", &switch, "link", "set", "lo", "up"]);
        // No IGMP snooping: multicast floods to every port, like a plain switch.
        ip(&[
            "-n",
            &switch,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &switch, "link", "set", "br0", "up"]);
        net
    }

    /// Add node `name` with address 10.213.0.`octet` (2..=254), a route for multicast on its
    /// own interface only.
    pub fn add(&mut self, name: &str, octet: u8) -> Node {
        assert!((2..=254).contains(&octet));
        let ns = format!("{}{name}", self.prefix);
        ip(&["netns", "add", &ns]);
        self.made.push(ns.clone());
        let port = format!("p{octet}");
        let sw = self.switch.as_str();
        ip(&[
            "-n", sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        ip(&["-n", sw, "link", "set", &port, "master", "br0", "up"]);
        let addr = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], octet);
        let cidr = format!("{addr}/24");
        ip(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ip(&["-n", &ns, "link", "set", "eth0", "up", "multicast", "on"]);
        ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
        Node { ns, ip: addr }
    }

    /// The switch port (in [`Net::switch`]) that leads to the node with address `octet`.
    pub fn port(octet: u8) -> String {
        format!("p{octet}")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.made.iter().rev() {
            remove_ns(ns);
        }
    }
}

/// A tmpfs of `size` (e.g. "2m") mounted on `dir`, unmounted on drop.
pub struct Tmpfs {
    /// The mount point.
    pub dir: std::path::PathBuf,
}

impl Tmpfs {
    /// Mount a fresh tmpfs on `dir` (created if missing).
    pub fn mount(dir: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("mount (util-linux)");
        assert!(st.success(), "mount tmpfs on {}", dir.display());
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
