//! The text `gmond-rs -t` prints: the built-in standalone default as a gmond.conf that both
//! gmond-rs and Debian's gmond accept. Unicast on loopback, with the classic multicast channels
//! shown commented out. Parsing it gives exactly [`crate::config::AgentConfig::standalone`]
//! (tested).

use std::fmt::Write as _;

const HEAD: &str = r#"/* gmond-rs built-in default: a standalone node that works on any machine.
   It sends its metrics to itself on 127.0.0.1:8649 and serves XML there.
   For a cluster, point udp_send_channel at your aggregator(s), or use the
   multicast channels commented out below. */
globals {
  daemonize = yes
  setuid = no
  user = nobody
  debug_level = 0
  max_udp_msg_len = 1472
  mute = no
  deaf = no
  allow_extra_data = yes
  host_dmax = 86400 /*secs. Expires (removes from web interface) hosts in 1 day */
  host_tmax = 20 /*secs */
  cleanup_threshold = 300 /*secs */
  gexec = no
  # By default gmond will use reverse DNS resolution when displaying your hostname
  # Uncommeting following value will override that value.
  # override_hostname = "mywebserver.domain.com"
  # Metadata is re-sent this often, so an aggregator restarted after its senders
  # shows every metric again within this many seconds (unicast needs this).
  send_metadata_interval = 30 /*secs */
}

cluster {
  name = "unspecified"
  owner = "unspecified"
  latlong = "unspecified"
  url = "unspecified"
}

host {
  location = "unspecified"
}

udp_send_channel {
  #bind_hostname = yes
  host = 127.0.0.1
  port = 8649
  ttl = 1
}

/* Multicast, as Ganglia's classic default (every node hears every node):
udp_send_channel {
  mcast_join = 239.2.11.71
  port = 8649
  ttl = 1
}
*/

udp_recv_channel {
  bind = 127.0.0.1
  port = 8649
  # Size of the UDP buffer. If you are handling lots of metrics you really
  # should bump it up to e.g. 10MB or even higher.
  # buffer = 10485760
}

/* Multicast receive, as Ganglia's classic default:
udp_recv_channel {
  mcast_join = 239.2.11.71
  port = 8649
  bind = 239.2.11.71
  retry_bind = true
}
*/

tcp_accept_channel {
  bind = 127.0.0.1
  port = 8649
  # If you want to gzip XML output
  gzip_output = no
}

/* Built-in metrics need no modules section; one from an existing gmond.conf is
   accepted and its C modules are provided natively. */
"#;

/// The default configuration text.
pub fn text() -> String {
    let mut s = String::from(HEAD);
    for g in crate::collect::groups::DEFAULT_GROUPS {
        s.push_str("\ncollection_group {\n");
        if g.collect_once {
            s.push_str("  collect_once = yes\n");
        } else {
            let _ = writeln!(s, "  collect_every = {}", g.collect_every);
        }
        let _ = writeln!(s, "  time_threshold = {}", g.time_threshold);
        for (name, threshold, title) in g.metrics {
            let _ = writeln!(s, "  metric {{\n    name = \"{name}\"");
            if *threshold >= 0.0 {
                let _ = writeln!(s, "    value_threshold = \"{threshold:.1}\"");
            }
            if !title.is_empty() {
                let _ = writeln!(s, "    title = \"{title}\"");
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
    }
    s
}
