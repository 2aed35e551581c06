//! Go's `strconv.ParseInt(s, base, 64)`, which jsonnetd's `parseInt` calls: same accepted
//! syntax (sign, base prefixes and `_` separators for base 0, digits and letters up to
//! base 36), same results and the same error texts, which reach the hook's error message.

use std::fmt;

/// Why a string is not an int64, worded as Go's `*strconv.NumError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumError {
    /// The input as given, sign included.
    pub input: String,
    pub kind: NumErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumErrorKind {
    Syntax,
    Range,
    Base(i64),
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "strconv.ParseInt: parsing {}: ", go_quote(&self.input))?;
        match self.kind {
            NumErrorKind::Syntax => f.write_str("invalid syntax"),
            NumErrorKind::Range => f.write_str("value out of range"),
            NumErrorKind::Base(base) => write!(f, "invalid base {base}"),
        }
    }
}

/// `strconv.ParseInt(input, base, 64)`.
pub fn parse_int(input: &str, base: i64) -> Result<i64, NumError> {
    let error = |kind| NumError {
        input: input.to_string(),
        kind,
    };
    let (negative, unsigned) = match input.as_bytes().first() {
        Some(b'+') => (false, &input[1..]),
        Some(b'-') => (true, &input[1..]),
        _ => (false, input),
    };
    let magnitude = match parse_uint(unsigned, base) {
        Ok(magnitude) => magnitude,
        // Go keeps parsing to report a range error with the signed limits below.
        Err(NumErrorKind::Range) => u64::MAX,
        Err(kind) => return Err(error(kind)),
    };
    let limit = 1u64 << 63;
    if negative {
        match magnitude {
            m if m > limit => Err(error(NumErrorKind::Range)),
            m if m == limit => Ok(i64::MIN),
            // `m < 2^63`, so it fits and its negation does too.
            m => Ok(-i64::try_from(m).map_err(|_| error(NumErrorKind::Range))?),
        }
    } else {
        i64::try_from(magnitude).map_err(|_| error(NumErrorKind::Range))
    }
}

/// `strconv.ParseUint(text, base, 64)` without the sign handling; errors carry only the
/// kind, [`parse_int`] adds the input.
fn parse_uint(text: &str, base: i64) -> Result<u64, NumErrorKind> {
    if text.is_empty() {
        return Err(NumErrorKind::Syntax);
    }
    let bytes = text.as_bytes();
    let base_zero = base == 0;
    let (base, digits): (u64, &[u8]) = match base {
        2..=36 => (base.unsigned_abs(), bytes),
        0 => match bytes {
            [b'0', prefix, rest @ ..] if !rest.is_empty() && prefix.eq_ignore_ascii_case(&b'b') => {
                (2, rest)
            }
            [b'0', prefix, rest @ ..] if !rest.is_empty() && prefix.eq_ignore_ascii_case(&b'o') => {
                (8, rest)
            }
            [b'0', prefix, rest @ ..] if !rest.is_empty() && prefix.eq_ignore_ascii_case(&b'x') => {
                (16, rest)
            }
            [b'0', rest @ ..] => (8, rest),
            _ => (10, bytes),
        },
        other => return Err(NumErrorKind::Base(other)),
    };
    let mut underscores = false;
    let mut value: u64 = 0;
    for &byte in digits {
        let digit = match byte {
            b'_' if base_zero => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(byte - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u64::from(byte.to_ascii_lowercase() - b'a') + 10,
            _ => return Err(NumErrorKind::Syntax),
        };
        if digit >= base {
            return Err(NumErrorKind::Syntax);
        }
        value = value
            .checked_mul(base)
            .and_then(|value| value.checked_add(digit))
            .ok_or(NumErrorKind::Range)?;
    }
    if underscores && !underscores_ok(text) {
        return Err(NumErrorKind::Syntax);
    }
    Ok(value)
}

/// Go's rule for `_` (base 0 only): only between digits, or between the base prefix and a
/// digit.
fn underscores_ok(text: &str) -> bool {
    #[derive(PartialEq)]
    enum Saw {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let bytes = text.as_bytes();
    let mut saw = Saw::Start;
    let mut index = 0;
    let mut hex = false;
    if bytes.len() >= 2
        && bytes[0] == b'0'
        && matches!(bytes[1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        index = 2;
        saw = Saw::Digit; // the prefix counts as a digit
        hex = bytes[1].eq_ignore_ascii_case(&b'x');
    }
    for &byte in &bytes[index..] {
        if byte.is_ascii_digit() || (hex && byte.is_ascii_hexdigit()) {
            saw = Saw::Digit;
        } else if byte == b'_' {
            if saw != Saw::Digit {
                return false;
            }
            saw = Saw::Underscore;
        } else {
            if saw == Saw::Underscore {
                return false;
            }
            saw = Saw::Other;
        }
    }
    saw != Saw::Underscore
}

/// Go's `strconv.Quote` for the inputs that reach messages: printable characters as they
/// are, the usual escapes, `\xNN` for other control bytes and `\uNNNN` for other
/// non-printable characters.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: &str, base: i64) -> String {
        parse_int(input, base).expect_err("an error").to_string()
    }

    #[test]
    fn decimal_and_other_bases() {
        assert_eq!(parse_int("42", 10), Ok(42));
        assert_eq!(parse_int("+42", 10), Ok(42));
        assert_eq!(parse_int("-42", 10), Ok(-42));
        assert_eq!(parse_int("007", 10), Ok(7));
        assert_eq!(parse_int("ff", 16), Ok(255));
        assert_eq!(parse_int("FF", 16), Ok(255));
        assert_eq!(parse_int("-101", 2), Ok(-5));
        assert_eq!(parse_int("zz", 36), Ok(1295));
        assert_eq!(parse_int("9223372036854775807", 10), Ok(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808", 10), Ok(i64::MIN));
    }

    #[test]
    fn base_zero_reads_prefixes_and_underscores() {
        assert_eq!(parse_int("0x1f", 0), Ok(31));
        assert_eq!(parse_int("0X1F", 0), Ok(31));
        assert_eq!(parse_int("0b101", 0), Ok(5));
        assert_eq!(parse_int("0o17", 0), Ok(15));
        assert_eq!(parse_int("017", 0), Ok(15));
        assert_eq!(parse_int("0", 0), Ok(0));
        assert_eq!(parse_int("-0x10", 0), Ok(-16));
        assert_eq!(parse_int("1_000", 0), Ok(1000));
        assert_eq!(parse_int("0x_1f", 0), Ok(31));
        for bad in ["1__0", "_1", "1_", "0x", "08", "0b2"] {
            assert!(parse_int(bad, 0).is_err(), "{bad}");
        }
        // Underscores only with base 0.
        assert_eq!(
            message("1_000", 10),
            r#"strconv.ParseInt: parsing "1_000": invalid syntax"#
        );
    }

    #[test]
    fn errors_are_worded_as_go_words_them() {
        assert_eq!(
            message("abc", 10),
            r#"strconv.ParseInt: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            message("", 10),
            r#"strconv.ParseInt: parsing "": invalid syntax"#
        );
        assert_eq!(
            message("-", 10),
            r#"strconv.ParseInt: parsing "-": invalid syntax"#
        );
        assert_eq!(
            message(" 1", 10),
            r#"strconv.ParseInt: parsing " 1": invalid syntax"#
        );
        assert_eq!(
            message("1.5", 10),
            r#"strconv.ParseInt: parsing "1.5": invalid syntax"#
        );
        assert_eq!(
            message("9223372036854775808", 10),
            r#"strconv.ParseInt: parsing "9223372036854775808": value out of range"#
        );
        assert_eq!(
            message("-9223372036854775809", 10),
            r#"strconv.ParseInt: parsing "-9223372036854775809": value out of range"#
        );
        assert_eq!(
            message("99999999999999999999999", 10),
            r#"strconv.ParseInt: parsing "99999999999999999999999": value out of range"#
        );
        assert_eq!(
            message("12", 1),
            r#"strconv.ParseInt: parsing "12": invalid base 1"#
        );
        assert_eq!(
            message("12", 37),
            r#"strconv.ParseInt: parsing "12": invalid base 37"#
        );
        assert_eq!(
            message("a\"b\n", 10),
            r#"strconv.ParseInt: parsing "a\"b\n": invalid syntax"#
        );
    }
}
