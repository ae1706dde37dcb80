//! Which cells may be published: k-anonymity with complementary suppression.
//!
//! A cell is published only if the distinct sessions behind it number at least k. Cells
//! that belong to a family whose total is published (the commands add up to all events,
//! the weeks to all regressions) are also protected against subtraction: the held-back
//! cells form a pool, and while that pool covers fewer than k sessions the published cell
//! with the fewest sessions joins it. So "total minus everything shown" is never a figure
//! about fewer than k sessions.

use crate::sessions::DistinctCounter;

/// A candidate cell: the sessions behind it, and whether it must be held back whatever its
/// size (a row that is itself a pool, like `(other)`).
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Distinct sessions that contributed to the cell.
    pub sessions: &'a DistinctCounter,
    /// Held back regardless of `sessions`.
    pub forced: bool,
}

/// The decision for one family of cells.
#[derive(Debug, Clone)]
pub struct Decision {
    /// For each candidate, in order: published or not.
    pub published: Vec<bool>,
    /// The distinct sessions behind the held-back cells together (0 when none).
    pub pool_sessions: u64,
}

impl Decision {
    /// How many candidates are held back.
    pub fn held_back(&self) -> u64 {
        self.published.iter().filter(|p| !**p).count() as u64
    }
}

/// Decides which of `cells` to publish with threshold `k` (see the module documentation).
/// When every cell ends up in a pool that still covers fewer than k sessions, nothing is
/// published.
pub fn decide(cells: &[Candidate<'_>], k: u64) -> Decision {
    let mut published: Vec<bool> = cells
        .iter()
        .map(|c| !c.forced && c.sessions.count() >= k)
        .collect();
    let pool_of = |published: &[bool]| {
        let mut pool = DistinctCounter::new();
        for (c, p) in cells.iter().zip(published) {
            if !p {
                pool.merge(c.sessions);
            }
        }
        pool.count()
    };
    let mut pool = pool_of(&published);
    while published.iter().any(|p| !p) && pool < k {
        // The smallest published cell joins the pool (the last of equals, so that the
        // order of the rest does not change).
        let smallest = published
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| (cells[i].sessions.count(), std::cmp::Reverse(i)))
            .min();
        let Some((_, std::cmp::Reverse(i))) = smallest else {
            break;
        };
        published[i] = false;
        pool = pool_of(&published);
    }
    Decision {
        published,
        pool_sessions: pool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::hash_id;

    fn sessions(ids: std::ops::Range<u32>) -> DistinctCounter {
        let mut c = DistinctCounter::new();
        for i in ids {
            c.insert(hash_id(&format!("{i:032x}")));
        }
        c
    }

    fn cell(c: &DistinctCounter) -> Candidate<'_> {
        Candidate {
            sessions: c,
            forced: false,
        }
    }

    #[test]
    fn cells_at_k_are_published_and_below_k_are_not() {
        let (a, b) = (sessions(0..10), sessions(100..120));
        let d = decide(&[cell(&a), cell(&b)], 10);
        assert_eq!(d.published, vec![true, true]);
        assert_eq!(d.pool_sessions, 0);
        let d = decide(&[cell(&a), cell(&b)], 11);
        // `a` alone is under k; the pool then takes `b` too so that a = total - b is not
        // computable.
        assert_eq!(d.published, vec![false, false]);
    }

    #[test]
    fn a_small_pool_takes_the_smallest_published_cell() {
        let (big, mid, rare) = (sessions(0..50), sessions(100..112), sessions(200..203));
        let d = decide(&[cell(&big), cell(&mid), cell(&rare)], 10);
        assert_eq!(d.published, vec![true, false, false]);
        assert_eq!(d.pool_sessions, 15);
        assert_eq!(d.held_back(), 2);
    }

    #[test]
    fn a_pool_of_k_sessions_needs_no_second_cell() {
        let (big, r1, r2) = (sessions(0..50), sessions(100..105), sessions(200..205));
        let d = decide(&[cell(&big), cell(&r1), cell(&r2)], 10);
        assert_eq!(d.published, vec![true, false, false]);
        assert_eq!(d.pool_sessions, 10);
        // Overlapping sessions count once in the pool.
        let r3 = sessions(100..105);
        let mid = sessions(300..320);
        let d = decide(&[cell(&big), cell(&mid), cell(&r1), cell(&r3)], 10);
        assert_eq!(d.published, vec![true, false, false, false]);
        assert_eq!(d.pool_sessions, 25);
    }

    #[test]
    fn forced_cells_are_never_published() {
        let (a, b) = (sessions(0..30), sessions(100..130));
        let d = decide(
            &[
                cell(&a),
                Candidate {
                    sessions: &b,
                    forced: true,
                },
            ],
            10,
        );
        assert_eq!(d.published, vec![true, false]);
        assert_eq!(d.pool_sessions, 30);
    }
}
