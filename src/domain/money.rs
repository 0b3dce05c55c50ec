//! Exact money: integer minor units (cents). JSON carries prices as numbers
//! with at most two decimals; they are parsed through their shortest decimal
//! text, so 0.29 is 29 cents exactly and sums never drift.

use std::fmt;

/// The largest accepted amount: 1,000,000,000,000.00.
const MAX_CENTS: i64 = 100_000_000_000_000;

/// An amount of money in cents, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i64);

/// Why a number is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// NaN, infinite or negative.
    #[error("must be a non-negative number")]
    Negative,
    /// More than two decimals.
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    /// Over the maximum.
    #[error("must be at most 1000000000000")]
    TooLarge,
}

impl Money {
    /// Parses a JSON number such as `19.99`.
    pub fn from_f64(value: f64) -> Result<Self, MoneyError> {
        if !value.is_finite() || value < 0.0 {
            return Err(MoneyError::Negative);
        }
        // `Display` for f64 prints the shortest text that reads back as the
        // same number, in plain notation: exactly what the client wrote.
        let text = value.to_string();
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        if fraction.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::TooLarge)?;
        let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
        let cents = whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(fraction))
            .filter(|c| *c <= MAX_CENTS)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self(cents))
    }

    /// An amount from stored cents.
    pub fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// The amount as a JSON number with at most two decimals.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Rounds an average in cents (as SQL computes it) to a JSON amount.
    pub fn average_to_f64(cents: f64) -> f64 {
        (cents.round()) / 100.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(Money::from_f64(0.29).unwrap().cents(), 29);
        assert_eq!(Money::from_f64(19.99).unwrap().cents(), 1999);
        assert_eq!(Money::from_f64(1500000.0).unwrap().cents(), 150_000_000);
        assert_eq!(
            Money::from_f64(0.1).unwrap().cents() + Money::from_f64(0.2).unwrap().cents(),
            30
        );
        assert_eq!(Money::from_cents(30).to_f64(), 0.3);
        assert_eq!(Money::from_cents(30).to_string(), "0.30");
    }

    #[test]
    fn refuses_what_is_not_money() {
        assert_eq!(Money::from_f64(-1.0), Err(MoneyError::Negative));
        assert_eq!(Money::from_f64(f64::NAN), Err(MoneyError::Negative));
        assert_eq!(Money::from_f64(1.005), Err(MoneyError::TooPrecise));
        assert_eq!(Money::from_f64(1e-7), Err(MoneyError::TooPrecise));
        assert_eq!(Money::from_f64(1e13), Err(MoneyError::TooLarge));
    }
}
