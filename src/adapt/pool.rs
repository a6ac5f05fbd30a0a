//! The candidate pool of `stance sample`: a bounded set of the most
//! uncertain paragraphs seen so far, with exact copies (identical TF-IDF
//! rows, as wire copies produce) kept once, and the final diverse pick.
//!
//! The ranking is a total order (priority, then position in the input), so
//! the pool's content does not depend on how records were spread over
//! threads: the top of the union of per-thread pools is the top of the whole.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::features::SparseVec;
use crate::label::Probabilities;

/// Where a paragraph sits in the input: batch, record in batch, paragraph.
pub type Position = (u64, u32, u32);

/// A paragraph that may be picked for labeling.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// How much labeling it is worth (higher first).
    pub priority: f64,
    /// Where it sits in the input (earlier first among equal priorities).
    pub position: Position,
    /// Hash of its TF-IDF row: equal rows are copies.
    pub row_hash: u64,
    /// Id of its document (the input's id field, or `file:line`).
    pub doc_id: String,
    /// Where the document came from (`file:line` or a file path).
    pub source: String,
    /// Index of the paragraph in the document (as in `stance score --paragraphs`).
    pub paragraph: u32,
    /// Char offsets of the paragraph in the document.
    pub start: usize,
    /// End char offset (exclusive).
    pub end: usize,
    /// The paragraph's text.
    pub text: String,
    /// The model's probabilities for it.
    pub probabilities: Probabilities,
    /// Its TF-IDF row (for the diversity step).
    pub features: SparseVec,
}

/// Orders candidates best first: higher priority, then earlier position.
pub fn rank(a: &Candidate, b: &Candidate) -> Ordering {
    b.priority
        .total_cmp(&a.priority)
        .then(a.position.cmp(&b.position))
}

/// Hash of a TF-IDF row (indices and value bits).
pub fn row_hash(row: &SparseVec) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    row.indices.hash(&mut h);
    for v in &row.values {
        v.to_bits().hash(&mut h);
    }
    h.finish()
}

/// The best `capacity` distinct candidates offered so far.
#[derive(Debug)]
pub struct Pool {
    capacity: usize,
    items: HashMap<u64, Candidate>,
    /// The worst candidate kept at the last pruning: nothing ranked after it
    /// can enter any more.
    floor: Option<(f64, Position)>,
    /// Candidates offered that were copies of one already held.
    pub copies: u64,
}

impl Pool {
    /// An empty pool keeping at most `capacity` candidates (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            items: HashMap::new(),
            floor: None,
            copies: 0,
        }
    }

    /// Would a candidate with this priority and position be kept? Lets the
    /// caller skip building one (text copy, offsets) that cannot enter.
    pub fn admits(&self, priority: f64, position: Position) -> bool {
        match self.floor {
            None => true,
            Some((p, pos)) => priority.total_cmp(&p).then(pos.cmp(&position)).is_gt(),
        }
    }

    /// Offers a candidate; of copies, the earliest in the input is kept.
    pub fn offer(&mut self, c: Candidate) {
        if !self.admits(c.priority, c.position) {
            return;
        }
        match self.items.get_mut(&c.row_hash) {
            Some(held) => {
                self.copies += 1;
                if c.position < held.position {
                    *held = c;
                }
            }
            None => {
                self.items.insert(c.row_hash, c);
                if self.items.len() >= 2 * self.capacity {
                    self.prune();
                }
            }
        }
    }

    /// Adds every candidate of another pool (per-thread pools at the end).
    pub fn merge(&mut self, other: Pool) {
        self.copies += other.copies;
        for c in other.items.into_values() {
            self.offer(c);
        }
    }

    /// The kept candidates, best first.
    pub fn into_ranked(mut self) -> Vec<Candidate> {
        self.prune();
        let mut v: Vec<Candidate> = self.items.into_values().collect();
        v.sort_by(rank);
        v
    }

    fn prune(&mut self) {
        if self.items.len() <= self.capacity {
            return;
        }
        let mut v: Vec<Candidate> = self.items.drain().map(|(_, c)| c).collect();
        v.sort_by(rank);
        v.truncate(self.capacity);
        self.floor = v.last().map(|c| (c.priority, c.position));
        self.items = v.into_iter().map(|c| (c.row_hash, c)).collect();
    }
}

/// Cosine similarity of two sparse rows (0 when either is empty).
pub fn cosine(a: &SparseVec, b: &SparseVec) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                dot += a.values[i] * b.values[j];
                i += 1;
                j += 1;
            }
        }
    }
    let norm = |v: &SparseVec| v.values.iter().map(|x| x * x).sum::<f64>().sqrt();
    let n = norm(a) * norm(b);
    if n > 0.0 {
        dot / n
    } else {
        0.0
    }
}

/// Picks up to `n` candidates in rank order, skipping any whose cosine to
/// one already picked exceeds `max_similarity` (1 keeps near-copies; exact
/// copies were merged by the pool already). Returns the picks and how many
/// were skipped as too similar.
pub fn pick_diverse(
    ranked: Vec<Candidate>,
    n: usize,
    max_similarity: f64,
) -> (Vec<Candidate>, usize) {
    let mut picked: Vec<Candidate> = Vec::with_capacity(n);
    let mut skipped = 0;
    for c in ranked {
        if picked.len() == n {
            break;
        }
        let too_close = max_similarity < 1.0
            && picked
                .iter()
                .any(|p| cosine(&p.features, &c.features) > max_similarity);
        if too_close {
            skipped += 1;
        } else {
            picked.push(c);
        }
    }
    (picked, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(priority: f64, position: u64, indices: Vec<u32>) -> Candidate {
        let values = vec![1.0; indices.len()];
        let features = SparseVec { indices, values };
        Candidate {
            priority,
            position: (position, 0, 0),
            row_hash: row_hash(&features),
            doc_id: format!("d{position}"),
            source: String::new(),
            paragraph: 0,
            start: 0,
            end: 0,
            text: String::new(),
            probabilities: Probabilities::from_class_order([1.0 / 3.0; 3]),
            features,
        }
    }

    #[test]
    fn the_pool_keeps_the_best_whatever_the_order_of_offers() {
        let all: Vec<Candidate> = (0..50)
            .map(|i| cand(((i * 37) % 50) as f64, i, vec![i as u32]))
            .collect();
        let mut forward = Pool::new(5);
        all.iter().cloned().for_each(|c| forward.offer(c));
        // Two "threads", each seeing every other candidate, merged.
        let (mut a, mut b) = (Pool::new(5), Pool::new(5));
        for (i, c) in all.iter().rev().cloned().enumerate() {
            if i % 2 == 0 {
                a.offer(c)
            } else {
                b.offer(c)
            }
        }
        a.merge(b);
        let best = |p: Pool| {
            p.into_ranked()
                .iter()
                .map(|c| c.priority)
                .collect::<Vec<_>>()
        };
        assert_eq!(best(forward), vec![49.0, 48.0, 47.0, 46.0, 45.0]);
        assert_eq!(best(a), vec![49.0, 48.0, 47.0, 46.0, 45.0]);
    }

    #[test]
    fn copies_are_kept_once_the_earliest() {
        let mut pool = Pool::new(10);
        pool.offer(cand(0.9, 7, vec![1, 2]));
        pool.offer(cand(0.9, 3, vec![1, 2]));
        pool.offer(cand(0.9, 5, vec![1, 2]));
        pool.offer(cand(0.5, 1, vec![4]));
        let ranked = pool.into_ranked();
        assert_eq!(ranked.len(), 2);
        assert_eq!(ranked[0].position.0, 3);
        assert_eq!(ranked[1].position.0, 1);
    }

    #[test]
    fn equal_priorities_rank_by_position() {
        let mut pool = Pool::new(2);
        for i in [4, 1, 3, 0, 2] {
            pool.offer(cand(0.5, i, vec![i as u32]));
        }
        let ranked = pool.into_ranked();
        assert_eq!(
            ranked.iter().map(|c| c.position.0).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }

    #[test]
    fn the_diversity_step_skips_near_copies() {
        let ranked = vec![
            cand(0.9, 0, vec![1, 2, 3, 4]),
            cand(0.8, 1, vec![1, 2, 3, 5]), // cosine 0.75 to the first
            cand(0.7, 2, vec![7, 8]),
        ];
        let (picked, skipped) = pick_diverse(ranked.clone(), 3, 0.7);
        assert_eq!(
            picked.iter().map(|c| c.position.0).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(skipped, 1);
        let (picked, skipped) = pick_diverse(ranked, 3, 1.0);
        assert_eq!(picked.len(), 3);
        assert_eq!(skipped, 0);
    }

    #[test]
    fn cosine_of_sparse_rows() {
        let a = SparseVec {
            indices: vec![0, 2],
            values: vec![3.0, 4.0],
        };
        let b = SparseVec {
            indices: vec![2, 5],
            values: vec![1.0, 0.0],
        };
        assert!((cosine(&a, &b) - 0.8).abs() < 1e-12);
        assert_eq!(cosine(&a, &SparseVec::default()), 0.0);
    }
}
