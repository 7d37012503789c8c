//! RTP (RFC 3550 §5.1) and RTCP (§6, RFC 4585 feedback) parsing: bounded by the bytes present,
//! never panics, no allocation. RTP and RTCP share one port (RFC 5761 demultiplexing).

/// Why a datagram is not valid RTP or RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a fixed header.
    #[error("packet too short ({0} bytes)")]
    TooShort(usize),
    /// Version field is not 2.
    #[error("bad rtp version {0}")]
    BadVersion(u8),
    /// CSRC list, extension or padding run past the end of the packet.
    #[error("header fields exceed the packet length {0}")]
    BadLength(usize),
}

/// A validated RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type.
    pub pt: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Offset of the payload.
    pub payload_offset: usize,
    /// Payload length (padding excluded).
    pub payload_len: usize,
}

/// Feedback carried in an RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Feedback {
    /// Picture loss indications (PSFB FMT 1).
    pub pli: u32,
    /// Full intra requests (PSFB FMT 4).
    pub fir: u32,
    /// Generic NACKs (RTPFB FMT 1).
    pub nack: u32,
    /// Media source of the first feedback message (whom it is for).
    pub media_ssrc: Option<u32>,
}

/// A validated RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpInfo {
    /// SSRC of the sender of the first packet.
    pub sender_ssrc: u32,
    /// Sender or receiver reports present.
    pub reports: bool,
    /// Feedback messages.
    pub feedback: Feedback,
}

/// One datagram on the media port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// RTP media.
    Rtp(RtpHeader),
    /// RTCP control.
    Rtcp(RtcpInfo),
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// RFC 5761 §4: second byte 192..=223 is RTCP (RTP payload types 64-95 are not used).
pub fn is_rtcp(b: &[u8]) -> bool {
    b.len() >= 2 && (192..=223).contains(&b[1])
}

/// Parse either kind.
pub fn parse(b: &[u8]) -> Result<Packet, ParseError> {
    if is_rtcp(b) {
        parse_rtcp(b).map(Packet::Rtcp)
    } else {
        parse_rtp(b).map(Packet::Rtp)
    }
}

/// Validate an RTP packet: version 2, CSRC list, header extension and padding inside the
/// packet.
pub fn parse_rtp(b: &[u8]) -> Result<RtpHeader, ParseError> {
    if b.len() < 12 {
        return Err(ParseError::TooShort(b.len()));
    }
    let v = b[0] >> 6;
    if v != 2 {
        return Err(ParseError::BadVersion(v));
    }
    let padding = b[0] & 0x20 != 0;
    let extension = b[0] & 0x10 != 0;
    let cc = usize::from(b[0] & 0x0f);
    let mut off = 12 + 4 * cc;
    if off > b.len() {
        return Err(ParseError::BadLength(b.len()));
    }
    if extension {
        if off + 4 > b.len() {
            return Err(ParseError::BadLength(b.len()));
        }
        off += 4 + 4 * usize::from(be16(b, off + 2));
        if off > b.len() {
            return Err(ParseError::BadLength(b.len()));
        }
    }
    let mut end = b.len();
    if padding {
        let pad = usize::from(b[b.len() - 1]);
        if pad == 0 || off + pad > end {
            return Err(ParseError::BadLength(b.len()));
        }
        end -= pad;
    }
    Ok(RtpHeader {
        pt: b[1] & 0x7f,
        marker: b[1] & 0x80 != 0,
        seq: be16(b, 2),
        timestamp: be32(b, 4),
        ssrc: be32(b, 8),
        payload_offset: off,
        payload_len: end - off,
    })
}

/// Validate an RTCP compound packet (RFC 3550 A.2, relaxed for RFC 5506 reduced-size
/// feedback): every packet version 2, lengths adding up exactly to the datagram.
pub fn parse_rtcp(b: &[u8]) -> Result<RtcpInfo, ParseError> {
    if b.len() < 8 {
        return Err(ParseError::TooShort(b.len()));
    }
    let mut info = RtcpInfo {
        sender_ssrc: be32(b, 4),
        reports: false,
        feedback: Feedback::default(),
    };
    let mut off = 0;
    while off < b.len() {
        if off + 4 > b.len() {
            return Err(ParseError::BadLength(b.len()));
        }
        let v = b[off] >> 6;
        if v != 2 {
            return Err(ParseError::BadVersion(v));
        }
        let count = b[off] & 0x1f;
        let pt = b[off + 1];
        let len = 4 * (usize::from(be16(b, off + 2)) + 1);
        if off + len > b.len() || !(192..=223).contains(&pt) {
            return Err(ParseError::BadLength(b.len()));
        }
        let pkt = &b[off..off + len];
        match pt {
            200 | 201 => info.reports = true,
            205 | 206 if pkt.len() >= 12 => {
                let media = be32(pkt, 8);
                match (pt, count) {
                    (205, 1) => info.feedback.nack += 1,
                    (206, 1) => info.feedback.pli += 1,
                    (206, 4) if pkt.len() >= 20 => {
                        info.feedback.fir += 1;
                        // FIR names its target in the FCI (RFC 5104 §4.3.1).
                        info.feedback.media_ssrc.get_or_insert(be32(pkt, 12));
                    }
                    _ => {}
                }
                if (pt, count) != (206, 4) {
                    info.feedback.media_ssrc.get_or_insert(media);
                }
            }
            205 | 206 => return Err(ParseError::BadLength(b.len())),
            _ => {}
        }
        off += len;
    }
    Ok(info)
}

/// Build an RTP header (tests and the load client).
pub fn write_rtp_header(out: &mut Vec<u8>, pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32) {
    out.push(0x80);
    out.push((pt & 0x7f) | if marker { 0x80 } else { 0 });
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
}

/// Build an RTCP PLI from `sender` about `media` (reduced-size, RFC 5506).
pub fn pli(sender: u32, media: u32) -> Vec<u8> {
    let mut v = vec![0x81, 206, 0, 2];
    v.extend_from_slice(&sender.to_be_bytes());
    v.extend_from_slice(&media.to_be_bytes());
    v
}

/// Build an empty RTCP receiver report from `sender`.
pub fn empty_rr(sender: u32) -> Vec<u8> {
    let mut v = vec![0x80, 201, 0, 1];
    v.extend_from_slice(&sender.to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rtp_fields_and_bounds() {
        let mut p = Vec::new();
        write_rtp_header(&mut p, 111, true, 7, 960, 0xdead_beef);
        p.extend_from_slice(&[1, 2, 3]);
        let h = parse_rtp(&p).unwrap();
        assert_eq!((h.pt, h.marker, h.seq, h.timestamp), (111, true, 7, 960));
        assert_eq!(
            (h.ssrc, h.payload_offset, h.payload_len),
            (0xdead_beef, 12, 3)
        );
        assert_eq!(parse(&p), Ok(Packet::Rtp(h)));
        assert_eq!(parse_rtp(&p[..11]), Err(ParseError::TooShort(11)));
        let mut v1 = p.clone();
        v1[0] = 0x40;
        assert_eq!(parse_rtp(&v1), Err(ParseError::BadVersion(1)));
        let mut cc = p.clone();
        cc[0] |= 0x0f; // 15 CSRCs claimed, none present
        assert_eq!(parse_rtp(&cc), Err(ParseError::BadLength(15)));
        let mut pad = p.clone();
        pad[0] |= 0x20;
        *pad.last_mut().unwrap() = 200;
        assert!(parse_rtp(&pad).is_err());
        let mut ext = p.clone();
        ext[0] |= 0x10;
        assert!(parse_rtp(&ext).is_err(), "extension header does not fit");
    }

    #[test]
    fn rtcp_compound_and_feedback() {
        let mut c = empty_rr(5);
        c.extend_from_slice(&pli(5, 9));
        let i = parse_rtcp(&c).unwrap();
        assert_eq!(i.sender_ssrc, 5);
        assert!(i.reports);
        assert_eq!(i.feedback.pli, 1);
        assert_eq!(i.feedback.media_ssrc, Some(9));
        let mut fir = vec![0x84, 206, 0, 4];
        fir.extend_from_slice(&5u32.to_be_bytes());
        fir.extend_from_slice(&0u32.to_be_bytes());
        fir.extend_from_slice(&9u32.to_be_bytes());
        fir.extend_from_slice(&[1, 0, 0, 0]);
        let i = parse(&fir).unwrap();
        assert!(matches!(
            i,
            Packet::Rtcp(RtcpInfo {
                feedback: Feedback {
                    fir: 1,
                    media_ssrc: Some(9),
                    ..
                },
                ..
            })
        ));
        let mut bad = c.clone();
        bad[3] = 9; // length past the end
        assert_eq!(parse_rtcp(&bad), Err(ParseError::BadLength(bad.len())));
        assert!(parse_rtcp(&c[..10]).is_err(), "trailing partial packet");
    }

    proptest! {
        #[test]
        fn never_panics_and_payload_in_bounds(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            match parse(&b) {
                Ok(Packet::Rtp(h)) => prop_assert!(h.payload_offset + h.payload_len <= b.len()),
                Ok(Packet::Rtcp(_)) | Err(_) => {}
            }
        }

        #[test]
        fn built_headers_round_trip(pt in 0u8..64, m: bool, seq: u16, ts: u32, ssrc: u32,
                                    payload in proptest::collection::vec(any::<u8>(), 0..50)) {
            let mut p = Vec::new();
            write_rtp_header(&mut p, pt, m, seq, ts, ssrc);
            p.extend_from_slice(&payload);
            let h = parse_rtp(&p).unwrap();
            prop_assert_eq!((h.pt, h.marker, h.seq, h.timestamp, h.ssrc), (pt, m, seq, ts, ssrc));
            prop_assert_eq!(h.payload_len, payload.len());
        }
    }
}
