//! Real, independent RTP stacks through the relay: GStreamer's gst-launch-1.0 sends Opus and
//! VP8 into a room and another gst-launch-1.0 in the same room decodes them frame-complete; a
//! PLI from a receiver (sent by the test: Debian 12's rtpbin receiver did not emit one from
//! gst-launch) makes GStreamer's VP8 sender (rtpbin) produce a keyframe.

mod common;

use common::*;
use relay::core::Limits;
use relay::core::rtp::{empty_rr, parse_rtp, pli};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
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

#[test]
fn a_pli_through_the_relay_makes_the_gstreamer_sender_send_a_keyframe() {
    require(GST, "gstreamer1.0-tools");
    let dir = tempfile::tempdir().unwrap();
    let r = Relay::start(config(Limits::default()));
    let mut c = r.control();
    let (rtp_bind, rtcp_bind, rtcp_in) = (free_udp_port(), free_udp_port(), free_udp_port());
    let sender_rtcp: SocketAddr = format!("127.0.0.1:{rtcp_in}").parse().unwrap();
    let j = c
        .join("cam", &token("cam"), 777, "video", None, Some(sender_rtcp))
        .unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    c.join(
        "cam",
        &token("cam"),
        778,
        "video",
        Some(rx.local_addr().unwrap()),
        None,
    )
    .unwrap();
    let m = j.media.port();
    // Keyframes only at the start and on request; up to 20 s of video.
    let _tx = gst(
        "gst-rtpbin-sender",
        dir.path(),
        &format!(
            "rtpbin name=rb videotestsrc is-live=true num-buffers=600 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 keyframe-max-dist=100000 ! rtpvp8pay ssrc=777 pt=96 mtu=1200 ! rb.send_rtp_sink_0 \
             rb.send_rtp_src_0 ! udpsink host=127.0.0.1 port={m} bind-address=127.0.0.1 bind-port={rtp_bind} \
             rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={m} bind-address=127.0.0.1 bind-port={rtcp_bind} sync=false async=false \
             udpsrc address=127.0.0.1 port={rtcp_in} ! rb.recv_rtcp_sink_0"
        ),
    );
    let mut buf = [0u8; 2048];
    let mut keyframes = 0;
    let mut packets = 0;
    let mut pli_sent_at = None;
    let rtcp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && keyframes < 2 {
        let Ok((n, _)) = rx.recv_from(&mut buf) else {
            continue;
        };
        if parse_rtp(&buf[..n]).is_err() {
            continue; // the sender's RTCP, forwarded too
        }
        packets += 1;
        if vp8_keyframe_start(&buf[..n]) {
            keyframes += 1;
            assert!(
                keyframes == 1 || pli_sent_at.is_some(),
                "a keyframe nobody asked for"
            );
        }
        // After 100 delta packets, ask for a keyframe as the receiver (compound RR + PLI).
        if keyframes == 1 && packets >= 100 && pli_sent_at.is_none() {
            let mut p = empty_rr(778);
            p.extend_from_slice(&pli(778, 777));
            rtcp.send_to(&p, j.media).unwrap();
            pli_sent_at = Some(Instant::now());
        }
    }
    assert_eq!(
        keyframes, 2,
        "initial keyframe and one after the PLI ({packets} packets)"
    );
    let snap = r.admin();
    assert_eq!(stream(&snap, 777)["pli"], 1);
    assert_eq!(
        stream(&snap, 777)["source"],
        format!("127.0.0.1:{rtp_bind}")
    );
}
