//! Publication dates as government pages state them.
//!
//! A [`Timestamp`] is what a report's `date_published` says: a calendar date,
//! optionally a time of day and a UTC offset. It keeps how precise the source
//! was, so a report published "2022-12-24" is shown as that, never with an
//! invented `00:00`. A [`CalendarDate`] is a plain date such as the 成文日期.
//!
//! Accepted forms are the ones real content uses, including exports from
//! Hugo, Jekyll and WordPress: `2022-12-24`, `2022/12/24`, `2022-12-24 09:30`,
//! `2022-12-24T09:30:00`, `2023-01-18 14:18:00 -0500`,
//! `2015-06-29 1:00:19 -0400` and RFC 3339 (`2022-12-24T09:30:00+08:00`,
//! `…Z`). A time without an offset is in the site's time zone.

use std::fmt;

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};

use crate::decimal::push_padded;

/// How much of a timestamp the source gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Date,
    Minute,
    Second,
}

/// A publication time as the source stated it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    local: NaiveDateTime,
    offset: FixedOffset,
    precision: Precision,
}

/// A calendar date with no time of day (成文日期, 实施日期).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalendarDate(NaiveDate);

/// Why a date could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateError(pub String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parser over the characters of one date string.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let len = self
            .rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if len < min {
            return None;
        }
        let (number, rest) = self.rest.split_at(len);
        self.rest = rest;
        number.parse().ok()
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn eat_any(&mut self, chars: &[char]) -> Option<char> {
        let c = self.rest.chars().next().filter(|c| chars.contains(c))?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }
}

const EXPECTED_FORMS: &str =
    "write it as 2022-12-24, 2022-12-24 09:30 or 2022-12-24T09:30:00+08:00";

fn parse_date(cursor: &mut Cursor<'_>, text: &str) -> Result<NaiveDate, DateError> {
    let bad = || DateError(format!("`{text}` is not a date; {EXPECTED_FORMS}"));
    let year = cursor.digits(4, 4).ok_or_else(bad)?;
    let separator = cursor.eat_any(&['-', '/']).ok_or_else(bad)?;
    let month = cursor.digits(1, 2).ok_or_else(bad)?;
    if !cursor.eat(separator) {
        return Err(bad());
    }
    let day = cursor.digits(1, 2).ok_or_else(bad)?;
    NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| DateError(format!("`{text}` is not a day of the calendar")))
}

/// `2022-12-08`. Written out by hand, digit by digit: `chrono`'s `format`
/// reads its pattern again at every call, `format!` took two thousand
/// instructions a date, and a build writes dozens of dates a report (its
/// pages, the catalogue's rows, feeds, the sitemap).
fn iso_day(date: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    push_iso_day(&mut out, date);
    out
}

/// Appends [`iso_day`] of `date` to `out`. The year is of four digits
/// ([`parse_date`] reads no other).
fn push_iso_day(out: &mut String, date: NaiveDate) {
    push_year(out, date.year(), 4);
    out.push('-');
    push_padded(out, u64::from(date.month()), 2);
    out.push('-');
    push_padded(out, u64::from(date.day()), 2);
}

/// Appends `year` with zeros before it up to `width` digits; one before
/// year 0 (a Unix time far off) as `format!` writes it.
fn push_year(out: &mut String, year: i32, width: usize) {
    match u32::try_from(year) {
        Ok(year) => push_padded(out, year.into(), width),
        Err(_) => out.push_str(&format!("{year:0width$}")),
    }
}

/// Appends a UTC offset as `chrono` shows it: `+08:00`, `-05:00`, and
/// `+05:30:15` where it has seconds.
fn push_offset(out: &mut String, offset: FixedOffset) {
    let seconds = offset.local_minus_utc();
    out.push(if seconds < 0 { '-' } else { '+' });
    let seconds = seconds.unsigned_abs();
    push_padded(out, u64::from(seconds / 3600), 2);
    out.push(':');
    push_padded(out, u64::from(seconds / 60 % 60), 2);
    if !seconds.is_multiple_of(60) {
        out.push(':');
        push_padded(out, u64::from(seconds % 60), 2);
    }
}

/// How [`Timestamp`]s and [`CalendarDate`]s are kept in the build cache
/// (`crate::disk_cache`): as numbers, the date as days since 1 January of
/// year 1.
impl serde::Serialize for CalendarDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.0.num_days_from_ce())
    }
}

impl<'de> serde::Deserialize<'de> for CalendarDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let days = i32::deserialize(d)?;
        NaiveDate::from_num_days_from_ce_opt(days)
            .map(CalendarDate)
            .ok_or_else(|| serde::de::Error::custom("a day out of range"))
    }
}

/// A [`Timestamp`] as the cache keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTimestamp {
    day: CalendarDate,
    second: u32,
    nano: u32,
    offset: i32,
    precision: u8,
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredTimestamp {
            day: CalendarDate(self.local.date()),
            second: self.local.time().num_seconds_from_midnight(),
            nano: self.local.time().nanosecond(),
            offset: self.offset.local_minus_utc(),
            precision: self.precision as u8,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let t = StoredTimestamp::deserialize(d)?;
        let time = NaiveTime::from_num_seconds_from_midnight_opt(t.second, t.nano)
            .ok_or_else(|| D::Error::custom("a time out of range"))?;
        let offset =
            FixedOffset::east_opt(t.offset).ok_or_else(|| D::Error::custom("a bad offset"))?;
        let precision = match t.precision {
            0 => Precision::Date,
            1 => Precision::Minute,
            2 => Precision::Second,
            _ => return Err(D::Error::custom("a bad precision")),
        };
        Ok(Timestamp {
            local: t.day.0.and_time(time),
            offset,
            precision,
        })
    }
}

impl CalendarDate {
    pub fn parse(text: &str) -> Result<CalendarDate, DateError> {
        let text = text.trim();
        let mut cursor = Cursor { rest: text };
        let date = parse_date(&mut cursor, text)?;
        if !cursor.rest.is_empty() {
            return Err(DateError(format!(
                "`{text}` has more than a date; write just the day, e.g. 2022-12-08"
            )));
        }
        Ok(CalendarDate(date))
    }

    /// `2022-12-08`, the form of catalogues and machine-readable data.
    pub fn iso(&self) -> String {
        iso_day(self.0)
    }

    /// `2022年12月8日`: Arabic numerals, full year, no zero padding
    /// (GB/T 9704-2012 7.3.5.4).
    ///
    /// ```
    /// use gazette::dates::CalendarDate;
    /// assert_eq!(CalendarDate::parse("2022-12-08").unwrap().chinese(), "2022年12月8日");
    /// ```
    pub fn chinese(&self) -> String {
        let mut out = String::with_capacity(17);
        push_year(&mut out, self.0.year(), 1);
        out.push('年');
        push_padded(&mut out, u64::from(self.0.month()), 1);
        out.push('月');
        push_padded(&mut out, u64::from(self.0.day()), 1);
        out.push('日');
        out
    }

    /// `8 December 2022`, the GOV.UK style.
    pub fn english(&self) -> String {
        self.0.format("%-d %B %Y").to_string()
    }

    pub fn year(&self) -> i32 {
        self.0.year()
    }
}

impl Timestamp {
    /// Reads a timestamp; a time without an offset is taken to be in `zone`.
    pub fn parse(text: &str, zone: FixedOffset) -> Result<Timestamp, DateError> {
        let text = text.trim();
        let mut cursor = Cursor { rest: text };
        let date = parse_date(&mut cursor, text)?;
        if cursor.rest.is_empty() {
            return Ok(Timestamp {
                local: date.and_time(NaiveTime::MIN),
                offset: zone,
                precision: Precision::Date,
            });
        }
        let bad_time = || {
            DateError(format!(
                "`{text}` has a time that cannot be read; {EXPECTED_FORMS}"
            ))
        };
        if cursor.eat_any(&['T', 't', ' ']).is_none() {
            return Err(bad_time());
        }
        while cursor.eat(' ') {}
        let hour = cursor.digits(1, 2).ok_or_else(bad_time)?;
        if !cursor.eat(':') {
            return Err(bad_time());
        }
        let minute = cursor.digits(2, 2).ok_or_else(bad_time)?;
        let (second, precision) = if cursor.eat(':') {
            let second = cursor.digits(2, 2).ok_or_else(bad_time)?;
            if cursor.eat('.') {
                cursor.digits(1, 9).ok_or_else(bad_time)?;
            }
            (second, Precision::Second)
        } else {
            (0, Precision::Minute)
        };
        let time = NaiveTime::from_hms_opt(hour, minute, second)
            .ok_or_else(|| DateError(format!("`{text}` is not a time of day")))?;
        while cursor.eat(' ') {}
        let offset = if cursor.rest.is_empty() {
            zone
        } else if cursor.eat_any(&['Z', 'z']).is_some() {
            FixedOffset::east_opt(0).expect("zero offset")
        } else {
            let sign = match cursor.eat_any(&['+', '-']) {
                Some('+') => 1,
                Some(_) => -1,
                None => return Err(bad_time()),
            };
            let hours = cursor.digits(2, 2).ok_or_else(bad_time)?;
            cursor.eat(':');
            let minutes = cursor.digits(2, 2).ok_or_else(bad_time)?;
            FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60) as i32)
                .ok_or_else(bad_time)?
        };
        if !cursor.rest.is_empty() {
            return Err(bad_time());
        }
        Ok(Timestamp {
            local: date.and_time(time),
            offset,
            precision,
        })
    }

    pub fn date(&self) -> CalendarDate {
        CalendarDate(self.local.date())
    }

    /// The moment `seconds` after the Unix epoch, shown in `zone`: the build
    /// clock, which only checks use (it never reaches the output).
    pub fn from_unix(seconds: i64, zone: FixedOffset) -> Option<Timestamp> {
        let utc = chrono::DateTime::from_timestamp(seconds, 0)?;
        Some(Timestamp {
            local: utc.with_timezone(&zone).naive_local(),
            offset: zone,
            precision: Precision::Second,
        })
    }

    /// Seconds since the Unix epoch: the order of publication.
    pub fn instant(&self) -> i64 {
        self.offset
            .from_local_datetime(&self.local)
            .single()
            .map(|t| t.timestamp())
            .unwrap_or_else(|| self.local.and_utc().timestamp())
    }

    /// `2022-12-24 09:30` or `2022-12-24`: the 发布时间 form of the
    /// government web page norms, in the time zone the source gave.
    pub fn display(&self) -> String {
        match self.precision {
            Precision::Date => iso_day(self.local.date()),
            _ => {
                let mut out = String::with_capacity(16);
                push_iso_day(&mut out, self.local.date());
                out.push(' ');
                push_padded(&mut out, u64::from(self.local.hour()), 2);
                out.push(':');
                push_padded(&mut out, u64::from(self.local.minute()), 2);
                out
            }
        }
    }

    /// ISO 8601 for `<time datetime>`, meta tags and feeds: a bare date
    /// stays a bare date, a time carries its offset.
    pub fn iso(&self) -> String {
        match self.precision {
            Precision::Date => iso_day(self.local.date()),
            _ => self.rfc3339(),
        }
    }

    pub fn year(&self) -> i32 {
        self.local.year()
    }

    /// A full RFC 3339 date-time, as Atom feeds require: a bare date is the
    /// start of that day in its zone.
    pub fn rfc3339(&self) -> String {
        let t = self.local.time();
        let mut out = String::with_capacity(25);
        push_iso_day(&mut out, self.local.date());
        out.push('T');
        push_padded(&mut out, u64::from(t.hour()), 2);
        out.push(':');
        push_padded(&mut out, u64::from(t.minute()), 2);
        out.push(':');
        push_padded(&mut out, u64::from(t.second()), 2);
        push_offset(&mut out, self.offset);
        out
    }
}

/// Reads a UTC offset such as `+08:00` or `-0500`.
pub fn parse_offset(text: &str) -> Result<FixedOffset, DateError> {
    let bad = || {
        DateError(format!(
            "`{text}` is not a UTC offset; write it like +08:00 or -05:00"
        ))
    };
    let mut cursor = Cursor { rest: text.trim() };
    let sign = match cursor.eat_any(&['+', '-']).ok_or_else(bad)? {
        '+' => 1,
        _ => -1,
    };
    let hours = cursor.digits(2, 2).ok_or_else(bad)?;
    cursor.eat(':');
    let minutes = cursor.digits(2, 2).ok_or_else(bad)?;
    if !cursor.rest.is_empty() || hours > 14 || minutes > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60) as i32).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dates written by hand are those `format!` writes, over every
    /// day of four centuries, every offset chrono allows and times of day.
    #[test]
    fn dates_are_written_as_format_writes_them() {
        let mut day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        while day.year() < 2300 {
            let date = CalendarDate(day);
            let expected = format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
            assert_eq!(date.iso(), expected);
            let chinese = format!("{}年{}月{}日", day.year(), day.month(), day.day());
            assert_eq!(date.chinese(), chinese);
            day = day.succ_opt().unwrap();
        }
        for year in [0, 7, 99, 999, 9999, 10000, 262142, -1, -262143] {
            let day = NaiveDate::from_ymd_opt(year, 3, 4).unwrap();
            assert_eq!(iso_day(day), format!("{:04}-03-04", year), "{year}");
            assert_eq!(CalendarDate(day).chinese(), format!("{year}年3月4日"));
        }
        for seconds in -86_399..86_400 {
            let offset = FixedOffset::east_opt(seconds).unwrap();
            let mut out = String::new();
            push_offset(&mut out, offset);
            assert_eq!(out, offset.to_string(), "{seconds}");
        }
        for (hour, minute, second) in [(0, 0, 0), (9, 5, 7), (23, 59, 59), (12, 30, 0)] {
            let local = NaiveDate::from_ymd_opt(2022, 12, 24)
                .unwrap()
                .and_hms_opt(hour, minute, second)
                .unwrap();
            let t = Timestamp {
                local,
                offset: beijing(),
                precision: Precision::Second,
            };
            let expected = format!("2022-12-24T{hour:02}:{minute:02}:{second:02}+08:00");
            assert_eq!(t.rfc3339(), expected);
            assert_eq!(t.display(), format!("2022-12-24 {hour:02}:{minute:02}"));
        }
    }

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn accepts_the_forms_real_content_uses() {
        let cases = [
            ("2022-12-24", "2022-12-24", "2022-12-24"),
            ("2022/12/24", "2022-12-24", "2022-12-24"),
            (
                "2022-12-24 09:30",
                "2022-12-24 09:30",
                "2022-12-24T09:30:00+08:00",
            ),
            (
                "2022-12-24T09:30:15",
                "2022-12-24 09:30",
                "2022-12-24T09:30:15+08:00",
            ),
            (
                "2023-01-18 14:18:00 -0500",
                "2023-01-18 14:18",
                "2023-01-18T14:18:00-05:00",
            ),
            (
                "2015-06-29 1:00:19 -0400",
                "2015-06-29 01:00",
                "2015-06-29T01:00:19-04:00",
            ),
            (
                "2022-12-24T01:30:00Z",
                "2022-12-24 01:30",
                "2022-12-24T01:30:00+00:00",
            ),
            (
                "2022-12-24T09:30:00.123+08:00",
                "2022-12-24 09:30",
                "2022-12-24T09:30:00+08:00",
            ),
        ];
        for (input, display, iso) in cases {
            let t = Timestamp::parse(input, beijing()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(t.display(), display, "{input}");
            assert_eq!(t.iso(), iso, "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for input in [
            "",
            "24/12/2022",
            "2022-13-01",
            "2022-02-30",
            "2022-12-24 25:00",
            "yesterday",
            "2022-12-24 09:30 PST",
        ] {
            assert!(Timestamp::parse(input, beijing()).is_err(), "{input}");
        }
    }

    #[test]
    fn orders_by_instant_across_offsets() {
        let a = Timestamp::parse("2022-12-24 09:00 +08:00", beijing()).unwrap();
        let b = Timestamp::parse("2022-12-24 02:00Z", beijing()).unwrap();
        assert!(a.instant() < b.instant());
    }

    #[test]
    fn chinese_date_has_no_zero_padding() {
        assert_eq!(
            CalendarDate::parse("2022-12-08").unwrap().chinese(),
            "2022年12月8日"
        );
        assert_eq!(
            CalendarDate::parse("2022-01-05").unwrap().english(),
            "5 January 2022"
        );
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+08:00").unwrap(), beijing());
        assert_eq!(parse_offset("-0500").unwrap().local_minus_utc(), -5 * 3600);
        assert!(parse_offset("8").is_err());
    }
}
