//! The MP4 box tree, checked before `re_mp4` reads it.
//!
//! `re_mp4` trusts box sizes: a child whose size is 0 or smaller than its own header makes it
//! seek back to where it started and read the same header again, forever (a one-byte change to
//! an `hdlr` size was enough), and a sample count with no per-sample table behind it makes it
//! build billions of samples. So every box that `re_mp4` walks is checked here first: each
//! size is at least its header, each child ends inside its parent, and sample counts fit in the
//! file. A bad file gets a message naming the file, the box and the byte where it starts.
//! The same walk finds `avc3` sample entries and fragments.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::VideoError;

/// Top-level box types that may open an ISO-BMFF file.
const TOP_LEVEL_BOXES: [&[u8; 4]; 12] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"moof", b"sidx", b"pdin",
    b"meta", b"uuid",
];

/// Boxes whose payload is nothing but child boxes, as `re_mp4` reads them.
const CONTAINERS: [&[u8; 4]; 11] = [
    b"moov", b"trak", b"edts", b"mdia", b"minf", b"dinf", b"stbl", b"mvex", b"moof", b"traf",
    b"udta",
];

/// Visual sample entries: 78 bytes of fields, then child boxes (`avcC`, `hvcC`, `pasp`, ...).
const VISUAL_ENTRIES: [&[u8; 4]; 8] = [
    b"avc1", b"avc3", b"hvc1", b"hev1", b"vp08", b"vp09", b"av01", b"encv",
];
const VISUAL_ENTRY_FIELDS_BYTES: u64 = 78;

/// Deeper nesting than this is not a real file (a real one nests 8 deep).
const MAX_DEPTH: u8 = 16;

/// What the walk learned about the file.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub fragmented: bool,
    /// File offsets of `avc3` fourccs inside `stsd`, to be read as `avc1`.
    pub avc3_entries: Vec<u64>,
    /// Boxes seen: bounds how often a correct parse may seek back.
    pub box_count: u64,
}

/// A box type as printable text: bytes outside printable ASCII are written `\xNN`, so a
/// damaged header cannot put a newline or a terminal escape into a message.
#[must_use]
pub(super) fn fourcc(kind: [u8; 4]) -> String {
    let mut out = String::with_capacity(4);
    for b in kind {
        if b.is_ascii_graphic() || b == b' ' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Text from a parser, with control characters escaped (see [`fourcc`]).
#[must_use]
pub(super) fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

struct Head {
    kind: [u8; 4],
    payload: u64,
    end: u64,
}

struct Walker<'a> {
    file: &'a mut File,
    path: &'a Path,
    file_len: u64,
    layout: Layout,
}

/// Walks the whole box tree; see the module doc.
pub(super) fn check_tree(
    file: &mut File,
    file_len: u64,
    path: &Path,
) -> Result<Layout, VideoError> {
    if file_len < 8 {
        return Err(VideoError::NotMp4 {
            path: path.to_path_buf(),
            detail: format!("only {file_len} bytes long"),
        });
    }
    let mut walker = Walker {
        file,
        path,
        file_len,
        layout: Layout::default(),
    };
    // What the file is, before what is wrong with its first box.
    let mut first = [0u8; 8];
    walker.read_at(0, &mut first)?;
    if !TOP_LEVEL_BOXES.contains(&&[first[4], first[5], first[6], first[7]]) {
        return Err(VideoError::NotMp4 {
            path: path.to_path_buf(),
            detail: describe_signature(walker.file),
        });
    }
    let mut offset = 0;
    let mut saw_moov = false;
    while offset + 8 <= file_len {
        let head = walker.head(offset, file_len, None)?;
        saw_moov |= &head.kind == b"moov";
        walker.visit(&head, 0)?;
        offset = head.end;
    }
    if !saw_moov {
        return Err(VideoError::Truncated {
            path: path.to_path_buf(),
            detail: "no 'moov' box (the index that recording software writes last is missing)"
                .to_owned(),
        });
    }
    Ok(walker.layout)
}

impl Walker<'_> {
    fn malformed(&self, detail: String) -> VideoError {
        VideoError::Malformed {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), VideoError> {
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(buf))
            .map_err(|e| VideoError::io(self.path, e))
    }

    fn read_u32_at(&mut self, offset: u64) -> Result<u32, VideoError> {
        let mut buf = [0u8; 4];
        self.read_at(offset, &mut buf)?;
        Ok(u32::from_be_bytes(buf))
    }

    /// The header of the box at `offset`, whose parent (`None`: the file) ends at `limit`.
    fn head(
        &mut self,
        offset: u64,
        limit: u64,
        parent: Option<&[u8; 4]>,
    ) -> Result<Head, VideoError> {
        let mut raw = [0u8; 8];
        self.read_at(offset, &mut raw)?;
        let size32 = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let kind = [raw[4], raw[5], raw[6], raw[7]];
        let name = fourcc(kind);
        let inside = parent.map_or_else(String::new, |p| format!(" inside '{}'", fourcc(*p)));
        let (header_len, size) = match size32 {
            0 if parent.is_none() => (8, limit - offset),
            0 => {
                return Err(
                    self.malformed(format!("box '{name}' at byte {offset}{inside} has size 0"))
                );
            }
            1 => {
                if offset + 16 > limit {
                    return Err(self.malformed(format!(
                        "box '{name}' at byte {offset}{inside} has a 64-bit size that does not fit"
                    )));
                }
                let mut large = [0u8; 8];
                self.read_at(offset + 8, &mut large)?;
                (16, u64::from_be_bytes(large))
            }
            n => (8, u64::from(n)),
        };
        if size < header_len {
            return Err(self.malformed(format!(
                "box '{name}' at byte {offset}{inside} says it is {size} bytes long, shorter than its {header_len}-byte header"
            )));
        }
        let end = offset.saturating_add(size);
        if end > limit {
            return Err(match parent {
                None => VideoError::Truncated {
                    path: self.path.to_path_buf(),
                    detail: format!(
                        "box '{name}' at byte {offset} needs {size} bytes but the file ends at byte {}",
                        self.file_len
                    ),
                },
                Some(_) => self.malformed(format!(
                    "box '{name}' at byte {offset}{inside} says it is {size} bytes long, past the end of its parent at byte {limit}"
                )),
            });
        }
        self.layout.box_count += 1;
        Ok(Head {
            kind,
            payload: offset + header_len,
            end,
        })
    }

    /// Checks the children of `parent`, which lie in `start..parent.end`.
    fn children(&mut self, parent: &Head, start: u64, depth: u8) -> Result<(), VideoError> {
        if depth >= MAX_DEPTH {
            return Err(self.malformed(format!(
                "boxes are nested more than {MAX_DEPTH} deep at '{}'",
                fourcc(parent.kind)
            )));
        }
        let mut offset = start;
        // The box before a bad header: its size is usually the one that was damaged.
        let mut previous: Option<([u8; 4], u64, u64)> = None;
        while offset < parent.end {
            let head = if offset + 8 > parent.end {
                Err(self.malformed(format!(
                    "{} stray bytes at byte {offset}, at the end of box '{}'",
                    parent.end - offset,
                    fourcc(parent.kind)
                )))
            } else {
                self.head(offset, parent.end, Some(&parent.kind))
            };
            let head = match (head, previous) {
                (Ok(head), _) => head,
                (Err(VideoError::Malformed { path, detail }), Some((kind, at, size))) => {
                    return Err(VideoError::Malformed {
                        path,
                        detail: format!(
                            "{detail} (the box before it, '{}' at byte {at}, says it is {size} bytes long)",
                            fourcc(kind)
                        ),
                    });
                }
                (Err(err), _) => return Err(err),
            };
            self.visit(&head, depth + 1)?;
            previous = Some((head.kind, offset, head.end - offset));
            offset = head.end;
        }
        Ok(())
    }

    fn visit(&mut self, head: &Head, depth: u8) -> Result<(), VideoError> {
        match &head.kind {
            kind if CONTAINERS.contains(&kind) => {
                self.layout.fragmented |= kind == b"moof";
                self.children(head, head.payload, depth)?;
            }
            // Full boxes (version, flags, entry count), then their entries as boxes.
            b"dref" | b"stsd" => {
                self.children(head, head.payload.saturating_add(8).min(head.end), depth)?;
            }
            kind if VISUAL_ENTRIES.contains(&kind) => {
                if kind == b"avc3" {
                    self.layout.avc3_entries.push(head.payload - 4);
                }
                let start = head.payload + VISUAL_ENTRY_FIELDS_BYTES;
                if start <= head.end {
                    self.children(head, start, depth)?;
                }
            }
            b"meta" => {
                let start = self.meta_children_start(head)?;
                self.children(head, start, depth)?;
            }
            // Metadata items, each a box of boxes (`data`, `mean`, `name`).
            b"ilst" => self.check_items(head, depth)?,
            b"stsz" => self.check_stsz(head)?,
            b"trun" => self.check_trun(head)?,
            _ => {}
        }
        Ok(())
    }

    /// Where the children of a `meta` box start, read as `re_mp4` reads it: after a version and
    /// flags word (ISO), or at once when the payload opens with an `hdlr` box (as `QuickTime` writes it).
    fn meta_children_start(&mut self, head: &Head) -> Result<u64, VideoError> {
        if head.payload + 8 > head.end {
            return Ok(head.payload.saturating_add(4).min(head.end));
        }
        let mut first = [0u8; 8];
        self.read_at(head.payload, &mut first)?;
        let quicktime = first[..4] != [0; 4] && &first[4..] == b"hdlr";
        Ok(if quicktime {
            head.payload
        } else {
            head.payload + 4
        })
    }

    /// The items of an `ilst` box and the boxes inside each item.
    fn check_items(&mut self, ilst: &Head, depth: u8) -> Result<(), VideoError> {
        let mut offset = ilst.payload;
        while offset + 8 <= ilst.end {
            let item = self.head(offset, ilst.end, Some(&ilst.kind))?;
            self.children(&item, item.payload, depth + 1)?;
            offset = item.end;
        }
        Ok(())
    }

    /// A constant sample size times the sample count must fit in the file: otherwise the
    /// sample list alone would need more memory than the machine has.
    fn check_stsz(&mut self, head: &Head) -> Result<(), VideoError> {
        if head.payload + 12 > head.end {
            return Ok(());
        }
        let sample_size = self.read_u32_at(head.payload + 4)?;
        let sample_count = self.read_u32_at(head.payload + 8)?;
        let bytes = u64::from(sample_size) * u64::from(sample_count);
        let too_many = if sample_size == 0 {
            u64::from(sample_count) * 4 > head.end - (head.payload + 12)
        } else {
            bytes > self.file_len
        };
        if too_many {
            return Err(self.malformed(format!(
                "box 'stsz' at byte {} lists {sample_count} samples, more than the file holds",
                head.payload - 8
            )));
        }
        Ok(())
    }

    /// Every sample of a fragment takes at least a byte of the file.
    fn check_trun(&mut self, head: &Head) -> Result<(), VideoError> {
        if head.payload + 8 > head.end {
            return Ok(());
        }
        let sample_count = self.read_u32_at(head.payload + 4)?;
        if u64::from(sample_count) > self.file_len {
            return Err(self.malformed(format!(
                "box 'trun' at byte {} lists {sample_count} samples, more than the file holds",
                head.payload - 8
            )));
        }
        Ok(())
    }
}

fn describe_signature(file: &mut File) -> String {
    let mut magic = [0u8; 8];
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_exact(&mut magic));
    if read.is_err() {
        return "unreadable header".to_owned();
    }
    let known: [(&[u8], &str); 7] = [
        (b"\x89PNG", "it is a PNG image"),
        (b"\xff\xd8\xff", "it is a JPEG image"),
        (b"GIF8", "it is a GIF image"),
        (b"\x1a\x45\xdf\xa3", "it is a Matroska/WebM file"),
        (b"RIFF", "it is a RIFF (AVI/WAV) file"),
        (b"OggS", "it is an Ogg file"),
        (
            b"\x00\x00\x00\x01",
            "it looks like a raw H.264/H.265 stream, not an MP4 container",
        ),
    ];
    for (sig, what) in known {
        if magic.starts_with(sig) {
            return what.to_owned();
        }
    }
    "its first bytes are not an MP4 box".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_names_are_printed_without_control_bytes() {
        assert_eq!(fourcc(*b"hdlr"), "hdlr");
        assert_eq!(fourcc(*b"a\nb\x1b"), "a\\x0ab\\x1b");
        assert_eq!(printable("box a\nb"), "box a\\nb");
    }
}
