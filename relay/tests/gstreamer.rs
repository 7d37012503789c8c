//! Real, independent RTP stacks through the relay: GStreamer's gst-launch-1.0 sends Opus and
//! VP8 into a room and another gst-launch-1.0 in the same room decodes them frame-complete; a
//! GStreamer receiver (rtpbin, AVPF) that joins mid-stream asks for a keyframe with an RTCP
//! PLI, which goes through the relay to GStreamer's VP8 sender (rtpbin), which sends one.

mod common;

use common::*;
use relay::core::Limits;
use relay::core::rtp::{Packet, parse_rtp};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testkit::{Proc, free_udp_port, require, wait_for};

const GST: &str = "/usr/bin/gst-launch-1.0";

fn gst(name: &'static str, dir: &Path, pipeline: &str) -> Proc {
    let mut cmd = Command::new(GST);
    cmd.arg("-e").args(pipeline.split_whitespace());
    Proc::spawn(name, &mut cmd, dir.join(format!("{name}.log")))
}

/// Wait for a gst-launch to exit by itself (bounded); killed on drop otherwise.
fn wait_exit(p: &mut Proc, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok(Some(st)) = p.child.try_wait() {
            return st.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// SIGINT (gst-launch -e turns it into EOS, so filesink flushes), then wait.
fn stop(p: &mut Proc) -> bool {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(p.child.id() as libc::pid_t, libc::SIGINT) };
    wait_exit(p, Duration::from_secs(10))
}

/// Whether some socket is bound to UDP 127.0.0.1:`port` (from /proc/net/udp).
fn udp_bound(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
}

fn forwarded(r: &Relay, ssrc: u32) -> u64 {
    stream(&r.admin(), ssrc)["packets_out"]
        .as_u64()
        .unwrap_or(0)
}

/// Send `buffers` encoded buffers through the relay from one gst-launch to another; returns
/// the decoded file's size.
fn through_relay(
    kind: &str,
    sender: &str,
    receiver_caps: &str,
    decoder: &str,
    ssrc: u32,
) -> (u64, u64) {
    require(GST, "gstreamer1.0-tools");
    let dir = tempfile::tempdir().unwrap();
    let r = Relay::start(config(Limits::default()));
    let mut c = r.control();
    let rx_port = free_udp_port();
    let rx: SocketAddr = format!("127.0.0.1:{rx_port}").parse().unwrap();
    let j = c
        .join("gst", &token("gst"), ssrc, kind, None, None)
        .unwrap();
    c.join("gst", &token("gst"), ssrc + 1, kind, Some(rx), None)
        .unwrap();
    let out = dir.path().join("decoded.raw");
    let mut receiver = gst(
        "gst-receiver",
        dir.path(),
        &format!(
            "udpsrc address=127.0.0.1 port={rx_port} caps={receiver_caps} ! rtpjitterbuffer latency=200 ! {decoder} ! filesink location={}",
            out.display()
        ),
    );
    // The receiver must be listening before media flows.
    wait_for(Duration::from_secs(20), || udp_bound(rx_port).then_some(()))
        .unwrap_or_else(|| panic!("receiver never bound its port: {}", receiver.log()));
    let bind = free_udp_port();
    let mut tx = gst(
        "gst-sender",
        dir.path(),
        &format!(
            "{sender} ! udpsink host=127.0.0.1 port={} bind-address=127.0.0.1 bind-port={bind}",
            j.media.port()
        ),
    );
    assert!(
        wait_exit(&mut tx, Duration::from_secs(30)),
        "sender: {}",
        tx.log()
    );
    let sent = stream(&r.admin(), ssrc)["packets_in"].as_u64().unwrap();
    assert!(sent > 0, "relay saw the sender's packets: {}", r.admin());
    wait_for(Duration::from_secs(10), || {
        (forwarded(&r, ssrc) == sent).then_some(())
    })
    .expect("every packet forwarded");
    // Let the jitter buffer release the tail, then EOS.
    std::thread::sleep(Duration::from_millis(800));
    assert!(stop(&mut receiver), "receiver: {}", receiver.log());
    let snap = r.admin();
    let st = stream(&snap, ssrc);
    assert_eq!(st["lost"], 0, "{st}");
    assert_eq!(
        st["source"],
        format!("127.0.0.1:{bind}"),
        "latched onto udpsink's bind-port"
    );
    (sent, std::fs::metadata(&out).map_or(0, |m| m.len()))
}

#[test]
fn opus_from_gstreamer_decodes_frame_complete_at_a_gstreamer_receiver() {
    // 100 buffers of 960 samples (20 ms) of 48 kHz mono S16: 100 Opus packets.
    let (sent, bytes) = through_relay(
        "audio",
        "audiotestsrc is-live=true num-buffers=100 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! rtpopuspay ssrc=4242 pt=111",
        "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111",
        "rtpopusdepay ! opusdec plc=false ! audio/x-raw,format=S16LE,rate=48000,channels=1",
        4242,
    );
    // opusenc flushes its lookahead in one more packet at EOS.
    assert_eq!(sent, 101);
    assert_eq!(
        bytes,
        sent * 960 * 2,
        "every Opus packet decoded to a whole 20 ms frame"
    );
}

#[test]
fn vp8_from_gstreamer_decodes_frame_complete_at_a_gstreamer_receiver() {
    let (sent, bytes) = through_relay(
        "video",
        "videotestsrc is-live=true num-buffers=60 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 ! rtpvp8pay ssrc=5151 pt=96 mtu=1200",
        "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96",
        "rtpvp8depay ! vp8dec ! video/x-raw,format=I420",
        5151,
    );
    assert!(sent >= 60);
    assert_eq!(bytes, 60 * 320 * 240 * 3 / 2, "all 60 frames decoded");
}

/// Whether an RTP packet starts a VP8 keyframe (RFC 7741 payload descriptor, then the VP8
/// frame tag's P bit).
fn vp8_keyframe_start(pkt: &[u8]) -> bool {
    let Ok(h) = parse_rtp(pkt) else { return false };
    let p = &pkt[h.payload_offset..h.payload_offset + h.payload_len];
    if p.is_empty() {
        return false;
    }
    let (x, s, pid) = (p[0] & 0x80 != 0, p[0] & 0x10 != 0, p[0] & 0x07);
    let mut i = 1;
    if x {
        let Some(&ext) = p.get(1) else { return false };
        i = 2;
        if ext & 0x80 != 0 {
            // Picture ID: 7 or 15 bits.
            i += if p.get(i).is_some_and(|b| b & 0x80 != 0) {
                2
            } else {
                1
            };
        }
        if ext & 0x40 != 0 {
            i += 1;
        }
        if ext & 0x30 != 0 {
            i += 1;
        }
    }
    s && pid == 0 && p.get(i).is_some_and(|b| b & 0x01 == 0)
}

/// The (sender SSRC, media SSRC) of the first PLI (PSFB FMT 1) in an RTCP compound.
fn pli_in(compound: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| u32::from_be_bytes(compound[at..at + 4].try_into().unwrap());
    let mut i = 0;
    while i + 12 <= compound.len() {
        let len = (usize::from(u16::from_be_bytes([compound[i + 2], compound[i + 3]])) + 1) * 4;
        if compound[i + 1] == 206 && compound[i] & 0x1f == 1 {
            return Some((be32(i + 4), be32(i + 8)));
        }
        i += len;
    }
    None
}

/// One PLI the relay delivered to the sender's RTCP address.
struct SeenPli {
    at: Instant,
    from: SocketAddr,
    sender_ssrc: u32,
    media_ssrc: u32,
}

/// A wire tap on the sender's RTCP address: every datagram the relay sends there is copied,
/// byte for byte, on to the sender's rtpbin at `to`; the PLIs among them are recorded. Runs
/// until `stop` is set (or 30 s).
fn rtcp_tap(
    sock: UdpSocket,
    to: SocketAddr,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<SeenPli>> {
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let (mut seen, mut buf) = (Vec::new(), [0u8; 2048]);
        let end = Instant::now() + Duration::from_secs(30);
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            sock.send_to(&buf[..n], to).unwrap();
            if let Some((sender_ssrc, media_ssrc)) = pli_in(&buf[..n]) {
                seen.push(SeenPli {
                    at: Instant::now(),
                    from,
                    sender_ssrc,
                    media_ssrc,
                });
            }
        }
        seen
    })
}

const VP8_CAPS: &str =
    "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96";

#[test]
fn a_pli_from_a_gstreamer_receiver_makes_the_gstreamer_sender_send_a_keyframe() {
    require(GST, "gstreamer1.0-tools");
    let dir = tempfile::tempdir().unwrap();
    let r = Relay::start(config(Limits::default()));
    let mut c = r.control();
    let lo = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };

    // The sender: rtpbin (AVPF), VP8 with keyframes only at the start and on request, up to
    // 20 s of video. Its RTCP address is the tap, which copies everything to `rtcp_in`.
    let (rtp_bind, rtcp_bind, rtcp_in) = (free_udp_port(), free_udp_port(), free_udp_port());
    let tap = UdpSocket::bind("127.0.0.1:0").unwrap();
    let j = c
        .join(
            "cam",
            &token("cam"),
            777,
            "video",
            None,
            Some(tap.local_addr().unwrap()),
        )
        .unwrap();
    let m = j.media.port();
    let stop_tap = Arc::new(AtomicBool::new(false));
    let tap = rtcp_tap(tap, lo(rtcp_in), stop_tap.clone());

    // A viewer (the test) sees every packet of the room, to spot the keyframes.
    let viewer = UdpSocket::bind("127.0.0.1:0").unwrap();
    viewer
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    c.join(
        "cam",
        &token("cam"),
        779,
        "video",
        Some(viewer.local_addr().unwrap()),
        None,
    )
    .unwrap();

    // The receiver: rtpbin (AVPF) with PLI allowed by its caps; its depayloader drops
    // delta frames until a keyframe and asks for one (a force-key-unit event that rtpsession
    // turns into an early RTCP compound RR + PLI). rtpsession sends that PLI only when the
    // caps of the payload type carry `rtcp-fb-nack-pli=true` (without it: no PLI at all);
    // AVPF lets it go early instead of with the next regular report. The receiver sends
    // RTCP from `rx_rtcp`, which it declares at join (its rtpbin's SSRC is random, so the
    // relay could not latch it by SSRC). Started now, joined mid-stream below.
    let (rx_rtp, rx_rtcp) = (free_udp_port(), free_udp_port());
    let out = dir.path().join("decoded.raw");
    let mut receiver = gst(
        "gst-rtpbin-receiver",
        dir.path(),
        &format!(
            "rtpbin name=rb rtp-profile=avpf \
             udpsrc address=127.0.0.1 port={rx_rtp} caps=\"{VP8_CAPS},rtcp-fb-nack-pli=(boolean)true\" ! rb.recv_rtp_sink_0 \
             rb. ! rtpvp8depay request-keyframe=true wait-for-keyframe=true ! vp8dec ! video/x-raw,format=I420 ! filesink location={} \
             rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={m} bind-address=127.0.0.1 bind-port={rx_rtcp} sync=false async=false",
            out.display()
        ),
    );
    let _tx = gst(
        "gst-rtpbin-sender",
        dir.path(),
        &format!(
            "rtpbin name=rb rtp-profile=avpf videotestsrc is-live=true num-buffers=600 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 keyframe-max-dist=100000 ! rtpvp8pay ssrc=777 pt=96 mtu=1200 ! rb.send_rtp_sink_0 \
             rb.send_rtp_src_0 ! udpsink host=127.0.0.1 port={m} bind-address=127.0.0.1 bind-port={rtp_bind} \
             rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={m} bind-address=127.0.0.1 bind-port={rtcp_bind} sync=false async=false \
             udpsrc address=127.0.0.1 port={rtcp_in} ! rb.recv_rtcp_sink_0"
        ),
    );
    wait_for(Duration::from_secs(20), || udp_bound(rx_rtp).then_some(()))
        .unwrap_or_else(|| panic!("receiver never bound its port: {}", receiver.log()));

    let mut buf = [0u8; 2048];
    let (mut packets, mut keyframes) = (0, Vec::new());
    let mut joined_at = None;
    let mut receiver_ssrc = None;
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && !(keyframes.len() >= 2 && receiver_ssrc.is_some()) {
        let Ok((n, _)) = viewer.recv_from(&mut buf) else {
            continue;
        };
        match relay::core::rtp::parse(&buf[..n]) {
            Ok(Packet::Rtp(_)) => {
                packets += 1;
                if vp8_keyframe_start(&buf[..n]) {
                    keyframes.push(Instant::now());
                }
            }
            // Reports without feedback reach every member: the receiver's RRs name its SSRC.
            Ok(Packet::Rtcp(i)) if i.sender_ssrc != 777 => receiver_ssrc = Some(i.sender_ssrc),
            _ => {}
        }
        // One second of delta frames after the first keyframe, the receiver joins: it starts
        // on a delta frame.
        if keyframes.len() == 1 && packets >= 30 && joined_at.is_none() {
            c.join(
                "cam",
                &token("cam"),
                778,
                "video",
                Some(lo(rx_rtp)),
                Some(lo(rx_rtcp)),
            )
            .unwrap();
            joined_at = Some(Instant::now());
        }
    }
    stop_tap.store(true, Ordering::Relaxed);
    let plis = tap.join().unwrap();
    let joined_at = joined_at.expect("the receiver joined");
    assert!(
        keyframes.len() >= 2,
        "initial keyframe and one after the receiver's PLI ({packets} packets, {} PLIs): {}",
        plis.len(),
        receiver.log()
    );
    let receiver_ssrc = receiver_ssrc.expect("the receiver sent receiver reports");
    let first = plis.first().expect("a PLI reached the sender");
    assert!(
        keyframes[1] > first.at && first.at > joined_at,
        "the second keyframe follows the receiver's PLI"
    );
    for p in &plis {
        assert_eq!(p.from, j.media, "PLI forwarded by the relay");
        assert_eq!(p.media_ssrc, 777);
        assert_eq!(
            p.sender_ssrc, receiver_ssrc,
            "PLI from the GStreamer receiver's rtpsession"
        );
    }
    let snap = r.admin();
    // Every PLI the relay forwarded (throttling drops closer ones) and no other.
    assert_eq!(stream(&snap, 777)["pli"], plis.len() as u64, "{snap}");
    assert_eq!(
        stream(&snap, 777)["source"],
        format!("127.0.0.1:{rtp_bind}")
    );
    // The relay attributed the receiver's RTCP by its declared RTCP source address.
    assert!(
        stream(&snap, 778)["rtcp_in"].as_u64().unwrap() >= 1,
        "{snap}"
    );
    assert_eq!(stream(&snap, 779)["rtcp_in"], 0, "the test sent no RTCP");
    // And the receiver decoded from that keyframe on: whole I420 frames.
    std::thread::sleep(Duration::from_millis(300));
    assert!(stop(&mut receiver), "receiver: {}", receiver.log());
    let bytes = std::fs::metadata(&out).map_or(0, |m| m.len());
    let frame = 320 * 240 * 3 / 2;
    assert!(
        bytes >= frame && bytes % frame == 0,
        "receiver decoded whole frames: {bytes} bytes"
    );
}
