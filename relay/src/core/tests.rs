use super::*;
use rtp::{empty_rr, pli, write_rtp_header};

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn join(r: &mut Relay, room: &str, ssrc: u32, recv: Option<&str>) -> u64 {
    r.join(
        Join {
            room: room.into(),
            ssrc,
            kind: Kind::Audio,
            recv: recv.map(a),
            rtcp: None,
            peer_ip: None,
        },
        0,
    )
    .unwrap()
}

fn rtp(ssrc: u32, seq: u16, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    write_rtp_header(&mut p, 111, false, seq, u32::from(seq) * 960, ssrc);
    p.resize(len, 0xab);
    p
}

fn send(r: &mut Relay, p: &[u8], src: &str, now: u64) -> (Verdict, Vec<SocketAddr>) {
    let mut out = Vec::new();
    let v = r.handle(p, a(src), now, &mut out);
    (v, out)
}

#[test]
fn fans_out_to_others_in_the_room_only() {
    let mut r = Relay::new(Limits::default());
    join(&mut r, "a", 1, Some("127.0.0.1:5001"));
    join(&mut r, "a", 2, Some("127.0.0.1:5002"));
    join(&mut r, "a", 3, None); // latches later; receives nothing until then
    join(&mut r, "b", 4, Some("127.0.0.1:5004"));
    let (v, out) = send(&mut r, &rtp(1, 1, 200), "127.0.0.1:6001", 1);
    assert_eq!(v, Verdict::Forward);
    assert_eq!(out, vec![a("127.0.0.1:5002")]);
    // Member 3 latches by sending; from then on it receives.
    let (v, out) = send(&mut r, &rtp(3, 1, 200), "127.0.0.1:6003", 2);
    assert_eq!(v, Verdict::Forward);
    assert_eq!(out, vec![a("127.0.0.1:5001"), a("127.0.0.1:5002")]);
    let (_, out) = send(&mut r, &rtp(1, 2, 200), "127.0.0.1:6001", 3);
    assert_eq!(out, vec![a("127.0.0.1:5002"), a("127.0.0.1:6003")]);
    let t = r.totals();
    assert_eq!((t.rooms, t.participants, t.publishers), (2, 4, 2));
    assert_eq!((t.rx_packets, t.tx_packets, t.tx_bytes), (3, 5, 1000));
}

#[test]
fn hostile_datagrams_are_counted_and_dropped() {
    let mut r = Relay::new(Limits::default());
    join(&mut r, "a", 1, Some("127.0.0.1:5001"));
    join(&mut r, "a", 2, Some("127.0.0.1:5002"));
    join(&mut r, "b", 3, Some("127.0.0.1:5003"));
    send(&mut r, &rtp(1, 1, 100), "127.0.0.1:6001", 1);
    let cases: &[(&[u8], &str, DropReason)] = &[
        (&[1, 2, 3], "127.0.0.1:7000", DropReason::Malformed),
        (&rtp(99, 1, 100), "127.0.0.1:7000", DropReason::NoSession),
        // SSRC 1 from another address after it latched.
        (&rtp(1, 2, 100), "127.0.0.1:7000", DropReason::Forged),
        // The latched address of 1 sending someone else's SSRC.
        (&rtp(2, 2, 100), "127.0.0.1:6001", DropReason::Forged),
        (&rtp(1, 3, 1501), "127.0.0.1:6001", DropReason::Oversized),
        // PLI from room a aimed at the stream of room b.
        (&pli(1, 3), "127.0.0.1:6001", DropReason::Forged),
        (&pli(1, 77), "127.0.0.1:6001", DropReason::NoSession),
    ];
    for (p, src, reason) in cases {
        let (v, out) = send(&mut r, p, src, 2);
        assert_eq!(v, Verdict::Drop(*reason), "{reason:?}");
        assert!(out.is_empty());
    }
    let d = r.drops();
    assert_eq!(d.get(DropReason::Forged), 3);
    assert_eq!(d.media_total(), cases.len() as u64);
}

#[test]
fn peer_ip_binds_latching_to_the_control_connection() {
    let mut r = Relay::new(Limits::default());
    r.join(
        Join {
            room: "a".into(),
            ssrc: 1,
            kind: Kind::Video,
            recv: None,
            rtcp: None,
            peer_ip: Some("127.0.0.2".parse().unwrap()),
        },
        0,
    )
    .unwrap();
    let (v, _) = send(&mut r, &rtp(1, 1, 100), "127.0.0.3:1000", 1);
    assert_eq!(v, Verdict::Drop(DropReason::Forged));
    let (v, _) = send(&mut r, &rtp(1, 1, 100), "127.0.0.2:1000", 1);
    assert_eq!(v, Verdict::Forward);
}

#[test]
fn rtcp_reports_go_to_the_room_feedback_to_the_publisher_throttled() {
    let mut r = Relay::new(Limits::default());
    let pubr = join(&mut r, "a", 1, None);
    join(&mut r, "a", 2, Some("127.0.0.1:5002"));
    join(&mut r, "a", 3, Some("127.0.0.1:5003"));
    send(&mut r, &rtp(1, 1, 100), "127.0.0.1:6001", 1);
    // Receiver 2's RTCP comes from its own port and latches there.
    let (v, out) = send(&mut r, &empty_rr(2), "127.0.0.1:6102", 2);
    assert_eq!(v, Verdict::Forward);
    assert_eq!(out, vec![a("127.0.0.1:6001"), a("127.0.0.1:5003")]);
    let (v, out) = send(&mut r, &pli(2, 1), "127.0.0.1:6102", 3);
    assert_eq!((v, out), (Verdict::Forward, vec![a("127.0.0.1:6001")]));
    let (v, _) = send(&mut r, &pli(2, 1), "127.0.0.1:6102", 4);
    assert_eq!(v, Verdict::Drop(DropReason::Throttled));
    let (v, _) = send(&mut r, &pli(2, 1), "127.0.0.1:6102", 600_000_000);
    assert_eq!(v, Verdict::Forward, "after the throttle interval");
    let s = r.snapshot();
    let st = s.rooms[0]
        .streams
        .iter()
        .find(|s| s.participant == pubr)
        .unwrap();
    assert_eq!(st.pli, 2);
}

#[test]
fn limits_members_publishers_bitrate() {
    let limits = Limits {
        max_members: 3,
        max_publishers: 1,
        max_bitrate_bps: 8000, // 1000 B/s
        burst_bytes: 2000,
        ..Limits::default()
    };
    let mut r = Relay::new(limits);
    join(&mut r, "a", 1, Some("127.0.0.1:5001"));
    join(&mut r, "a", 2, Some("127.0.0.1:5002"));
    join(&mut r, "a", 3, Some("127.0.0.1:5003"));
    let e = r
        .join(
            Join {
                room: "a".into(),
                ssrc: 4,
                kind: Kind::Audio,
                recv: None,
                rtcp: None,
                peer_ip: None,
            },
            0,
        )
        .unwrap_err();
    assert_eq!(e, JoinError::RoomFull("a".into()));
    assert_eq!(
        r.join(
            Join {
                room: "b".into(),
                ssrc: 1,
                kind: Kind::Audio,
                recv: None,
                rtcp: None,
                peer_ip: None
            },
            0
        ),
        Err(JoinError::SsrcInUse(1))
    );
    let (v, _) = send(&mut r, &rtp(1, 1, 1000), "127.0.0.1:6001", 0);
    assert_eq!(v, Verdict::Forward);
    let (v, _) = send(&mut r, &rtp(2, 1, 100), "127.0.0.1:6002", 0);
    assert_eq!(v, Verdict::Drop(DropReason::OverCap), "second publisher");
    let (v, _) = send(&mut r, &rtp(1, 2, 1000), "127.0.0.1:6001", 0);
    assert_eq!(v, Verdict::Forward);
    let (v, _) = send(&mut r, &rtp(1, 3, 1000), "127.0.0.1:6001", 0);
    assert_eq!(v, Verdict::Drop(DropReason::OverCap), "bucket empty");
    let (v, _) = send(&mut r, &rtp(1, 4, 1000), "127.0.0.1:6001", 1_000_000_000);
    assert_eq!(v, Verdict::Forward, "refilled after a second");
}

#[test]
fn leave_and_reap_free_everything() {
    let mut r = Relay::new(Limits {
        inactivity_ns: 10,
        ..Limits::default()
    });
    let p1 = join(&mut r, "a", 1, None);
    let p2 = join(&mut r, "a", 2, None);
    send(&mut r, &rtp(1, 1, 100), "127.0.0.1:6001", 5);
    assert!(r.touch(p2, 8));
    assert_eq!(r.reap(16), vec![p1]);
    assert_eq!(
        send(&mut r, &rtp(1, 2, 100), "127.0.0.1:6001", 17).0,
        Verdict::Drop(DropReason::NoSession)
    );
    assert!(r.leave(p2));
    assert!(!r.leave(p2));
    assert_eq!(
        (
            r.totals().rooms,
            r.totals().participants,
            r.totals().publishers
        ),
        (0, 0, 0)
    );
    // The SSRC and room are free again.
    join(&mut r, "a", 1, None);
    assert_eq!(r.snapshot().rooms.len(), 1);
}

#[test]
fn tick_reports_loss_jitter_bitrate() {
    let mut r = Relay::new(Limits::default());
    join(&mut r, "a", 1, None);
    join(&mut r, "a", 2, Some("127.0.0.1:5002"));
    r.tick(0);
    for seq in (1..=100u16).filter(|s| s % 10 != 0) {
        // 20 ms apart, perfectly paced: no jitter.
        send(
            &mut r,
            &rtp(1, seq, 200),
            "127.0.0.1:6001",
            u64::from(seq) * 20_000_000,
        );
    }
    let iv = r.tick(1_000_000_000);
    assert_eq!(iv.active_streams, 1);
    assert_eq!(iv.lost, 9, "10, 20, .. 90 missing (100 never sent)");
    assert!(iv.jitter_ms < 0.01, "{}", iv.jitter_ms);
    let s = r.snapshot();
    let st = &s.rooms[0].streams[0];
    assert_eq!(st.bitrate_bps, 90.0 * 200.0 * 8.0);
    assert_eq!(st.lost, 9);
}

#[test]
fn declared_addresses_are_symmetric() {
    let mut r = Relay::new(Limits::default());
    join(&mut r, "a", 1, None);
    let rx = r
        .join(
            Join {
                room: "a".into(),
                ssrc: 2,
                kind: Kind::Video,
                recv: Some(a("127.0.0.1:5002")),
                rtcp: Some(a("127.0.0.1:5102")),
                peer_ip: None,
            },
            0,
        )
        .unwrap();
    send(&mut r, &rtp(1, 1, 100), "127.0.0.1:6001", 1);
    // RTCP from the declared RTCP address with an SSRC nobody joined with (GStreamer's
    // rtpbin picks its own): attributed to participant 2 by address.
    let mut fb = empty_rr(0x5eed);
    fb.extend_from_slice(&pli(0x5eed, 1));
    let (v, out) = send(&mut r, &fb, "127.0.0.1:5102", 2);
    assert_eq!((v, out), (Verdict::Forward, vec![a("127.0.0.1:6001")]));
    // RTP from the declared address must still carry the participant's SSRC.
    assert_eq!(
        send(&mut r, &rtp(9, 1, 100), "127.0.0.1:5002", 3).0,
        Verdict::Drop(DropReason::Forged)
    );
    assert!(r.leave(rx));
    assert_eq!(
        send(&mut r, &fb, "127.0.0.1:5102", 4).0,
        Verdict::Drop(DropReason::NoSession)
    );
}
