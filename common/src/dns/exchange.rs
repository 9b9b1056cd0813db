//! One DNS query to one server over UDP or TCP, with its own deadline.
//!
//! Hand-written on hickory-proto's wire format because no resolver crate gives per-server
//! timing and classification: each server gets the whole timeout, a reply with the wrong id is
//! ignored (not accepted), a truncated UDP reply is retried over TCP on the same server.

use std::io;
use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

/// How a query travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        })
    }
}

/// Why an exchange produced no usable reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing acceptable arrived before the deadline; `ignored` replies had the wrong id.
    TimedOut { ignored: u32 },
    /// The socket reported an error (e.g. ICMP port unreachable as connection refused).
    Network(String),
    /// A reply with our id that does not decode as DNS.
    Malformed(String),
}

/// A reply and how it was obtained.
#[derive(Debug)]
pub(crate) struct Exchanged {
    pub response: Message,
    pub transport: Transport,
    /// The UDP reply had the TC bit and the answer came from the TCP retry.
    pub retried_over_tcp: bool,
}

/// Sends `request` to `server` and waits until `deadline` for its reply.
pub(crate) async fn exchange(
    server: SocketAddr,
    request: &Message,
    transport: Transport,
    deadline: Instant,
) -> Result<Exchanged, Failure> {
    let bytes = request.to_vec().map_err(|e| Failure::Malformed(format!("cannot encode query: {e}")))?;
    match transport {
        Transport::Tcp => {
            let response = tcp(server, &bytes, request, deadline).await?;
            Ok(Exchanged { response, transport: Transport::Tcp, retried_over_tcp: false })
        }
        Transport::Udp => {
            let response = udp(server, &bytes, request, deadline).await?;
            if response.metadata.truncation {
                tracing::debug!(%server, "truncated UDP reply, retrying over TCP");
                // The question is not answered until the TCP retry is: its failure is the
                // question's failure (TCP/53 blocked is a real-world cause).
                let response = tcp(server, &bytes, request, deadline).await.map_err(|failure| {
                    let why = match failure {
                        Failure::TimedOut { .. } => "timed out".to_owned(),
                        Failure::Network(m) | Failure::Malformed(m) => m,
                    };
                    Failure::Network(format!("the UDP reply was truncated and the TCP retry failed: {why}"))
                })?;
                return Ok(Exchanged { response, transport: Transport::Tcp, retried_over_tcp: true });
            }
            Ok(Exchanged { response, transport: Transport::Udp, retried_over_tcp: false })
        }
    }
}

fn network(op: &str, e: &io::Error) -> Failure {
    let what = match e.kind() {
        // On UDP this is an ICMP port unreachable: the host is up but nothing listens there.
        io::ErrorKind::ConnectionRefused => "connection refused (nothing listens on that port)".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        _ => e.to_string(),
    };
    Failure::Network(format!("{op}: {what}"))
}

/// Decides what to do with one datagram or frame: `Ok(Some)` accept, `Ok(None)` ignore
/// (someone else's reply: wrong id, or a question that is not ours), `Err` malformed.
fn judge(data: &[u8], request: &Message) -> Result<Option<Message>, Failure> {
    if data.len() < 2 || u16::from_be_bytes([data[0], data[1]]) != request.metadata.id {
        return Ok(None);
    }
    let ours = |reply: &Message| match (reply.queries.first(), request.queries.first()) {
        (Some(got), Some(sent)) => got.query_type() == sent.query_type() && got.name() == sent.name(),
        // Error replies may omit the question section.
        _ => true,
    };
    match Message::from_vec(data) {
        Ok(message) if message.metadata.message_type == MessageType::Response && ours(&message) => {
            Ok(Some(message))
        }
        Ok(_) => Ok(None),
        // The decoder's message may quote bytes of the reply: escaped before it can be shown.
        Err(e) => Err(Failure::Malformed(format!(
            "{} bytes that are not a DNS message: {}",
            data.len(),
            super::present::terminal_safe(&e.to_string())
        ))),
    }
}

async fn udp(
    server: SocketAddr,
    bytes: &[u8],
    request: &Message,
    deadline: Instant,
) -> Result<Message, Failure> {
    let local: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = UdpSocket::bind(local).await.map_err(|e| network("bind", &e))?;
    // A connected socket receives only the server's datagrams and surfaces ICMP errors.
    socket.connect(server).await.map_err(|e| network("connect", &e))?;
    socket.send(bytes).await.map_err(|e| network("send", &e))?;
    let mut buf = vec![0u8; 65_535];
    let mut ignored = 0;
    loop {
        // A flood of replies that are not ours is always ready to read: the deadline is checked
        // here too, or it would never get a chance to fire.
        if Instant::now() >= deadline {
            return Err(Failure::TimedOut { ignored });
        }
        let received = match timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Err(Failure::TimedOut { ignored }),
            Ok(Err(e)) => return Err(network("receive", &e)),
            Ok(Ok(n)) => n,
        };
        match judge(&buf[..received], request)? {
            Some(message) => return Ok(message),
            None => {
                tracing::debug!(%server, received, "ignoring a reply that is not ours");
                ignored += 1;
            }
        }
    }
}

async fn tcp(
    server: SocketAddr,
    bytes: &[u8],
    request: &Message,
    deadline: Instant,
) -> Result<Message, Failure> {
    let timed_out = || Failure::TimedOut { ignored: 0 };
    let mut stream = timeout_at(deadline, TcpStream::connect(server))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| network("TCP connect", &e))?;
    let len = u16::try_from(bytes.len()).map_err(|_| Failure::Malformed("query too long".into()))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    timeout_at(deadline, stream.write_all(&framed))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| network("TCP send", &e))?;
    let mut ignored = 0;
    loop {
        if Instant::now() >= deadline {
            return Err(Failure::TimedOut { ignored });
        }
        let mut len = [0u8; 2];
        match timeout_at(deadline, stream.read_exact(&mut len)).await {
            Err(_) => return Err(Failure::TimedOut { ignored }),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(Failure::Network("TCP receive: connection closed by the server".into()));
            }
            Ok(Err(e)) => return Err(network("TCP receive", &e)),
            Ok(Ok(_)) => {}
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 {
            // Reading "nothing" completes at once, forever: a zero-length frame must end the
            // exchange, not spin until the deadline.
            return Err(Failure::Malformed("a zero-length TCP frame".into()));
        }
        let mut body = vec![0u8; len];
        match timeout_at(deadline, stream.read_exact(&mut body)).await {
            Err(_) => return Err(Failure::TimedOut { ignored }),
            Ok(Err(e)) => return Err(network("TCP receive", &e)),
            Ok(Ok(_)) => {}
        }
        match judge(&body, request)? {
            Some(message) => return Ok(message),
            None => ignored += 1,
        }
    }
}
