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
use crate::decimal::push_decimal;

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
    let (width, dark) = qr_modules(text)?;
    let quiet = 4;
    let size = width + 2 * quiet;
    let path = qr_path(width, &dark, quiet);
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr-code\" viewBox=\"0 0 {size} {size}\" width=\"160\" height=\"160\" \
         role=\"img\" aria-label=\"{label}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path stroke=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// The modules of the QR code of `text`: its width, and row after row
/// whether each module is dark.
fn qr_modules(text: &str) -> Option<(usize, Vec<bool>)> {
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
    let dark = canvas
        .into_colors()
        .into_iter()
        .map(|color| color == qrcode::Color::Dark)
        .collect();
    Some((width, dark))
}

/// The path of the dark modules, `quiet` modules in from the corner: each
/// run of dark modules in a row is a line one module thick through the
/// middle of the row (`stroke-width` 1, butt ends, so it covers exactly
/// those modules), the first of a row placed (`M4 4.5h7`) and the rest
/// moved to from the end of the one before (`m3 0h4`). Half the bytes of a
/// filled rectangle per run (`M14 4h4v1h-4z`), in every report page and
/// share page.
fn qr_path(width: usize, dark: &[bool], quiet: usize) -> String {
    let mut path = String::with_capacity(width * width / 2);
    for (y, row) in dark.chunks(width).enumerate() {
        // Where the last run of this row ended, once there was one.
        let mut end = None;
        let mut x = 0;
        while x < width {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] {
                x += 1;
            }
            // Without `format!`: a report's code has hundreds of runs, and
            // formatting them was most of the time its QR code took.
            match end {
                None => {
                    path.push('M');
                    push_decimal(&mut path, (start + quiet) as u64);
                    path.push(' ');
                    push_decimal(&mut path, (y + quiet) as u64);
                    path.push_str(".5");
                }
                Some(end) => {
                    path.push('m');
                    push_decimal(&mut path, (start - end) as u64);
                    path.push_str(" 0");
                }
            }
            path.push('h');
            push_decimal(&mut path, (x - start) as u64);
            end = Some(x);
        }
    }
    path
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

    /// The modules a path covers: each line's row and columns, read back
    /// as an SVG renderer draws them.
    fn covered(path: &str, size: usize) -> Vec<bool> {
        let mut grid = vec![false; size * size];
        let (mut x, mut y) = (0.0f64, 0.0f64);
        let mut rest = path;
        while let Some(command) = rest.chars().next() {
            rest = &rest[1..];
            let end = rest.find(['M', 'm', 'h']).unwrap_or(rest.len());
            let numbers: Vec<f64> = rest[..end].split(' ').map(|n| n.parse().unwrap()).collect();
            rest = &rest[end..];
            match command {
                'M' => (x, y) = (numbers[0], numbers[1]),
                'm' => (x, y) = (x + numbers[0], y + numbers[1]),
                'h' => {
                    assert_eq!(y.fract(), 0.5, "a line through the middle of a row");
                    for column in x as usize..(x + numbers[0]) as usize {
                        grid[(y - 0.5) as usize * size + column] = true;
                    }
                    x += numbers[0];
                }
                _ => unreachable!("{command}"),
            }
        }
        grid
    }

    #[test]
    fn the_qr_path_covers_exactly_the_dark_modules() {
        for text in [
            "https://www.example.gov.cn/suicheng/",
            "https://example.gov.cn/portal/xxgk/fdzdgknr/tzgg/%E5%85%B3%E4%BA%8E%E5%BC%80%E5%B1%95/",
            "x",
        ] {
            let (width, dark) = qr_modules(text).unwrap();
            let quiet = 4;
            let size = width + 2 * quiet;
            let grid = covered(&qr_path(width, &dark, quiet), size);
            for y in 0..size {
                for x in 0..size {
                    let inside =
                        (quiet..quiet + width).contains(&x) && (quiet..quiet + width).contains(&y);
                    let expected = inside && dark[(y - quiet) * width + x - quiet];
                    assert_eq!(grid[y * size + x], expected, "module ({x}, {y}) of {text}");
                }
            }
        }
    }

    #[test]
    fn qr_codes_are_inline_svg_with_a_label() {
        let svg = qr_svg("https://www.example.gov.cn/suicheng/", "二维码").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("aria-label=\"二维码\""));
        assert!(
            svg.contains("<path stroke=\"#000\" d=\"M4 4.5h7m"),
            "the finder pattern starts the first row: {svg}"
        );
        assert!(qr_svg(&"x".repeat(5000), "").is_none());
    }
}
