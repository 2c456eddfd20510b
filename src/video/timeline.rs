//! Sample times on the container's timeline, computed as ffmpeg's `mov` demuxer does, so that
//! a frame's time here is the time ffmpeg and ffprobe give it.
//!
//! `re_mp4` shifts every track so that its first composition time is 0, whatever the edit list
//! says, and it reads a fragment's composition offsets as unsigned and its `tfdt` only once.
//! ffmpeg instead takes:
//! - decode times from `stts`, then in each fragment from its `tfdt` (when present);
//! - presentation time = decode time + the signed composition offset (`ctts`, or the `trun`
//!   sample composition time offset, either version); in fragments also + ffmpeg's `dts_shift`,
//!   the largest negative offset read so far (ffmpeg's `pkt->pts = pkt->dts + sc->dts_shift +
//!   ctts`: in the sample table the decode times are shifted back by it instead, so there it
//!   cancels out);
//! - the edit list's shift: minus the `media_time` of the first non-empty edit, plus the length
//!   of a leading empty edit (rescaled from the movie timescale).
//!
//! Not followed: ffmpeg drops frames before the first edit's `media_time` and after its
//! `segment_duration`, and concatenates several non-empty edits; here every sample stays a
//! frame and only the first edit shifts the timeline.

use re_mp4::{Mp4, TrakBox, TrunBox};

/// One sample's times in the track's timescale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// The fields carry their unit, as every time in this crate does.
#[allow(clippy::struct_field_names)]
pub(super) struct SampleTime {
    pub decode_ticks: i64,
    pub pts_ticks: i64,
    pub duration_ticks: u64,
}

/// Times of the `sample_count` samples `re_mp4` listed for the track, in the same (decode)
/// order: those of the `moov` sample table, then those of each fragment. `None` when the
/// counts disagree (a table shorter than the samples).
pub(super) fn sample_times(
    mp4: &Mp4,
    trak: &TrakBox,
    sample_count: usize,
) -> Option<Vec<SampleTime>> {
    let track_id = trak.tkhd.track_id;
    let fragment_samples: usize = mp4
        .moofs
        .iter()
        .flat_map(|moof| &moof.trafs)
        .filter(|traf| traf.tfhd.track_id == track_id)
        .flat_map(|traf| &traf.truns)
        .map(|trun| usize::try_from(trun.sample_count).unwrap_or(usize::MAX))
        .fold(0usize, usize::saturating_add);
    let table_samples = sample_count.checked_sub(fragment_samples)?;
    let mut times = Vec::with_capacity(sample_count);
    let table_shift = table_times(trak, table_samples, &mut times)?;
    fragment_times(mp4, trak, table_shift, &mut times);
    if times.len() != sample_count {
        return None;
    }
    let offset = edit_offset_ticks(mp4, trak);
    for t in &mut times {
        t.decode_ticks = t.decode_ticks.saturating_sub(offset);
        t.pts_ticks = t.pts_ticks.saturating_sub(offset);
    }
    Some(times)
}

/// Run-length tables (`stts`, `ctts`) expanded one sample at a time.
fn expand<T: Copy>(runs: impl Iterator<Item = (u32, T)>) -> impl Iterator<Item = T> {
    runs.flat_map(|(count, value)| std::iter::repeat_n(value, count as usize))
}

/// Appends the sample table's times; returns its `dts_shift` (the largest negative offset).
fn table_times(trak: &TrakBox, count: usize, out: &mut Vec<SampleTime>) -> Option<i64> {
    let stbl = &trak.mdia.minf.stbl;
    let mut deltas = expand(
        stbl.stts
            .entries
            .iter()
            .map(|e| (e.sample_count, e.sample_delta)),
    );
    let mut offsets = stbl.ctts.as_ref().map(|ctts| {
        expand(
            ctts.entries
                .iter()
                .map(|e| (e.sample_count, e.sample_offset)),
        )
    });
    let mut dts: i64 = 0;
    let mut dts_shift: i64 = 0;
    for _ in 0..count {
        let delta = deltas.next()?;
        let offset = offsets.as_mut().map_or(Some(0), Iterator::next)?;
        dts_shift = dts_shift.max(-i64::from(offset));
        out.push(SampleTime {
            decode_ticks: dts,
            pts_ticks: dts.saturating_add(i64::from(offset)),
            duration_ticks: u64::from(delta),
        });
        dts = dts.saturating_add(i64::from(delta));
    }
    Some(dts_shift)
}

/// Signed composition offset of a `trun` sample: version 0 offsets are unsigned in the
/// standard, but ffmpeg reads both versions as signed 32-bit, and so do the muxers that write
/// negative ones.
fn trun_offset(trun: &TrunBox, i: usize) -> i64 {
    if trun.flags & TrunBox::FLAG_SAMPLE_CTS == 0 {
        return 0;
    }
    trun.sample_cts
        .get(i)
        .map_or(0, |&raw| i64::from(i32::from_be_bytes(raw.to_be_bytes())))
}

fn fragment_times(mp4: &Mp4, trak: &TrakBox, table_shift: i64, out: &mut Vec<SampleTime>) {
    let track_id = trak.tkhd.track_id;
    let trex_duration = mp4
        .moov
        .mvex
        .as_ref()
        .and_then(|mvex| mvex.trexs.iter().find(|t| t.track_id == track_id))
        .map_or(0, |trex| trex.default_sample_duration);
    let mut dts_shift = table_shift;
    // Without a tfdt a fragment continues where the track ended.
    let mut dts = out.last().map_or(0, |t| {
        t.decode_ticks
            .saturating_add(i64::try_from(t.duration_ticks).unwrap_or(i64::MAX))
    });
    for traf in mp4
        .moofs
        .iter()
        .flat_map(|moof| &moof.trafs)
        .filter(|traf| traf.tfhd.track_id == track_id)
    {
        if let Some(tfdt) = &traf.tfdt {
            dts = i64::try_from(tfdt.base_media_decode_time).unwrap_or(i64::MAX);
        }
        let default_duration = traf.tfhd.default_sample_duration.unwrap_or(trex_duration);
        // ffmpeg reads a whole fragment before handing out its packets.
        for trun in &traf.truns {
            for i in 0..trun.sample_count as usize {
                dts_shift = dts_shift.max(-trun_offset(trun, i));
            }
        }
        for trun in &traf.truns {
            for i in 0..trun.sample_count as usize {
                let duration = trun
                    .sample_durations
                    .get(i)
                    .copied()
                    .unwrap_or(default_duration);
                out.push(SampleTime {
                    decode_ticks: dts,
                    pts_ticks: dts
                        .saturating_add(dts_shift)
                        .saturating_add(trun_offset(trun, i)),
                    duration_ticks: u64::from(duration),
                });
                dts = dts.saturating_add(i64::from(duration));
            }
        }
    }
}

/// What ffmpeg subtracts from every timestamp for the edit list (its `time_offset`): the first
/// non-empty edit's `media_time`, less a leading empty edit's duration, in track ticks.
fn edit_offset_ticks(mp4: &Mp4, trak: &TrakBox) -> i64 {
    let Some(elst) = trak.edts.as_ref().and_then(|edts| edts.elst.as_ref()) else {
        return 0;
    };
    // Version 0 stores media_time as 32 bits; -1 marks an empty edit.
    let media_time = |raw: u64| -> i64 {
        if elst.version == 1 {
            i64::from_be_bytes(raw.to_be_bytes())
        } else {
            u32::try_from(raw).map_or(-1, |v| i64::from(i32::from_be_bytes(v.to_be_bytes())))
        }
    };
    let mut empty_movie_ticks: u64 = 0;
    let mut start_ticks: i64 = 0;
    for (i, entry) in elst.entries.iter().enumerate() {
        let time = media_time(entry.media_time);
        if i == 0 && time == -1 {
            empty_movie_ticks = entry.segment_duration;
        } else {
            if time >= 0 {
                start_ticks = time;
            }
            break;
        }
    }
    let movie_timescale = u64::from(mp4.moov.mvhd.timescale);
    let track_timescale = u64::from(trak.mdia.mdhd.timescale);
    let empty_ticks = if movie_timescale == 0 {
        0
    } else {
        let ticks = u128::from(empty_movie_ticks) * u128::from(track_timescale)
            / u128::from(movie_timescale);
        i64::try_from(ticks).unwrap_or(i64::MAX)
    };
    start_ticks.saturating_sub(empty_ticks)
}
