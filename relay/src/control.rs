//! The control protocol (relay/PROTOCOL.md): one JSON object per line in, one per line out.
//! Sans-IO: a line, the relay, the verifier and the clocks in; the answer out.

use crate::core::stats::DropReason;
use crate::core::token::Tokens;
use crate::core::{Join, Kind, Relay};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};

/// Longest accepted request line in bytes.
pub const MAX_LINE: usize = 4096;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Request {
    Join {
        room: String,
        token: String,
        ssrc: u32,
        kind: String,
        recv: Option<String>,
        rtcp: Option<String>,
    },
    Leave {
        participant: Option<u64>,
    },
    Ping,
    Stats,
}

/// What one control connection owns.
#[derive(Debug, Default)]
pub struct Conn {
    /// Participants joined over this connection (left when it closes).
    pub participants: Vec<u64>,
}

/// Everything a request needs besides the relay.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Token verifier.
    pub tokens: &'a Tokens,
    /// The media address clients send RTP to.
    pub media: SocketAddr,
    /// The control peer's IP (media may only latch from it).
    pub peer_ip: IpAddr,
    /// Monotonic ns.
    pub now: u64,
    /// Wall clock, epoch seconds (token expiry).
    pub epoch: u64,
}

fn err(e: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": e.to_string()})
}

fn addr(field: &str, v: Option<String>) -> Result<Option<SocketAddr>, Value> {
    v.map(|s| {
        s.parse::<SocketAddr>()
            .map_err(|_| err(format!("bad {field} address {s:?} (want IP:PORT)")))
    })
    .transpose()
}

/// Answer one request line.
pub fn handle_line(line: &str, relay: &mut Relay, conn: &mut Conn, ctx: Ctx<'_>) -> Value {
    let req: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return err(format!("bad request: {e}")),
    };
    match req {
        Request::Join {
            room,
            token,
            ssrc,
            kind,
            recv,
            rtcp,
        } => {
            let kind = match kind.as_str() {
                "audio" => Kind::Audio,
                "video" => Kind::Video,
                k => return err(format!("bad kind {k:?} (want \"audio\" or \"video\")")),
            };
            let (recv, rtcp) = match (addr("recv", recv), addr("rtcp", rtcp)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return e,
            };
            if let Err(e) = ctx.tokens.verify(&token, &room, ctx.epoch) {
                relay.count_drop(DropReason::BadToken);
                tracing::info!(room, error = %e, "join refused");
                return err(format!("bad token: {e}"));
            }
            let j = Join {
                room,
                ssrc,
                kind,
                recv,
                rtcp,
                peer_ip: Some(ctx.peer_ip),
            };
            match relay.join(j, ctx.now) {
                Ok(id) => {
                    conn.participants.push(id);
                    json!({"ok": true, "participant": id, "media": ctx.media.to_string()})
                }
                Err(e) => err(e),
            }
        }
        Request::Leave { participant } => {
            let ids: Vec<u64> = match participant {
                Some(id) if conn.participants.contains(&id) => vec![id],
                Some(id) => {
                    return err(format!("participant {id} is not joined on this connection"));
                }
                None => conn.participants.clone(),
            };
            for id in &ids {
                relay.leave(*id);
            }
            conn.participants.retain(|p| !ids.contains(p));
            json!({"ok": true, "left": ids})
        }
        Request::Ping => {
            // Reaped participants are forgotten here too.
            let before = conn.participants.len();
            conn.participants.retain(|id| relay.touch(*id, ctx.now));
            json!({"ok": true, "pong": true, "participants": conn.participants, "reaped": before - conn.participants.len()})
        }
        Request::Stats => json!({"ok": true, "totals": relay.totals()}),
    }
}

/// The connection closed: leave everything it joined.
pub fn close(relay: &mut Relay, conn: &mut Conn) {
    for id in conn.participants.drain(..) {
        relay.leave(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Limits;

    fn ctx(t: &Tokens) -> Ctx<'_> {
        Ctx {
            tokens: t,
            media: "127.0.0.1:4000".parse().unwrap(),
            peer_ip: "127.0.0.1".parse().unwrap(),
            now: 0,
            epoch: 100,
        }
    }

    #[test]
    fn join_leave_ping_and_errors() {
        let t = Tokens::new(b"k").unwrap();
        let mut r = Relay::new(Limits::default());
        let mut c = Conn::default();
        let tok = t.sign("r1", 200, 1);
        let line = format!(
            r#"{{"op":"join","room":"r1","token":"{tok}","ssrc":5,"kind":"audio","recv":"127.0.0.1:9000"}}"#
        );
        let v = handle_line(&line, &mut r, &mut c, ctx(&t));
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["media"], "127.0.0.1:4000");
        let id = v["participant"].as_u64().unwrap();
        let again = handle_line(&line, &mut r, &mut c, ctx(&t));
        assert_eq!(again["error"], "ssrc 5 is already in use");
        let expired = Ctx {
            epoch: 300,
            ..ctx(&t)
        };
        let v = handle_line(
            &line.replace("\"ssrc\":5", "\"ssrc\":6"),
            &mut r,
            &mut c,
            expired,
        );
        assert_eq!(v["error"], "bad token: token expired at 200");
        let wrong = line.replace("\"room\":\"r1\"", "\"room\":\"r2\"");
        assert_eq!(
            handle_line(&wrong, &mut r, &mut c, ctx(&t))["error"],
            "bad token: token is for another room"
        );
        assert_eq!(r.drops().get(DropReason::BadToken), 2);
        for (bad, msg) in [
            ("not json", "bad request"),
            (r#"{"op":"fly"}"#, "bad request"),
            (
                r#"{"op":"join","room":"r1","token":"x","ssrc":1,"kind":"smell"}"#,
                "bad kind",
            ),
            (
                r#"{"op":"join","room":"r1","token":"x","ssrc":1,"kind":"audio","recv":"nowhere"}"#,
                "bad recv address",
            ),
            (
                r#"{"op":"leave","participant":999}"#,
                "not joined on this connection",
            ),
        ] {
            let v = handle_line(bad, &mut r, &mut c, ctx(&t));
            assert_eq!(v["ok"], false);
            assert!(v["error"].as_str().unwrap().contains(msg), "{bad}: {v}");
        }
        let v = handle_line(r#"{"op":"ping"}"#, &mut r, &mut c, ctx(&t));
        assert_eq!(v["participants"], json!([id]));
        let v = handle_line(r#"{"op":"leave"}"#, &mut r, &mut c, ctx(&t));
        assert_eq!(v["left"], json!([id]));
        assert_eq!(r.totals().participants, 0);
        handle_line(&line, &mut r, &mut c, ctx(&t));
        close(&mut r, &mut c);
        assert_eq!(r.totals().participants, 0, "connection loss = leave");
    }
}
