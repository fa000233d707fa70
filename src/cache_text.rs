//! The long texts of the build cache's state read back with their UTF-8
//! checked by simdutf8.
//!
//! postcard reads a `String` by checking its bytes with std's
//! `str::from_utf8`, whose fast path is ASCII: on a Chinese text it goes
//! a character at a time. The state of the 10,000-report bench site holds
//! about 300,000 strings, and checking them was 14.6 % of the
//! instructions of a build with nothing changed. The longest and most
//! often Chinese (a report's lead, title, summary, issuer and the like,
//! and its headings) take their text through [`text`] or
//! [`option_text`], which ask a binary format for the bytes (postcard
//! writes a text and bytes alike, so the state's shape is unchanged) and
//! check them with simdutf8: that build went from 1,094 M instructions to
//! 1,000 M (callgrind, `-j 1`), opening the cache from 252 M to 158 M. A
//! human-readable format reads a text as it always does.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Unexpected, Visitor};

/// A `String` field: `#[serde(deserialize_with = "crate::cache_text::text")]`.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    if deserializer.is_human_readable() {
        deserializer.deserialize_string(Text)
    } else {
        deserializer.deserialize_bytes(Text)
    }
}

/// An `Option<String>` field (with [`text`] for its text).
pub fn option_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_option(OptionText)
}

struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        checked(v).ok_or_else(|| E::invalid_value(Unexpected::Bytes(v), &self))
    }
}

/// `bytes` as a text, when they are UTF-8. simdutf8 checks 64 bytes at
/// a time and leaves a shorter text to std; a short text (most headings
/// and titles) is checked padded with zeros to 64 bytes instead. The
/// padded bytes are UTF-8 exactly when the text is: a zero is a character
/// of its own, and no character cut short at the text's end goes on with
/// one. The text is then taken from the padding.
fn checked(bytes: &[u8]) -> Option<String> {
    const CHUNK: usize = 64;
    if bytes.len() >= CHUNK {
        return simdutf8::basic::from_utf8(bytes).ok().map(str::to_owned);
    }
    let mut padded = [0u8; CHUNK];
    padded[..bytes.len()].copy_from_slice(bytes);
    let text = simdutf8::basic::from_utf8(&padded).ok()?;
    text.get(..bytes.len()).map(str::to_owned)
}

struct OptionText;

impl<'de> Visitor<'de> for OptionText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text or nothing")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<String>, D::Error> {
        text(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Texts {
        #[serde(deserialize_with = "super::text")]
        lead: String,
        #[serde(deserialize_with = "super::option_text")]
        summary: Option<String>,
        #[serde(deserialize_with = "super::option_text")]
        none: Option<String>,
        after: u32,
    }

    fn texts() -> Texts {
        Texts {
            lead: "一、总体情况。2023年，区政府坚持以习近平新时代中国特色社会主义思想为指导"
                .repeat(4),
            summary: Some("法治政府建设年度报告 (summary)".to_string()),
            none: None,
            after: 7,
        }
    }

    #[test]
    fn texts_read_back_as_written_in_postcard_and_json() {
        let bytes = postcard::to_stdvec(&texts()).unwrap();
        assert_eq!(postcard::from_bytes::<Texts>(&bytes).unwrap(), texts());
        let json = serde_json::to_string(&texts()).unwrap();
        assert_eq!(serde_json::from_str::<Texts>(&json).unwrap(), texts());
    }

    #[test]
    fn a_text_is_written_as_plain_strings_are() {
        #[derive(serde::Serialize)]
        struct Plain {
            lead: String,
            summary: Option<String>,
            none: Option<String>,
            after: u32,
        }
        let t = texts();
        let plain = Plain {
            lead: t.lead.clone(),
            summary: t.summary.clone(),
            none: None,
            after: 7,
        };
        assert_eq!(
            postcard::to_stdvec(&plain).unwrap(),
            postcard::to_stdvec(&t).unwrap()
        );
    }

    #[test]
    fn a_text_of_any_length_is_checked_as_std_checks_it() {
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"ascii".to_vec(),
            "第一章".as_bytes().to_vec(),
            "标".repeat(21).into_bytes(),
            "标".repeat(22).into_bytes(),
            // A character cut short, at the end and before more text.
            "标题".as_bytes()[..5].to_vec(),
            [&"标题".as_bytes()[..4], b"x"].concat(),
            [&"标".repeat(30).into_bytes()[..89], b"x"].concat(),
            // A stray continuation byte, an overlong form, a surrogate.
            vec![b'a', 0x80],
            vec![0xC0, 0xAF],
            vec![0xED, 0xA0, 0x80],
            // A zero inside the text is a character like any other.
            b"a\0b".to_vec(),
        ];
        for bytes in cases {
            assert_eq!(
                super::checked(&bytes),
                std::str::from_utf8(&bytes).ok().map(str::to_owned),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_text_that_is_not_utf8_is_an_error() {
        let mut bytes = postcard::to_stdvec(&texts()).unwrap();
        // A byte inside the lead's first character.
        let at = bytes.iter().position(|&b| b == 0xE4).unwrap();
        bytes[at + 1] = 0xFF;
        assert!(postcard::from_bytes::<Texts>(&bytes).is_err());
    }
}
