//! hyper's I/O and timer traits over the runtime's, written here because
//! hyper-util's `TokioIo`/`TokioTimer` are tied to real tokio and panic
//! under madsim; these use only what madsim-tokio re-exports, so the same
//! connection code runs on tokio and in the simulator.
//!
//! Safe by construction (the workspace denies `unsafe`): reads go through a
//! small initialised scratch buffer and are copied into hyper's cursor with
//! [`hyper::rt::ReadBufCursor::put_slice`]. One extra memcpy per read is far
//! below what a socket read costs.
//!
//! A flush with nothing written since the last one is not passed on: hyper
//! flushes every time its connection task is polled, and madsim's
//! `TcpStream` turns every flush, empty or not, into a network message
//! that wakes the peer, whose connection task then flushes back. Idle
//! kept-alive connections played ping-pong with empty messages and cost
//! the simulator most of its time; on a real socket a flush is a no-op.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the socket per `poll_read` at most. hyper asks for up to
/// its whole buffer; 16 KiB keeps the per-connection scratch small while
/// one read still covers a typical request head.
const READ_SCRATCH_LEN_BYTES: usize = 16 * 1024;

/// A tokio (or madsim) stream as hyper's [`hyper::rt::Read`] and
/// [`hyper::rt::Write`].
///
/// With a write stall timeout, a write that makes no progress for that long
/// fails with [`io::ErrorKind::TimedOut`]: a peer that stops reading its
/// response cannot pin a connection and its response bytes forever.
#[derive(Debug)]
pub struct TokioIo<S> {
    stream: S,
    scratch: Box<[u8]>,
    write_stall: Option<WriteStall>,
    /// Bytes were written since the last completed flush.
    unflushed: bool,
}

#[derive(Debug)]
struct WriteStall {
    timeout: Duration,
    /// Armed when a write first returns `Pending`, cleared on progress.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> TokioIo<S> {
    /// Wraps `stream` with no write stall timeout (clients, tests).
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            scratch: vec![0; READ_SCRATCH_LEN_BYTES].into_boxed_slice(),
            write_stall: None,
            unflushed: false,
        }
    }

    /// Wraps `stream`; writes stalled for `timeout` fail.
    pub fn with_write_stall_timeout(stream: S, timeout: Duration) -> Self {
        Self {
            write_stall: Some(WriteStall {
                timeout,
                deadline: None,
            }),
            ..Self::new(stream)
        }
    }

    /// `Ready(Err)` once a write has been stalled past the timeout.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(stall) = &mut self.write_stall else {
            return Poll::Pending;
        };
        let timeout = stall.timeout;
        let deadline = stall
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer read nothing for {} ms", timeout.as_millis()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn made_progress(&mut self) {
        if let Some(stall) = &mut self.write_stall {
            stall.deadline = None;
        }
    }

    fn note_written(&mut self, polled: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(len_bytes)) = polled {
            self.unflushed |= *len_bytes > 0;
        }
    }

    /// Turns a write's poll result into the stall-aware one.
    fn after_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.made_progress();
                Poll::Ready(result)
            }
            Poll::Pending => match self.poll_stalled(cx) {
                Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                Poll::Ready(Ok(())) | Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncRead + Unpin> hyper::rt::Read for TokioIo<S> {
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

impl<S: AsyncWrite + Unpin> hyper::rt::Write for TokioIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.note_written(&polled);
        this.after_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.note_written(&polled);
        this.after_write(cx, polled)
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
        this.after_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.after_write(cx, polled)
    }
}

/// hyper's [`hyper::rt::Timer`] over the runtime's clock (virtual under
/// madsim), so hyper's header read timeout works in both modes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeTimer;

/// A runtime sleep as hyper's [`hyper::rt::Sleep`] (which must be `Unpin`).
struct RuntimeSleep(Pin<Box<tokio::time::Sleep>>);

impl Future for RuntimeSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for RuntimeSleep {}

impl hyper::rt::Timer for RuntimeTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RuntimeSleep(Box::pin(tokio::time::sleep(duration))))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RuntimeSleep(Box::pin(tokio::time::sleep_until(
            runtime_instant(deadline),
        ))))
    }

    fn now(&self) -> std::time::Instant {
        runtime_now()
    }
}

/// The runtime's clock reading: the simulator's virtual instant under
/// madsim, tokio's (pausable) clock otherwise.
#[cfg(madsim)]
fn runtime_now() -> std::time::Instant {
    madsim::time::TimeHandle::current().now_instant()
}

#[cfg(not(madsim))]
fn runtime_now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// hyper's deadline as the runtime's instant type (std's under madsim).
#[cfg(madsim)]
fn runtime_instant(deadline: std::time::Instant) -> tokio::time::Instant {
    deadline
}

#[cfg(not(madsim))]
fn runtime_instant(deadline: std::time::Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(deadline)
}
