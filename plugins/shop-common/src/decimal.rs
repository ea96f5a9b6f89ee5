//! Exact decimal arithmetic for prices: parse the shop's text, apply a
//! percentage (VAT, discount) or subtract an amount, print with two
//! decimals. Floats would turn `199.90` into `199.89999…`.

/// Fixed-point with four decimals: enough to round percentages of
/// two-decimal prices correctly.
const SCALE: i128 = 10_000;

/// A decimal amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal(i128);

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal(0);

    /// Parses `199.90`, `-3`, `1,5` (the decimal comma some Turkish
    /// systems send) or `20.0000`; digits past the fourth decimal are cut.
    /// `None` for anything else (empty, exponents, thousands separators).
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = match digits.split_once(['.', ',']) {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !all_digits(fraction) || whole.len() > 24 {
            return None;
        }
        let mut value: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        value = value.checked_mul(SCALE)?;
        let mut place = SCALE / 10;
        for b in fraction.bytes().take(4) {
            value += i128::from(b - b'0') * place;
            place /= 10;
        }
        Some(Decimal(if negative { -value } else { value }))
    }

    /// `self` increased by `percent` percent (`20` for 20 % VAT), rounded
    /// half away from zero to the fourth decimal.
    #[must_use]
    pub fn plus_percent(self, percent: Decimal) -> Decimal {
        let hundred = 100 * SCALE;
        Decimal(div_round(self.0 * (hundred + percent.0), hundred))
    }

    /// `self` decreased by `percent` percent (a percentage discount).
    #[must_use]
    pub fn minus_percent(self, percent: Decimal) -> Decimal {
        self.plus_percent(Decimal(-percent.0))
    }

    /// `self` minus `other`.
    #[must_use]
    pub fn minus(self, other: Decimal) -> Decimal {
        Decimal(self.0 - other.0)
    }

    /// `self` plus `other`.
    #[must_use]
    pub fn plus(self, other: Decimal) -> Decimal {
        Decimal(self.0 + other.0)
    }

    /// Whether the amount is above zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Two decimals, rounded half away from zero: `199.90`.
    pub fn to_money_string(self) -> String {
        let cents = div_round(self.0, SCALE / 100);
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.abs();
        format!("{sign}{}.{:02}", cents / 100, cents % 100)
    }
}

/// `n / d` rounded half away from zero (`d` > 0).
fn div_round(n: i128, d: i128) -> i128 {
    let half = d / 2;
    if n >= 0 {
        (n + half) / d
    } else {
        (n - half) / d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).expect("decimal")
    }

    #[test]
    fn parses_shop_forms() {
        assert_eq!(d("199.90").to_money_string(), "199.90");
        assert_eq!(d("100").to_money_string(), "100.00");
        assert_eq!(d("1,5").to_money_string(), "1.50");
        assert_eq!(d("-3.005").to_money_string(), "-3.01");
        assert_eq!(d("20.0000").to_money_string(), "20.00");
        assert_eq!(d(".5").to_money_string(), "0.50");
        for bad in ["", "-", "1e3", "1.000,00", "abc", "1.2.3"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn applies_percentages_exactly() {
        assert_eq!(d("100").plus_percent(d("20")).to_money_string(), "120.00");
        assert_eq!(d("83.33").plus_percent(d("20")).to_money_string(), "100.00");
        assert_eq!(d("250").minus_percent(d("10")).to_money_string(), "225.00");
        assert_eq!(d("19.99").plus_percent(d("8")).to_money_string(), "21.59");
        assert_eq!(d("100").minus(d("15.5")).to_money_string(), "84.50");
        assert!(d("0.01").is_positive() && !Decimal::ZERO.is_positive());
    }
}
