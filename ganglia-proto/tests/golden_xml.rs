//! The XML captured from Debian's gmond/gmetad 3.7.2 parses, and our writers reproduce it.

use ganglia_proto::xml::read::{ReadLimits, XmlError, read};
use ganglia_proto::xml::write::{Layout, write_document};
use ganglia_proto::xml::{Document, SmolStr, Source, dtd::DTD};
use proptest::prelude::*;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/xml")
            .join(name),
    )
    .unwrap()
}

fn parse(bytes: &[u8]) -> Document {
    let o = read(bytes, &ReadLimits::default()).unwrap();
    assert!(o.complete && o.problems.is_empty(), "{:?}", o.problems);
    o.doc
}

#[test]
fn dtd_is_byte_identical_to_3_7_2() {
    for f in [
        "gmond-8649.xml",
        "gmetad-8651.xml",
        "gmetad-8652-summary.xml",
        "gmetad-8652-host.xml",
    ] {
        assert!(data(f).starts_with(DTD.as_bytes()), "{f}");
    }
}

#[test]
fn gmond_fixture_parses_and_rewrites_byte_identical() {
    let bytes = data("gmond-8649.xml");
    let doc = parse(&bytes);
    assert_eq!((doc.source, doc.version.as_str()), (Source::Gmond, "3.7.2"));
    let c = &doc.clusters[0];
    assert_eq!(c.name, "lab");
    let names: Vec<_> = c.hosts.iter().map(|h| h.name.as_str()).collect();
    assert!(
        names.contains(&"localhost") && names.contains(&"spoofhost"),
        "{names:?}"
    );
    let local = c.hosts.iter().find(|h| h.name == "localhost").unwrap();
    let s = local
        .metrics
        .iter()
        .find(|m| m.name == "fixture_string")
        .unwrap();
    assert_eq!(s.val, "hello <&> world");
    assert_eq!(s.source, "gmond", "SOURCE defaults to the DTD's gmond");
    let load = local.metrics.iter().find(|m| m.name == "load_one").unwrap();
    assert_eq!(
        (load.units.as_str(), load.extra("GROUP")),
        (" ", Some("load"))
    );
    let spoof = c.hosts.iter().find(|h| h.name == "spoofhost").unwrap();
    assert_eq!(spoof.gmond_started, -205065680);
    let mut out = Vec::new();
    write_document(&mut out, &doc, Layout::Gmond);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(bytes).unwrap()
    );
}

#[test]
fn gmetad_fixture_parses_and_rewrites_identically_except_escaping() {
    let bytes = data("gmetad-8651.xml");
    let doc = parse(&bytes);
    assert_eq!(doc.source, Source::Gmetad);
    let g = &doc.grids[0];
    assert_eq!(
        (g.name.as_str(), g.authority.as_str()),
        ("testgrid", "http://vm/ganglia/")
    );
    assert_eq!(g.clusters[0].name, "lab");
    let mut out = Vec::new();
    write_document(&mut out, &doc, Layout::Gmetad);
    let ours = String::from_utf8(out).unwrap();
    let theirs = String::from_utf8(bytes).unwrap();
    let diff: Vec<_> = ours
        .lines()
        .zip(theirs.lines())
        .filter(|(a, b)| a != b)
        .collect();
    // 3.7.2 re-emits the unescaped string (invalid XML); we escape it. Nothing else differs.
    assert_eq!(diff.len(), 1, "{diff:#?}");
    assert!(
        diff[0].0.contains("hello &lt;&amp;&gt; world") && diff[0].1.contains("hello <&> world")
    );
    assert_eq!(ours.lines().count(), theirs.lines().count());
}

#[test]
fn summary_host_and_http_fixtures() {
    let doc = parse(&data("gmetad-8652-summary.xml"));
    let g = &doc.grids[0];
    let root = g.summary.as_ref().expect("root HOSTS/METRICS");
    assert!(root.hosts_up + root.hosts_down >= 1);
    assert!(
        root.metrics
            .iter()
            .any(|m| m.name == "load_one" && m.metric_type == "double")
    );
    let cs = parse(&data("gmetad-8652-cluster-summary.xml"));
    let c = &cs.grids[0].clusters[0];
    assert!(c.hosts.is_empty() && c.summary.as_ref().unwrap().metrics.len() > 10);
    let host = parse(&data("gmetad-8652-host.xml"));
    assert_eq!(host.grids[0].clusters[0].hosts.len(), 1);
    let http = parse(&data("gmetad-8652-http-metric.txt"));
    let h = &http.grids[0].clusters[0].hosts[0];
    assert_eq!(
        (h.metrics.len(), h.metrics[0].name.as_str()),
        (1, "load_one")
    );
}

fn gmond_doc_with(host_block: &str) -> Vec<u8> {
    let good = |n: &str| {
        format!(
            "<HOST NAME=\"{n}\" IP=\"10.0.0.1\" TAGS=\"\" REPORTED=\"1\" TN=\"0\" TMAX=\"20\" DMAX=\"0\" LOCATION=\"x\" GMOND_STARTED=\"0\">\n\
             <METRIC NAME=\"load_one\" VAL=\"0.5\" TYPE=\"float\" UNITS=\" \" TN=\"1\" TMAX=\"70\" DMAX=\"0\" SLOPE=\"both\">\n\
             <EXTRA_DATA>\n</EXTRA_DATA>\n</METRIC>\n</HOST>\n"
        )
    };
    format!(
        "{DTD}<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n<CLUSTER NAME=\"c\" LOCALTIME=\"1\" OWNER=\"o\" LATLONG=\"l\" URL=\"u\">\n{}{host_block}{}</CLUSTER>\n</GANGLIA_XML>\n",
        good("a"),
        good("z")
    )
    .into_bytes()
}

#[test]
fn one_bad_host_does_not_lose_the_others() {
    for bad in [
        "<HOST IP=\"1.1.1.1\" REPORTED=\"1\"></HOST>\n", // no NAME
        "<HOST NAME=\"b\" IP=\"1\"><METRIC NAME=\"x\" VAL=\"1\"></HOST>\n", // unclosed METRIC
        "<HOST NAME=\"b\" IP=\"1\" IP=\"2\"><METRIC NAME=\"x\" VAL=\"1\"></METRIC></HOST>\n", // fine: duplicate attr tolerated
        "<HOST NAME=\"b\" IP=\"1\"><METRIC NAME=\"x\" VAL=\"1\"/></BOGUS></HOST>\n", // stray end tag
        "<HOST NAME=\"b\x01\" IP=\"1\"></HOST>\n", // control char: kept as text
        // Broken markup: an unquoted '<' inside a tag, an unbalanced quote (issue #251-style
        // garbage name), an unclosed METRIC, an end-tag typo, a lone '<', an unclosed comment,
        // stray end tags, a bad attribute, an over-long attribute.
        "<HOST NAME=\"b\" IP=\"1\" <METRIC NAME=\"x\" VAL=\"1\"/></HOST>\n",
        "<HOST NAME=\"b IP=\"1\">\n<METRIC NAME=\"x\" VAL=\"1\"/>\n</HOST>\n",
        "<HOST NAME=\"b\" IP=\"1\"><METRIC NAME=\"x\" VAL=\"1\"></METRIC>\n",
        "<HOST NAME=\"b\" IP=\"1\"></HOS>\n",
        "<HOST NAME=\"b\" IP=\"1\"><\n",
        "<HOST NAME=\"b\" IP=\"1\"><!-- never closed\n",
        "</HOST></METRIC>\n",
        "<HOST NAME=\"b\" IP=1 REPORTED=\"1\"></HOST>\n",
        "<HOST NAME><METRIC NAME=\"x\" VAL=\"1\"/></HOST>\n",
        "<HOST NAME=\"b\">\n<<<< >>> &&& </HOST>\n",
    ] {
        let o = read(&gmond_doc_with(bad), &ReadLimits::default()).unwrap();
        let names: Vec<_> = o.doc.clusters[0]
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .collect();
        assert!(
            names.contains(&"a".into()) && names.contains(&"z".into()),
            "{bad}: {names:?} {:?}",
            o.problems
        );
        assert!(o.complete, "{bad}: {:?}", o.problems);
        // The good hosts are intact.
        for h in &o.doc.clusters[0].hosts {
            if h.name == "a" || h.name == "z" {
                assert_eq!(h.metrics.len(), 1, "{bad}");
            }
        }
        // Every problem points inside the bad block (or at the end of it).
        let doc = gmond_doc_with(bad);
        let from = doc
            .windows(bad.len())
            .position(|w| w == bad.as_bytes())
            .unwrap() as u64;
        for p in &o.problems {
            assert!(
                p.offset >= from && p.offset <= from + bad.len() as u64,
                "{bad}: {p:?} not in {from}..+{}",
                bad.len()
            );
        }
    }
}

#[test]
fn bad_numbers_are_repaired_and_reported() {
    let o = read(
        &gmond_doc_with("<HOST NAME=\"b\" IP=\"1\" TN=\"abc\" REPORTED=\"12x\"></HOST>\n"),
        &ReadLimits::default(),
    )
    .unwrap();
    let b = o.doc.clusters[0]
        .hosts
        .iter()
        .find(|h| h.name == "b")
        .unwrap();
    assert_eq!((b.tn, b.reported), (0, 12));
    assert_eq!(o.problems.len(), 2, "{:?}", o.problems);
    assert!(
        o.problems[0]
            .message
            .contains("HOST \"b\": REPORTED=\"12x\"")
    );
    assert!(o.problems[1].message.contains("TN=\"abc\""));
}

#[test]
fn over_long_attribute_skips_only_its_element() {
    let limits = ReadLimits {
        max_attr_len: 100,
        ..ReadLimits::default()
    };
    let long = "v".repeat(101);
    // On a METRIC: the metric goes, the host stays.
    let doc = gmond_doc_with(&format!(
        "<HOST NAME=\"b\" IP=\"1\">\n<METRIC NAME=\"x\" VAL=\"{long}\" TYPE=\"string\">\n<EXTRA_DATA>\n<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"g\"/>\n</EXTRA_DATA>\n</METRIC>\n<METRIC NAME=\"y\" VAL=\"1\"/>\n</HOST>\n"
    ));
    let o = read(&doc, &limits).unwrap();
    let b = o.doc.clusters[0]
        .hosts
        .iter()
        .find(|h| h.name == "b")
        .unwrap();
    assert_eq!(b.metrics.len(), 1);
    assert_eq!(
        (b.metrics[0].name.as_str(), b.metrics[0].extra.len()),
        ("y", 0)
    );
    assert!(
        o.problems[0].message.contains("VAL is 101 bytes"),
        "{:?}",
        o.problems
    );
    // On a HOST: that host goes, the others stay.
    let doc = gmond_doc_with(&format!("<HOST NAME=\"{long}\" IP=\"1\"></HOST>\n"));
    let o = read(&doc, &limits).unwrap();
    assert_eq!(o.doc.clusters[0].hosts.len(), 2);
    assert_eq!(o.problems.len(), 1);
}

#[test]
fn unclosed_cluster_is_closed_by_the_next_one() {
    let doc = format!(
        "{DTD}<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmetad\">\n<GRID NAME=\"g\" AUTHORITY=\"a\" LOCALTIME=\"1\">\n\
         <CLUSTER NAME=\"c1\" LOCALTIME=\"1\">\n<HOST NAME=\"h1\" IP=\"1\"></HOST>\n\
         <CLUSTER NAME=\"c2\" LOCALTIME=\"1\">\n<HOST NAME=\"h2\" IP=\"1\"></HOST>\n</CLUSTER>\n</GRID>\n</GANGLIA_XML>\n"
    );
    let o = read(doc.as_bytes(), &ReadLimits::default()).unwrap();
    let names: Vec<_> = o.doc.grids[0]
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.hosts.len()))
        .collect();
    assert_eq!(names, [("c1", 1), ("c2", 1)]);
    assert_eq!(o.problems.len(), 1, "{:?}", o.problems);
}

#[test]
fn truncation_keeps_completed_hosts() {
    let full = gmond_doc_with("");
    let text = String::from_utf8(full.clone()).unwrap();
    let cut = text.find("<HOST NAME=\"z\"").unwrap() + 30;
    let o = read(&full[..cut], &ReadLimits::default()).unwrap();
    assert!(!o.complete && !o.problems.is_empty());
    let names: Vec<_> = o.doc.clusters[0]
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(names, ["a"]);
}

#[test]
fn hostile_documents_give_typed_errors() {
    let limits = ReadLimits {
        max_bytes: 1 << 20,
        ..ReadLimits::default()
    };
    // 10k levels of nesting.
    let deep = format!("<GANGLIA_XML>{}", "<GRID>".repeat(10_000));
    assert!(matches!(
        read(deep.as_bytes(), &limits),
        Err(XmlError::TooDeep { max: 64, .. })
    ));
    // Larger than the limit (a 100 MB document against the default-sized check is the same path).
    let big = vec![b' '; (1 << 20) + 1];
    assert_eq!(
        read(&big, &limits),
        Err(XmlError::TooLarge { limit: 1 << 20 })
    );
    // Unterminated comment, garbage, empty.
    assert!(matches!(
        read(b"<!-- never closed", &limits),
        Err(XmlError::NotGanglia { .. })
    ));
    assert!(matches!(
        read(b"\x00\xff garbage", &limits),
        Err(XmlError::NotGanglia { .. })
    ));
    assert!(matches!(
        read(b"", &limits),
        Err(XmlError::NotGanglia { .. })
    ));
    // Bad gzip.
    assert!(matches!(
        read(&[0x1f, 0x8b, 1, 2, 3], &limits),
        Err(XmlError::Gzip(_))
    ));
}

#[test]
fn a_100_mb_document_is_refused_by_a_64_mb_limit_with_bounded_memory() {
    // Streams past the limit are cut before parsing: memory stays bounded by the limit.
    let limits = ReadLimits {
        max_bytes: 64 << 20,
        ..ReadLimits::default()
    };
    let doc = vec![b'x'; 100 << 20];
    assert!(matches!(
        read(&doc, &limits),
        Err(XmlError::TooLarge { .. })
    ));
    // The same through gzip: decompression stops at the limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &doc).unwrap();
    let gz = gz.finish().unwrap();
    assert!(matches!(read(&gz, &limits), Err(XmlError::TooLarge { .. })));
}

#[test]
fn gzip_and_latin1_input() {
    let bytes = data("gmond-8649.xml");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    assert_eq!(parse(&gz.finish().unwrap()), parse(&bytes));
    let mut latin = gmond_doc_with("");
    let at = latin.windows(3).position(|w| w == b"\"o\"").unwrap();
    latin[at + 1] = 0xe9; // 'é' in ISO-8859-1, invalid as UTF-8
    let doc = parse(&latin);
    assert_eq!(doc.clusters[0].owner, "é");
}

fn arb_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ -~\t\n\u{e9}\u{263a}<>&\"']{0,16}").unwrap()
}

proptest! {
    #[test]
    fn write_then_read_round_trips(names in proptest::collection::vec((arb_text(), arb_text(), arb_text()), 1..5), gmetad in any::<bool>()) {
        let mut doc = Document { source: if gmetad { Source::Gmetad } else { Source::Gmond }, version: "3.7.2".into(), ..Document::default() };
        let mut c = ganglia_proto::xml::Cluster { name: names[0].0.as_str().into(), owner: "o".into(), latlong: "l".into(), url: "u".into(), localtime: 5, ..Default::default() };
        for (i, (h, m, v)) in names.iter().enumerate() {
            let host_name: SmolStr = if h.is_empty() { format!("h{i}").into() } else { h.into() };
            let metric_name: SmolStr = if m.is_empty() { "m".into() } else { m.into() };
            let v = SmolStr::from(v);
            c.hosts.push(ganglia_proto::xml::Host {
                name: host_name, ip: "1.2.3.4".into(), tags: Some(v.clone()), reported: 7, tn: 1, tmax: 20, dmax: 0,
                location: Some(v.clone()), gmond_started: -3,
                metrics: vec![ganglia_proto::xml::Metric {
                    name: metric_name, val: v.clone(), metric_type: "string".into(), units: v.clone(), tn: 1, tmax: 2, dmax: 3,
                    slope: "both".into(), source: "gmond".into(), extra: vec![("GROUP".into(), v.clone())].into(),
                }],
            });
        }
        // Attribute-value normalisation turns raw tab/newline into spaces; we write them as references, so they survive.
        let layout = if gmetad { Layout::Gmetad } else { Layout::Gmond };
        if gmetad {
            doc.grids.push(ganglia_proto::xml::Grid { name: "g".into(), authority: "a".into(), localtime: 9, clusters: vec![c], ..Default::default() });
        } else {
            doc.clusters.push(c);
        }
        let mut out = Vec::new();
        write_document(&mut out, &doc, layout);
        prop_assert!(out.is_ascii());
        let back = read(&out, &ReadLimits::default()).unwrap();
        prop_assert!(back.complete && back.problems.is_empty());
        prop_assert_eq!(back.doc, doc);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read(&bytes, &ReadLimits::default());
    }
}

/// What a string reads back as after [`write_document`]: C0 controls other than tab, newline and
/// CR (and U+FFFE/U+FFFF), which XML 1.0 cannot carry, become '?'.
fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

fn good_host(name: &str) -> String {
    format!(
        "<HOST NAME=\"{name}\" IP=\"10.0.0.1\" TAGS=\"\" REPORTED=\"1\" TN=\"0\" TMAX=\"20\" DMAX=\"0\" LOCATION=\"x\" GMOND_STARTED=\"0\">\n\
         <METRIC NAME=\"load_one\" VAL=\"0.5\" TYPE=\"float\" UNITS=\" \" TN=\"1\" TMAX=\"70\" DMAX=\"0\" SLOPE=\"both\">\n\
         <EXTRA_DATA>\n<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"load\"/>\n</EXTRA_DATA>\n</METRIC>\n</HOST>\n"
    )
}

proptest! {
    #[test]
    fn any_string_round_trips_modulo_forbidden_controls(
        s in any::<String>(),
        t in proptest::string::string_regex("[\\x00-\\x1f\\x7f-\\u{a0}<>&\"' a-z]{0,24}").unwrap(),
        gmetad in any::<bool>(),
    ) {
        let (s, t) = (SmolStr::from(s), SmolStr::from(t));
        let m = ganglia_proto::xml::Metric {
            name: format!("m{t}").into(), val: s.clone(), metric_type: "string".into(), units: t.clone(),
            slope: "both".into(), source: "gmond".into(), extra: vec![(t.clone(), s.clone())].into(), ..Default::default()
        };
        let h = ganglia_proto::xml::Host { name: format!("h{s}").into(), ip: t.clone(), tags: Some(s.clone()), location: Some(t.clone()), metrics: vec![m], ..Default::default() };
        let c = ganglia_proto::xml::Cluster { name: s.clone(), owner: t.clone(), latlong: s.clone(), url: t.clone(), hosts: vec![h], ..Default::default() };
        let doc = Document { source: Source::Gmond, version: t.clone(), clusters: vec![c], ..Document::default() };
        let mut out = Vec::new();
        write_document(&mut out, &doc, if gmetad { Layout::Gmetad } else { Layout::Gmond });
        prop_assert!(out.is_ascii());
        let back = read(&out, &ReadLimits::default()).unwrap();
        prop_assert!(back.complete && back.problems.is_empty(), "{:?}", back.problems);
        let (s2, t2) = (SmolStr::from(xml_safe(&s)), SmolStr::from(xml_safe(&t)));
        let c = &back.doc.clusters[0];
        prop_assert_eq!(&back.doc.version, &t2);
        prop_assert_eq!((&c.name, &c.owner, &c.latlong, &c.url), (&s2, &t2, &s2, &t2));
        let h = &c.hosts[0];
        prop_assert_eq!(&h.name, &format!("h{s2}"));
        prop_assert_eq!((&h.ip, h.tags.as_ref(), h.location.as_ref()), (&t2, Some(&s2), Some(&t2)));
        let m = &h.metrics[0];
        prop_assert_eq!((&m.name, &m.val, &m.units), (&SmolStr::from(format!("m{t2}")), &s2, &t2));
        prop_assert_eq!(&m.extra[..], &[(t2.clone(), s2.clone())]);
    }

    /// Garbage in place of one host never costs a host that is not next to it, and never the
    /// read as a whole.
    #[test]
    fn garbage_host_costs_only_itself_and_neighbours(
        garbage in proptest::string::string_regex("[<>\"'&/!?=\\-\\[\\]; \\n\\tHOSTMECLUabcDYP#x0-9]{0,120}").unwrap(),
        at in 0usize..6,
    ) {
        let mut body = String::new();
        for i in 0..6 {
            if i == at { body.push_str(&garbage); } else { body.push_str(&good_host(&format!("h{i}"))); }
        }
        let doc = format!(
            "{DTD}<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n<CLUSTER NAME=\"c\" LOCALTIME=\"1\">\n{body}</CLUSTER>\n</GANGLIA_XML>\n"
        );
        let o = read(doc.as_bytes(), &ReadLimits::default()).unwrap();
        let mut names: Vec<String> = o.doc.clusters.iter().flat_map(|c| &c.hosts).chain(&o.doc.hosts)
            .filter(|h| h.metrics.len() == 1 && h.metrics[0].extra.len() == 1)
            .map(|h| h.name.to_string()).collect();
        names.sort();
        for i in 0..6usize {
            if i.abs_diff(at) > 1 {
                prop_assert!(names.contains(&format!("h{i}")), "h{} lost: {:?} {:?}", i, names, o.problems);
            }
        }
    }
}
