//! Bounded caches: decoded frames (least recently used out, by bytes) and one low-resolution
//! preview per keyframe, for scrubbing.

use std::collections::HashMap;

use super::frame::Frame;

pub struct FrameCache {
    budget_bytes: usize,
    used_bytes: usize,
    clock: u64,
    frames: HashMap<usize, (Frame, u64)>,
}

impl FrameCache {
    #[must_use]
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget_bytes,
            used_bytes: 0,
            clock: 0,
            frames: HashMap::new(),
        }
    }

    /// The frame, marking it recently used.
    pub fn get(&mut self, index: usize) -> Option<Frame> {
        self.clock += 1;
        let clock = self.clock;
        self.frames.get_mut(&index).map(|(frame, used)| {
            *used = clock;
            frame.clone()
        })
    }

    #[must_use]
    pub fn contains(&self, index: usize) -> bool {
        self.frames.contains_key(&index)
    }

    /// Inserts, evicting the least recently used frames to stay within budget.
    pub fn insert(&mut self, frame: Frame) {
        self.insert_inner(frame, true);
    }

    /// Inserts only if it fits without evicting anything (frames decoded on the way to the
    /// wanted one must not push the wanted ones out).
    pub fn insert_if_room(&mut self, frame: Frame) {
        self.insert_inner(frame, false);
    }

    fn insert_inner(&mut self, frame: Frame, evict: bool) {
        let len = frame.byte_len();
        if len > self.budget_bytes || self.frames.contains_key(&frame.index) {
            return;
        }
        while self.used_bytes + len > self.budget_bytes {
            if !evict {
                return;
            }
            let Some(oldest) = self
                .frames
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some((old, _)) = self.frames.remove(&oldest) {
                self.used_bytes -= old.byte_len();
            }
        }
        self.clock += 1;
        self.used_bytes += len;
        self.frames.insert(frame.index, (frame, self.clock));
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    #[must_use]
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    pub fn clear(&mut self) {
        self.frames.clear();
        self.used_bytes = 0;
    }
}

/// One small picture per GOP (or per every k-th GOP for very long files).
pub struct PreviewCache {
    previews: Vec<Option<Frame>>,
    built: usize,
}

impl PreviewCache {
    #[must_use]
    pub fn new(gop_count: usize) -> Self {
        Self {
            previews: vec![None; gop_count],
            built: 0,
        }
    }

    pub fn insert(&mut self, gop: usize, preview: Frame) {
        if let Some(slot) = self.previews.get_mut(gop) {
            if slot.is_none() {
                self.built += 1;
            }
            *slot = Some(preview);
        }
    }

    /// The preview of `gop`, or of the nearest earlier GOP that has one.
    #[must_use]
    pub fn at_or_before(&self, gop: usize) -> Option<&Frame> {
        let end = (gop + 1).min(self.previews.len());
        self.previews[..end].iter().rev().find_map(Option::as_ref)
    }

    #[must_use]
    pub fn has(&self, gop: usize) -> bool {
        self.previews.get(gop).is_some_and(Option::is_some)
    }

    #[must_use]
    pub fn built(&self) -> usize {
        self.built
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: usize, bytes: usize) -> Frame {
        Frame {
            index,
            pts_ns: index as i64,
            width: 1,
            height: 1,
            rgba: vec![0; bytes].into(),
        }
    }

    #[test]
    fn least_recently_used_frames_go_first_and_budget_holds() {
        let mut cache = FrameCache::new(300);
        cache.insert(frame(0, 100));
        cache.insert(frame(1, 100));
        cache.insert(frame(2, 100));
        assert!(cache.get(0).is_some());
        cache.insert(frame(3, 100));
        assert!(cache.contains(0), "recently read frame kept");
        assert!(!cache.contains(1), "oldest frame evicted");
        assert!(cache.used_bytes() <= 300);
        cache.insert_if_room(frame(4, 100));
        assert!(!cache.contains(4), "no eviction for opportunistic frames");
    }

    #[test]
    fn preview_falls_back_to_an_earlier_gop() {
        let mut previews = PreviewCache::new(4);
        previews.insert(1, frame(10, 4));
        assert!(previews.at_or_before(0).is_none());
        assert_eq!(previews.at_or_before(3).map(|f| f.index), Some(10));
        assert_eq!(previews.built(), 1);
    }
}
