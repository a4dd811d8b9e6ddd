//! Counting helpers: a compact latency histogram, a growable bitset and
//! per-request tallies, all cheap to keep per connection and merge later.

use std::collections::BTreeMap;

/// Values below this many units are stored exactly (one bucket each).
const LINEAR: u64 = 64;
/// Sub-buckets per power of two above [`LINEAR`] (relative error ≤ 1/32).
const SUB_BITS: u32 = 5;
/// Largest value resolved into its own bucket; bigger values share the last.
const MAX_TRACKED: u64 = (1 << 24) - 1;

/// Log-linear histogram of `u64` samples (microseconds in practice).
///
/// Buckets are allocated on the first sample so idle connections cost
/// nothing; a populated histogram is about 2.5 KiB. Values below 64 are
/// exact, larger ones are kept within ~3 % (bucket midpoint). The exact
/// maximum and the sum are tracked separately.
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    buckets: Vec<u32>,
    count: u64,
    max: u64,
    sum: u128,
}

/// Bucket index of a value.
fn bucket_of(value: u64) -> usize {
    let v = value.min(MAX_TRACKED);
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = (v >> shift) - (1 << SUB_BITS);
    ((shift as usize + 1) << SUB_BITS) + sub as usize
}

/// Lowest value and width of a bucket.
fn bucket_range(index: usize) -> (u64, u64) {
    if (index as u64) < LINEAR {
        return (index as u64, 1);
    }
    let shift = (index >> SUB_BITS) as u32 - 1;
    let sub = (index as u64 & ((1 << SUB_BITS) - 1)) + (1 << SUB_BITS);
    (sub << shift, 1 << shift)
}

impl Histogram {
    /// Number of buckets needed to cover `0..=MAX_TRACKED`.
    fn bucket_count() -> usize {
        bucket_of(MAX_TRACKED) + 1
    }

    /// Records one sample.
    pub fn record(&mut self, value: u64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; Self::bucket_count()];
        }
        let slot = &mut self.buckets[bucket_of(value)];
        *slot = slot.saturating_add(1);
        self.count += 1;
        self.max = self.max.max(value);
        self.sum += u128::from(value);
    }

    /// Adds every sample of `other` to `self`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if self.buckets.is_empty() {
            self.buckets = vec![0; Self::bucket_count()];
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.saturating_add(*theirs);
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact largest sample (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Arithmetic mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum as f64 / self.count as f64
    }

    /// Value at percentile `p` (0–100, nearest rank), `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        if rank >= self.count {
            return Some(self.max);
        }
        let mut seen = 0u64;
        for (index, n) in self.buckets.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank {
                let (low, width) = bucket_range(index);
                return Some((low + (width - 1) / 2).min(self.max));
            }
        }
        Some(self.max)
    }
}

/// Growable set of small non-negative integers.
#[derive(Debug, Default, Clone)]
pub struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    /// Inserts `i`; returns `true` when it was not present yet.
    pub fn insert(&mut self, i: u64) -> bool {
        let word = (i / 64) as usize;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let bit = 1u64 << (i % 64);
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        fresh
    }

    /// Number of members.
    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Number of members present in both sets.
    pub fn intersection_len(&self, other: &Bitset) -> u64 {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| u64::from((a & b).count_ones()))
            .sum()
    }
}

/// Outcome tally of a series of HTTP requests.
#[derive(Debug, Default, Clone)]
pub struct RequestStats {
    /// Requests answered with a 2xx status.
    pub ok: u64,
    /// Requests answered with another status, by status code.
    pub bad_status: BTreeMap<u16, u64>,
    /// Requests that failed at the transport level (connect, I/O, timeout).
    pub io_errors: u64,
    /// First error seen, for the report.
    pub first_error: Option<String>,
    /// Latency of every answered request, in microseconds.
    pub latency: Histogram,
}

impl RequestStats {
    /// Requests that did not end in a 2xx answer.
    pub fn errors(&self) -> u64 {
        self.io_errors + self.bad_status.values().sum::<u64>()
    }

    /// Remembers `message` if it is the first error.
    pub fn note_error(&mut self, message: impl FnOnce() -> String) {
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &RequestStats) {
        self.ok += other.ok;
        for (status, n) in &other.bad_status {
            *self.bad_status.entry(*status).or_default() += n;
        }
        self.io_errors += other.io_errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.latency.merge(&other.latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut previous = 0;
        for v in 1..200_000u64 {
            let b = bucket_of(v);
            assert!(b == previous || b == previous + 1, "gap at {v}");
            let (low, width) = bucket_range(b);
            assert!(low <= v && v < low + width, "{v} not in bucket {b}");
            previous = b;
        }
        assert_eq!(bucket_of(u64::MAX), Histogram::bucket_count() - 1);
    }

    #[test]
    fn percentiles_exact_for_small_values() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(50.0), None);
        for v in 1..=60 {
            h.record(v);
        }
        assert_eq!(h.percentile(50.0), Some(30));
        assert_eq!(h.percentile(100.0), Some(60));
        assert_eq!(h.percentile(0.0), Some(1));
        assert_eq!(h.max(), 60);
        assert!((h.mean() - 30.5).abs() < 1e-9);
    }

    #[test]
    fn percentiles_within_relative_error() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (p, want) in [(50.0, 50_000.0), (99.0, 99_000.0), (99.9, 99_900.0)] {
            let got = h.percentile(p).unwrap_or(0) as f64;
            assert!((got - want).abs() / want < 0.035, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.percentile(100.0), Some(100_000));
    }

    #[test]
    fn merge_adds_counts_and_keeps_max() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(10);
        b.record(5_000_000);
        b.record(20);
        a.merge(&b);
        a.merge(&Histogram::default());
        assert_eq!(a.count(), 3);
        assert_eq!(a.max(), 5_000_000);
        assert_eq!(a.percentile(50.0), Some(20));
    }

    #[test]
    fn huge_values_are_clamped_but_max_is_exact() {
        let mut h = Histogram::default();
        h.record(u64::MAX / 2);
        assert_eq!(h.max(), u64::MAX / 2);
        assert!(h.percentile(50.0).is_some());
    }

    #[test]
    fn bitset_basics() {
        let mut a = Bitset::default();
        assert!(a.insert(3));
        assert!(!a.insert(3));
        assert!(a.insert(200));
        assert!(!a.insert(200) && a.insert(199) && a.insert(10_000));
        let mut b = Bitset::default();
        b.insert(200);
        b.insert(7);
        assert_eq!(a.len(), 4);
        assert_eq!(a.intersection_len(&b), 1);
    }
}
