//! The AIS listeners: NMEA lines over TCP (one task per client, each with its own fragment
//! reassembly) and UDP (one datagram holds one or more lines), as AIS receivers and
//! AIS-catcher forward them. Bad lines are counted, never fatal; a client that sends junk
//! without a newline or stalls is cut off without touching the other feeds.

use super::Fleet;
use super::model::Fix;
use super::nmea::{self, Decoded};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// Positions handed to the fleet at once, at most.
const BATCH: usize = 2000;
/// A batch waits at most this long for more lines.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// A client silent this long is disconnected.
const IDLE: Duration = Duration::from_secs(600);
/// Open TCP clients at most.
const MAX_CLIENTS: usize = 256;

fn now_ms() -> i64 {
    crate::time::now_us() / 1000
}

/// Lines decoded but not yet handed over.
struct Pending {
    feed: nmea::Feed,
    fixes: Vec<Fix>,
    statics: Vec<super::ais::Static>,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            feed: nmea::Feed::default(),
            fixes: Vec::with_capacity(BATCH),
            statics: Vec::new(),
        }
    }

    fn line(&mut self, line: &str) {
        match self.feed.line(line, now_ms()) {
            Ok(Decoded::Position(f)) => self.fixes.push(f),
            Ok(Decoded::Static(s)) => self.statics.push(s),
            Ok(Decoded::Nothing) | Err(_) => {}
        }
    }

    async fn flush(&mut self, fleet: &Fleet) {
        fleet.count_lines(&std::mem::take(&mut self.feed.counts));
        fleet.statics(std::mem::take(&mut self.statics));
        if self.fixes.is_empty() {
            return;
        }
        let fixes = std::mem::replace(&mut self.fixes, Vec::with_capacity(BATCH));
        if let Err(e) = fleet.ingest(fixes, false).await {
            tracing::warn!(error = %e, "AIS positions dropped");
        }
    }
}

/// Serves AIS clients on `listener` until the server stops.
pub async fn serve_tcp(fleet: Arc<Fleet>, listener: TcpListener) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an AIS client failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many AIS clients; refused");
            continue;
        };
        let fleet = fleet.clone();
        tokio::spawn(async move {
            fleet.tcp_opened();
            tracing::info!(%peer, "AIS client connected");
            client(&fleet, stream).await;
            fleet.tcp_closed();
            tracing::info!(%peer, "AIS client gone");
            drop(permit);
        });
    }
}

async fn client(fleet: &Fleet, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut pending = Pending::new();
    let mut buf = Vec::with_capacity(256);
    loop {
        // A read cut short by the batch timeout keeps its partial line in `buf`.
        let wait = if pending.fixes.is_empty() {
            IDLE
        } else {
            BATCH_WAIT
        };
        let read = tokio::time::timeout(wait, read_line(&mut reader, &mut buf)).await;
        match read {
            Err(_) if pending.fixes.is_empty() => break,
            Err(_) => {
                pending.flush(fleet).await;
                continue;
            }
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {
                match std::str::from_utf8(&buf) {
                    Ok(line) if !line.trim().is_empty() => pending.line(line),
                    Ok(_) => {}
                    Err(_) => {
                        pending.feed.counts.lines += 1;
                        pending.feed.counts.not_ais += 1;
                    }
                }
                buf.clear();
                if pending.fixes.len() >= BATCH {
                    pending.flush(fleet).await;
                }
            }
            Ok(Err(LineError::TooLong)) => {
                buf.clear();
                pending.feed.counts.lines += 1;
                pending.feed.counts.too_long += 1;
                if pending.feed.counts.too_long > 1000 {
                    tracing::warn!("an AIS client sends no lines; disconnected");
                    break;
                }
            }
            Ok(Err(LineError::Io)) => break,
        }
    }
    pending.flush(fleet).await;
}

enum LineError {
    TooLong,
    Io,
}

/// Reads one line (without its end) into `buf`, at most `nmea::MAX_LINE` bytes; a longer line
/// is skipped up to its end. The bytes read, 0 at the end of the stream.
async fn read_line(
    reader: &mut BufReader<TcpStream>,
    buf: &mut Vec<u8>,
) -> Result<usize, LineError> {
    let mut total = 0;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await.map_err(|_| LineError::Io)?;
        if available.is_empty() {
            return if too_long {
                Err(LineError::TooLong)
            } else {
                Ok(total)
            };
        }
        let (chunk, done, found) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > nmea::MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        total += done;
        reader.consume(done);
        if found {
            if too_long {
                return Err(LineError::TooLong);
            }
            while buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(total);
        }
    }
}

/// Takes AIS datagrams on `socket` until the server stops.
pub async fn serve_udp(fleet: Arc<Fleet>, socket: UdpSocket) {
    let mut buf = vec![0u8; 65_536];
    let mut pending = Pending::new();
    loop {
        let wait = if pending.fixes.is_empty() {
            Duration::from_secs(3600)
        } else {
            BATCH_WAIT
        };
        match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
            Err(_) => pending.flush(&fleet).await,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "receiving an AIS datagram failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(Ok((n, _))) => {
                fleet.udp_packet();
                let text = String::from_utf8_lossy(&buf[..n]);
                for line in text.split('\n') {
                    if !line.trim().is_empty() {
                        pending.line(line);
                    }
                }
                if pending.fixes.len() >= BATCH {
                    pending.flush(&fleet).await;
                }
            }
        }
    }
}
