//! relay-load: rooms × members of audio/video RTP through a relay-rs on loopback; progress on
//! stderr, the summary as one JSON line on stdout.

use anyhow::{Context, Result};
use clap::Parser;
use relay::core::token::Tokens;
use relay::load::{LoadConfig, run};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "relay-load", version, about = "Load client for relay-rs")]
struct Args {
    /// relay-rs control address.
    #[arg(long, default_value = "127.0.0.1:7000")]
    control: SocketAddr,
    /// The relay's token secret file.
    #[arg(long)]
    secret_file: PathBuf,
    /// Rooms.
    #[arg(long, default_value_t = 2)]
    rooms: usize,
    /// Members per room.
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Members per room sending video (the others send audio).
    #[arg(long, default_value_t = 1)]
    video: usize,
    /// Seconds to send (at most one day).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Multiplier on every packet rate.
    #[arg(long, default_value_t = 1.0)]
    rate_scale: f64,
    /// Room-name prefix.
    #[arg(long, default_value = "load")]
    room_prefix: String,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> Result<()> {
    let a = Args::parse();
    anyhow::ensure!(
        a.seconds > 0.0 && a.seconds <= 86_400.0,
        "--seconds must be in (0, 86400]"
    );
    anyhow::ensure!(
        a.rate_scale > 0.0 && a.rate_scale <= 100.0,
        "--rate-scale must be in (0, 100]"
    );
    let tokens = Tokens::from_file(&a.secret_file)?;
    let cfg = LoadConfig {
        control: a.control,
        tokens,
        rooms: a.rooms,
        members: a.members,
        video_members: a.video,
        seconds: a.seconds,
        rate_scale: a.rate_scale,
        progress: !a.quiet,
        room_prefix: a.room_prefix,
    };
    let s = run(&cfg).context("relay-load")?;
    println!("{}", serde_json::to_string(&s)?);
    Ok(())
}
