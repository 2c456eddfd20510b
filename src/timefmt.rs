//! Time as people read and type it: `HH:MM:SS.mmm` out, `1.5s` / `250ms` / `1m30s` /
//! `00:01:02.5` / plain seconds in.

use crate::video::{NS_PER_MS, NS_PER_SEC};

/// `HH:MM:SS.mmm`.
#[must_use]
pub fn format_hms_ms(time_ns: i64) -> String {
    let sign = if time_ns < 0 { "-" } else { "" };
    let total_ms = time_ns.unsigned_abs() / NS_PER_MS as u64;
    let (h, rem) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    format!("{sign}{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// `HH:MM:SS`, whole seconds (TaskMem's memory blocks and the world's questions).
#[must_use]
pub fn format_clock_ms(time_ms: i64) -> String {
    let total_s = time_ms.max(0) / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        total_s / 3600,
        (total_s / 60) % 60,
        total_s % 60
    )
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot read '{input}' as a time (try 1.5s, 250ms, 2m, 1m30s or 00:01:02.5)")]
pub struct ParseTimeError {
    input: String,
}

/// Parses a time or duration into nanoseconds.
pub fn parse_time_ns(input: &str) -> Result<i64, ParseTimeError> {
    let err = || ParseTimeError {
        input: input.to_owned(),
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(err());
    }
    let seconds_of = |s: &str| -> Result<f64, ParseTimeError> {
        let v: f64 = s.parse().map_err(|_| err())?;
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(err())
        }
    };
    let total_s = if text.contains(':') {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 3 {
            return Err(err());
        }
        let mut total = 0.0;
        for part in parts {
            total = total * 60.0 + seconds_of(part)?;
        }
        total
    } else {
        let mut total = 0.0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(err());
            }
            let value = seconds_of(&rest[..digits])?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "" | "s" => 1.0,
                "ms" => 1e-3,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                _ => return Err(err()),
            };
            total += value * scale;
            rest = &rest[unit_len..];
        }
        total
    };
    Ok((total_s * NS_PER_SEC as f64).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_hours_minutes_seconds_millis() {
        assert_eq!(format_hms_ms(0), "00:00:00.000");
        assert_eq!(format_hms_ms(3_723_004 * NS_PER_MS), "01:02:03.004");
    }

    #[test]
    fn parses_the_forms_people_type() {
        assert_eq!(parse_time_ns("1.5s"), Ok(1_500 * NS_PER_MS));
        assert_eq!(parse_time_ns("12s"), Ok(12 * NS_PER_SEC));
        assert_eq!(parse_time_ns("250ms"), Ok(250 * NS_PER_MS));
        assert_eq!(parse_time_ns("1m30s"), Ok(90 * NS_PER_SEC));
        assert_eq!(parse_time_ns("00:01:02.5"), Ok(62_500 * NS_PER_MS));
        assert_eq!(parse_time_ns("3"), Ok(3 * NS_PER_SEC));
        assert!(parse_time_ns("soon").is_err());
        assert!(parse_time_ns("-1s").is_err());
        assert!(parse_time_ns("").is_err());
    }
}
