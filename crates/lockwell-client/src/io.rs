//! hyper's I/O traits over the runtime's stream, counting bytes written.
//!
//! hyper-util's `TokioIo` is tied to real tokio and panics under madsim, so
//! this adapter uses only what madsim-tokio re-exports. It follows
//! `lockwell-server`'s `http::io::TokioIo` (safe reads through an
//! initialised scratch buffer, no `unsafe`) but is a client's adapter: it
//! has no write-stall timeout (the attempt timeout bounds a request) and it
//! counts the bytes written, which is how the client knows whether a failed
//! request can have reached the server ([`crate::error::RequestSent`]).
//! The read half is the same code; both would move to a shared runtime
//! crate if a third user appeared.
//!
//! A flush with nothing written since the last one is not passed on: hyper
//! flushes every time its connection task is polled, and madsim's
//! `TcpStream` turns every flush, empty or not, into a network message
//! that wakes the peer, whose connection task then flushes back. Idle
//! kept-alive connections played ping-pong with empty messages and cost
//! the simulator most of its time; on a real socket a flush is a no-op.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the socket per `poll_read` at most: one read covers a
/// typical response head and a good slice of a body.
const READ_SCRATCH_LEN_BYTES: usize = 16 * 1024;

/// Bytes written on one connection so far, shared with whoever sends on it.
#[derive(Debug, Clone, Default)]
pub(crate) struct WrittenBytes(Arc<AtomicU64>);

impl WrittenBytes {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, len_bytes: usize) {
        self.0.fetch_add(len_bytes as u64, Ordering::Relaxed);
    }
}

/// A stream as hyper's [`hyper::rt::Read`] and [`hyper::rt::Write`].
#[derive(Debug)]
pub(crate) struct CountingIo<S> {
    stream: S,
    scratch: Box<[u8]>,
    written: WrittenBytes,
    /// Bytes were written since the last completed flush.
    unflushed: bool,
}

impl<S> CountingIo<S> {
    pub(crate) fn new(stream: S, written: WrittenBytes) -> Self {
        Self {
            stream,
            scratch: vec![0; READ_SCRATCH_LEN_BYTES].into_boxed_slice(),
            written,
            unflushed: false,
        }
    }
}

impl<S: AsyncRead + Unpin> hyper::rt::Read for CountingIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut cursor: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let len_bytes = cursor.remaining().min(this.scratch.len());
        let mut buf = ReadBuf::new(&mut this.scratch[..len_bytes]);
        match Pin::new(&mut this.stream).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                cursor.put_slice(buf.filled());
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for CountingIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(len_bytes)) = polled {
            this.written.add(len_bytes);
            this.unflushed |= len_bytes > 0;
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(len_bytes)) = polled {
            this.written.add(len_bytes);
            this.unflushed |= len_bytes > 0;
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.unflushed {
            return Poll::Ready(Ok(()));
        }
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            this.unflushed = false;
        }
        polled
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
