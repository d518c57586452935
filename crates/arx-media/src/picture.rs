//! Images: decoded within limits, turned upright, re-encoded without any of the source's
//! metadata (EXIF, GPS, XMP, ICC and comments are not carried over), scaled down for sending
//! and given a small JPEG thumbnail that travels inside the message.

use std::io::Cursor;

use image::{
    codecs::{jpeg::JpegEncoder, png::PngEncoder},
    DynamicImage, ImageDecoder, ImageReader, Limits,
};

use crate::MediaError;

pub use image::ImageFormat;

/// Most pixels an image may have to be decoded (a decompression bomb is refused before any
/// pixel buffer is allocated).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Longest side accepted by the decoder.
pub const MAX_SIDE: u32 = 20_000;
/// Longest side of a sent image (larger ones are scaled down).
pub const MAX_SENT_SIDE: u32 = 4096;
/// Longest side of a thumbnail.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Largest thumbnail carried in a message.
pub const MAX_THUMBNAIL_BYTES: usize = 48 * 1024;
/// Memory the decoder may allocate.
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;

/// An image ready to send.
#[derive(Debug)]
pub struct Picture {
    /// The re-encoded image (JPEG, or PNG when it has transparency).
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    /// A JPEG of at most [`THUMBNAIL_SIDE`] pixels a side and [`MAX_THUMBNAIL_BYTES`].
    pub thumbnail: Vec<u8>,
}

/// The image format of `bytes`, when it is one this version re-encodes.
pub fn format_of(bytes: &[u8]) -> Option<ImageFormat> {
    let format = image::guess_format(bytes).ok()?;
    matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP
    )
    .then_some(format)
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader
}

fn invalid(error: impl std::fmt::Display) -> MediaError {
    MediaError::InvalidImage(error.to_string())
}

/// Decodes an image within the limits and turns it upright.
pub fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, MediaError> {
    let (width, height) = reader(bytes, format).into_dimensions().map_err(invalid)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE {
        return Err(MediaError::ImageTooLarge {
            width,
            height,
            limit: MAX_PIXELS,
        });
    }
    let mut decoder = reader(bytes, format).into_decoder().map_err(invalid)?;
    let orientation = decoder.orientation().map_err(invalid)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(invalid)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The image in `bytes` re-encoded for sending with its thumbnail; `None` when `bytes` is not
/// an image format this version handles (it is then sent as a plain file).
pub fn prepare(bytes: &[u8]) -> Result<Option<Picture>, MediaError> {
    let Some(format) = format_of(bytes) else {
        return Ok(None);
    };
    let mut image = decode(bytes, format)?;
    if image.width() > MAX_SENT_SIDE || image.height() > MAX_SENT_SIDE {
        image = image.resize(
            MAX_SENT_SIDE,
            MAX_SENT_SIDE,
            image::imageops::FilterType::Triangle,
        );
    }
    let thumbnail = thumbnail(&image)?;
    let (bytes, mime) = if image.color().has_alpha() {
        let mut out = Vec::new();
        image
            .to_rgba8()
            .write_with_encoder(PngEncoder::new(&mut out))
            .map_err(invalid)?;
        (out, "image/png")
    } else {
        (jpeg(&image, 88)?, "image/jpeg")
    };
    Ok(Some(Picture {
        bytes,
        mime,
        width: image.width(),
        height: image.height(),
        thumbnail,
    }))
}

fn jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    image
        .to_rgb8()
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .map_err(invalid)?;
    Ok(out)
}

/// A JPEG thumbnail within [`MAX_THUMBNAIL_BYTES`] (lower quality until it fits).
fn thumbnail(image: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    for quality in [75, 60, 45, 30] {
        let out = jpeg(&small, quality)?;
        if out.len() <= MAX_THUMBNAIL_BYTES {
            return Ok(out);
        }
    }
    let smaller = image.thumbnail(THUMBNAIL_SIDE / 2, THUMBNAIL_SIDE / 2);
    jpeg(&smaller, 30)
}

/// Whether a thumbnail received in a message is safe to show: a JPEG within the size and side
/// limits (checked from its header, without decoding the pixels).
pub fn thumbnail_is_acceptable(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_THUMBNAIL_BYTES
        && format_of(bytes) == Some(ImageFormat::Jpeg)
        && reader(bytes, ImageFormat::Jpeg)
            .into_dimensions()
            .is_ok_and(|(w, h)| w <= THUMBNAIL_SIDE && h <= THUMBNAIL_SIDE && w > 0 && h > 0)
}

/// Whether a received image may be shown as a preview: a format this version reads, within
/// the pixel limits (checked from its header).
pub fn preview_is_acceptable(bytes: &[u8]) -> bool {
    format_of(bytes).is_some_and(|format| {
        reader(bytes, format)
            .into_dimensions()
            .is_ok_and(|(w, h)| u64::from(w) * u64::from(h) <= MAX_PIXELS)
    })
}

/// Images for tests of this crate and of the crates above it.
#[cfg(any(test, feature = "fixtures"))]
#[allow(clippy::unwrap_used)]
pub mod fixtures {
    use image::{codecs::jpeg::JpegEncoder, ImageEncoder, RgbImage};

    /// A JPEG with an EXIF block (APP1) carrying GPS coordinates and a camera name, as a phone
    /// writes them.
    pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut plain = Vec::new();
        JpegEncoder::new_with_quality(&mut plain, 90)
            .write_image(
                image.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        // TIFF (little endian): IFD0 with Make and a GPS IFD pointer; the GPS IFD with
        // latitude ref "N" and a latitude of 48/1 51/1 24/1.
        let mut tiff: Vec<u8> = b"II*\0".to_vec();
        tiff.extend(8u32.to_le_bytes());
        // IFD0 at 8: two entries.
        tiff.extend(2u16.to_le_bytes());
        let make_offset = 8 + 2 + 2 * 12 + 4;
        tiff.extend(0x010fu16.to_le_bytes()); // Make
        tiff.extend(2u16.to_le_bytes()); // ASCII
        tiff.extend(12u32.to_le_bytes());
        tiff.extend((make_offset as u32).to_le_bytes());
        let gps_offset = make_offset + 12;
        tiff.extend(0x8825u16.to_le_bytes()); // GPS IFD pointer
        tiff.extend(4u16.to_le_bytes()); // LONG
        tiff.extend(1u32.to_le_bytes());
        tiff.extend((gps_offset as u32).to_le_bytes());
        tiff.extend(0u32.to_le_bytes());
        tiff.extend(b"SECRETPHONE\0");
        // GPS IFD: two entries.
        tiff.extend(2u16.to_le_bytes());
        let rational_offset = gps_offset + 2 + 2 * 12 + 4;
        tiff.extend(0x0001u16.to_le_bytes()); // GPSLatitudeRef
        tiff.extend(2u16.to_le_bytes());
        tiff.extend(2u32.to_le_bytes());
        tiff.extend(b"N\0\0\0");
        tiff.extend(0x0002u16.to_le_bytes()); // GPSLatitude
        tiff.extend(5u16.to_le_bytes()); // RATIONAL
        tiff.extend(3u32.to_le_bytes());
        tiff.extend((rational_offset as u32).to_le_bytes());
        tiff.extend(0u32.to_le_bytes());
        for v in [48u32, 51, 24] {
            tiff.extend(v.to_le_bytes());
            tiff.extend(1u32.to_le_bytes());
        }
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let mut out = plain[..2].to_vec(); // SOI
        out.extend([0xff, 0xe1]);
        out.extend(((app1.len() + 2) as u16).to_be_bytes());
        out.extend(app1);
        out.extend(&plain[2..]);
        out
    }

    pub fn has_metadata(bytes: &[u8]) -> bool {
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        contains(b"Exif\0\0") || contains(b"SECRETPHONE") || contains(&[0xff, 0xe1])
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{has_metadata, jpeg_with_gps};
    use super::*;
    use image::{ImageEncoder, RgbaImage};

    #[test]
    fn gps_and_camera_tags_are_gone_from_the_sent_image_and_its_thumbnail() {
        let source = jpeg_with_gps(640, 480);
        assert!(has_metadata(&source), "the fixture carries EXIF");
        let picture = prepare(&source).unwrap().unwrap();
        assert_eq!((picture.width, picture.height), (640, 480));
        assert_eq!(picture.mime, "image/jpeg");
        assert!(!has_metadata(&picture.bytes));
        assert!(!has_metadata(&picture.thumbnail));
        assert!(thumbnail_is_acceptable(&picture.thumbnail));
        assert!(picture.thumbnail.len() <= MAX_THUMBNAIL_BYTES);
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // A 30,000 × 30,000 PNG that compresses to a few hundred kilobytes.
        let mut png = Vec::new();
        let encoder = PngEncoder::new_with_quality(
            &mut png,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::NoFilter,
        );
        let side = 9000u32; // 81 MP
        let pixels = vec![0u8; (side * side) as usize];
        encoder
            .write_image(&pixels, side, side, image::ExtendedColorType::L8)
            .unwrap();
        drop(pixels);
        assert!(png.len() < 1024 * 1024, "{} bytes", png.len());
        assert!(matches!(
            prepare(&png),
            Err(MediaError::ImageTooLarge { width: 9000, .. })
        ));
        assert!(!preview_is_acceptable(&png));
    }

    #[test]
    fn transparency_is_kept_as_png_and_large_images_are_scaled_down() {
        let image = RgbaImage::from_pixel(5000, 100, image::Rgba([1, 2, 3, 100]));
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(image.as_raw(), 5000, 100, image::ExtendedColorType::Rgba8)
            .unwrap();
        let picture = prepare(&png).unwrap().unwrap();
        assert_eq!(picture.mime, "image/png");
        assert_eq!(picture.width, MAX_SENT_SIDE);
        assert!(picture.height < 100);
    }

    #[test]
    fn other_files_are_not_images_and_broken_images_are_errors() {
        assert!(prepare(b"just some text").unwrap().is_none());
        let mut broken = jpeg_with_gps(64, 64);
        broken.truncate(broken.len() / 3);
        assert!(matches!(prepare(&broken), Err(MediaError::InvalidImage(_))));
        assert!(!thumbnail_is_acceptable(b"not a jpeg"));
    }
}
