//! The share layout: a QR code of a report's address drawn at build time
//! (扫一扫在手机打开当前页 — WeChat cannot read share cards from a static
//! site, but it reads QR codes), share links that are plain links (no
//! script, font or tracker of theirs is ever loaded), and the Open Graph,
//! Twitter card and JSON-LD data share previews are made from.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use qrcode::EcLevel;
use qrcode::canvas::{Canvas, MaskPattern};
use serde::Serialize;

use crate::config::ShareTarget;

/// Characters kept as they are in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn q(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// A share link, ready for a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShareLink {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
}

/// The link that shares `url` with `title` (and `summary`) to `target`.
pub fn share_link(
    target: ShareTarget,
    url: &str,
    title: &str,
    summary: &str,
    site: &str,
) -> ShareLink {
    let (key, label, href) = match target {
        ShareTarget::Weibo => (
            "weibo",
            "微博",
            format!(
                "https://service.weibo.com/share/share.php?url={}&title={}",
                q(url),
                q(title)
            ),
        ),
        ShareTarget::Qq => (
            "qq",
            "QQ",
            format!(
                "https://connect.qq.com/widget/shareqq/index.html?url={}&title={}&summary={}",
                q(url),
                q(title),
                q(summary)
            ),
        ),
        ShareTarget::Qzone => (
            "qzone",
            "QQ空间",
            format!(
                "https://sns.qzone.qq.com/cgi-bin/qzshare/cgi_qzshare_onekey?url={}&title={}&summary={}&site={}",
                q(url),
                q(title),
                q(summary),
                q(site)
            ),
        ),
        ShareTarget::Email => (
            "email",
            "Email",
            format!("mailto:?subject={}&body={}", q(title), q(url)),
        ),
        ShareTarget::X => (
            "x",
            "X",
            format!(
                "https://twitter.com/intent/tweet?url={}&text={}",
                q(url),
                q(title)
            ),
        ),
        ShareTarget::Facebook => (
            "facebook",
            "Facebook",
            format!("https://www.facebook.com/sharer/sharer.php?u={}", q(url)),
        ),
        ShareTarget::Linkedin => (
            "linkedin",
            "LinkedIn",
            format!(
                "https://www.linkedin.com/sharing/share-offsite/?url={}",
                q(url)
            ),
        ),
    };
    ShareLink { key, label, href }
}

/// A QR code of `text` as an inline SVG element, with a quiet zone of four
/// modules, labelled for screen readers. `None` when `text` is too long for
/// a QR code (over about 2,300 bytes).
pub fn qr_svg(text: &str, label: &str) -> Option<String> {
    // Drawn as `QrCode::with_error_correction_level` does, but with one
    // fixed mask instead of scoring all eight: any mask is valid for every
    // reader, and the scoring was a seventh of a large site's build time.
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M).ok()?;
    let version = bits.version();
    let (data, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).ok()?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    canvas.apply_mask(MaskPattern::Checkerboard);
    let width = usize::try_from(version.width()).ok()?;
    let colors = canvas.into_colors();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::with_capacity(width * width);
    for y in 0..width {
        let row = &colors[y * width..(y + 1) * width];
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < width && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                // "M{x} {y}h{run}v1h-{run}z", without `format!`: a
                // report's code has hundreds of runs, and formatting them
                // was most of the time its QR code took.
                let run = x - start;
                path.push('M');
                push_decimal(&mut path, start + quiet);
                path.push(' ');
                push_decimal(&mut path, y + quiet);
                path.push('h');
                push_decimal(&mut path, run);
                path.push_str("v1h-");
                push_decimal(&mut path, run);
                path.push('z');
            } else {
                x += 1;
            }
        }
    }
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr-code\" viewBox=\"0 0 {size} {size}\" width=\"160\" height=\"160\" \
         role=\"img\" aria-label=\"{label}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// Appends `n` in decimal digits.
fn push_decimal(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(digit as char);
    }
}

/// What Open Graph and Twitter card tags say about a page.
#[derive(Clone, Debug, Serialize)]
pub struct SocialMeta {
    pub url: String,
    pub title: String,
    pub description: String,
    pub site_name: String,
    /// `zh_CN`, `en_US`.
    pub locale: &'static str,
    pub image: Option<String>,
    pub image_alt: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub section: String,
    pub tags: Vec<String>,
    /// `summary_large_image` with an image, else `summary`.
    pub twitter_card: &'static str,
    pub twitter_site: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_links_encode_chinese_titles_and_urls() {
        let link = share_link(
            ShareTarget::Weibo,
            "https://a.gov.cn/新闻/?x=1",
            "关于“双减”的通知 & 说明",
            "",
            "站",
        );
        assert_eq!(
            link.href,
            "https://service.weibo.com/share/share.php?url=https%3A%2F%2Fa.gov.cn%2F%E6%96%B0%E9%97%BB%2F%3Fx%3D1&title=%E5%85%B3%E4%BA%8E%E2%80%9C%E5%8F%8C%E5%87%8F%E2%80%9D%E7%9A%84%E9%80%9A%E7%9F%A5%20%26%20%E8%AF%B4%E6%98%8E"
        );
        assert!(
            share_link(ShareTarget::Email, "https://a.gov.cn/", "t", "", "")
                .href
                .starts_with("mailto:?subject=t&body=https%3A")
        );
    }

    #[test]
    fn decimals_are_written_digit_by_digit() {
        let mut out = String::from("M");
        for n in [0, 7, 10, 177, 1_000_305] {
            push_decimal(&mut out, n);
            out.push(' ');
        }
        assert_eq!(out, "M0 7 10 177 1000305 ");
    }

    #[test]
    fn qr_codes_are_inline_svg_with_a_label() {
        let svg = qr_svg("https://www.example.gov.cn/suicheng/", "二维码").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("aria-label=\"二维码\""));
        assert!(
            svg.contains("<path fill=\"#000\" d=\"M4 4h7v1h-7z"),
            "the finder pattern starts the first row: {svg}"
        );
        assert!(qr_svg(&"x".repeat(5000), "").is_none());
    }
}
