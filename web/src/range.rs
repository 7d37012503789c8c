//! Time ranges of the views and graphs: hour, 2hr, 4hr, day, week, month, year, or custom
//! (`cs`/`ce` as epoch seconds). Only integers reach librrd, never input text.

/// A named or custom range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// A named range ending now, with its length in seconds.
    Named(&'static str, u64),
    /// Custom start and end (epoch seconds, start < end).
    Custom(u64, u64),
}

/// The named ranges, in menu order.
pub const NAMED: &[(&str, u64)] = &[
    ("hour", 3600),
    ("2hr", 7200),
    ("4hr", 4 * 3600),
    ("day", 86400),
    ("week", 7 * 86400),
    ("month", 31 * 86400),
    ("year", 366 * 86400),
];

/// Longest custom range accepted (20 years).
pub const MAX_CUSTOM: u64 = 20 * 366 * 86400;

/// Why a range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not one of [`NAMED`] nor "custom".
    #[error("unknown range {0:?}")]
    Unknown(String),
    /// cs/ce missing, not integers, or not increasing.
    #[error("custom range needs integer cs < ce (epoch seconds), at most 20 years apart")]
    BadCustom,
}

impl Range {
    /// From the `r`, `cs` and `ce` query parameters (default: hour). A `cs` given without `r`
    /// means custom.
    pub fn parse(r: Option<&str>, cs: Option<&str>, ce: Option<&str>) -> Result<Range, RangeError> {
        let r = match (r, cs) {
            (None | Some(""), Some(_)) => "custom",
            (None | Some(""), None) => "hour",
            (Some(r), _) => r,
        };
        if r == "custom" {
            let num = |s: Option<&str>| s.and_then(|s| s.trim().parse::<u64>().ok());
            let (s, e) = (num(cs).ok_or(RangeError::BadCustom)?, num(ce));
            let e = match (e, ce) {
                (Some(e), _) => e,
                (None, None | Some("")) => u64::MAX,
                (None, Some(_)) => return Err(RangeError::BadCustom),
            };
            if s >= e || s == 0 || (e != u64::MAX && e - s > MAX_CUSTOM) {
                return Err(RangeError::BadCustom);
            }
            return Ok(Range::Custom(s, e));
        }
        NAMED
            .iter()
            .find(|(n, _)| *n == r)
            .map(|(n, s)| Range::Named(n, *s))
            .ok_or_else(|| RangeError::Unknown(r.chars().take(40).collect()))
    }

    /// (start, end) epoch seconds at `now` (a custom end in the future is clamped to now).
    pub fn bounds(self, now: u64) -> (u64, u64) {
        match self {
            Range::Named(_, len) => (now.saturating_sub(len), now),
            Range::Custom(s, e) => {
                let e = e.min(now.max(s + 1));
                (s.max(e.saturating_sub(MAX_CUSTOM)), e)
            }
        }
    }

    /// The `r=…[&cs=…&ce=…]` query text for links.
    pub fn query(self) -> String {
        match self {
            Range::Named(n, _) => format!("r={n}"),
            Range::Custom(s, e) if e == u64::MAX => format!("r=custom&cs={s}"),
            Range::Custom(s, e) => format!("r=custom&cs={s}&ce={e}"),
        }
    }

    /// The range's name ("custom" for custom ranges).
    pub fn name(self) -> &'static str {
        match self {
            Range::Named(n, _) => n,
            Range::Custom(..) => "custom",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_custom_and_refused() {
        assert_eq!(
            Range::parse(None, None, None),
            Ok(Range::Named("hour", 3600))
        );
        assert_eq!(
            Range::parse(Some("week"), None, None)
                .unwrap()
                .bounds(1_000_000),
            (1_000_000 - 7 * 86400, 1_000_000)
        );
        let c = Range::parse(Some("custom"), Some("100"), Some("200")).unwrap();
        assert_eq!(c.bounds(1000), (100, 200));
        assert_eq!(c.query(), "r=custom&cs=100&ce=200");
        assert_eq!(
            Range::parse(None, Some("100"), None).unwrap().bounds(500),
            (100, 500)
        );
        assert!(Range::parse(Some("custom"), Some("200"), Some("100")).is_err());
        assert!(Range::parse(Some("custom"), Some("now-1h"), None).is_err());
        assert!(Range::parse(Some("<script>"), None, None).is_err());
    }
}
