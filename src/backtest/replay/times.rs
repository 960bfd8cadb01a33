//! The timestamps of a recorded series, held as runs of evenly spaced
//! times: a rule writes at every evaluation of its group (one run), or
//! every few (a 5-minute bucket on a 1-minute grid: one run with a 5-minute
//! stride), and a gap starts a new run. A series over a month of 1-minute
//! steps then costs a few dozen bytes of times instead of 8 per sample.

/// `count` times `start, start + stride, …`, after `before` earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: i64,
    stride: i64,
    count: usize,
    before: usize,
}

impl Run {
    fn last(&self) -> i64 {
        self.start + self.stride * (self.count as i64 - 1)
    }
}

/// Ascending timestamps, compressed into runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Times {
    runs: Vec<Run>,
}

impl Times {
    /// The times of `ts` (ascending).
    pub fn from_sorted(ts: impl IntoIterator<Item = i64>) -> Times {
        let mut out = Times::default();
        for t in ts {
            out.push(t);
        }
        out
    }

    /// Appends `t`, later than every time held.
    pub fn push(&mut self, t: i64) {
        let len = self.len();
        if let Some(r) = self.runs.last_mut() {
            if r.count == 1 && t > r.start {
                r.stride = t - r.start;
                r.count = 2;
                return;
            }
            if r.count > 1 && t == r.last() + r.stride {
                r.count += 1;
                return;
            }
        }
        self.runs.push(Run { start: t, stride: 0, count: 1, before: len });
    }

    pub fn len(&self) -> usize {
        self.runs.last().map_or(0, |r| r.before + r.count)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The `i`-th time. Panics past the end, like indexing a slice.
    pub fn get(&self, i: usize) -> i64 {
        let r = self.runs.partition_point(|r| r.before + r.count <= i);
        let run = &self.runs[r];
        assert!(i >= run.before, "index {i} out of {} times", self.len());
        run.start + run.stride * (i - run.before) as i64
    }

    pub fn last(&self) -> Option<i64> {
        self.runs.last().map(Run::last)
    }

    /// How many times satisfy `pred`, which holds for a prefix of them.
    pub fn partition_point(&self, pred: impl Fn(i64) -> bool) -> usize {
        let r = self.runs.partition_point(|r| pred(r.last()));
        match self.runs.get(r) {
            None => self.len(),
            Some(run) => {
                // The first of the run's times failing `pred`.
                let (mut lo, mut hi) = (0, run.count);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if pred(run.start + run.stride * mid as i64) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                run.before + lo
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.runs.iter().flat_map(|r| (0..r.count).map(move |j| r.start + r.stride * j as i64))
    }

    pub fn to_vec(&self) -> Vec<i64> {
        self.iter().collect()
    }

    /// The runs as `(start, stride, count)`, in order (what
    /// [`Times::from_runs`] takes back).
    pub fn runs(&self) -> impl ExactSizeIterator<Item = (i64, i64, usize)> + '_ {
        self.runs.iter().map(|r| (r.start, r.stride, r.count))
    }

    /// Times from runs as [`Times::runs`] gives them; `None` unless they
    /// are ascending, as times read back from a file must be checked.
    pub fn from_runs(runs: impl IntoIterator<Item = (i64, i64, usize)>) -> Option<Times> {
        let mut out = Times::default();
        for (start, stride, count) in runs {
            let last = stride.checked_mul(i64::try_from(count).ok()?.checked_sub(1)?)?.checked_add(start)?;
            if count == 0 || (count > 1 && stride <= 0) || out.last().is_some_and(|l| start <= l) || last < start {
                return None;
            }
            out.runs.push(Run { start, stride, count, before: out.len() });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Times;

    #[test]
    fn runs_round_trip_and_search() {
        let ts: Vec<i64> = vec![0, 60, 120, 180, 300, 600, 900, 1200, 1260, 1261, 5000];
        let t = Times::from_sorted(ts.iter().copied());
        assert_eq!(t.to_vec(), ts);
        assert_eq!(t.len(), ts.len());
        assert!(t.runs.len() < ts.len());
        for (i, &x) in ts.iter().enumerate() {
            assert_eq!(t.get(i), x);
        }
        assert_eq!(t.last(), Some(5000));
        for cut in -1..5002 {
            assert_eq!(t.partition_point(|x| x <= cut), ts.partition_point(|&x| x <= cut), "cut {cut}");
            assert_eq!(t.partition_point(|x| x < cut), ts.partition_point(|&x| x < cut), "cut {cut}");
        }
        assert_eq!(Times::from_runs(t.runs()), Some(t.clone()));
        assert_eq!(Times::from_runs([(0, 60, 3), (100, 60, 2)]), None, "overlapping runs");
        assert_eq!(Times::from_runs([(0, 0, 2)]), None, "a repeated time");
        assert_eq!(Times::from_runs([(0, 1, 0)]), None, "an empty run");
        assert_eq!(Times::from_runs([(i64::MAX - 1, 10, 2)]), None, "past the end of time");
        let grid = Times::from_sorted((0..43_200).map(|k| k * 60_000));
        assert_eq!(grid.runs.len(), 1);
        assert!(Times::default().is_empty() && Times::default().partition_point(|_| true) == 0);
    }
}
