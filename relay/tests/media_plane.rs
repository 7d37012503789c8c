//! relay-rs in-process on loopback: fan-out inside rooms, latching, leave on connection loss,
//! reaping, and hostile input (random datagrams, forged SSRCs, bad tokens, oversized packets,
//! a flood) dropped and counted without touching other rooms.

mod common;

use common::*;
use relay::core::Limits;
use relay::core::rtp::{empty_rr, pli};
use std::collections::HashMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[test]
fn media_reaches_every_other_member_of_the_room_and_nobody_else() {
    let r = Relay::start(config(Limits::default()));
    let rooms = [("a", vec![11u32, 12, 13]), ("b", vec![21, 22])];
    let mut ctl = r.control();
    let mut socks = HashMap::new();
    let mut media = None;
    for (room, ssrcs) in &rooms {
        for s in ssrcs {
            let sock = media_socket();
            let j = ctl
                .join(
                    room,
                    &token(room),
                    *s,
                    "audio",
                    Some(sock.local_addr().unwrap()),
                    None,
                )
                .unwrap();
            media = Some(j.media);
            socks.insert(*s, sock);
        }
    }
    let media = media.unwrap();
    for seq in 0..50u16 {
        for (s, sock) in &socks {
            sock.send_to(&rtp(*s, seq, 200), media).unwrap();
        }
    }
    for (room, ssrcs) in &rooms {
        for me in ssrcs {
            let want = 50 * (ssrcs.len() - 1);
            let mut got = collect(&socks[me], want, T);
            got.extend(drain(&socks[me], Duration::from_millis(200)));
            let mut by: HashMap<u32, usize> = HashMap::new();
            got.iter().for_each(|s| *by.entry(*s).or_default() += 1);
            let expect: HashMap<u32, usize> = ssrcs
                .iter()
                .filter(|s| *s != me)
                .map(|s| (*s, 50))
                .collect();
            assert_eq!(by, expect, "member {me} of room {room}");
        }
    }
    let snap = r.admin();
    assert_eq!(snap["totals"]["rooms"], 2);
    assert_eq!(snap["totals"]["participants"], 5);
    assert_eq!(snap["totals"]["rx_packets"], 250);
    assert_eq!(snap["totals"]["tx_packets"], 50 * (3 * 2 + 2));
    let s11 = stream(&snap, 11);
    assert_eq!(
        (s11["packets_in"].as_u64(), s11["packets_out"].as_u64()),
        (Some(50), Some(100))
    );
    assert_eq!(s11["lost"], 0);
    // Every copy's receive-to-send time (kernel receive timestamp) is in the histogram.
    assert_eq!(snap["fwd_latency"]["count"], 50 * (3 * 2 + 2));
    assert!(snap["fwd_latency"]["p99_us"].as_u64().is_some());
    assert_eq!(s11["kind"], "audio");
}

#[test]
fn latching_rtcp_and_leaving_by_closing_the_connection() {
    let r = Relay::start(config(Limits::default()));
    let (pub_sock, rx_sock, rtcp_sock) = (media_socket(), media_socket(), media_socket());
    let mut c1 = r.control();
    let mut c2 = r.control();
    // The publisher omits recv: the relay latches onto its first packet's source.
    let j = c1
        .join("room", &token("room"), 1, "video", None, None)
        .unwrap();
    c2.join(
        "room",
        &token("room"),
        2,
        "video",
        Some(rx_sock.local_addr().unwrap()),
        None,
    )
    .unwrap();
    // Before the publisher sent anything the receiver's RTCP reaches nobody.
    rtcp_sock.send_to(&empty_rr(2), j.media).unwrap();
    for seq in 0..10 {
        pub_sock.send_to(&rtp(1, seq, 300), j.media).unwrap();
    }
    assert_eq!(collect(&rx_sock, 10, T).len(), 10);
    // Now RTCP from the receiver's latched RTCP port reaches the publisher's latched address,
    // and a PLI too.
    rtcp_sock.send_to(&empty_rr(2), j.media).unwrap();
    let mut pli_rr = empty_rr(2);
    pli_rr.extend_from_slice(&pli(2, 1));
    rtcp_sock.send_to(&pli_rr, j.media).unwrap();
    let mut buf = [0u8; 1500];
    pub_sock.set_read_timeout(Some(T)).unwrap();
    let (n, _) = pub_sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &empty_rr(2)[..]);
    let (n, _) = pub_sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &pli_rr[..]);
    let snap = r.admin();
    assert_eq!(stream(&snap, 1)["pli"], 1);
    assert_eq!(
        stream(&snap, 1)["source"],
        pub_sock.local_addr().unwrap().to_string()
    );
    // Closing the publisher's control connection = leave: its media is no longer forwarded.
    drop(c1);
    wait_for(|| (r.admin()["totals"]["participants"] == 1).then_some(()));
    pub_sock.send_to(&rtp(1, 10, 300), j.media).unwrap();
    assert!(drain(&rx_sock, Duration::from_millis(300)).is_empty());
    assert_eq!(r.admin()["drops"]["no_session"], 1);
    // Explicit leave, then ping.
    let v = c2.request(r#"{"op":"leave"}"#).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(r.admin()["totals"]["rooms"], 0);
    assert_eq!(c2.request(r#"{"op":"ping"}"#).unwrap()["pong"], true);
    // The admin endpoint answers JSON errors for unknown paths; the control plane answers
    // over-long lines with an error and closes.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(r.s().admin_addr).unwrap();
    s.write_all(b"GET /nope HTTP/1.0\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.0 404"), "{resp}");
    let long = format!("{{\"op\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(5000));
    let v = c2.request(&long).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("longer than 4096"),
        "{v}"
    );
    assert!(
        c2.request(r#"{"op":"ping"}"#).is_err(),
        "closed after an over-long line"
    );
}

fn wait_for(mut f: impl FnMut() -> Option<()>) {
    testkit::wait_for(T, &mut f).expect("condition within 10 s");
}

#[test]
fn inactive_participants_are_reaped() {
    let r = Relay::start(config(Limits {
        inactivity_ns: 600_000_000,
        ..Limits::default()
    }));
    let mut c = r.control();
    let a = media_socket();
    let j = c.join("r", &token("r"), 5, "audio", None, None).unwrap();
    c.join(
        "r",
        &token("r"),
        6,
        "audio",
        Some(a.local_addr().unwrap()),
        None,
    )
    .unwrap();
    a.send_to(&rtp(5, 0, 100), j.media).unwrap();
    wait_for(|| (r.admin()["totals"]["participants"] == 0).then_some(()));
    let v = c.request(r#"{"op":"ping"}"#).unwrap();
    assert_eq!(v["reaped"], 2, "{v}");
}

/// Datagrams the relay has dealt with: forwarded RTP plus drops of every media reason.
fn seen(snap: &serde_json::Value) -> u64 {
    let drops: u64 = snap["drops"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "bad_token")
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    snap["totals"]["rx_packets"].as_u64().unwrap() + drops
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn hostile_input_is_dropped_and_counted_and_other_rooms_are_unaffected() {
    let r = Relay::start(config(Limits {
        max_bitrate_bps: 400_000,
        burst_bytes: 20_000,
        ..Limits::default()
    }));
    let mut c = r.control();
    // Bad tokens: wrong room, expired, garbage, another secret.
    let expired = tokens().sign("a", epoch() - 1, 1);
    let other = relay::core::token::Tokens::new(b"other")
        .unwrap()
        .sign("a", epoch() + 60, 1);
    for (tok, why) in [
        (token("b"), "another room"),
        (expired, "expired"),
        ("garbage".to_owned(), "malformed"),
        (other, "bad signature"),
    ] {
        let e = c
            .join("a", &tok, 99, "audio", None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{e}");
    }
    let (a1, a2, b1, b2, evil) = (
        media_socket(),
        media_socket(),
        media_socket(),
        media_socket(),
        media_socket(),
    );
    let j = c
        .join(
            "a",
            &token("a"),
            1,
            "video",
            Some(a1.local_addr().unwrap()),
            None,
        )
        .unwrap();
    c.join(
        "a",
        &token("a"),
        2,
        "video",
        Some(a2.local_addr().unwrap()),
        None,
    )
    .unwrap();
    c.join(
        "b",
        &token("b"),
        3,
        "audio",
        Some(b1.local_addr().unwrap()),
        None,
    )
    .unwrap();
    c.join(
        "b",
        &token("b"),
        4,
        "audio",
        Some(b2.local_addr().unwrap()),
        None,
    )
    .unwrap();
    let m = j.media;
    a1.send_to(&rtp(1, 0, 100), m).unwrap(); // latch a1
    b1.send_to(&rtp(3, 0, 160), m).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut b_sent = 1u16;
    for i in 0..3000u32 {
        // Random datagrams of random sizes from an address nobody joined from.
        let len = (noise(&mut seed) % 1400) as usize;
        let junk: Vec<u8> = (0..len).map(|_| noise(&mut seed) as u8).collect();
        evil.send_to(&junk, m).unwrap();
        // Forged: a joined SSRC from the wrong address, and room b's SSRC from room a's member.
        if i % 10 == 0 {
            evil.send_to(&rtp(1, 1000 + i as u16, 200), m).unwrap();
            a1.send_to(&rtp(3, 1000 + i as u16, 200), m).unwrap();
            // Oversized.
            evil.send_to(&vec![0x80; 4000], m).unwrap();
            a1.send_to(&rtp(1, 60000, 1800), m).unwrap();
            // A PLI from room a at room b's stream.
            let mut fb = empty_rr(1);
            fb.extend_from_slice(&pli(1, 3));
            a1.send_to(&fb, m).unwrap();
        }
        // A flood from a1: 1200 B packets far above its 400 kbit/s cap.
        a1.send_to(&rtp(1, i as u16 + 1, 1200), m).unwrap();
        if i % 30 == 0 {
            b1.send_to(&rtp(3, b_sent, 160), m).unwrap();
            b_sent += 1;
        }
        // Flow control for slow machines: let the relay catch up so the kernel drops nothing.
        if i % 200 == 199 {
            let sent = 2 + u64::from(i + 1) * 2 + u64::from(i / 10 + 1) * 5 + u64::from(b_sent - 1);
            wait_for(|| (seen(&r.admin()) >= sent).then_some(()));
        }
    }
    // Room b got every packet of b1 and nothing else.
    let mut got_b = collect(&b2, b_sent as usize, T);
    got_b.extend(drain(&b2, Duration::from_millis(300)));
    assert_eq!(got_b.len(), b_sent as usize);
    assert!(got_b.iter().all(|s| *s == 3));
    assert!(
        drain(&b1, Duration::from_millis(100)).is_empty(),
        "nothing echoed or leaked"
    );
    assert!(drain(&evil, Duration::from_millis(100)).is_empty());
    // a2 got only a1's media, capped near burst + rate × time.
    let got_a = drain(&a2, Duration::from_millis(500));
    assert!(got_a.iter().all(|s| *s == 1));
    let snap = r.admin();
    let d = &snap["drops"];
    for k in [
        "malformed",
        "no_session",
        "forged",
        "oversized",
        "over_cap",
        "bad_token",
    ] {
        assert!(d[k].as_u64().unwrap() > 0, "{k} counted: {d}");
    }
    assert_eq!(d["bad_token"], 4);
    assert_eq!(d["forged"].as_u64().unwrap(), 300 * 3, "{d}");
    let s1 = stream(&snap, 1);
    assert!(s1["over_cap"].as_u64().unwrap() > 1000, "{s1}");
    let passed = s1["packets_out"].as_u64().unwrap();
    assert!(!got_a.is_empty() && got_a.len() as u64 <= passed);
    assert!(passed < 1500, "flood capped: {passed} of 3000 passed");
    assert_eq!(stream(&snap, 3)["lost"], 0);
    // Still serving.
    assert_eq!(c.request(r#"{"op":"ping"}"#).unwrap()["ok"], true);
}
