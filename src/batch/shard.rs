//! `--shard K/N`: deterministic slices of the input for array jobs.
//!
//! Record `i` (0-based, counted over all inputs in the order given, error
//! records included) belongs to shard `K` of `N` when `i % N == K - 1`. The
//! slice depends only on the order of records, never on their content or on
//! timing, so the N shards are disjoint and their union is the whole input.
//! Round-robin (rather than contiguous ranges) needs no count of the input
//! up front and keeps the shards the same size within one record.

use std::fmt;
use std::str::FromStr;

use super::error::BatchError;

/// Shard `k` of `n` (1-based `k`), always with `1 <= k <= n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    k: u64,
    n: u64,
}

impl Shard {
    /// Shard `k` of `n`, or an error unless `1 <= k <= n`.
    pub fn new(k: u64, n: u64) -> Result<Self, BatchError> {
        if k == 0 || n == 0 || k > n {
            return Err(BatchError::BadShard(format!("{k}/{n}")));
        }
        Ok(Self { k, n })
    }

    /// The whole input as one shard (`1/1`).
    pub fn whole() -> Self {
        Self { k: 1, n: 1 }
    }

    /// 1-based shard number.
    pub fn k(&self) -> u64 {
        self.k
    }

    /// Number of shards.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Whether the record with 0-based input index `index` is in this shard.
    pub fn contains(&self, index: u64) -> bool {
        index % self.n == self.k - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl FromStr for Shard {
    type Err = BatchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BatchError::BadShard(s.to_string());
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_shards_and_rejects_the_rest() {
        assert_eq!("3/8".parse::<Shard>().ok(), Some(Shard { k: 3, n: 8 }));
        assert_eq!(" 1/1 ".parse::<Shard>().ok(), Some(Shard::whole()));
        for bad in [
            "0/4", "5/4", "1/0", "0/0", "3", "a/b", "-1/4", "1/4/2", "", "/",
        ] {
            let err = bad.parse::<Shard>().err();
            assert!(
                matches!(err, Some(BatchError::BadShard(ref s)) if s == bad),
                "case {bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn shards_are_disjoint_and_cover_every_index() {
        for n in 1..=7u64 {
            let shards: Vec<Shard> = (1..=n).map(|k| Shard::new(k, n).unwrap()).collect();
            for i in 0..100u64 {
                let owners = shards.iter().filter(|s| s.contains(i)).count();
                assert_eq!(owners, 1, "index {i} with n={n}");
            }
        }
    }

    #[test]
    fn displays_as_k_slash_n() {
        assert_eq!(Shard::new(2, 5).unwrap().to_string(), "2/5");
    }
}
