//! A minimal WebSocket client (RFC 6455) for tests and the bench: handshake with a chosen Host,
//! masked text frames out, unmasked frames in. Enough to prove a tunnel works and to time it.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct WsClient {
    stream: TcpStream,
}

impl WsClient {
    /// Connect to `addr` and upgrade `path` with the given Host header.
    pub async fn connect(addr: SocketAddr, host: &str, path: &str) -> Result<Self> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await? == 0 {
                bail!(
                    "connection closed during the handshake: {}",
                    String::from_utf8_lossy(&head)
                );
            }
            head.push(byte[0]);
            if head.len() > 16 * 1024 {
                bail!("handshake response too long");
            }
        }
        let text = String::from_utf8_lossy(&head);
        if !text.starts_with("HTTP/1.1 101") {
            bail!("upgrade refused: {}", text.lines().next().unwrap_or(""));
        }
        if !text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
            bail!("wrong Sec-WebSocket-Accept: {text}");
        }
        Ok(Self { stream })
    }

    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        let payload = text.as_bytes();
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// Read one data frame's payload as text.
    pub async fn recv_text(&mut self) -> Result<String> {
        let mut head = [0u8; 2];
        self.stream
            .read_exact(&mut head)
            .await
            .context("reading frame")?;
        let mut len = (head[1] & 0x7f) as u64;
        if len == 126 {
            let mut b = [0u8; 2];
            self.stream.read_exact(&mut b).await?;
            len = u16::from_be_bytes(b) as u64;
        } else if len == 127 {
            let mut b = [0u8; 8];
            self.stream.read_exact(&mut b).await?;
            len = u64::from_be_bytes(b);
        }
        let mut mask = None;
        if head[1] & 0x80 != 0 {
            let mut m = [0u8; 4];
            self.stream.read_exact(&mut m).await?;
            mask = Some(m);
        }
        let mut payload = vec![0u8; len as usize];
        self.stream.read_exact(&mut payload).await?;
        if let Some(m) = mask {
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b ^= m[i % 4]);
        }
        if head[0] & 0x0f == 0x8 {
            bail!("server closed the WebSocket");
        }
        Ok(String::from_utf8_lossy(&payload).into_owned())
    }

    /// Send a close frame and drop the connection.
    pub async fn close(mut self) -> Result<()> {
        let _ = self.stream.write_all(&[0x88, 0x80, 0, 0, 0, 0]).await;
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}
