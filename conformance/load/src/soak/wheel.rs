//! Which entry of the mix each open-loop slot goes to.
//!
//! A [`Wheel`] is a fixed cycle of `sum(weights)` slots in which entry `i` appears exactly
//! `weights[i]` times, spread as evenly as possible (smooth weighted round-robin, the way
//! nginx balances upstreams). Slot `n` takes position `n % len`. Deterministic, so two runs
//! send the same sequence; even, so an entry of weight 1 in 100 (a 1000-Pod request, a hook
//! that times out) comes once every 100 slots instead of in random bursts that would make
//! one interval look worse than the next for no reason of the server's.

/// The cycle of entries; see the module docs.
#[derive(Debug, Clone)]
pub struct Wheel {
    order: Vec<usize>,
}

impl Wheel {
    /// The cycle for `weights` (entry `i` has weight `weights[i]`); `None` when every weight
    /// is zero.
    pub fn new(weights: &[u32]) -> Option<Self> {
        let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
        if total == 0 {
            return None;
        }
        // Each turn every entry earns its weight; the richest goes next and pays the total.
        // Over `total` turns each entry is picked exactly `weight` times.
        let mut credit = vec![0i64; weights.len()];
        let mut order = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (credit, &weight) in credit.iter_mut().zip(weights) {
                *credit += i64::from(weight);
            }
            let (next, _) = credit
                .iter()
                .enumerate()
                .max_by_key(|&(at, &credit)| (credit, std::cmp::Reverse(at)))
                .expect("at least one weight");
            credit[next] -= total;
            order.push(next);
        }
        Some(Self { order })
    }

    /// The entry slot `slot` goes to.
    pub fn pick(&self, slot: u64) -> usize {
        self.order[(slot % self.order.len() as u64) as usize]
    }

    /// Slots in one cycle (the sum of the weights).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Always false: a wheel has at least one slot.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cycle_holds_every_entry_exactly_its_weight() {
        let weights = [17, 14, 10, 4, 1, 0, 8, 3, 1, 42];
        let wheel = Wheel::new(&weights).expect("weights");
        assert_eq!(wheel.len(), 100);
        for cycle in 0..3u64 {
            let mut counts = [0u32; 10];
            for slot in cycle * 100..(cycle + 1) * 100 {
                counts[wheel.pick(slot)] += 1;
            }
            assert_eq!(counts, weights, "cycle {cycle}");
        }
    }

    #[test]
    fn entries_are_spread_evenly_not_bunched() {
        let weights = [50, 25, 20, 4, 1];
        let wheel = Wheel::new(&weights).expect("weights");
        let total = wheel.len() as u64;
        for (entry, &weight) in weights.iter().enumerate() {
            // Positions over two cycles, so the gap across the wrap is seen too.
            let at: Vec<u64> = (0..2 * total)
                .filter(|&slot| wheel.pick(slot) == entry)
                .collect();
            let widest = at.windows(2).map(|w| w[1] - w[0]).max().expect("two");
            // Never bunched into bursts: no gap half again as wide as an even spacing.
            let even = total.div_ceil(u64::from(weight));
            assert!(
                widest <= even * 3 / 2,
                "entry {entry}: gap {widest}, even {even}"
            );
        }
    }

    #[test]
    fn no_weight_no_wheel() {
        assert!(Wheel::new(&[]).is_none());
        assert!(Wheel::new(&[0, 0]).is_none());
        let single = Wheel::new(&[0, 3]).expect("one entry");
        assert!((0..9).all(|slot| single.pick(slot) == 1));
    }
}
