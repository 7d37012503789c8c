//! The `/status` JSON document of the interactive port, with the keys of gmetad 3.7.2 (in
//! order) plus gmetad-rs's own counters under "gmetad-rs".

use crate::export::memcached::MemcachedStats;
use crate::export::riemann::RiemannStats;
use crate::rrd::writer::RrdStats;
use std::fmt::Write as _;

/// num / total milliseconds / last time (epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timed {
    /// Count.
    pub num: u64,
    /// Total milliseconds spent.
    pub total_millis: u64,
    /// Epoch milliseconds of the last one.
    pub last_time: u64,
}

impl Timed {
    /// Record one occurrence that took `ms` and ended at `at_ms`.
    pub fn record(&mut self, ms: u64, at_ms: u64) {
        self.num += 1;
        self.total_millis += ms;
        self.last_time = at_ms;
    }
}

/// Counters of the collector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Metrics received in polls.
    pub received: u64,
    /// Successful polls.
    pub polls_ok: Timed,
    /// Failed polls (unreachable, stalled, too large, unparsable).
    pub polls_failed: Timed,
    /// Poll cycles that overran their step.
    pub misses: u64,
    /// Documents with skipped elements (bad hosts) that were still used.
    pub partial_documents: u64,
    /// All requests.
    pub requests_all: Timed,
    /// Interactive-port requests.
    pub requests_interactive: Timed,
    /// xml_port requests.
    pub requests_xml: Timed,
    /// Connections refused by trusted_hosts.
    pub requests_refused: u64,
    /// Readers dropped for being too slow.
    pub slow_readers: u64,
    /// Cluster summaries computed.
    pub summarize_cluster: u64,
    /// Root summaries computed.
    pub summarize_root: Timed,
}

/// Everything /status reports.
#[derive(Debug, Clone)]
pub struct StatusInput<'a> {
    /// Our host name.
    pub host: &'a str,
    /// GRID NAME.
    pub gridname: &'a str,
    /// Version string.
    pub version: &'a str,
    /// Now, epoch ms.
    pub now_ms: u64,
    /// Start, epoch ms.
    pub boot_ms: u64,
    /// Collector counters.
    pub counters: &'a Counters,
    /// RRD counters (direct or rrdcached).
    pub rrd: &'a RrdStats,
    /// Whether RRDs go through rrdcached.
    pub rrdcached: bool,
    /// Carbon batches sent / dropped.
    pub graphite: (u64, u64),
    /// Riemann exporter counters (all zero when off).
    pub riemann: RiemannStats,
    /// memcached exporter counters (all zero when off).
    pub memcached: MemcachedStats,
    /// Per data source: name, alive, last error.
    pub sources: Vec<(String, bool, String)>,
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn timed(t: &Timed) -> String {
    format!(
        "{{\"num\":{},\"totalMillis\":{},\"lastTime\":{}}}",
        t.num, t.total_millis, t.last_time
    )
}

/// Render the JSON document.
pub fn render(s: &StatusInput<'_>) -> String {
    let c = s.counters;
    let mut o = String::with_capacity(2048);
    o.push_str("{\"host\":");
    json_str(&mut o, s.host);
    o.push_str(",\"gridname\":");
    json_str(&mut o, s.gridname);
    o.push_str(",\"version\":");
    json_str(&mut o, s.version);
    let up = s.now_ms.saturating_sub(s.boot_ms);
    let _ = write!(
        o,
        ",\"stattime\":{},\"boottime\":{},\"uptime\":{},\"uptimeMillis\":{}",
        s.now_ms,
        s.boot_ms,
        up / 1000,
        up
    );
    let rrd = Timed {
        num: s.rrd.written,
        total_millis: s.rrd.total_millis,
        last_time: s.rrd.last_time,
    };
    let none = Timed::default();
    let (rrdtool, rrdcached) = if s.rrdcached {
        (none, rrd)
    } else {
        (rrd, none)
    };
    let graphite = Timed {
        num: s.graphite.0,
        ..Timed::default()
    };
    let riemann = Timed {
        num: s.riemann.sent,
        total_millis: s.riemann.total_millis,
        last_time: s.riemann.last_time,
    };
    let memcached = Timed {
        num: s.memcached.sent,
        total_millis: s.memcached.total_millis,
        last_time: s.memcached.last_time,
    };
    let sent_all = s.rrd.written + s.graphite.0 + riemann.num + memcached.num;
    let sent_millis = s.rrd.total_millis + riemann.total_millis + memcached.total_millis;
    let _ = write!(
        o,
        ",\"metrics\":{{\"received\":{{\"all\":{}}},\"sent\":{{\"all\":{{\"num\":{sent_all},\"totalMillis\":{}}},\"rrdtool\":{},\"rrdcached\":{},\"graphite\":{},\"memcached\":{},\"riemann\":{}}}",
        c.received,
        sent_millis,
        timed(&rrdtool),
        timed(&rrdcached),
        timed(&graphite),
        timed(&memcached),
        timed(&riemann)
    );
    let _ = write!(
        o,
        ",\"summarize\":{{\"cluster\":{},\"root\":{},\"totalMillis\":{},\"lastTime\":{}}}",
        c.summarize_cluster,
        c.summarize_root.num,
        c.summarize_root.total_millis,
        c.summarize_root.last_time
    );
    let _ = write!(
        o,
        ",\"requests\":{{\"all\":{},\"interactive\":{},\"xml\":{}}}",
        timed(&c.requests_all),
        timed(&c.requests_interactive),
        timed(&c.requests_xml)
    );
    let _ = write!(
        o,
        ",\"polls\":{{\"ok\":{},\"failed\":{},\"misses\":{}}}}}",
        timed(&c.polls_ok),
        timed(&c.polls_failed),
        c.misses
    );
    let _ = write!(
        o,
        ",\"gmetad-rs\":{{\"partialDocuments\":{},\"refused\":{},\"slowReaders\":{},\"rrd\":{{\"queued\":{},\"created\":{},\"skippedOld\":{},\"droppedBatches\":{},\"createErrors\":{},\"updateErrors\":{},\"lastError\":",
        c.partial_documents,
        c.requests_refused,
        c.slow_readers,
        s.rrd.queued,
        s.rrd.created,
        s.rrd.skipped_old,
        s.rrd.dropped_batches,
        s.rrd.create_errors,
        s.rrd.update_errors
    );
    json_str(&mut o, &s.rrd.last_error);
    let (r, m) = (&s.riemann, &s.memcached);
    let _ = write!(
        o,
        "}},\"graphiteDropped\":{},\"riemann\":{{\"dropped\":{},\"failures\":{},\"connects\":{},\"breakerOpen\":{}}},\"memcached\":{{\"dropped\":{},\"skippedKeys\":{},\"serverErrors\":{},\"connects\":{}}},\"sources\":[",
        s.graphite.1,
        r.dropped,
        r.failures,
        r.connects,
        r.breaker_open,
        m.dropped,
        m.skipped_keys,
        m.server_errors,
        m.connects
    );
    for (i, (name, alive, err)) in s.sources.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        json_str(&mut o, name);
        let _ = write!(o, ",\"alive\":{alive},\"lastError\":");
        json_str(&mut o, err);
        o.push('}');
    }
    o.push_str("]}}");
    o
}

/// The HTTP/1.0 header gmetad writes before the JSON.
pub fn http_header(version: &str) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nServer: gmetad/{version}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_gmetads_order_and_valid_json_shape() {
        let c = Counters::default();
        let r = RrdStats {
            last_error: "bad \"path\" <x>".into(),
            ..RrdStats::default()
        };
        let s = render(&StatusInput {
            host: "vm",
            gridname: "g",
            version: "3.7.2",
            now_ms: 2000,
            boot_ms: 1000,
            counters: &c,
            rrd: &r,
            rrdcached: false,
            graphite: (0, 0),
            riemann: RiemannStats {
                sent: 7,
                total_millis: 3,
                last_time: 1999,
                ..RiemannStats::default()
            },
            memcached: MemcachedStats {
                sent: 5,
                skipped_keys: 2,
                ..MemcachedStats::default()
            },
            sources: vec![("local".into(), true, String::new())],
        });
        assert!(s.contains("\"all\":{\"num\":12,\"totalMillis\":3}"), "{s}");
        assert!(s.contains("\"memcached\":{\"num\":5,\"totalMillis\":0,\"lastTime\":0},\"riemann\":{\"num\":7,\"totalMillis\":3,\"lastTime\":1999}"), "{s}");
        assert!(s.contains("\"skippedKeys\":2"));
        let keys = [
            "\"host\"",
            "\"gridname\"",
            "\"version\"",
            "\"stattime\"",
            "\"boottime\"",
            "\"uptime\"",
            "\"metrics\"",
            "\"received\"",
            "\"sent\"",
            "\"rrdtool\"",
            "\"rrdcached\"",
            "\"graphite\"",
            "\"memcached\"",
            "\"riemann\"",
            "\"summarize\"",
            "\"requests\"",
            "\"polls\"",
            "\"misses\"",
        ];
        let mut at = 0;
        for k in keys {
            let p = s[at..]
                .find(k)
                .unwrap_or_else(|| panic!("{k} out of order in {s}"));
            at += p;
        }
        assert!(s.contains("bad \\\"path\\\" \\u003cx\\u003e"));
        assert_eq!(s.matches('{').count(), s.matches('}').count());
        let fixture = include_str!("../../../ganglia-proto/tests/data/xml/gmetad-8652-status.json");
        assert!(fixture.starts_with(&http_header("3.7.2-1")));
    }
}
