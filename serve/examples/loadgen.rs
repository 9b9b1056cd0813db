//! Load generator for `bench/serve.sh` (hey, oha and wrk are not in Debian's stable set):
//!
//! - `loadgen sink`: a loopback TCP listener that accepts and closes as fast as it can; prints
//!   its port.
//! - `loadgen get ADDR PATH REQUESTS CONCURRENCY`: sends REQUESTS `GET PATH` over
//!   CONCURRENCY keep-alive HTTP/1.1 connections and prints one JSON line of latencies.
//!
//! It talks only to the loopback addresses it is given.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn usage() -> ! {
    eprintln!("usage: loadgen sink | loadgen get ADDR PATH REQUESTS CONCURRENCY");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sink") => sink().await,
        Some("get") if args.len() == 5 => {
            let addr: SocketAddr = args[1].parse().unwrap_or_else(|_| usage());
            if !addr.ip().is_loopback() {
                eprintln!("loadgen: loopback targets only");
                std::process::exit(2);
            }
            let requests: usize = args[3].parse().unwrap_or_else(|_| usage());
            let concurrency: usize = args[4].parse().unwrap_or_else(|_| usage());
            get(addr, &args[2], requests, concurrency).await;
        }
        _ => usage(),
    }
}

async fn sink() {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let listener: TcpListener = socket.listen(4096).expect("listen");
    println!("{}", listener.local_addr().expect("addr").port());
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    }
}

/// Reads one HTTP/1.1 response (Content-Length or chunked); its status.
async fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await?;
            if size == 0 {
                return Ok(status);
            }
        }
    }
    let mut body = vec![0; length.unwrap_or(0)];
    reader.read_exact(&mut body).await?;
    Ok(status)
}

async fn get(addr: SocketAddr, path: &str, requests: usize, concurrency: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"));
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (next, request) = (Arc::clone(&next), Arc::clone(&request));
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut non_200) = (0usize, 0usize);
            let mut conn: Option<BufReader<TcpStream>> = None;
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let sent = Instant::now();
                if conn.is_none() {
                    match TcpStream::connect(addr).await {
                        Ok(s) => conn = Some(BufReader::new(s)),
                        Err(_) => {
                            errors += 1;
                            continue;
                        }
                    }
                }
                let reader = conn.as_mut().expect("connected");
                let done = async {
                    reader.get_mut().write_all(request.as_bytes()).await?;
                    read_response(reader).await
                };
                match tokio::time::timeout(Duration::from_secs(30), done).await {
                    Ok(Ok(status)) => {
                        latencies.push(sent.elapsed());
                        if status != 200 {
                            non_200 += 1;
                        }
                    }
                    _ => {
                        errors += 1;
                        conn = None;
                    }
                }
            }
            (latencies, errors, non_200)
        });
    }
    let (mut all, mut errors, mut non_200) = (Vec::new(), 0, 0);
    while let Some(Ok((latencies, e, n))) = workers.join_next().await {
        all.extend(latencies);
        errors += e;
        non_200 += n;
    }
    let elapsed = start.elapsed();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default()
    };
    println!(
        "{{\"requests\":{},\"errors\":{errors},\"non_200\":{non_200},\"seconds\":{:.4},\"rps\":{:.1},\"median_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}
