//! Numbers written into strings digit by digit, without `format!`, where a
//! build writes them by the hundred thousand: the paths of QR codes
//! ([`crate::render`]'s share layout) and dates ([`crate::dates`]).
//! `format!` took about two thousand instructions for a date.

/// Appends `n` in decimal digits.
pub fn push_decimal(out: &mut String, n: u64) {
    push_padded(out, n, 1);
}

/// Appends `n` in decimal digits, with zeros before it up to `width`
/// digits (as `format!("{n:0width$}")` does).
pub fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[at.min(digits.len().saturating_sub(width))..] {
        out.push(char::from(digit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_digit_by_digit() {
        let mut out = String::from("M");
        for n in [0, 7, 10, 177, 1_000_305, u64::MAX] {
            push_decimal(&mut out, n);
            out.push(' ');
        }
        assert_eq!(out, "M0 7 10 177 1000305 18446744073709551615 ");
    }

    #[test]
    fn padded_decimals_are_as_format_writes_them() {
        for n in [0, 5, 42, 999, 2022, 10_000, 123_456] {
            for width in 0..8 {
                let mut out = String::new();
                push_padded(&mut out, n, width);
                assert_eq!(out, format!("{n:0width$}"), "{n} in {width}");
            }
        }
    }
}
