//! Putting batches back in input order after parallel scoring, with a bound.
//!
//! Workers finish batches in any order; [`ReorderBuffer`] holds the early ones
//! until the next batch in sequence arrives. Its size is bounded by
//! [`Permits`]: the reader takes a permit before it sends a batch and the
//! writer gives it back once the batch is written, so at most `capacity`
//! batches exist at once anywhere between reader and writer (queued, being
//! scored, or waiting here). A slow batch therefore stalls the reader instead
//! of letting memory grow.

use std::collections::BTreeMap;

use crossbeam_channel::{bounded, Receiver, Sender};

/// Batches by sequence number, released strictly in order.
#[derive(Debug)]
pub struct ReorderBuffer<T> {
    next: u64,
    pending: BTreeMap<u64, T>,
}

/// A batch was pushed twice or after its turn (a bug in the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("batch {seq} pushed twice or after it was released (next is {next})")]
pub struct OutOfSequence {
    /// The sequence number pushed.
    pub seq: u64,
    /// The next sequence number expected.
    pub next: u64,
}

impl<T> Default for ReorderBuffer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ReorderBuffer<T> {
    /// An empty buffer expecting batch 0 first.
    pub fn new() -> Self {
        Self {
            next: 0,
            pending: BTreeMap::new(),
        }
    }

    /// Adds batch `seq`.
    pub fn push(&mut self, seq: u64, item: T) -> Result<(), OutOfSequence> {
        if seq < self.next || self.pending.contains_key(&seq) {
            return Err(OutOfSequence {
                seq,
                next: self.next,
            });
        }
        self.pending.insert(seq, item);
        Ok(())
    }

    /// The next batch in sequence, if it has arrived.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.pending.remove(&self.next)?;
        self.next += 1;
        Some(item)
    }

    /// Batches waiting for an earlier one.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A counting semaphore over a channel: `capacity` batches in flight at most.
#[derive(Debug)]
pub struct Permits {
    give: Sender<()>,
    take: Receiver<()>,
}

impl Permits {
    /// `capacity` permits (at least 1), all available.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (give, take) = bounded(capacity);
        for _ in 0..capacity {
            // Cannot fail: the channel has room for exactly `capacity` tokens
            // and its receiver is alive.
            let _ = give.try_send(());
        }
        Self { give, take }
    }

    /// Splits into the taking side (reader) and the giving-back side (writer).
    /// When the writer's side is dropped, waiting takers wake with `false`.
    pub fn split(self) -> (PermitTaker, PermitGiver) {
        (PermitTaker(self.take), PermitGiver(self.give))
    }
}

/// Takes permits (held by the reader).
#[derive(Debug)]
pub struct PermitTaker(Receiver<()>);

impl PermitTaker {
    /// Waits for a permit; `false` once the writer has gone away.
    pub fn take(&self) -> bool {
        self.0.recv().is_ok()
    }
}

/// Gives permits back (held by the writer).
#[derive(Debug)]
pub struct PermitGiver(Sender<()>);

impl PermitGiver {
    /// Returns one permit.
    pub fn give(&self) {
        // Never full: a permit is given back only after one was taken.
        let _ = self.0.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_batches_in_sequence_whatever_the_arrival_order() {
        let mut buf = ReorderBuffer::new();
        let mut out = Vec::new();
        for seq in [3u64, 1, 0, 4, 2, 5] {
            buf.push(seq, seq * 10).unwrap();
            while let Some(v) = buf.pop() {
                out.push(v);
            }
        }
        assert_eq!(out, [0, 10, 20, 30, 40, 50]);
        assert!(buf.is_empty());
    }

    #[test]
    fn holds_early_batches_until_the_gap_is_filled() {
        let mut buf = ReorderBuffer::new();
        buf.push(1, "b").unwrap();
        buf.push(2, "c").unwrap();
        assert_eq!(buf.pop(), None);
        assert_eq!(buf.len(), 2);
        buf.push(0, "a").unwrap();
        assert_eq!(buf.pop(), Some("a"));
        assert_eq!(buf.pop(), Some("b"));
        assert_eq!(buf.pop(), Some("c"));
        assert_eq!(buf.pop(), None);
    }

    #[test]
    fn rejects_duplicate_and_already_released_batches() {
        let mut buf = ReorderBuffer::new();
        buf.push(0, ()).unwrap();
        buf.push(2, ()).unwrap();
        assert_eq!(buf.push(2, ()), Err(OutOfSequence { seq: 2, next: 0 }));
        assert_eq!(buf.pop(), Some(()));
        assert_eq!(buf.push(0, ()), Err(OutOfSequence { seq: 0, next: 1 }));
    }

    #[test]
    fn permits_bound_the_batches_in_flight() {
        let (taker, giver) = Permits::new(2).split();
        assert!(taker.take());
        assert!(taker.take());
        // A third take would block: check through the channel without blocking.
        assert!(taker.0.try_recv().is_err(), "a third permit was available");
        giver.give();
        assert!(taker.take());
        drop(giver);
        assert!(!taker.take(), "take must fail once the writer is gone");
    }
}
