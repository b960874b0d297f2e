//! Counting what arrived: per (receiver, sender) pair a bitset of counters seen, which tells lost,
//! duplicated and out-of-order deliveries apart exactly; and latency samples reduced to percentiles.

use serde::Serialize;

/// Counters above this are treated as garbage rather than grown into a huge bitset.
const MAX_COUNTER: u64 = 50_000_000;

/// What one receiver saw from one sender.
#[derive(Debug, Default, Clone)]
pub struct Tracker {
    seen: Vec<u64>,
    pub unique: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    highest: Option<u64>,
}

impl Tracker {
    /// Records counter `c`: `Some(true)` the first time, `Some(false)` for a duplicate, `None` if it
    /// is out of range (the caller counts it as foreign).
    pub fn record(&mut self, c: u64) -> Option<bool> {
        if c > MAX_COUNTER {
            return None;
        }
        let (word, bit) = ((c / 64) as usize, 1u64 << (c % 64));
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit != 0 {
            self.duplicated += 1;
            return Some(false);
        }
        self.seen[word] |= bit;
        self.unique += 1;
        match self.highest {
            Some(h) if c < h => self.out_of_order += 1,
            _ => self.highest = Some(c),
        }
        Some(true)
    }
}

/// Latency percentiles in milliseconds (nearest rank).
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// From samples in microseconds (sorted in place).
    pub fn of(samples: &mut [u32]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            f64::from(samples[rank - 1]) / 1000.0
        };
        Percentiles {
            n: samples.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_reordering_are_told_apart() {
        let mut t = Tracker::default();
        let firsts: Vec<_> = [0, 1, 3, 2, 2, 4].map(|c| t.record(c)).to_vec();
        assert_eq!(firsts[4], Some(false));
        assert_eq!((t.unique, t.duplicated, t.out_of_order), (5, 1, 1));
        assert_eq!(t.record(MAX_COUNTER + 1), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut s: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let p = Percentiles::of(&mut s);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&mut []).n, 0);
    }
}
